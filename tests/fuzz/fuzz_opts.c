/* fuzz_opts.c: the plug-in option parser ("name:key=value,...") on any bytes:
 * every input either parses into the struct or returns an error with a
 * message; never a crash, a hang or an out-of-bounds write. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "opts.h"

typedef struct FuzzOpts {
    int64_t count;
    double rate;
    bool flag;
    char name[OPTS_STRING_MAX];
    int mode;
} FuzzOpts;

static const OptSpec fuzz_specs[] = {
    { "count", OPT_INT, offsetof(FuzzOpts, count), "3", "an integer", NULL, 0, 1000 },
    { "rate", OPT_DOUBLE, offsetof(FuzzOpts, rate), "0.5", "a real", NULL, OPT_NO_BOUNDS },
    { "flag", OPT_BOOL, offsetof(FuzzOpts, flag), "false", "a boolean", NULL, OPT_NO_BOUNDS },
    { "name", OPT_STRING, offsetof(FuzzOpts, name), "", "text", NULL, OPT_NO_BOUNDS },
    { "mode", OPT_CHOICE, offsetof(FuzzOpts, mode), "fcfs", "a choice", "fcfs|hrrn|sjf", OPT_NO_BOUNDS },
    { NULL, OPT_INT, 0, NULL, NULL, NULL, OPT_NO_BOUNDS },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *spec = malloc(size + 1);
    memcpy(spec, data, size);
    spec[size] = '\0';
    char name[64];
    const char *kvs = NULL;
    FuzzOpts o;
    ss_error_clear();
    if (opts_split_spec(spec, name, sizeof(name), &kvs) == 0) {
        int r = opts_init(fuzz_specs, kvs, &o, name);
        if (r) SS_ASSERT(r < 0 && ss_error_get()[0]);
        else {
            SS_ASSERT(o.count >= 0 && o.count <= 1000);
            SS_ASSERT(o.mode >= 0 && o.mode <= 2);
            SS_ASSERT(memchr(o.name, '\0', sizeof(o.name)));
            json_t *j = opts_to_json(fuzz_specs, &o);
            json_decref(j);
        }
    }
    free(spec);
    return 0;
}
