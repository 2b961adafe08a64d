/* dataset_trace.c: a predictor dataset from any trace the readers know.
 *
 * Traces carry no split, so one is drawn per row from its index: a row is in
 * "valid" when hash(seed, row index) falls in the last fifth, else "train"
 * ("all" keeps every row).  The same file and seed always give the same
 * split, and the two never share a row.  Text, app and instruction come
 * along when the format has them (JSONL workloads). */
#include <string.h>

#include "common.h"
#include "engine/rng.h"
#include "predict/predict.h"
#include "trace.h"

static bool row_in_split(int64_t index, const char *split, uint64_t seed)
{
    if (!strcmp(split, "all")) return true;
    bool valid = ss_stream_seed(seed, "dataset.split", (uint64_t)index) % 5 == 4;
    return !strcmp(split, "valid") ? valid : !valid;
}

int dataset_load_trace(Dataset *d, const char *path, const TraceOpenOpts *opts,
                       const char *split, uint64_t seed)
{
    if (strcmp(split, "train") && strcmp(split, "valid") && strcmp(split, "all"))
        return ss_error_set(EINVAL, "split '%s' is not train, valid or all", split);
    TraceReader *r = NULL;
    int rc = trace_reader_open(&r, path, opts);
    if (rc) return rc;
    TraceRow row;
    int64_t index = 0;
    while ((rc = trace_reader_next(r, &row)) == 1) {
        if (!row_in_split(index++, split, seed) || row.failed) continue;
        PredictSample s = { 0 };
        s.in.input_tokens = (int32_t)SS_MIN(row.input_tokens, INT32_MAX);
        s.in.app = dataset_intern(d, row.app);
        s.in.instruction = row.instruction ? dataset_intern(d, row.instruction) : NULL;
        s.in.text = row.text ? dataset_intern(d, row.text) : NULL;
        s.in.model = row.model[0] ? dataset_intern(d, row.model) : NULL;
        s.output_tokens = (int32_t)SS_MIN(row.output_tokens, INT32_MAX);
        s.in.true_output_tokens = s.output_tokens;
        dataset_push(d, &s);
    }
    trace_reader_destroy(&r);
    return rc < 0 ? rc : 0;
}
