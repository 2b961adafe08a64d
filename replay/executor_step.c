/* replay/executor_step.c: one iteration of the engine's running step, for
 * real.  Plan (which sequences feed which tokens at which positions, blocks
 * grown from the executor's KvCache), run the model and time it, then commit
 * (greedy outputs appended, cache counts advanced) and write the steps.csv
 * row.  The engine's iteration semantics are span.c's:
 *   iteration 1: members with a prefill_chunk compute it (static batches: the
 *     whole padded prompt from an empty cache), the others decode;
 *   iteration k >= 2: members with emits_first[i] that still have tokens to
 *     emit (k <= output - generated, counted at the span's start) decode;
 *     static batches also decode every other slot (padding). */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "cuda_module.h"
#include "cost/profile.h"
#include "executor_internal.h"

#define REPLAY_PAD_TOKEN 0 /* token id of prompt padding */

static double clock_s(const ReplayExecutor *x)
{
    struct timespec ts;
    clock_gettime(x->cfg.thread_cpu_timer ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int out_of_step(const ReplayReq *q, const char *what, long long have, long long want)
{
    return ss_error_set(EPROTO, "request %lld: %s is %lld, the engine's step needs %lld "
                        "(executor and engine out of step)", (long long)q->id, what, have, want);
}

static int grow(ReplayExecutor *x, ReplayReq *q, int64_t positions)
{
    if (!kv_seq_grow_to(&x->kv, &q->kv, positions, false)) return 0;
    return ss_error_set(ENOSPC, "request %lld needs %lld KV positions and the executor's "
                        "cache (%d blocks of %d tokens) is full: the scheduler believes in more "
                        "memory than the executor has (swap preemption keeps KV resident here)",
                        (long long)q->id, (long long)positions, x->kv.n_blocks, x->kv.block_size);
}

/* Iteration 1 of a static batch: will the whole span's padding fit?  Every
 * slot then holds padded_input + K - 1 positions at the end.  If not, no
 * slot runs padding (all or nothing: real tokens must never find the cache
 * full because padding took it); the scheduler only promised room for them. */
static void static_padding_decide(ReplayExecutor *x, const Step *step, const bool *emits_first)
{
    int64_t K = 1, need = 0;
    for (int32_t i = 0; i < step->n_members; i++)
        if (emits_first[i]) K = SS_MAX(K, request_remaining_tokens(step->members[i].req));
    if (step->max_iters > 0) K = SS_MIN(K, step->max_iters);
    for (int32_t i = 0; i < step->n_members; i++) {
        ReplayReq *q = replay__find(x, step->members[i].req->id);
        need += kv_blocks_for(&x->kv, (int64_t)step->padded_input + K - 1) - (q ? q->kv.n_blocks : 0);
    }
    x->static_padding = need <= x->kv.n_free;
}

static int plan_static_prompt(ReplayExecutor *x, const Step *step, ReplayReq *q,
                              const Request *r, bool emits, ReplaySeqPlan *p)
{
    int32_t target = request_prefill_target(r), L = step->padded_input;
    if (q->n_tokens != target) return out_of_step(q, "tokens held", q->n_tokens, target);
    kv_seq_release(&x->kv, &q->kv);
    int32_t pad = x->static_padding ? L - target : 0;
    x->padding_skipped += L - target - pad;
    int rc = grow(x, q, pad + target);
    if (rc) return rc;
    q->pad = pad;
    q->cached = 0;
    *p = (ReplaySeqPlan){ q, q->tokens, pad + target, pad, 0, emits };
    return 0;
}

static int plan_chunk(ReplayExecutor *x, ReplayReq *q, const Request *r, int32_t chunk,
                      bool emits, ReplaySeqPlan *p)
{
    int32_t past = r->prefilled_tokens;
    if (q->cached != past || q->pad) return out_of_step(q, "KV cached", q->cached, past);
    if (past + chunk > q->n_tokens) return out_of_step(q, "tokens held", q->n_tokens, past + chunk);
    int rc = grow(x, q, past + chunk);
    if (rc) return rc;
    int32_t from = SS_MAX(past, q->n_prompt);
    x->tokens_recomputed += SS_MAX(0, past + chunk - from);
    *p = (ReplaySeqPlan){ q, q->tokens + past, chunk, 0, past, emits };
    return 0;
}

static int plan_decode(ReplayExecutor *x, ReplayReq *q, ReplaySeqPlan *p)
{
    if (q->cached != q->pad + q->n_tokens - 1)
        return out_of_step(q, "KV cached", q->cached, q->pad + q->n_tokens - 1);
    int rc = grow(x, q, q->cached + 1);
    if (rc) return rc;
    *p = (ReplaySeqPlan){ q, q->tokens + q->n_tokens - 1, 1, 0, q->cached, true };
    return 0;
}

/* Member i's sequence in iteration `iter`; *runs = false when it sits out. */
static int plan_member(ReplayExecutor *x, const Step *step, int32_t i, bool emits_first,
                       int64_t iter, ReplaySeqPlan *p, bool *runs)
{
    const StepMember *m = &step->members[i];
    const Request *r = m->req;
    ReplayReq *q = replay__req(x, r);
    *runs = true;
    if (iter == 1) {
        if (step->static_batch) return plan_static_prompt(x, step, q, r, emits_first, p);
        if (m->prefill_chunk > 0) return plan_chunk(x, q, r, m->prefill_chunk, emits_first, p);
        if (q->cached != r->prefilled_tokens)
            return out_of_step(q, "KV cached", q->cached, r->prefilled_tokens);
        return plan_decode(x, q, p);
    }
    if (emits_first && iter <= (int64_t)request_remaining_tokens(r)) return plan_decode(x, q, p);
    if (!step->static_batch) { *runs = false; return 0; }
    /* A static slot whose member is done (or failed): padding decode. */
    if (!x->static_padding || kv_seq_grow_to(&x->kv, &q->kv, (int64_t)q->cached + 1, false)) {
        x->padding_skipped++;
        *runs = false;
        return 0;
    }
    *p = (ReplaySeqPlan){ q, &q->filler, 1, 0, q->cached, false };
    return 0;
}

/* Lay the planned sequences out as ModelSeqs over the scratch token buffer. */
static void plan_layout(ReplayExecutor *x, int32_t n)
{
    size_t total = 0;
    for (int32_t j = 0; j < n; j++) total += (size_t)x->plan[j].n;
    SS_GROW(x->scratch, x->scratch_cap, total);
    int32_t *t = x->scratch;
    for (int32_t j = 0; j < n; j++) {
        const ReplaySeqPlan *p = &x->plan[j];
        for (int32_t k = 0; k < p->n_pad; k++) t[k] = REPLAY_PAD_TOKEN;
        memcpy(t + p->n_pad, p->src, sizeof(*t) * (size_t)(p->n - p->n_pad));
        x->seqs[j] = (ModelSeq){ t, p->n, p->start, p->q->kv.ids, p->q->kv.n_blocks };
        t += p->n;
        x->tokens_computed += p->n;
    }
}

static int forward(ReplayExecutor *x, int32_t n, double *seconds)
{
    double t0 = clock_s(x);
    int rc;
    if (x->cuda)
        rc = x->cuda_api->forward_step(x->cuda, x->seqs, n, x->next, NULL);
    else
        rc = model_forward_step(x->cpu, x->seqs, n, x->next, NULL);
    *seconds = clock_s(x) - t0;
    if (rc < 0) return ss_error_set(-rc, "the model refused an iteration of %d sequences", n);
    return 0;
}

static void commit(ReplayExecutor *x, int32_t n)
{
    for (int32_t j = 0; j < n; j++) {
        const ReplaySeqPlan *p = &x->plan[j];
        ReplayReq *q = p->q;
        q->cached += p->n;
        q->filler = x->next[j];
        if (!p->emits) continue;
        SS_GROW(q->tokens, q->cap, (size_t)q->n_tokens + 1);
        q->tokens[q->n_tokens++] = x->next[j];
        x->tokens_generated++;
    }
}

static void write_row(ReplayExecutor *x, const Step *step, const StepShape *s, int64_t iter,
                      int32_t n, int64_t skipped, double measured_s)
{
    FILE *f = x->cfg.steps_csv;
    double pairs = s->prefill_attn_pairs + (double)s->decode_context + s->decode_seqs;
    fprintf(f, "%lld,%lld,%s,%d,%d,%d,%lld,%.10g,%lld,%d,%lld,%.10g,%lld,%.6e,", (long long)x->steps - 1,
            (long long)iter, profile_kind_name(profile_step_kind(s)), step->n_members, n,
            s->prefill_seqs, (long long)s->prefill_tokens, s->prefill_attn_pairs,
            (long long)s->prefill_past_tokens, s->decode_seqs, (long long)s->decode_context,
            pairs, (long long)skipped, measured_s);
    if (x->cfg.roofline) fprintf(f, "%.6e", backend_step_time(x->cfg.roofline, s));
    fputc(',', f);
    if (x->cfg.profile) fprintf(f, "%.6e", backend_step_time(x->cfg.profile, s));
    fputc('\n', f);
}

double replay__run_iteration(void *ctx, int32_t instance, const Step *step,
                             const bool *emits_first, const StepShape *shape, int64_t iter)
{
    ReplayExecutor *x = ctx;
    (void)instance; /* one instance per replay */
    size_t need = (size_t)SS_MAX(step->n_members, 1);
    if (need > x->plan_cap) {
        size_t cap = x->plan_cap;
        SS_GROW(x->plan, cap, need);
        x->seqs = ss_realloc(x->seqs, cap * sizeof(*x->seqs));
        x->next = ss_realloc(x->next, cap * sizeof(*x->next));
        x->plan_cap = cap;
    }
    if (iter == 1) x->steps++;
    if (iter == 1 && step->static_batch) static_padding_decide(x, step, emits_first);
    int64_t skipped0 = x->padding_skipped;
    int32_t n = 0;
    for (int32_t i = 0; i < step->n_members; i++) {
        bool runs;
        int rc = plan_member(x, step, i, emits_first[i], iter, &x->plan[n], &runs);
        if (rc) return rc;
        n += runs;
    }
    double seconds = 0;
    if (n > 0) {
        plan_layout(x, n);
        int rc = forward(x, n, &seconds);
        if (rc) return rc;
        commit(x, n);
    }
    x->iterations++;
    x->measured_s += seconds;
    if (x->cfg.steps_csv) write_row(x, step, shape, iter, n, x->padding_skipped - skipped0, seconds);
    return seconds;
}
