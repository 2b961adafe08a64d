/* requests_csv.c: the requests.csv writer thread.
 *
 * The engine's thread fills a block of records without the lock, then
 * publishes it; the writer formats a published block into one buffer,
 * writes it, then releases the block.  Block k lives in slot
 * k % REQUESTS_CSV_BLOCKS and is filled only once block
 * k - REQUESTS_CSV_BLOCKS has been released: bounded memory, and a writer
 * slower than the engine makes the engine wait rather than queue without end.
 *
 * Waking a sleeping thread costs the waker a system call and, on a 2-core
 * machine, can put the wakee on the engine's core: the writer is woken once
 * half the ring is full (or at the end), then writes all it finds, and
 * nobody is signalled unless it is waiting. */
#include "requests_csv.h"

#include <pthread.h>
#include <stdlib.h>

#include "common.h"
#include "helper_thread.h"
#include "csv_fmt.h"
#include "request.h"

#define TEXT_BYTES ((size_t)64 << 10) /* the writer's formatting buffer */

const char requests_csv_header[] =
    "id,instance,arrival_s,input_tokens,output_tokens,predicted_output_tokens,"
    "generated_tokens,state,reason,first_scheduled_s,first_token_s,finish_s,"
    "ttft_s,tpot_s,e2e_s,itl_max_s,preemptions\n";

char *requests_csv_format_row(char *p, const RequestsCsvRecord *rec)
{
    p = csv_put_i64(p, rec->id); *p++ = ',';
    p = csv_put_i64(p, rec->instance); *p++ = ',';
    p = csv_put_seconds(p, rec->arrival_s); *p++ = ',';
    p = csv_put_i64(p, rec->input_tokens); *p++ = ',';
    p = csv_put_i64(p, rec->output_tokens); *p++ = ',';
    p = csv_put_i64(p, rec->predicted_output_tokens); *p++ = ',';
    p = csv_put_i64(p, rec->generated_tokens); *p++ = ',';
    p = csv_put_str(p, request_state_name((ReqState)rec->state)); *p++ = ',';
    p = csv_put_str(p, request_fail_reason_name((ReqFailReason)rec->fail_reason)); *p++ = ',';
    p = csv_put_seconds(p, rec->first_scheduled_s); *p++ = ',';
    p = csv_put_seconds(p, rec->first_token_s); *p++ = ',';
    p = csv_put_seconds(p, rec->finish_s); *p++ = ',';
    p = csv_put_seconds(p, rec->ttft_s); *p++ = ',';
    p = csv_put_seconds(p, rec->tpot_s); *p++ = ',';
    p = csv_put_seconds(p, rec->e2e_s); *p++ = ',';
    p = csv_put_seconds(p, rec->itl_max_s); *p++ = ',';
    p = csv_put_i64(p, rec->preemptions); *p++ = '\n';
    return p;
}

typedef struct RecordBlock {
    RequestsCsvRecord rows[REQUESTS_CSV_BLOCK_ROWS];
    int n_rows;
} RecordBlock;

struct RequestsCsvWriter {
    FILE *f;
    RecordBlock *ring;           /* REQUESTS_CSV_BLOCKS slots */
    char *text;                  /* the writer thread's: TEXT_BYTES */
    pthread_t thread;
    bool threaded;               /* false: each push writes at once */
    bool finished;
    pthread_mutex_t lock;
    pthread_cond_t block_ready;  /* half the ring is published, or closing was set */
    pthread_cond_t slot_free;    /* the writer released a block */
    /* Under `lock`. */
    uint64_t published, released; /* blocks */
    bool closing;                /* nothing is published after `published` */
    bool writer_waiting;         /* the writer waits on block_ready */
    bool pusher_waiting;         /* the pushing thread waits on slot_free */
    /* The pushing thread's own. */
    uint64_t filling;            /* block being filled */
    int fill_pos;                /* its next record */
};

/* Format a block and write it, TEXT_BYTES at a time. */
static void write_block(RequestsCsvWriter *w, const RecordBlock *b)
{
    char *p = w->text;
    for (int i = 0; i < b->n_rows; i++) {
        if ((size_t)(w->text + TEXT_BYTES - p) < REQUESTS_CSV_ROW_MAX) {
            fwrite(w->text, 1, (size_t)(p - w->text), w->f);
            p = w->text;
        }
        p = requests_csv_format_row(p, &b->rows[i]);
    }
    fwrite(w->text, 1, (size_t)(p - w->text), w->f);
}

static void *writer_thread_main(void *arg)
{
    RequestsCsvWriter *w = arg;
    for (uint64_t block = 0;; block++) {
        pthread_mutex_lock(&w->lock);
        while (w->published <= block && !w->closing) {
            w->writer_waiting = true;
            pthread_cond_wait(&w->block_ready, &w->lock);
        }
        w->writer_waiting = false;
        bool have = w->published > block;
        pthread_mutex_unlock(&w->lock);
        if (!have) return NULL;
        write_block(w, &w->ring[block % REQUESTS_CSV_BLOCKS]);
        pthread_mutex_lock(&w->lock);
        w->released = block + 1;
        if (w->pusher_waiting) pthread_cond_signal(&w->slot_free);
        pthread_mutex_unlock(&w->lock);
    }
}

int requests_csv_writer_create(RequestsCsvWriter **out, FILE *f, bool threaded)
{
    RequestsCsvWriter *w = ss_calloc(1, sizeof(*w));
    w->f = f;
    if (threaded) {
        w->ring = ss_malloc(REQUESTS_CSV_BLOCKS * sizeof(RecordBlock));
        w->text = ss_malloc(TEXT_BYTES);
        pthread_mutex_init(&w->lock, NULL);
        pthread_cond_init(&w->block_ready, NULL);
        pthread_cond_init(&w->slot_free, NULL);
        /* Without a thread the rows are written at once: same bytes, no overlap. */
        w->threaded = helper_thread_start(&w->thread, writer_thread_main, w);
        if (!w->threaded) {
            pthread_cond_destroy(&w->slot_free);
            pthread_cond_destroy(&w->block_ready);
            pthread_mutex_destroy(&w->lock);
        }
    }
    *out = w;
    return 0;
}

static void publish_block(RequestsCsvWriter *w)
{
    w->ring[w->filling % REQUESTS_CSV_BLOCKS].n_rows = w->fill_pos;
    w->fill_pos = 0;
    pthread_mutex_lock(&w->lock);
    w->published = ++w->filling;
    if (w->writer_waiting && w->published - w->released >= REQUESTS_CSV_BLOCKS / 2)
        pthread_cond_signal(&w->block_ready);
    pthread_mutex_unlock(&w->lock);
}

void requests_csv_writer_push(RequestsCsvWriter *w, const RequestsCsvRecord *rec)
{
    SS_ASSERT(!w->finished);
    if (!w->threaded) {
        char row[REQUESTS_CSV_ROW_MAX];
        char *end = requests_csv_format_row(row, rec);
        fwrite(row, 1, (size_t)(end - row), w->f);
        return;
    }
    if (w->fill_pos == 0) { /* a new block: wait until its slot has been written out */
        pthread_mutex_lock(&w->lock);
        while (w->filling - w->released >= REQUESTS_CSV_BLOCKS) {
            w->pusher_waiting = true;
            pthread_cond_wait(&w->slot_free, &w->lock);
        }
        w->pusher_waiting = false;
        pthread_mutex_unlock(&w->lock);
    }
    w->ring[w->filling % REQUESTS_CSV_BLOCKS].rows[w->fill_pos++] = *rec;
    if (w->fill_pos == REQUESTS_CSV_BLOCK_ROWS) publish_block(w);
}

void requests_csv_writer_finish(RequestsCsvWriter *w)
{
    if (w->finished) return;
    w->finished = true;
    if (!w->threaded) return;
    if (w->fill_pos > 0) publish_block(w);
    pthread_mutex_lock(&w->lock);
    w->closing = true;
    pthread_cond_signal(&w->block_ready);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
}

void requests_csv_writer_destroy(RequestsCsvWriter **pw)
{
    RequestsCsvWriter *w = *pw;
    if (!w) return;
    requests_csv_writer_finish(w);
    if (w->threaded) {
        pthread_cond_destroy(&w->slot_free);
        pthread_cond_destroy(&w->block_ready);
        pthread_mutex_destroy(&w->lock);
    }
    free(w->ring);
    free(w->text);
    free(w);
    *pw = NULL;
}
