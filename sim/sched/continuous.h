/* continuous.h: iteration-level (continuous) batching over a paged KV cache,
 * the machinery vllm.c, chunked_prefill.c, sjf.c and srpt.c share.
 *
 * Each step: running requests first (decodes, then unfinished prompt chunks
 * when prefill is chunked), each growing its block table by what it writes;
 * when a block is missing, the lowest-ranked running request is preempted
 * (recompute, or swap when there is room) and requeued at the front.  Then
 * waiting requests in queue order while max_num_seqs, the token budget, the
 * blocks (minus the watermark) and, optionally, the batch's predicted peak
 * memory allow: head-of-line, as vLLM does.  The step is interruptible and
 * reserves blocks for as many iterations as memory allows (event skipping;
 * see cont__plan_lookahead for why that equals iteration-by-iteration). */
#ifndef SERVESIM_SCHED_CONTINUOUS_H
#define SERVESIM_SCHED_CONTINUOUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kv.h"
#include "queue.h"
#include "sched.h"

enum { CONT_PREEMPT_RECOMPUTE, CONT_PREEMPT_SWAP };
/* A remote-prompt request's place between admission and the running set. */
enum { CONT_REMOTE_NONE, CONT_REMOTE_RECEIVING, CONT_REMOTE_LANDED };

typedef struct ContOpts {
    int64_t max_num_seqs;           /* running requests, at most */
    int64_t max_num_batched_tokens; /* tokens per step (prefill + decode); 0 = auto */
    double watermark;               /* fraction of blocks admission leaves free */
    int64_t lookahead;              /* iterations one step may plan; 0 = as memory allows */
    int preempt;                    /* CONT_PREEMPT_* */
    double swap_gib;                /* CPU swap space, GiB */
    bool length_aware;              /* admit only if the predicted KV peak over time fits */
    bool prefix_caching;            /* reuse cached prompt prefixes (sim/kv_prefix.h) */
    double aging;                   /* priority policies: tokens of priority per second waited */
    int64_t preempt_limit;          /* srpt: priority preemptions per request, at most */
    int64_t margin;                 /* srpt: tokens by which a newcomer must beat a runner */
    double window_s;                /* sjf-window: the latest a key can be, s after arrival */
    int64_t long_tokens;            /* sjf-window: predicted remaining tokens that get the whole window */
} ContOpts;

/* Option table rows every continuous policy has. */
#define CONT_OPT_COMMON                                                                        \
    { "max_num_seqs", OPT_INT, offsetof(ContOpts, max_num_seqs), "256",                       \
      "running requests, at most", NULL, 1, 1 << 20 },                                         \
    { "watermark", OPT_DOUBLE, offsetof(ContOpts, watermark), "0.01",                         \
      "fraction of KV blocks admission leaves free for running sequences", NULL, 0, 0.99 },    \
    { "lookahead", OPT_INT, offsetof(ContOpts, lookahead), "0",                               \
      "iterations one step may reserve blocks for; 0 = as many as memory allows", NULL, 0,     \
      1 << 30 },                                                                               \
    { "preempt", OPT_CHOICE, offsetof(ContOpts, preempt), "recompute",                        \
      "what a preempted request loses", "recompute|swap", OPT_NO_BOUNDS },                     \
    { "swap_gib", OPT_DOUBLE, offsetof(ContOpts, swap_gib), "4",                              \
      "CPU swap space for preempt=swap, GiB (transfer time not modelled)", NULL, 0, 1e6 },     \
    { "length_aware", OPT_BOOL, offsetof(ContOpts, length_aware), "false",                    \
      "admit only if the running set's predicted KV peak over time (point predictions) fits",  \
      NULL, OPT_NO_BOUNDS },                                                                   \
    { "prefix_caching", OPT_BOOL, offsetof(ContOpts, prefix_caching), "false",                \
      "reuse the KV of cached prompt prefixes (the trace's hash_ids; sim/kv_prefix.h)",        \
      NULL, OPT_NO_BOUNDS }

#define CONT_OPT_PRIORITY                                                                      \
    { "aging", OPT_DOUBLE, offsetof(ContOpts, aging), "20",                                   \
      "priority gained per second of waiting, tokens/s (0 = none: may starve)", NULL, 0, 1e12 }

/* A continuous policy's waiting order: lower keys are admitted first, ties
 * by arrival id.  The key is computed when a request is queued (on arrival,
 * and again when a preemption requeues it) and must not read the true
 * output length; `o` holds the policy's options.  See docs/SCHEDULERS.md
 * ("Adding a policy"). */
typedef double (*ContQueueKey)(const Request *r, const ContOpts *o);

typedef struct ContSeq {
    KvSeq kv;                /* block table */
    double key;              /* priority policies: lower first */
    int32_t heap_index;
    int32_t prio_preempts;   /* srpt preemptions suffered */
    bool swapped;
    uint8_t remote;          /* disaggregated decode: CONT_REMOTE_* (admitted before its KV landed) */
    uint64_t preempted_plan; /* planning round of its last preemption */
    int64_t ride_offset;     /* riding: prefilled tokens - ride clock (constant while it rides) */
    int32_t deferred_blocks; /* finished as a rider: blocks held without ids, freed on detach */
    /* Lazy rank (sjf/srpt, continuous_rank.c): a runner is in every
     * iteration, so predicted - generated + clock is constant while it runs. */
    int64_t rank_u;          /* iterations: its key stops falling when the clock reaches it */
    double age_key;          /* aging x arrival_s, tokens */
    int32_t run_index;       /* index in Cont.running */
    int32_t rank_slot[2];    /* srpt: index in its victim heap, in Cont.to_clamp; -1: none */
    bool clamped;            /* srpt: rank_u <= clock, key = age_key */
    struct ContSeq *next_free;
} ContSeq;

/* A waiting request in the priority heap, with what orders it. */
typedef struct WaitSlot {
    double key;
    int64_t id;
    Request *r;
    ContSeq *s;
} WaitSlot;

/* An indexed binary heap of runners (continuous_rank.c), each entry with
 * what orders it: rank_u, age_key, id. */
typedef struct RankSlot {
    int64_t u;
    double age_key;
    int64_t id;
    ContSeq *s;
} RankSlot;

typedef struct RankHeap {
    RankSlot *items;
    int32_t n, cap;
} RankHeap;

typedef struct Cont {
    ContOpts o;
    SchedEnv env;
    KvCache kv;
    bool chunked;            /* prompts split to fit the token budget */
    bool priority;           /* waiting ordered by predicted remaining (+ aging) */
    ContQueueKey queue_key;  /* a policy's own waiting order (ContMode.queue_key) */
    bool heap_wait;          /* waiting is the heap on (key, id), not the FIFO */
    bool srpt;               /* ... and running requests preemptible by newcomers */
    int64_t budget;          /* tokens per step */
    ReqFifo fifo;            /* FCFS waiting queue */
    WaitSlot *heap;          /* priority waiting queue: a binary heap on (key, id) */
    size_t heap_n, heap_cap;
    Request **running;       /* sorted by rank, the last preempted first (lazy rank: when run_sorted) */
    int32_t n_running, cap_running;
    ContSeq **slabs, *free_seqs;
    size_t n_slabs, cap_slabs;
    uint64_t plans;          /* planning rounds (next_step calls) */
    /* Riders (sim/engine/ride.h): running decoders whose KV growth is counted
     * in aggregate.  A rider holds blocks_for(offset + clock) blocks; with
     * offset = block_size x q + r (0 <= r < block_size), the sum over riders
     * is q_sum + n x (clock / bs) + counts of r by residue: O(block_size). */
    bool ride;               /* FCFS order and no per-runner prediction: riders allowed */
    int32_t n_riders;
    int64_t ride_q_sum;      /* sum of floor(offset / block_size) */
    int32_t *ride_at_least;  /* [k]: riders whose offset mod block_size is >= k (0..bs) */
    int64_t ride_derides;    /* times every rider was taken back (memory short) */
    /* Riders' blocks at the clock now (between spans), and at the clock of
     * the last plan plus one: kept up to date so that a span asks the O(1)
     * sum twice, not four times. */
    int64_t ride_blocks_now, ride_blocks_next;
    struct ContFuture *future;  /* length-aware: scratch, a row per runner */
    int32_t cap_future;
    /* Lazy rank (priority policies that ride, continuous_rank.c): `running`
     * is unordered except in a plan that lists runners (run_sorted); srpt's
     * victims come from heaps of the runners it may still preempt. */
    bool rank_lazy;
    bool run_sorted;         /* running[] sorted by (key at plan_clock, id) in this plan */
    int64_t plan_clock;      /* ride clock at the last plan */
    RankHeap victims_open;   /* srpt, keys still falling: max (rank_u + age_key, id) */
    RankHeap victims_clamped;/* srpt, keys at age_key: max (age_key, id) */
    RankHeap to_clamp;       /* srpt, the open ones: min (rank_u, id) */
    Request **rank_scratch;  /* finished riders by rank */
    int32_t cap_rank_scratch;
    /* Disaggregated decode (engine_kv_pull): admitted with blocks, KV on its
     * way (they count against max_num_seqs); landed, joining the running
     * set at the next plan (not inside a step, whose members are fixed). */
    int32_t n_receiving;
    Request **landed;
    int32_t n_landed, cap_landed;
    int64_t kv_pulls;
    int64_t mem_preemptions, prio_preemptions, swap_outs;
    int64_t swap_full;       /* preempt=swap with the swap space full: recomputed instead */
} Cont;

/* The SchedOps members every continuous policy shares: only the name,
 * help, option table and init (its ContMode) differ. */
#define CONT_SCHED_OPS_COMMON                                                                  \
    .opts_size = sizeof(ContOpts), .priv_size = sizeof(Cont), .on_arrival = cont_on_arrival,  \
    .next_step = cont_next_step, .on_step_done = cont_on_step_done,                            \
    .queue_length = cont_queue_length, .kv_tokens_used = cont_kv_tokens_used,                  \
    .close = cont_close, .stats_json = cont_stats_json, .cancel = cont_cancel,                  \
    .prefix_match_tokens = cont_prefix_match_tokens, .prefix_cached_blocks = cont_prefix_cached_blocks, \
    .kv_landed = cont_kv_landed

typedef struct ContMode {
    bool chunked, priority, srpt;
    /* The queue-order hook: NULL = FCFS (preempted requests back at the
     * head); else the waiting queue is a heap on (queue_key(r), id), runners
     * keep arrival order and ride as vllm's do.  Not with `priority`, which
     * orders by its own aged key. */
    ContQueueKey queue_key;
} ContMode;

int cont_init(Cont *c, const ContOpts *o, const SchedEnv *env, ContMode mode);
void cont_on_arrival(void *priv, Request *r, double now_s);
int cont_next_step(void *priv, double now_s, Step *step, double *wake_s);
void cont_on_step_done(void *priv, const Step *step, double now_s);
void cont_cancel(void *priv, Request *r, double now_s);
void cont_kv_landed(void *priv, Request *r, double now_s);
int64_t cont_prefix_match_tokens(void *priv, const Request *r);
int64_t cont_prefix_cached_blocks(void *priv);
int64_t cont_queue_length(void *priv);
int64_t cont_kv_tokens_used(void *priv);
void cont_close(void *priv);
json_t *cont_stats_json(void *priv);

/* continuous_queue.c: per-request state, waiting queue, running set. */
static inline ContSeq *cont_seq(const Request *r) { return r->sched_data; }
ContSeq *cont_seq_attach(Cont *c, Request *r);
void cont_seq_detach(Cont *c, Request *r);
void cont_seq_free_all(Cont *c);
double cont_key(const Cont *c, const Request *r);
size_t cont_wait_len(const Cont *c);
Request *cont_wait_peek(const Cont *c);
Request *cont_wait_pop(Cont *c);
void cont_wait_push(Cont *c, Request *r, bool front);
void cont_wait_remove(Cont *c, Request *r);
void cont_run_insert(Cont *c, Request *r);
void cont_run_remove_at(Cont *c, int32_t i);
int32_t cont_run_find(const Cont *c, const Request *r);
void cont_run_resort(Cont *c);

/* continuous_ride.c: riders' KV, counted in aggregate. */
void cont_ride_init(Cont *c, bool allowed);
void cont_ride_free(Cont *c);
int64_t cont_ride_blocks_at(const Cont *c, int64_t clock);
/* A rider whose prefilled tokens are offset + clock enters (+1) or leaves (-1) the counts. */
void cont_ride_count(Cont *c, int64_t offset, int sign);
void cont_ride_join(Cont *c, Request *r);
void cont_ride_take_back_all(Cont *c);
/* After cont_ride_plan: r leaves the ride to be preempted, holding the block planned for its next token. */
void cont_ride_take_back_planned(Cont *c, Request *r);
bool cont_ride_plan(Cont *c, int64_t others_need);
void cont_ride_step_done(Cont *c, const Step *step);

/* continuous_rank.c: the rank order of sjf/srpt runners that ride. */
void cont_rank_free(Cont *c);
void cont_rank_plan_start(Cont *c);
void cont_rank_sort(Cont *c);
void cont_rank_add(Cont *c, Request *r);
void cont_rank_remove(Cont *c, Request *r);
int32_t cont_rank_victim(const Cont *c, const Request *head);
void cont_rank_finished(Cont *c, const Step *step);

#endif
