/* The heap (and its side slot) against a naive sorted list on random event
 * streams, ties included: same pops, same order (time, then insertion). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "engine/event_queue.h"

typedef struct Naive { double t; uint64_t seq; int32_t tag; } Naive;

static uint64_t lcg(uint64_t *s) { *s = *s * 6364136223846793005ull + 1442695040888963407ull; return *s >> 33; }

static void test_heap_matches_naive(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        EventQueue q;
        event_queue_init(&q);
        Naive *naive = malloc(sizeof(Naive) * 20000);
        size_t n_naive = 0;
        uint64_t s = seed, seq = 0;
        double now = 0;
        for (int op = 0; op < 20000; op++) {
            bool push = n_naive == 0 || lcg(&s) % 3 != 0;
            if (push) {
                /* Coarse times make many ties; every fifth event uses the
                 * side slot (the engine's next arrival) when it is free. */
                double t = now + (double)(lcg(&s) % 8);
                int32_t tag = (int32_t)(lcg(&s) % 1000);
                if (!q.side_armed && lcg(&s) % 5 == 0) event_queue_push_side(&q, t, tag, -1, 0);
                else event_queue_push(&q, t, tag, -1, 0);
                naive[n_naive++] = (Naive){ t, seq++, tag };
            } else {
                size_t best = 0;
                for (size_t i = 1; i < n_naive; i++)
                    if (naive[i].t < naive[best].t ||
                        (naive[i].t == naive[best].t && naive[i].seq < naive[best].seq)) best = i;
                SimEvent ev;
                assert_true(event_queue_pop(&q, &ev));
                assert_true(ev.time_s == naive[best].t);
                assert_int_equal(ev.seq, naive[best].seq);
                assert_int_equal(ev.kind, naive[best].tag);
                now = ev.time_s;
                naive[best] = naive[--n_naive];
            }
            assert_int_equal(event_queue_size(&q), n_naive);
        }
        free(naive);
        event_queue_free(&q);
    }
}

static void test_ties_fire_in_insertion_order(void **state)
{
    (void)state;
    EventQueue q;
    event_queue_init(&q);
    for (int i = 0; i < 100; i++) event_queue_push(&q, 5.0, i, -1, 0);
    event_queue_push(&q, 1.0, 1000, -1, 0);
    SimEvent ev;
    assert_true(event_queue_pop(&q, &ev));
    assert_int_equal(ev.kind, 1000);
    for (int i = 0; i < 100; i++) {
        assert_true(event_queue_pop(&q, &ev));
        assert_int_equal(ev.kind, i);
    }
    assert_false(event_queue_pop(&q, &ev));
    event_queue_free(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heap_matches_naive),
        cmocka_unit_test(test_ties_fire_in_insertion_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
