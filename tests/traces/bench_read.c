/* bench_read.c: rows/s of the streaming trace reader and the peak RSS.
 *   bench_trace_read FILE...   (prints one line per file) */
#include <stdio.h>
#include <sys/resource.h>

#include "common.h"
#include "trace.h"

/* User + system CPU seconds of this process: steadier than wall time on a busy machine. */
static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           1e-6 * (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_trace_read FILE...\n");
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        TraceOpenOpts o;
        trace_open_opts_default(&o);
        o.failed_rows = TRACE_FAILED_REPLAY; /* every row comes out */
        TraceReader *r;
        TraceRow row;
        int64_t n = 0, tokens = 0;
        double t0 = ss_wall_seconds(), c0 = cpu_seconds();
        int k = trace_reader_open(&r, argv[i], &o);
        if (k) {
            fprintf(stderr, "%s\n", ss_error_get());
            return 1;
        }
        while ((k = trace_reader_next(r, &row)) == 1) {
            n++;
            tokens += row.input_tokens;
        }
        double dt = ss_wall_seconds() - t0, dc = cpu_seconds() - c0;
        if (k) {
            fprintf(stderr, "%s\n", ss_error_get());
            return 1;
        }
        trace_reader_destroy(&r);
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        printf("%-48s %lld rows: %.3f s wall %.2f M rows/s, %.3f s cpu %.2f M rows/s; peak RSS %.1f MiB"
               " (checksum %lld)\n", argv[i], (long long)n, dt, (double)n / dt * 1e-6, dc,
               (double)n / dc * 1e-6, (double)ru.ru_maxrss / 1024.0, (long long)tokens);
    }
    return 0;
}
