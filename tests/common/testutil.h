/*
 * testutil.h - what the unit and gradient-check tests share: seeded random
 * fills, an array comparison that reports the worst error and fails the
 * cmocka test, and a finite-difference gradient check of a whole net.
 */
#ifndef CZ_TESTUTIL_H
#define CZ_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cnnzoo.h"

/* x[i] uniform in [lo, hi). */
void tu_fill_uniform(cz_rng *rng, float *x, size_t n, float lo, float hi);
/* x gets n distinct values spaced `gap` apart (in random order), centred
 * on zero and none within gap / 2 of zero: no ties for max pooling, no
 * input at a ReLU's kink, whatever the finite-difference step below gap/2. */
void tu_fill_distinct(cz_rng *rng, float *x, size_t n, float gap);

/* Allocates t as (n, c, h, w), or (n, c) when h == 0, filled uniform in
 * [-1, 1); aborts the test if out of memory. */
void tu_tensor_random(cz_tensor *t, cz_rng *rng, int n, int c, int h, int w);

/* Fails the current test unless |got - want| <= atol + rtol |want| for
 * every element, printing the max abs and rel errors and the first bad
 * index with its values. */
void tu_expect_close_(const float *got, const double *want, size_t n, double atol, double rtol,
                      const char *what, const char *file, int line);
#define tu_expect_close(got, want, n, atol, rtol, what) \
    tu_expect_close_(got, want, n, atol, rtol, what, __FILE__, __LINE__)
/* The same for two float arrays. */
void tu_expect_close_f_(const float *got, const float *want, size_t n, double atol, double rtol,
                        const char *what, const char *file, int line);
#define tu_expect_close_f(got, want, n, atol, rtol, what) \
    tu_expect_close_f_(got, want, n, atol, rtol, what, __FILE__, __LINE__)

/* Fails the current test unless status is CZ_OK, printing cz_last_error(). */
/* A fresh folder for one test program's files, made under $CZ_TEST_TMP
 * (ctest sets it) or /tmp, named after `tag`; 0 on success (a cmocka
 * group setup can return it). tu_tmp_path names a file in it; the result
 * lives until the 4th call after. */
int tu_make_tmp_dir(const char *tag);
const char *tu_tmp_path(const char *name);
/* The file `name` in the fixture folder named by environment variable
 * `env` (set by ctest); skips the calling test when it is unset. The
 * result lives until the 4th call after. */
const char *tu_fixture(const char *env, const char *name);
/* Calls fn(words, n) for each line of the text file at `path` whose first
 * word is `kind` (every line when NULL; at most 8 words, split on spaces);
 * returns how many. */
int tu_for_each_line(const char *path, const char *kind, void (*fn)(char **words, int n));
/* Writes size bytes to path, failing the test on any error. */
void tu_write_bytes(const char *path, const void *data, size_t size);
/* Fails unless `got` is `want` and cz_last_error() is one line holding
 * part1 (and part2 when not NULL). */
void tu_expect_error(cz_status got, cz_status want, const char *part1, const char *part2);

#define tu_check(status)                                                       \
    do {                                                                       \
        cz_status tu_st_ = (status);                                           \
        if (tu_st_ != CZ_OK)                                                   \
            fail_msg("%s failed (%d): %s", #status, tu_st_, cz_last_error()); \
    } while (0)

/* Gradient check. Loss = sum(output * R) for a random R, in double. The
 * analytic gradients (cz_net_backward with dout = R, input gradient on)
 * of the input and of every CZ_PARAM_WEIGHT parameter are compared with
 * central differences (L(v + step) - L(v - step)) / (actual float step),
 * element by element:  |analytic - numeric| <= tol (1 + |numeric|); the
 * largest numeric gradient must reach 10 tol, else the check is void.
 * TU_VERBOSE=1 in the environment prints each check's worst error.
 * The net rng is restored before every forward, so dropout's mask repeats.
 * The net's mode (training or not) is left as the caller set it. */
typedef struct tu_gradcheck_opts {
    uint64_t seed; /* for R */
    float step;    /* finite-difference step; 0 -> TU_GRAD_STEP */
    double tol;    /* 0 -> TU_GRAD_TOL */
} tu_gradcheck_opts;

/* Why these values: with float forward passes and a double loss, the
 * worst |a - n| / (1 + |n|) seen over all op checks is about 1e-4 (batch
 * norm in training with 4 values per channel, where the step's truncation
 * error dominates), 1e-5 or less elsewhere. 1e-3 leaves a 10x margin and
 * still fails a 5% error in LRN's window term or a count off by one in
 * batch norm's backward (both tried). A step of 1e-2 keeps the float
 * rounding noise of the loss (~1e-7 relative) well below the tolerance. */
#define TU_GRAD_STEP 1e-2f
#define TU_GRAD_TOL 1e-3

void tu_gradcheck_(cz_net *net, cz_tensor *input, tu_gradcheck_opts opts, const char *file,
                   int line);
#define tu_gradcheck(net, input, opts) tu_gradcheck_(net, input, opts, __FILE__, __LINE__)

#endif
