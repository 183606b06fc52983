/*
 * steal.c - cz_steal_for: a loop of independent items over the threads,
 * balanced by steal.h's ranges.
 */
#include <omp.h>

#include "kernels/steal.h"

void cz_steal_for(long n, int threads, cz_item_fn fn, void *ctx)
{
    if (threads <= 1 || threads > CZ_STEAL_MAX || n < 2 || n > INT32_MAX) {
#pragma omp parallel for schedule(static) num_threads(threads)
        for (long i = 0; i < n; i++)
            fn(ctx, i, omp_get_thread_num());
        return;
    }
    cz_steal ranges[CZ_STEAL_MAX];
    cz_steal_init(ranges, threads, (int)n);
#pragma omp parallel num_threads(threads)
    {
        int me = omp_get_thread_num();
        for (int i; (i = cz_steal_next(ranges, threads, me)) >= 0;)
            fn(ctx, i, me);
    }
}
