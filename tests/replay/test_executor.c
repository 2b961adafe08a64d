/* tests/replay/test_executor.c: the replay executor driven the way the
 * engine drives it (Step, emits_first, iteration numbers), with the engine's
 * bookkeeping of prefilled/generated tokens done by hand.
 *
 *  1. A request prefilled in two chunks beside another, decoded step by step,
 *     preempted (recompute: blocks freed, tokens kept) while the other takes
 *     its blocks, recomputed in two chunks and decoded to the end: every
 *     greedy token equals what a full causal prefill of its prefix gives in a
 *     fresh model of the same seed (paging, positions, recompute are right).
 *  2. A static padded batch: padding runs, finished slots keep decoding,
 *     release of finished requests gives every block back.
 *  3. A cache too small for the padding: padding skipped and counted. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "replay/executor_internal.h"

#define SEED 77
#define BS 4

static ReplayExecutor *make(int64_t capacity)
{
    ReplayConfig c = { .backend = REPLAY_BACKEND_CPU, .shape = model_shape_tiny(), .seed = SEED,
                       .block_size = BS, .capacity_tokens = capacity };
    ReplayExecutor *x = NULL;
    assert_int_equal(replay_executor_create(&x, &c), 0);
    return x;
}

static Request req(int64_t id, int32_t in, int32_t out)
{
    return (Request){ .id = id, .input_tokens = in, .output_tokens = out, .state = REQ_RUNNING };
}

/* One continuous iteration: members with chunks (0 = decode); the engine's
 * crediting afterwards (one token for each emitter). */
static void iterate(ReplayExecutor *x, Request **r, const int32_t *chunk, int n)
{
    Step s = { 0 };
    bool emits[8];
    StepShape shape = { 0 };
    for (int i = 0; i < n; i++) {
        step_add(&s, r[i], chunk[i]);
        emits[i] = chunk[i] == 0 || r[i]->prefilled_tokens + chunk[i] == request_prefill_target(r[i]);
    }
    StepExecutor h = replay_executor_hook(x);
    assert_true(h.run_iteration(h.ctx, 0, &s, emits, &shape, 1) >= 0);
    for (int i = 0; i < n; i++) {
        r[i]->prefilled_tokens += chunk[i] ? chunk[i] : 1;
        r[i]->generated_tokens += emits[i];
    }
    step_free(&s);
}

static void test_recompute_matches_full_prefill(void **state)
{
    (void)state;
    ReplayExecutor *x = make(64 * BS);
    Request a = req(5, 13, 24), b = req(9, 7, 40);
    Request *ab[] = { &a, &b }, *bo[] = { &b }, *ao[] = { &a };
    iterate(x, ao, (int32_t[]){ 5 }, 1);              /* A's first chunk: no token */
    assert_int_equal(a.generated_tokens, 0);
    iterate(x, ab, (int32_t[]){ 8, 7 }, 2);           /* both prompts complete */
    for (int k = 0; k < 10; k++) iterate(x, ab, (int32_t[]){ 0, 0 }, 2);
    assert_int_equal(a.generated_tokens, 11);
    StepExecutor h = replay_executor_hook(x);
    h.release(h.ctx, &a);                             /* recompute preemption */
    a.prefilled_tokens = 0;
    assert_int_equal(kv_held(&x->kv), kv_blocks_for(&x->kv, 17)); /* B's 7 + 10 */
    for (int k = 0; k < 6; k++) iterate(x, bo, (int32_t[]){ 0 }, 1); /* B takes A's blocks */
    iterate(x, ao, (int32_t[]){ 10 }, 1);             /* recompute 24 tokens in 2 chunks */
    iterate(x, ab, (int32_t[]){ 14, 0 }, 2);
    assert_int_equal(a.generated_tokens, 12);
    while (a.generated_tokens < a.output_tokens) iterate(x, ab, (int32_t[]){ 0, 0 }, 2);

    int32_t n_prompt, n_tok;
    const int32_t *t = replay_executor_tokens(x, a.id, &n_prompt, &n_tok);
    assert_non_null(t);
    assert_int_equal(n_prompt, 13);
    assert_int_equal(n_tok, 13 + 24);
    for (int i = 0; i < n_prompt; i++) assert_int_equal(t[i], replay_prompt_token(SEED, a.id, i, 256));
    assert_int_equal(x->tokens_recomputed, 11);

    ModelShape s = model_shape_tiny();
    Model *ref = NULL;
    assert_int_equal(model_create(&ref, &s, SEED, 16, 16), 0);
    int32_t bt[16];
    for (int i = 0; i < 16; i++) bt[i] = 15 - i; /* other blocks, other order */
    for (int j = 0; j < 24; j++) {
        ModelSeq q = { t, n_prompt + j, 0, bt, 16 };
        int32_t next;
        assert_int_equal(model_forward_step(ref, &q, 1, &next, NULL), 0);
        assert_int_equal(next, t[n_prompt + j]);
    }
    model_destroy(&ref);
    replay_executor_destroy(&x);
}

/* A static batch as span.c runs it: K = the longest member's output. */
static void run_static(ReplayExecutor *x, Request **r, int n, int32_t padded)
{
    Step s = { 0 };
    bool emits[8];
    StepShape shape = { 0 };
    int64_t K = 0;
    for (int i = 0; i < n; i++) {
        step_add(&s, r[i], 0);
        s.members[i].prefill_chunk = request_prefill_target(r[i]);
        emits[i] = true;
        K = K > r[i]->output_tokens ? K : r[i]->output_tokens;
    }
    s.static_batch = true;
    s.padded_input = padded;
    StepExecutor h = replay_executor_hook(x);
    for (int64_t k = 1; k <= K; k++) assert_true(h.run_iteration(h.ctx, 0, &s, emits, &shape, k) >= 0);
    for (int i = 0; i < n; i++) {
        r[i]->generated_tokens = r[i]->output_tokens;
        r[i]->state = REQ_DONE;
        int32_t np, nt;
        assert_non_null(replay_executor_tokens(x, r[i]->id, &np, &nt));
        assert_int_equal(nt, r[i]->input_tokens + r[i]->output_tokens);
        h.release(h.ctx, r[i]);
        assert_null(replay_executor_tokens(x, r[i]->id, &np, &nt));
    }
    step_free(&s);
}

static void test_static_padding(void **state)
{
    (void)state;
    ReplayExecutor *x = make(64 * BS);
    Request a = req(1, 5, 3), b = req(2, 9, 6);
    Request *ab[] = { &a, &b };
    run_static(x, ab, 2, 9);
    /* 2 slots x 9 padded prompt tokens + 2 slots x 5 decodes */
    assert_int_equal(x->tokens_computed, 2 * 9 + 2 * 5);
    assert_int_equal(x->padding_skipped, 0);
    assert_int_equal(x->kv.n_free, x->kv.n_blocks); /* everything given back */
    assert_int_equal(x->kv.peak_held, 2 * kv_blocks_for(&x->kv, 9 + 5));
    replay_executor_destroy(&x);
}

static void test_padding_skipped_when_full(void **state)
{
    (void)state;
    ReplayExecutor *x = make(8 * BS); /* 32 tokens: the real tokens fit, the padding does not */
    Request a = req(1, 2, 1), b = req(2, 20, 1), c = req(3, 2, 6);
    Request *abc[] = { &a, &b, &c };
    run_static(x, abc, 3, 20);
    /* prompt padding 18 + 18, padded decodes of a and b in iterations 2..6 */
    assert_int_equal(x->padding_skipped, 18 + 18 + 5 + 5);
    assert_int_equal(x->tokens_computed, 20 + 2 + 2 + 5);
    assert_int_equal(x->kv.n_free, x->kv.n_blocks);
    replay_executor_destroy(&x);
}

static void test_backend_names(void **state)
{
    (void)state;
    ReplayBackendKind k;
    assert_int_equal(replay_backend_parse("cpu", &k), 0);
    assert_int_equal(k, REPLAY_BACKEND_CPU);
    assert_int_equal(replay_backend_parse("tpu", &k), -EINVAL);
    ModelShape s = model_shape_tiny();
    /* 8 KiB per 16-token block in fp32: 1 MiB holds 128 blocks */
    assert_int_equal(replay_capacity_tokens(&s, REPLAY_BACKEND_CPU, 16, 1048576.0), 128 * 16);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recompute_matches_full_prefill),
        cmocka_unit_test(test_static_padding),
        cmocka_unit_test(test_padding_skipped_when_full),
        cmocka_unit_test(test_backend_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
