/* trace.h: streamed request traces.
 *
 * A trace is read row by row: memory stays bounded whatever its length.
 * Formats (BurstGPT, Azure, generic CSV, JSONL) each live in one file behind
 * TraceFormat; the reader wraps a format with decompression (gzip detected by
 * magic bytes), transforms (speed-up, time window, filters, cap) and the
 * bad-row and failed-row policies.  Anything that yields TraceRows (a file,
 * the synthetic generator) is a RowSource, which is what the engine consumes. */
#ifndef SERVESIM_TRACE_H
#define SERVESIM_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "opts.h"

/* Bytes of a session key + its NUL: a longer key is a bad row (file:line),
 * never cut (two keys sharing a prefix would silently merge sessions). */
#define TRACE_SESSION_MAX 64

typedef struct TraceRow {
    double arrival_s;       /* seconds since the first kept row, after speed-up */
    int64_t input_tokens;   /* prompt tokens */
    int64_t output_tokens;  /* true generated tokens; 0 on a failed row */
    bool failed;            /* replay as a failed request (BurstGPT Response tokens = 0) */
    char model[64];         /* "" when the format has none; 64: the lmaas dataset's
                             * answering models (36 bytes) must not be cut, since
                             * length predictors look them up by name */
    char log_type[32];      /* BurstGPT "Conversation log" / "API log"; "" when absent */
    char app[48];           /* application (JSONL workloads); "" when absent */
    char session[TRACE_SESSION_MAX]; /* BurstGPT_3 "Session ID": an opaque key (any text up to
                             * TRACE_SESSION_MAX - 1 bytes, no control characters); "" when absent */
    double elapsed_s;       /* BurstGPT_3 "Elapsed time"; -1 when absent */
    const char *instruction;/* application instruction text, NULL when absent */
    const char *text;       /* user text, NULL when absent; valid until the next row */
    size_t line;            /* 1-based line of the row in its file (0 when synthetic) */
    /* Prefix block hashes (traces/README.md, "Block hashes"): JSONL's
     * --map hash_ids=FIELD (Mooncake), derived by --sessions cumulative, or
     * drawn by a multi-turn / system-prompt workload.  A hash is a prefix
     * hash, as Mooncake's: equal hash_ids[i] means the whole prompt prefix
     * [0, (i+1) * hash_block_tokens) is equal.  The last block may be
     * partial (prompt length not a multiple of hash_block_tokens): its hash
     * is included, as in Mooncake, so n_hash_ids = ceil(input / block); a
     * file may instead hash full blocks only (n = floor(input / block)), and
     * the reader accepts either, nothing else. */
    const uint64_t *hash_ids;   /* prefix block hashes, hash_ids[i] covers prompt tokens
                                 * [i*hash_block, (i+1)*hash_block); NULL when none; owned by
                                 * the reader, valid until the next row */
    int32_t n_hash_ids;
    int32_t hash_block_tokens;  /* tokens per hash (--hash-block, default 512); 0 when no hashes */
} TraceRow;

/* Producer of rows in arrival order.  next() returns 1 with a row, 0 at the
 * end, or a negative errno with ss_error_get() naming file:line: field. */
typedef struct RowSource {
    void *ctx;
    int (*next)(void *ctx, TraceRow *row);
    const char *description; /* for manifests: a path, or "workload:default seed=1" */
} RowSource;

typedef enum TraceBadRows { TRACE_BAD_ABORT = 0, TRACE_BAD_SKIP } TraceBadRows;
typedef enum TraceFailedRows { TRACE_FAILED_DROP = 0, TRACE_FAILED_REPLAY } TraceFailedRows;
/* --sessions: how a session trace without hashes gets them.  cumulative:
 * turn k's prompt (its Request tokens, taken as the whole prompt) holds turns
 * 1..k-1's prompts and responses, then its own new tokens, so its leading
 * full blocks are the previous turn's (traces/README.md says why and what
 * the alternative would be).  A row with no session is a session of one. */
typedef enum TraceSessions { TRACE_SESSIONS_NONE = 0, TRACE_SESSIONS_CUMULATIVE } TraceSessions;
#define TRACE_HASH_BLOCK_DEFAULT 512 /* tokens per hash: Mooncake's traces */

typedef struct TraceOpenOpts {
    const char *format;          /* "auto" (by header) or a registered format name */
    const char *map;             /* column mapping for csv/jsonl, see traces/README */
    double speedup;              /* divide inter-arrival times by this; 1 = as recorded */
    double window_start_s;       /* keep rows with trace time >= start (before speed-up) */
    double window_end_s;         /* ... and < end; <= 0 means open-ended */
    const char *model_filter;    /* keep only this model (exact), NULL = all */
    const char *log_type_filter; /* keep only this log type (exact), NULL = all */
    int64_t max_requests;        /* stop after this many rows; 0 = all */
    TraceBadRows bad_rows;
    TraceFailedRows failed_rows;
    int32_t hash_block_tokens;   /* tokens per hash of the trace's hash_ids (default 512,
                                  * Mooncake's); also the block of --sessions cumulative */
    TraceSessions sessions;      /* derive hashes from Session ID (see TraceSessions) */
} TraceOpenOpts;

void trace_open_opts_default(TraceOpenOpts *o);

typedef struct TraceReaderStats {
    int64_t rows_returned;
    int64_t rows_bad_skipped;     /* malformed rows skipped under --bad-rows skip */
    int64_t rows_failed_dropped;  /* failed rows dropped under --failed drop */
    int64_t rows_filtered;        /* outside the window or filters */
    int64_t rows_session_short;   /* --sessions cumulative: turns shorter than the previous
                                   * turn's prompt + response (the assumption fails; only
                                   * the blocks inside both prompts are shared) */
    char first_bad[5][256];       /* the first few bad-row messages, for the user */
} TraceReaderStats;

typedef struct TraceReader TraceReader;

int trace_reader_open(TraceReader **out, const char *path, const TraceOpenOpts *opts);
/* 1 with a row, 0 at the end, negative errno on error (message set). */
int trace_reader_next(TraceReader *r, TraceRow *row);
const TraceReaderStats *trace_reader_stats(const TraceReader *r);
const char *trace_reader_format_name(const TraceReader *r);
void trace_reader_destroy(TraceReader **r);
/* Wrap an open reader as a RowSource. */
RowSource trace_reader_source(TraceReader *r, const char *path);

#endif
