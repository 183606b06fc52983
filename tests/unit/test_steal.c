/*
 * test_steal.c - kernels/steal.h: a thread takes its own range in order
 * (one item, or runs of half its rest), then the back of the fullest
 * other range; every item comes out exactly once, also with threads
 * racing for the same range, with a team smaller than the ranges, and
 * with one thread much slower than the others.
 */
#include <omp.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "kernels/steal.h"
#include "testutil.h"

/* One thread alone over 3 ranges of 10 items: its own 4..6 in order,
 * then from the back of the fullest range (the first of two as full). */
static void test_steal_order(void **state)
{
    (void)state;
    cz_steal s[3];
    cz_steal_init(s, 3, 10); /* 0..3, 4..6, 7..9: 4 + 3 + 3 */
    static const int expect[] = {4, 5, 6, 3, 2, 9, 1, 8, 0, 7};
    for (int k = 0; k < 10; k++)
        assert_int_equal(cz_steal_next(s, 3, 1), expect[k]);
    assert_int_equal(cz_steal_next(s, 3, 1), -1);
    assert_int_equal(cz_steal_next(s, 3, 0), -1);
    cz_steal_init(s, 3, 0);
    assert_int_equal(cz_steal_next(s, 3, 2), -1);
}

/* cz_steal_take: runs of half of its own range's rest, then single
 * items from the back of the other. */
static void test_steal_take_runs(void **state)
{
    (void)state;
    cz_steal s[2];
    cz_steal_init(s, 2, 11); /* 0..5, 6..10 */
    static const int first[] = {0, 3, 5, 10, 9, 8, 7, 6}, count[] = {3, 2, 1, 1, 1, 1, 1, 1};
    for (int k = 0; k < 8; k++) {
        int n = 0;
        assert_int_equal(cz_steal_take(s, 2, 0, &n), first[k]);
        assert_int_equal(n, count[k]);
    }
    int n = 0;
    assert_int_equal(cz_steal_take(s, 2, 1, &n), -1);
}

static void pause_us(long us)
{
    struct timespec t = {0, us * 1000};
    nanosleep(&t, NULL);
}

/* `team` threads over `slots` ranges of n items (one at a time, or in
 * runs), thread 0 sleeping after each take when slow: each item taken
 * once, and the others take part of thread 0's range. */
static void race(int team, int slots, int n, bool slow, bool runs)
{
    cz_steal s[CZ_STEAL_MAX];
    _Atomic int *count = calloc((size_t)(n > 0 ? n : 1), sizeof *count);
    int taken[CZ_STEAL_MAX] = {0};
    assert_non_null(count);
    cz_steal_init(s, slots, n);
#pragma omp parallel num_threads(team)
    {
        int me = omp_get_thread_num();
        int run = 1;
        for (int i; (i = runs ? cz_steal_take(s, slots, me, &run)
                              : cz_steal_next(s, slots, me)) >= 0;) {
            if (i + run > n) { /* cmocka's asserts on the calling thread only */
                atomic_fetch_add(&count[0], 100);
                break;
            }
            for (int k = i; k < i + run; k++)
                atomic_fetch_add(&count[k], 1);
            taken[me] += run;
            if (slow && me == 0)
                pause_us(200);
        }
    }
    for (int i = 0; i < n; i++)
        assert_int_equal(atomic_load(&count[i]), 1);
    int sum = 0;
    for (int t = 0; t < team; t++)
        sum += taken[t];
    assert_int_equal(sum, n);
    if (slow && omp_get_max_threads() > 1 && team > 1)
        assert_true(taken[0] < n / slots); /* the others took some of its range */
    free(count);
}

static void test_steal_every_item_once(void **state)
{
    (void)state;
    for (int round = 0; round < 200; round++) {
        for (int runs = 0; runs < 2; runs++) {
            race(2, 2, 1 + round % 37, false, runs);
            race(4, 4, 3 * round, false, runs);
            race(2, 3, 50, false, runs); /* a range with no thread of its own */
        }
    }
    race(2, 2, 400, true, false);
    race(3, 3, 600, true, false);
    race(2, 2, 400, true, true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_steal_order),
        cmocka_unit_test(test_steal_take_runs),
        cmocka_unit_test(test_steal_every_item_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
