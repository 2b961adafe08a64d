/* backend.c: a Backend instance from a spec "name:key=value,...". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "cost/cost.h"
#include "cost/optable.h"

/* "auto": the measured tables when the GPU has them, else the calibrated roofline. */
static const char *backend_auto(const BackendEnv *env)
{
    char path[1280];
    measured_tables_path(env->gpu ? env->gpu->name : "", path, sizeof(path));
    FILE *f = env->gpu ? fopen(path, "r") : NULL;
    if (f) fclose(f);
    return f ? "measured" : "roofline";
}

int backend_create(Backend **out, const char *spec, const BackendEnv *env)
{
    *out = NULL;
    char name[64];
    const char *kvs = NULL;
    int r = opts_split_spec(spec, name, sizeof(name), &kvs);
    if (r) return r;
    if (!strcmp(name, "auto")) {
        if (kvs && *kvs) return ss_error_set(EINVAL, "cost auto takes no options (name the model: measured:... or roofline:...)");
        spec = backend_auto(env);
        snprintf(name, sizeof(name), "%s", spec);
    }
    const BackendOps *ops = cost_backend_find(name);
    if (!ops) return ss_error_set(EINVAL, "unknown cost model '%s' (see `servesim list backends`)",
                                  name);
    Backend *b = ss_calloc(1, sizeof(*b));
    b->ops = ops;
    snprintf(b->spec, sizeof(b->spec), "%s", spec);
    b->opts = ss_calloc(1, ops->opts_size ? ops->opts_size : 1);
    b->priv = ss_calloc(1, ops->priv_size ? ops->priv_size : 1);
    char owner[96];
    snprintf(owner, sizeof(owner), "cost %s", name);
    if ((r = opts_init(ops->opts, kvs, b->opts, owner))) goto fail;
    if ((r = ops->init(b->priv, b->opts, env))) goto fail;
    *out = b;
    return 0;
fail:
    free(b->priv);
    free(b->opts);
    free(b);
    return r;
}

void backend_destroy(Backend **pb)
{
    Backend *b = *pb;
    if (!b) return;
    if (b->ops->close) b->ops->close(b->priv);
    free(b->priv);
    free(b->opts);
    free(b);
    *pb = NULL;
}

void backend_decode_iter_times(Backend *b, const StepShape *s, int64_t from, int64_t n, double *out)
{
    if (b->ops->decode_iter_times) {
        b->ops->decode_iter_times(b->priv, s, from, n, out);
        return;
    }
    double prev = backend_decode_span_time(b, s, from);
    for (int64_t i = 0; i < n; i++) {
        double t = backend_decode_span_time(b, s, from + i + 1);
        out[i] = t - prev;
        prev = t;
    }
}
