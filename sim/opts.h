/* opts.h: options are data.
 *
 * Every plug-in (scheduler, predictor, trace format, backend, router) declares
 * its options as a table of OptSpec terminated by an entry whose name is NULL,
 * and a plain struct that holds the parsed values.  One parser turns a spec
 * such as "magnus:max_batch=64,window=0.05" into that struct, with a clear
 * error for an unknown key or a bad value; one printer documents them for
 * `servesim list`; one writer records them in results manifests. */
#ifndef SERVESIM_OPTS_H
#define SERVESIM_OPTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define OPTS_STRING_MAX 256

typedef enum OptType {
    OPT_INT,     /* int64_t */
    OPT_DOUBLE,  /* double */
    OPT_BOOL,    /* bool: true/false/1/0/yes/no/on/off */
    OPT_STRING,  /* char[OPTS_STRING_MAX] */
    OPT_CHOICE,  /* int: index into `choices` ("fcfs|hrrn|sjf") */
} OptType;

typedef struct OptSpec {
    const char *name;
    OptType type;
    size_t offset;             /* offsetof(the plug-in's options struct, field) */
    const char *default_value; /* as the user would type it */
    const char *help;          /* one line, with the unit */
    const char *choices;       /* OPT_CHOICE only: values separated by '|' */
    double min, max;           /* numeric bounds, inclusive; ignored when min > max */
} OptSpec;

/* Numeric options without bounds use these as min/max. */
#define OPT_NO_BOUNDS 1.0, 0.0

/* Fill `out` with every option's default.  Returns 0 or -EINVAL (a bad
 * default is a bug in the table, reported as such). */
int opts_defaults(const OptSpec *specs, void *out);

/* Parse "key=value,key=value" (may be NULL or "") over `out`.  `owner` names
 * the plug-in in error messages ("sched magnus"). */
int opts_parse(const OptSpec *specs, const char *kvs, void *out, const char *owner);

/* Defaults, then the key=value list. */
int opts_init(const OptSpec *specs, const char *kvs, void *out, const char *owner);

/* Split "name:k=v,..." into the name (copied into `name`, at most cap-1
 * chars) and a pointer to the key=value part (NULL when there is none). */
int opts_split_spec(const char *spec, char *name, size_t cap, const char **kvs);
/* Whether "k=v,k2=v2" (NULL: none) names `key`. */
bool opts_spec_has_key(const char *kvs, const char *key);

/* Print the options table, one per line, indented (for `servesim list`). */
void opts_print(FILE *f, const OptSpec *specs, const char *indent);

/* The parsed values as a JSON object (for manifests). */
json_t *opts_to_json(const OptSpec *specs, const void *values);

/* The text of choice `index` of an OPT_CHOICE option named `name`. */
const char *opts_choice_name(const OptSpec *specs, const char *name, int index);

#endif
