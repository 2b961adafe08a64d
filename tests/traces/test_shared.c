/* test_shared.c: the real traces in $SERVESIM_SHARED/traces (../shared);
 * exits 77 (meson's skip) when they are absent, as on a user's machine. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common.h"

#include "stats.h"
#include "trace.h"

static int fails;
#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); fails++; } } while (0)

static int stats_of(const char *path, const TraceOpenOpts *o, TraceStatsSummary *m, TraceStats **s)
{
    TraceReader *r;
    TraceRow row;
    int k = trace_reader_open(&r, path, o);
    if (k) {
        fprintf(stderr, "%s\n", ss_error_get());
        return k;
    }
    trace_stats_create(s, 60);
    while ((k = trace_reader_next(r, &row)) == 1) trace_stats_add(*s, &row);
    if (k) fprintf(stderr, "%s\n", ss_error_get());
    trace_stats_summarize(*s, trace_reader_stats(r), m);
    trace_reader_destroy(&r);
    return k;
}

int main(void)
{
    const char *shared = getenv("SERVESIM_SHARED");
    char dir[1024], p[1200];
    struct stat st;
    snprintf(dir, sizeof(dir), "%s/traces", shared ? shared : "../shared");
    if (stat(dir, &st)) {
        printf("no %s: skipped\n", dir);
        return 77;
    }
    TraceOpenOpts o;
    TraceStatsSummary m;
    TraceStats *s = NULL;

    trace_open_opts_default(&o);
    snprintf(p, sizeof(p), "%s/azure2023/AzureLLMInferenceTrace_conv.csv.gz", dir);
    CHECK(stats_of(p, &o, &m, &s) == 0);
    CHECK(m.rows == 19366);
    CHECK(fabs(m.gap_cv - 1.094) < 0.005);
    CHECK(m.input.max == 14050 && m.output.max == 1000);
    trace_stats_destroy(&s);

    snprintf(p, sizeof(p), "%s/azure2023/AzureLLMInferenceTrace_code.csv.gz", dir);
    CHECK(stats_of(p, &o, &m, &s) == 0);
    CHECK(m.rows == 8819);
    trace_stats_destroy(&s);

    snprintf(p, sizeof(p), "%s/burstgpt/BurstGPT_1_first_rows.csv", dir);
    o.failed_rows = TRACE_FAILED_REPLAY;
    CHECK(stats_of(p, &o, &m, &s) == 0);
    CHECK(m.rows == 42);
    CHECK(m.failed == 4);
    CHECK(m.span_s == 4720);
    CHECK(m.n_models == 2 && m.by_model[0].rows == 30 && m.by_model[1].failed == 3 && !strcmp(m.by_model[0].name, "ChatGPT"));
    trace_stats_destroy(&s);
    o.failed_rows = TRACE_FAILED_DROP;
    CHECK(stats_of(p, &o, &m, &s) == 0);
    CHECK(m.rows == 38 && m.failed == 4);
    trace_stats_destroy(&s);
    /* The lmaas dataset as JSONL with text and no arrival column. */
    o.map = "arrival=-,input=prompt_tokens,output=output_tokens,app=app,model=model,text=input,"
            "instruction=instruction";
    snprintf(p, sizeof(p), "%s/../datasets/lmaas_apps.jsonl.gz", dir);
    if (!stat(p, &st)) {
        CHECK(stats_of(p, &o, &m, &s) == 0);
        CHECK(m.rows == 49169);
        CHECK(m.n_apps == 12 && !strcmp(m.by_app[0].name, "code-repair"));
        trace_stats_destroy(&s);
    }
    printf("%d failed checks\n", fails);
    return fails ? 1 : 0;
}
