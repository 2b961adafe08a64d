/* continuous.c: forming iteration steps over the paged KV cache (see
 * continuous.h for the policy; continuous_queue.c for the queues).
 *
 * Event skipping must not change a single decision, so a step is planned
 * for L iterations only while iteration-by-iteration scheduling would keep
 * the same members.  Within a span nothing finishes, arrives (the step is
 * interruptible) or frees memory; free blocks only fall and keys of running
 * requests only fall.  So a waiting request refused at iteration 1 for
 * memory, max_num_seqs or srpt margin stays refused.  Four things do change
 * after iteration 1, and each makes the step one iteration: a preemption
 * (the victim may come back at once), a refusal for the token budget while
 * the step holds prompt tokens (the budget frees up when they are done), a
 * length-aware refusal (runners' predicted ends draw nearer, the head's does
 * not) and a prompt chunk that leaves the prompt unfinished (the engine
 * stops there by itself).  L is then the most iterations whose new
 * blocks fit in the free blocks now: iteration L + 1 would preempt. */
#include "continuous.h"
#include "kv_prefix.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

typedef struct Plan {
    int64_t budget_left;     /* tokens */
    int64_t prefill_tokens;  /* prompt tokens in the step */
    bool mem_preempted;      /* a runner lost its blocks: no admissions (as vLLM) */
    bool any_preempted;
    bool budget_blocked;     /* someone was left out for the token budget */
    bool future_blocked;     /* the head was left out for its predicted KV peak */
    uint64_t id;             /* which planning round (srpt victims stay out of it) */
} Plan;

enum { ADMIT_OK, ADMIT_SEQS, ADMIT_BUDGET, ADMIT_MEMORY, ADMIT_FUTURE, ADMIT_NEVER };

int cont_init(Cont *c, const ContOpts *o, const SchedEnv *env, ContMode mode)
{
    c->o = *o;
    c->env = *env;
    c->chunked = mode.chunked;
    c->priority = mode.priority;
    c->srpt = mode.srpt;
    SS_ASSERT(!(mode.priority && mode.queue_key)); /* priority orders by its own key */
    c->queue_key = mode.queue_key;
    c->heap_wait = mode.priority || mode.queue_key;
    c->budget = o->max_num_batched_tokens;
    if (!c->budget) c->budget = c->chunked ? 512 : SS_MAX((int64_t)env->max_context, 2048);
    /* As vLLM at start-up: without chunking a prompt (or a preempted
     * sequence's recompute) up to the context must fit in one step, or
     * requests are refused that a bigger budget would serve. */
    if (!c->chunked && c->budget < env->max_context)
        return ss_error_set(EINVAL, "--sched: max_num_batched_tokens=%lld is below the model context (%d "
                            "tokens): without chunked prefill longer prompts could never be scheduled "
                            "(vLLM refuses this too); raise it to >= %d or use chunked-prefill",
                            (long long)c->budget, env->max_context, env->max_context);
    /* Every runner decodes one token per step: the budget must cover them. */
    c->o.max_num_seqs = SS_MIN(c->o.max_num_seqs, c->budget);
    int64_t swap_tokens = 0;
    if (o->preempt == CONT_PREEMPT_SWAP && env->model && env->model->kv_bytes_per_token > 0)
        swap_tokens = (int64_t)(o->swap_gib * 1073741824.0 / env->model->kv_bytes_per_token);
    int r = kv_init(&c->kv, env->kv_capacity_tokens, env->kv_block_size, o->watermark, swap_tokens);
    if (r) return r;
    if (kv_blocks_for(&c->kv, 2) > c->kv.n_blocks - c->kv.watermark)
        return ss_error_set(EINVAL, "--sched: the KV cache (%d blocks, %d of them the watermark) cannot hold "
                            "even a one-token prompt: no request could ever run; lower watermark or give "
                            "the KV cache more memory (--gpu-mem-util, --tp)", c->kv.n_blocks, c->kv.watermark);
    kv_count_only(&c->kv); /* what fits is all a plan needs; replay places KV with its own ids */
    if (o->prefix_caching) {
        /* A swapped-out sequence's shared blocks would need their own copy in
         * CPU memory: not modelled. */
        if (o->preempt == CONT_PREEMPT_SWAP)
            return ss_error_set(EINVAL, "--sched: prefix_caching=true with preempt=swap is not supported; "
                                "use preempt=recompute");
        kv_enable_prefix(&c->kv);
    }
    cont_ride_init(c, true);
    return r;
}

void cont_close(void *priv)
{
    Cont *c = priv;
    cont_seq_free_all(c);
    req_fifo_free(&c->fifo);
    free(c->heap);
    free(c->running);
    free(c->future);
    free(c->landed);
    cont_ride_free(c);
    cont_rank_free(c);
    kv_free(&c->kv);
}

json_t *cont_stats_json(void *priv)
{
    const Cont *c = priv;
    json_t *o = json_object();
    json_object_set_new(o, "kv_blocks", json_integer(c->kv.n_blocks));
    json_object_set_new(o, "kv_block_size", json_integer(c->kv.block_size));
    json_object_set_new(o, "kv_peak_blocks", json_integer(c->kv.peak_held));
    json_object_set_new(o, "token_budget", json_integer(c->budget));
    json_object_set_new(o, "memory_preemptions", json_integer(c->mem_preemptions));
    json_object_set_new(o, "priority_preemptions", json_integer(c->prio_preemptions));
    json_object_set_new(o, "swap_outs", json_integer(c->swap_outs));
    json_object_set_new(o, "swap_full_recomputes", json_integer(c->swap_full));
    json_object_set_new(o, "planning_rounds", json_integer((json_int_t)c->plans));
    json_object_set_new(o, "rider_take_backs", json_integer(c->ride_derides));
    if (c->kv_pulls) json_object_set_new(o, "kv_pulls", json_integer(c->kv_pulls));
    if (c->kv.prefix) {
        const KvPrefix *p = c->kv.prefix;
        json_t *x = json_object();
        json_object_set_new(x, "hit_blocks", json_integer(p->st.hit_blocks));
        json_object_set_new(x, "prefill_tokens_saved", json_integer(p->st.hit_blocks * c->kv.block_size));
        json_object_set_new(x, "admissions_with_keys", json_integer(p->st.lookups));
        json_object_set_new(x, "registered_blocks", json_integer(p->st.registered));
        json_object_set_new(x, "evictions", json_integer(p->st.evictions));
        json_object_set_new(x, "cached_blocks", json_integer(p->n_entries));
        json_object_set_new(o, "prefix_cache", x);
    }
    return o;
}

int64_t cont_prefix_match_tokens(void *priv, const Request *r)
{
    const Cont *c = priv;
    if (!c->kv.prefix || !r->n_hash_ids) return 0;
    return (int64_t)kv_prefix_match(&c->kv, r, (r->input_tokens - 1) / c->kv.block_size) * c->kv.block_size;
}

int64_t cont_prefix_cached_blocks(void *priv)
{
    const Cont *c = priv;
    return c->kv.prefix ? c->kv.prefix->n_entries : -1;
}

int64_t cont_queue_length(void *priv) { return (int64_t)cont_wait_len(priv); }

int64_t cont_kv_tokens_used(void *priv)
{
    const Cont *c = priv;
    return (int64_t)kv_held(&c->kv) * c->kv.block_size;
}

void cont_on_arrival(void *priv, Request *r, double now_s)
{
    Cont *c = priv;
    int32_t need = kv_blocks_for(&c->kv, (int64_t)r->input_tokens + 1);
    if (need > c->kv.n_blocks - c->kv.watermark || (!c->chunked && r->input_tokens > c->budget)) {
        engine_reject(c->env.instance, r, REQ_REJECT_TOO_LONG, now_s);
        return;
    }
    cont_seq_attach(c, r);
    cont_wait_push(c, r, false);
}

static bool is_decoding(const Request *r)
{
    return r->generated_tokens > 0 && r->prefilled_tokens == request_prefill_target(r) - 1;
}

/* Length-aware admission: a request's KV now and the tokens it is predicted
 * to add before it ends and frees them all. */
typedef struct ContFuture { int64_t held, more; } ContFuture;

static ContFuture future_of(const Cont *c, const Request *r)
{
    int64_t held = (int64_t)r->input_tokens + r->generated_tokens;
    int64_t predicted = r->predicted_output_tokens, generated = r->generated_tokens;
    /* Past its prediction it backs off: predicted to run as long again as it
     * has overrun (its predicted total doubles its overrun each time). */
    int64_t more = predicted > generated ? predicted - generated : generated - predicted + 1;
    more = SS_MIN(more, SS_MAX((int64_t)c->env.max_context - held, 1));
    return (ContFuture){ held, more };
}

static int future_by_more_desc(const void *a, const void *b)
{
    int64_t x = ((const ContFuture *)a)->more, y = ((const ContFuture *)b)->more;
    return (x < y) - (x > y);
}

/* Does the running set plus r fit in the cache at its predicted peak?  Each
 * request holds `held` tokens and one more per iteration until, `more`
 * iterations on, it ends and frees them all, so the total is largest just
 * before some request ends: at t = more_k it is the sum over those with
 * more >= more_k of held + more_k (+ a partial block each).  The old check
 * summed every request's p90 peak as if all peaked at once: with a noisy
 * predictor it refused requests into a half-empty cache (15.5 of 20 req/s,
 * P99 E2E ~285 s, #18 item 5).  O(n log n) in the runners. */
static bool future_fits(Cont *c, const Request *r)
{
    int32_t n = c->n_running + 1;
    SS_GROW(c->future, c->cap_future, n);
    for (int32_t i = 0; i < c->n_running; i++) c->future[i] = future_of(c, c->running[i]);
    c->future[n - 1] = future_of(c, r);
    qsort(c->future, (size_t)n, sizeof(*c->future), future_by_more_desc);
    int64_t bs = c->kv.block_size, capacity = (int64_t)c->kv.n_blocks * bs, held = 0;
    for (int32_t k = 0; k < n; k++) {
        held += c->future[k].held;
        if (k + 1 < n && c->future[k + 1].more == c->future[k].more) continue;
        if (held + (int64_t)(k + 1) * (c->future[k].more + bs - 1) > capacity) return false;
    }
    return true;
}

/* Take r out of the step being formed (a victim scheduled earlier). */
static void unstep(Step *step, const Request *r, Plan *p)
{
    for (int32_t j = 0; j < step->n_members; j++) {
        if (step->members[j].req != r) continue;
        int32_t chunk = step->members[j].prefill_chunk;
        p->budget_left += chunk ? chunk : 1;
        p->prefill_tokens -= chunk;
        for (int32_t k = j + 1; k < step->n_members; k++) step->members[k - 1] = step->members[k];
        step->n_members--;
        return;
    }
}

/* Preempt running[i]: swap when asked and there is room, else recompute;
 * requeue at the front (a heap places it by its key). */
static void preempt_at(Cont *c, int32_t i, Step *step, Plan *p, double now_s, bool for_memory)
{
    Request *r = c->running[i];
    ContSeq *s = cont_seq(r);
    if (r->riding) { /* srpt's victim: its next token was planned */
        cont_ride_take_back_planned(c, r);
        p->budget_left++;
    }
    unstep(step, r, p);
    cont_run_remove_at(c, i);
    if (c->o.preempt == CONT_PREEMPT_SWAP && s->kv.n_blocks && !kv_seq_swap_out(&c->kv, &s->kv)) {
        r->state = REQ_PREEMPTED;
        r->kv_blocks = 0;
        s->swapped = true;
        c->swap_outs++;
        engine_preempt_swapped(c->env.instance, r); /* counts toward --admission max_preemptions */
    } else {
        /* Swap space exhausted: recompute instead, counted (not silent). */
        if (c->o.preempt == CONT_PREEMPT_SWAP && s->kv.n_blocks) c->swap_full++;
        kv_seq_release(&c->kv, &s->kv);
        engine_preempt(c->env.instance, r, now_s);
    }
    if (for_memory) c->mem_preemptions++;
    else c->prio_preemptions++, s->prio_preempts++;
    s->preempted_plan = p->id;
    p->any_preempted = true;
    p->mem_preempted |= for_memory;
    cont_wait_push(c, r, true);
}

/* Blocks for running[i] to hold `tokens`, preempting from the tail while
 * short.  False when running[i] itself is gone (preempted or failed). */
static bool grow_running(Cont *c, int32_t i, int64_t tokens, Step *step, Plan *p, double now_s)
{
    Request *r = c->running[i];
    ContSeq *s = cont_seq(r);
    if (kv_blocks_for(&c->kv, tokens) > c->kv.n_blocks) { /* not even alone: stop it here */
        cont_run_remove_at(c, i);
        cont_seq_detach(c, r);
        engine_fail(c->env.instance, r, REQ_FAIL_TRUNCATED, now_s);
        return false;
    }
    if (!kv_seq_need(&c->kv, &s->kv, tokens)) return true; /* most steps: inside a block */
    while (kv_seq_grow_to(&c->kv, &s->kv, tokens, false) < 0) {
        int32_t v = c->n_running - 1;
        preempt_at(c, v, step, p, now_s, true);
        if (v == i) return false;
    }
    r->kv_blocks = s->kv.n_blocks;
    return true;
}

/* Running requests: one decode token each (decode first), then, with
 * chunked prefill, the rest of the budget to unfinished prompts in order. */
static void run_phase(Cont *c, Step *step, Plan *p, double now_s)
{
    /* Riders took their token and blocks in cont_ride_plan. */
    bool all_ride = c->n_riders == c->n_running;
    for (int pass = 0; pass < (c->chunked ? 2 : 1) && !all_ride; pass++) {
        if (pass == 1) step->n_decode_first = step->n_members;
        for (int32_t i = 0; i < c->n_running; i++) {
            Request *r = c->running[i];
            if (r->riding) continue;
            bool dec = is_decoding(r);
            if (dec != (pass == 0)) {
                SS_ASSERT(c->chunked); /* whole prompts never leave a runner mid-prompt */
                continue;
            }
            int32_t chunk = dec ? 0 : request_prefill_target(r) - r->prefilled_tokens;
            chunk = (int32_t)SS_MIN((int64_t)chunk, p->budget_left);
            if (dec ? p->budget_left < 1 : chunk <= 0) {
                p->budget_blocked = true;
                continue;
            }
            if (!grow_running(c, i, r->prefilled_tokens + (chunk ? chunk : 1), step, p, now_s)) {
                i--; /* running[i] is now the next one */
                continue;
            }
            step_add(step, r, chunk);
            p->budget_left -= chunk ? chunk : 1;
            p->prefill_tokens += chunk;
        }
    }
    if (!c->chunked) step->n_decode_first = step->n_members;
}

/* Can the waiting head join this step?  Sets its chunk, KV tokens and the
 * leading blocks of its prompt found in the prefix cache (*hits). */
static int admit_check(Cont *c, const Request *r, const Plan *p, int32_t *chunk, int64_t *tokens, int32_t *hits)
{
    if (c->n_running + c->n_receiving >= c->o.max_num_seqs) return ADMIT_SEQS;
    bool dec = is_decoding(r); /* swapped out while decoding */
    *hits = 0;
    if (r->kv_transfer_slot) { /* its KV is on a prefill instance: blocks now, no compute this step */
        *chunk = 0;
        *tokens = r->prefilled_tokens + 1;
        if (!kv_can_admit(&c->kv, kv_blocks_for(&c->kv, *tokens))) return ADMIT_MEMORY;
        if (c->o.length_aware && c->n_running > 0 && !future_fits(c, r)) return ADMIT_FUTURE;
        return ADMIT_OK;
    }
    /* A fresh (or recomputing) prompt reuses cached blocks; at least its
     * last token is computed, for the logits of the first new one. */
    if (c->kv.prefix && !dec && r->prefilled_tokens == 0 && r->n_hash_ids)
        *hits = kv_prefix_match(&c->kv, r, (request_prefill_target(r) - 1) / c->kv.block_size);
    int32_t cached = *hits * c->kv.block_size;
    *chunk = dec ? 0 : request_prefill_target(r) - r->prefilled_tokens - cached;
    int64_t cost = dec ? 1 : *chunk;
    if (cost > p->budget_left) {
        if (c->chunked && !dec && p->budget_left > 0) *chunk = (int32_t)p->budget_left;
        /* A recomputed prompt longer than the budget goes when no other does. */
        else if (c->chunked || dec || p->prefill_tokens > 0) return ADMIT_BUDGET;
    }
    /* Blocks for the whole prompt at once, chunked or not (as vLLM v0): a
     * chunk-sized admission would let partial prompts fill the cache and
     * preempt each other. */
    *tokens = dec ? r->prefilled_tokens + 1 : request_prefill_target(r);
    int32_t need = kv_blocks_for(&c->kv, *tokens);
    if (need > c->kv.n_blocks - c->kv.watermark) return ADMIT_NEVER;
    /* Cached hits held by running sequences cost no free block; cached
     * free ones leave the free pool when referenced. */
    if (*hits) need -= *hits - kv_prefix_free_among(&c->kv, r, *hits);
    if (!kv_can_admit(&c->kv, need)) return ADMIT_MEMORY;
    if (c->o.length_aware && c->n_running > 0 && !future_fits(c, r))
        return ADMIT_FUTURE;
    return ADMIT_OK;
}

/* The waiting head is a disaggregated decode whose KV is elsewhere: its
 * blocks are taken now (as vLLM's decode side allocates before it reads the
 * remote KV), then it waits out the transfer off the running set. */
static void admit_remote(Cont *c, int64_t tokens, double now_s)
{
    Request *r = cont_wait_pop(c);
    ContSeq *s = cont_seq(r);
    SS_ASSERT(kv_seq_grow_to(&c->kv, &s->kv, tokens, false) == 0);
    r->kv_blocks = s->kv.n_blocks;
    s->remote = CONT_REMOTE_RECEIVING;
    c->n_receiving++;
    c->kv_pulls++;
    engine_kv_pull(c->env.instance, r, now_s);
}

void cont_kv_landed(void *priv, Request *r, double now_s)
{
    Cont *c = priv;
    (void)now_s;
    SS_ASSERT(c->n_receiving > 0 && !r->kv_transfer_slot && is_decoding(r) &&
              cont_seq(r)->remote == CONT_REMOTE_RECEIVING);
    c->n_receiving--;
    cont_seq(r)->remote = CONT_REMOTE_LANDED;
    SS_GROW(c->landed, c->cap_landed, c->n_landed + 1);
    c->landed[c->n_landed++] = r;
}

static void admit(Cont *c, Step *step, Plan *p, int32_t chunk, int64_t tokens, int32_t hits)
{
    Request *r = cont_wait_pop(c);
    ContSeq *s = cont_seq(r);
    if (s->swapped) {
        SS_ASSERT(kv_seq_swap_in(&c->kv, &s->kv) == 0);
        s->swapped = false;
    }
    if (hits) { /* the cached prefix: referenced, not recomputed */
        kv_prefix_attach(&c->kv, &s->kv, r, hits);
        r->prefilled_tokens = hits * c->kv.block_size;
    }
    if (c->kv.prefix && r->first_scheduled_s < 0) r->cached_tokens = hits * c->kv.block_size;
    SS_ASSERT(kv_seq_grow_to(&c->kv, &s->kv, tokens, false) == 0);
    r->kv_blocks = s->kv.n_blocks;
    s->key = cont_key(c, r);
    cont_run_insert(c, r);
    step_add(step, r, chunk);
    p->budget_left -= chunk ? chunk : 1;
    p->prefill_tokens += chunk;
}

/* srpt: the runner with the largest key among those still preemptible, if
 * it is worse than the newcomer by more than the margin; else -1. */
static int32_t srpt_victim(const Cont *c, const Request *head)
{
    if (!c->srpt) return -1;
    if (c->rank_lazy) return cont_rank_victim(c, head);
    for (int32_t v = c->n_running - 1; v >= 0; v--) {
        const ContSeq *s = cont_seq(c->running[v]);
        if (s->key <= cont_seq(head)->key + (double)c->o.margin) return -1;
        if (s->prio_preempts < c->o.preempt_limit) return v;
    }
    return -1;
}

static void admit_phase(Cont *c, Step *step, Plan *p, double now_s)
{
    while (!p->mem_preempted && cont_wait_len(c)) {
        Request *r = cont_wait_peek(c);
        if (cont_seq(r)->preempted_plan == p->id) break; /* not back in the round it left */
        int32_t chunk = 0, hits = 0;
        int64_t tokens = 0;
        int why = admit_check(c, r, p, &chunk, &tokens, &hits);
        if (why == ADMIT_OK) {
            if (r->kv_transfer_slot) admit_remote(c, tokens, now_s);
            else admit(c, step, p, chunk, tokens, hits);
            continue;
        }
        if (why == ADMIT_NEVER) { /* a recomputed prompt that outgrew the cache */
            cont_wait_pop(c);
            cont_seq_detach(c, r);
            engine_fail(c->env.instance, r, REQ_FAIL_TRUNCATED, now_s);
            continue;
        }
        int32_t v = why == ADMIT_BUDGET ? -1 : srpt_victim(c, r);
        if (v >= 0) {
            preempt_at(c, v, step, p, now_s, false);
            continue;
        }
        p->budget_blocked |= why == ADMIT_BUDGET;
        p->future_blocked |= why == ADMIT_FUTURE;
        break;
    }
}

/* New blocks the members need to run L iterations (a member holds h tokens
 * after iteration 1 and one more after each next one).  No member is cut at
 * its end or the context limit: the count is exact for L up to the first
 * completion, the only L that can bound a span, and an overestimate past it
 * only ever finds an L past it too. */
static int64_t extra_blocks(const Cont *c, const Step *step, int64_t L, int64_t clock)
{
    int64_t extra = 0;
    for (int32_t i = 0; i < step->n_members; i++) {
        const StepMember *m = &step->members[i];
        const Request *r = m->req;
        int64_t h = r->prefilled_tokens + (m->prefill_chunk ? m->prefill_chunk : 1);
        extra += SS_MAX(0, kv_blocks_for(&c->kv, h + L - 1) - cont_seq(r)->kv.n_blocks);
    }
    if (c->n_riders) extra += cont_ride_blocks_at(c, clock + L) - c->ride_blocks_next;
    return extra;
}

/* Reserve blocks for as many iterations as fit; returns step->max_iters. */
static int64_t plan_lookahead(Cont *c, const Step *step)
{
    for (int32_t i = 0; i < step->n_members; i++) {
        const StepMember *m = &step->members[i];
        if (m->prefill_chunk && m->req->prefilled_tokens + m->prefill_chunk < request_prefill_target(m->req))
            return 1; /* an unfinished prompt: the engine stops after one iteration */
    }
    int64_t hi = c->o.lookahead > 0 ? c->o.lookahead : c->env.max_context, lo = 1;
    int64_t free_blocks = c->kv.n_free, clock = c->n_riders ? engine_ride_clock(c->env.instance) : 0;
    int64_t members = (int64_t)step->n_members + c->n_riders;
    /* Plenty of memory (the common case): even a context's worth of blocks
     * per member fits; reserving that bound is as good as the exact need. */
    int64_t bound = members * kv_blocks_for(&c->kv, SS_MIN(hi, (int64_t)c->env.max_context));
    if (bound <= free_blocks) {
        SS_ASSERT(kv_reserve(&c->kv, (int32_t)bound) == 0);
        return c->o.lookahead > 0 ? hi : 0;
    }
    int64_t extra = extra_blocks(c, step, hi, clock);
    if (extra <= free_blocks) {
        SS_ASSERT(kv_reserve(&c->kv, (int32_t)extra) == 0);
        return c->o.lookahead > 0 ? hi : 0; /* every member can reach the context limit */
    }
    /* The largest L whose blocks fit.  extra(L) never falls as L grows, so
     * that L is one number however it is searched for; extra(L) is close to
     * linear (each member and rider gains a block every block_size
     * iterations), so interpolating between the bracket's ends finds it in
     * a few evaluations where bisection over the context takes ~12.  A
     * guess that leaves the bracket more than half its width is followed
     * by a halving, so the worst case stays logarithmic. */
    int64_t fit = lo, fit_extra = -1; /* extra(fit) <= free_blocks (extra(1) = 0); -1: not evaluated */
    int64_t over = hi, over_extra = extra; /* extra(over) > free_blocks */
    bool halve = false;
    while (over - fit > 1) {
        int64_t mid;
        if (halve) {
            mid = fit + (over - fit) / 2;
        } else {
            int64_t base = fit_extra < 0 ? 0 : fit_extra;
            /* fit + (over - fit) x (free - extra(fit)) / (extra(over) - extra(fit)): the L where the line
             * through the ends reaches free_blocks, kept strictly inside the bracket */
            mid = fit + (int64_t)((double)(over - fit) * (double)(free_blocks - base + 1) /
                                  (double)(over_extra - base > 0 ? over_extra - base : 1));
            mid = SS_MIN(SS_MAX(mid, fit + 1), over - 1);
        }
        int64_t width = over - fit, x = extra_blocks(c, step, mid, clock);
        if (x <= free_blocks) fit = mid, fit_extra = x; else over = mid, over_extra = x;
        halve = !halve && 2 * (over - fit) > width;
    }
    if (fit_extra < 0) fit_extra = extra_blocks(c, step, fit, clock);
    SS_ASSERT(kv_reserve(&c->kv, (int32_t)fit_extra) == 0);
    return fit;
}

int cont_next_step(void *priv, double now_s, Step *step, double *wake_s)
{
    Cont *c = priv;
    Plan p = { .budget_left = c->budget, .id = ++c->plans };
    (void)wake_s; /* arrivals are the only thing that makes work appear */
    if (c->rank_lazy) cont_rank_plan_start(c);
    else cont_run_resort(c);
    /* Landed transfers hold their blocks: they run as decoders, listed after
     * the plan's clock and order are set (as an admission is). */
    for (int32_t i = 0; i < c->n_landed; i++) {
        Request *r = c->landed[i];
        cont_seq(r)->remote = CONT_REMOTE_NONE;
        cont_seq(r)->key = cont_key(c, r);
        cont_run_insert(c, r);
    }
    c->n_landed = 0;
    if (c->n_riders) {
        /* Blocks the listed runners may need for their next token, at most
         * (prompts hold theirs from admission). */
        int64_t others = 0;
        for (int32_t i = 0; i < c->n_running && c->n_running > c->n_riders; i++) {
            const Request *r = c->running[i];
            if (r->riding) continue;
            int64_t tokens = SS_MAX((int64_t)r->prefilled_tokens + 1, (int64_t)request_prefill_target(r));
            others += kv_seq_need(&c->kv, &cont_seq(r)->kv, tokens);
        }
        if (cont_ride_plan(c, others)) p.budget_left -= c->n_riders;
        else cont_ride_take_back_all(c); /* someone may be preempted: plan member by member */
    }
    /* Lazy rank: runners are listed (in rank order) only if some do not ride. */
    if (c->rank_lazy && c->n_riders < c->n_running) cont_rank_sort(c);
    step->rank_by_sched_key = c->rank_lazy;
    run_phase(c, step, &p, now_s);
    admit_phase(c, step, &p, now_s);
    if (!step->n_members && !c->n_riders) return 0;
    step->interruptible = true;
    /* A head refused for its predicted peak may fit after one iteration: the
     * runners' predicted ends draw nearer while its own does not. */
    if (p.any_preempted || (p.budget_blocked && p.prefill_tokens > 0) || p.future_blocked)
        step->max_iters = 1;
    else
        step->max_iters = plan_lookahead(c, step);
    return 1;
}

/* A finished request leaves the running set (found by bisection: a step
 * ends at most a few of ~tens of runners) and gives its blocks back. */
static void drop_finished(Cont *c, Request *r)
{
    cont_run_remove_at(c, cont_run_find(c, r));
    cont_seq_detach(c, r);
}

/* Its client gave up between steps: out of the running set (its blocks
 * freed, as a finished member's), out of the waiting queue, or (a
 * disaggregated decode) out of the receiving or landed ones.  No rider
 * exists then: the engine does not ride while clients can cancel. */
void cont_cancel(void *priv, Request *r, double now_s)
{
    Cont *c = priv;
    (void)now_s;
    SS_ASSERT(!r->riding);
    if (r->state == REQ_RUNNING) {
        drop_finished(c, r);
        return;
    }
    ContSeq *s = cont_seq(r);
    if (s->remote == CONT_REMOTE_RECEIVING) { /* its blocks held, its KV on the way: the engine drops the transfer */
        c->n_receiving--;
        cont_seq_detach(c, r);
        return;
    }
    if (s->remote == CONT_REMOTE_LANDED) { /* not yet in the running set */
        int32_t i = 0;
        while (c->landed[i] != r) i++;
        memmove(c->landed + i, c->landed + i + 1, (size_t)(--c->n_landed - i) * sizeof(*c->landed));
        cont_seq_detach(c, r);
        return;
    }
    cont_wait_remove(c, r);
    cont_seq_detach(c, r);
}

/* Members now hold prefilled_tokens each: their blocks come out of the
 * reservation, the rest of it goes back; finished ones leave. */
void cont_on_step_done(void *priv, const Step *step, double now_s)
{
    Cont *c = priv;
    (void)now_s;
    if (c->rank_lazy) cont_rank_finished(c, step); /* before anyone leaves */
    if (c->n_riders) cont_ride_step_done(c, step);
    for (int32_t i = 0; i < step->n_members; i++) {
        Request *r = step->members[i].req;
        if (request_is_finished(r)) continue;
        ContSeq *s = cont_seq(r);
        if (!kv_seq_need(&c->kv, &s->kv, r->prefilled_tokens)) continue;
        SS_ASSERT(kv_seq_grow_to(&c->kv, &s->kv, r->prefilled_tokens, true) == 0);
        r->kv_blocks = s->kv.n_blocks;
    }
    kv_unreserve(&c->kv, c->kv.n_reserved);
    /* Prompt blocks computed in this step become cache entries, before the
     * finished leave: a finished request's prompt stays cached. */
    if (c->kv.prefix) {
        for (int32_t i = 0; i < step->n_members; i++) {
            const StepMember *m = &step->members[i];
            if (m->prefill_chunk > 0 && m->req->n_hash_ids && cont_seq(m->req))
                kv_prefix_register(&c->kv, &cont_seq(m->req)->kv, m->req, m->req->prefilled_tokens);
        }
    }
    for (int32_t i = 0; i < step->n_finished_riders; i++) drop_finished(c, step->finished_riders[i]);
    /* Members done or failed in the span leave; listed members that now
     * simply decode ride from here on (one pass: a departure and a joiner
     * touch nothing of each other's; c->ride falls for good when the
     * engine lists every member). */
    for (int32_t i = 0; i < step->n_members; i++) {
        const StepMember *m = &step->members[i];
        Request *r = m->req;
        if (request_is_finished(r)) drop_finished(c, r);
        else if (c->ride && m->tokens_emitted > 0 && r->state == REQ_RUNNING && is_decoding(r))
            cont_ride_join(c, r);
    }
}
