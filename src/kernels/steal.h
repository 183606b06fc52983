/*
 * steal.h - work items split over a team as static ranges, where a thread
 * done with its own range takes items from the end of the range with the
 * most left.
 *
 * The two vCPUs here run at different speeds from moment to moment (the
 * same FMA loop on both for 50 ms: one did 0.83-1.20x the other's work,
 * and which one was faster changed from minute to minute), so an even
 * static split leaves the faster thread waiting at the barrier. Taking items one at a
 * time from a shared counter balances, but then every other item reads
 * what the other core wrote, and every claim moves the counter's line
 * between the cores (about 200 ns each way here). Here each thread
 * claims its own items from the front of its own range (its own cache
 * line), in order, so it keeps the static split's locality; only the
 * items left at the end move.
 *
 * Which thread runs an item must not change its result: callers give
 * each item its own output and a fixed order of operations.
 */
#ifndef CZ_STEAL_H
#define CZ_STEAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "kernels/kernels.h"

/* Callers keep ranges for at most this many threads on the stack; larger
 * teams run their static parts. */
enum { CZ_STEAL_MAX = 16 };

typedef struct cz_steal {
    _Alignas(64) _Atomic uint64_t range; /* next item (low 32 bits), end (high 32) */
} cz_steal;

static inline uint64_t cz_steal_pack(uint32_t next, uint32_t end)
{
    return (uint64_t)end << 32 | next;
}

/* Items [lo, hi) in one range. */
static inline void cz_steal_set(cz_steal *s, int lo, int hi)
{
    atomic_store_explicit(&s->range, cz_steal_pack((uint32_t)lo, (uint32_t)hi),
                          memory_order_relaxed);
}

/* Items [0, n) over `slots` ranges as cz_part splits them. Set every
 * range before any thread takes from one. */
static inline void cz_steal_init(cz_steal *s, int slots, int n)
{
    for (int t = 0; t < slots; t++)
        cz_steal_set(&s[t], cz_part(n, slots, t), cz_part(n, slots, t + 1));
}

/* From the front of range `me`: one item, or with `runs` half of what
 * is left (at least one; *count of them from the one returned); -1 when
 * the range is empty. */
static inline int cz_steal_own(cz_steal *s, int me, bool runs, int *count)
{
    uint64_t r = atomic_load_explicit(&s[me].range, memory_order_relaxed);
    while ((uint32_t)r < (uint32_t)(r >> 32)) {
        uint32_t lo = (uint32_t)r, hi = (uint32_t)(r >> 32), k = runs ? (hi - lo + 1) / 2 : 1;
        if (atomic_compare_exchange_weak_explicit(&s[me].range, &r, cz_steal_pack(lo + k, hi),
                                                  memory_order_relaxed, memory_order_relaxed)) {
            *count = (int)k;
            return (int)lo;
        }
    }
    return -1;
}

/* The last item of the range with most left of the `slots`; -1 when all
 * are empty. */
static inline int cz_steal_back(cz_steal *s, int slots)
{
    for (;;) {
        int v = -1;
        uint32_t most = 0;
        uint64_t r = 0;
        for (int u = 0; u < slots; u++) {
            uint64_t ru = atomic_load_explicit(&s[u].range, memory_order_relaxed);
            uint32_t lo = (uint32_t)ru, hi = (uint32_t)(ru >> 32);
            if (lo < hi && hi - lo > most) {
                most = hi - lo;
                v = u;
                r = ru;
            }
        }
        if (v < 0)
            return -1;
        uint32_t lo = (uint32_t)r, hi = (uint32_t)(r >> 32);
        if (atomic_compare_exchange_weak_explicit(&s[v].range, &r, cz_steal_pack(lo, hi - 1),
                                                  memory_order_relaxed, memory_order_relaxed))
            return (int)(hi - 1);
    }
}

/* The next item for the thread of range `me`: the front of its own
 * range, else the back of the range with most left; -1 when all of the
 * `slots` ranges are empty (a team smaller than `slots` takes the missing
 * threads' items too). */
static inline int cz_steal_next(cz_steal *s, int slots, int me)
{
    int count, i = cz_steal_own(s, me, false, &count);
    return i >= 0 ? i : cz_steal_back(s, slots);
}

/* Like cz_steal_next, but from its own range half of what is left at
 * once (*count items from the one returned), so that an owner makes few
 * calls over long runs while it has many items, and shorter ones toward
 * the end; from another's range one item. */
static inline int cz_steal_take(cz_steal *s, int slots, int me, int *count)
{
    int i = cz_steal_own(s, me, true, count);
    if (i >= 0)
        return i;
    *count = 1;
    return cz_steal_back(s, slots);
}

/* fn(ctx, i, thread) for every item i of [0, n) on `threads` threads:
 * static parts, then what another thread has left (one item at a time);
 * `thread` numbers the caller's per-thread scratch. With more threads
 * than CZ_STEAL_MAX, the static parts alone. */
typedef void (*cz_item_fn)(void *ctx, long i, int thread);
void cz_steal_for(long n, int threads, cz_item_fn fn, void *ctx);

#endif
