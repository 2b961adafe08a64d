/* results.h: results directories, summary.json with its manifest, and the
 * one-screen table. */
#ifndef SERVESIM_RESULTS_H
#define SERVESIM_RESULTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "cli_common.h"
#include "engine/engine.h"

/* A run's files are written under temporary names (sim/out_file.h) and
 * renamed into DIR only when complete: the data files first, summary.json
 * last, so a summary.json in DIR means every file beside it is whole. */
typedef struct ResultsDir {
    char path[4096];
    struct OutFile *files[8]; /* data files being written, in creation order */
    int n_files;
} ResultsDir;

/* Create DIR (and parents).  An existing DIR is refused unless `force`,
 * which first removes the result files a run writes there. */
int results_dir_open(ResultsDir *d, const char *path, bool force);
/* DIR/NAME, written under a temporary name until results_write_json. */
FILE *results_dir_create_file(ResultsDir *d, const char *name);
/* A run failed: remove the files it created (and the directory if new), so
 * a half-written result is never mistaken for a result. */
void results_dir_abandon(ResultsDir *d);
/* Deterministic JSON: keys in insertion order, 10 significant digits.
 * Every data file still open is completed and renamed into DIR first (the
 * first that fails is named, with errno): the summary is written last. */
int results_write_json(ResultsDir *d, const char *name, json_t *j);
/* The manifest: version, command (less --out/--force), seed, inputs and
 * their sha256, every plug-in option. */
json_t *results_manifest_json(const EngineConfig *cfg, const CliSource *src, int argc, char **argv);
/* { "manifest": ..., "metrics": ..., "run": ... } */
json_t *results_summary_json(const Engine *e, const EngineConfig *cfg, const CliSource *src,
                             int argc, char **argv);
/* One warning line per kind of request dropped or cut (stderr). */
void results_warn_dropped(FILE *f, json_t *summary);
void results_print_table(FILE *f, json_t *summary);

#endif
