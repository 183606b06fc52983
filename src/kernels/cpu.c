/*
 * cpu.c - which kernel path runs: forced by cz_kernels_force(), else named
 * by the environment variable CZ_KERNELS, else the widest the CPU has
 * (cpuid through __builtin_cpu_supports, which also checks that the OS
 * saves the wide registers). One binary thus runs on any x86-64 and uses
 * AVX-512 where it exists; elsewhere only ref and portable exist.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"

static const char *const names[] = {"ref", "portable", "avx2", "avx512"};

/* -1: not decided yet. Reads and writes are atomic so that threads racing
 * on the first call all settle on the same answer. */
static atomic_int current = -1;

const char *cz_kpath_name(cz_kpath path) { return names[path]; }

bool cz_kernels_supported(cz_kpath path)
{
    switch (path) {
    case CZ_KPATH_REF:
    case CZ_KPATH_PORTABLE:
        return true;
#if defined(__x86_64__) || defined(__i386__)
    case CZ_KPATH_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case CZ_KPATH_AVX512:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
#endif
    default:
        return false;
    }
}

static int parse(const char *name)
{
    for (int p = 0; p < (int)(sizeof names / sizeof *names); p++)
        if (strcmp(name, names[p]) == 0)
            return p;
    return -1;
}

static cz_kpath best(void)
{
    if (cz_kernels_supported(CZ_KPATH_AVX512))
        return CZ_KPATH_AVX512;
    if (cz_kernels_supported(CZ_KPATH_AVX2))
        return CZ_KPATH_AVX2;
    return CZ_KPATH_PORTABLE;
}

/* CZ_KERNELS, when it names a path this CPU runs; otherwise the best, with
 * a warning so that a typo does not silently measure the wrong thing. */
static cz_kpath automatic(void)
{
    const char *env = getenv("CZ_KERNELS");
    if (!env || !*env)
        return best();
    int p = parse(env);
    if (p >= 0 && cz_kernels_supported((cz_kpath)p))
        return (cz_kpath)p;
    cz_kpath b = best();
    fprintf(stderr, "cnnzoo: warning: CZ_KERNELS=%s is %s; using %s\n", env,
            p < 0 ? "not one of ref, portable, avx2, avx512" : "not supported by this CPU",
            names[b]);
    return b;
}

cz_kpath cz_kernels_current(void)
{
    int p = atomic_load_explicit(&current, memory_order_relaxed);
    if (p < 0) {
        int want = (int)automatic(), expected = -1;
        if (!atomic_compare_exchange_strong(&current, &expected, want))
            want = expected; /* another thread decided first */
        p = want;
    }
    return (cz_kpath)p;
}

const char *cz_kernels_path(void) { return names[cz_kernels_current()]; }

bool cz_kernels_force(const char *name)
{
    if (!name) {
        atomic_store(&current, (int)automatic());
        return true;
    }
    int p = parse(name);
    if (p < 0 || !cz_kernels_supported((cz_kpath)p))
        return false;
    atomic_store(&current, p);
    return true;
}
