/* testutil.c - shared test helpers; see testutil.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testutil.h"

void tu_fill_uniform(cz_rng *rng, float *x, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * (float)cz_rng_uniform(rng);
}

void tu_fill_distinct(cz_rng *rng, float *x, size_t n, float gap)
{
    int *order = malloc(sizeof(int) * (n ? n : 1));
    assert_non_null(order);
    for (size_t i = 0; i < n; i++)
        order[i] = (int)i;
    cz_rng_shuffle(rng, order, n);
    /* Values (k - n/2 + 1/2) gap: symmetric about zero, never closer than
     * gap / 2 to it. */
    for (size_t i = 0; i < n; i++)
        x[i] = ((float)order[i] - (float)n / 2.0f + 0.5f) * gap;
    free(order);
}

void tu_tensor_random(cz_tensor *t, cz_rng *rng, int n, int c, int h, int w)
{
    int shape[4] = {n, c, h, w};
    memset(t, 0, sizeof *t);
    if (cz_tensor_alloc(t, h ? 4 : 2, shape) != CZ_OK)
        fail_msg("cannot allocate a test tensor: %s", cz_last_error());
    tu_fill_uniform(rng, t->data, cz_tensor_numel(t), -1.0f, 1.0f);
}

/* The comparison behind both tu_expect_close variants: want[i] read
 * through a callback so float and double references share the report. */
static void expect_close(const float *got, const void *want, bool want_double, size_t n,
                         double atol, double rtol, const char *what, const char *file, int line)
{
    double max_abs = 0.0, max_rel = 0.0;
    size_t first_bad = n;
    for (size_t i = 0; i < n; i++) {
        double w = want_double ? ((const double *)want)[i] : ((const float *)want)[i];
        double g = got[i], err = fabs(g - w);
        double rel = err / (fabs(w) > 1e-30 ? fabs(w) : 1e-30);
        bool bad = !(err <= atol + rtol * fabs(w)); /* NaN is bad */
        if (err > max_abs || err != err)
            max_abs = err;
        if (rel > max_rel || rel != rel)
            max_rel = rel;
        if (bad && first_bad == n)
            first_bad = i;
    }
    if (first_bad < n) {
        double w = want_double ? ((const double *)want)[first_bad]
                               : ((const float *)want)[first_bad];
        print_error("%s:%d: %s: %zu elements, max abs error %.3g, max rel error %.3g; "
                    "first bad index %zu: got %.9g, want %.9g (atol %.3g, rtol %.3g)\n",
                    file, line, what, n, max_abs, max_rel, first_bad, (double)got[first_bad], w,
                    atol, rtol);
        fail();
    }
}

void tu_expect_close_(const float *got, const double *want, size_t n, double atol, double rtol,
                      const char *what, const char *file, int line)
{
    expect_close(got, want, true, n, atol, rtol, what, file, line);
}

void tu_expect_close_f_(const float *got, const float *want, size_t n, double atol, double rtol,
                        const char *what, const char *file, int line)
{
    expect_close(got, want, false, n, atol, rtol, what, file, line);
}

/* sum(output * R) in double after a forward from the saved rng state. */
static double projected_loss(cz_net *net, const cz_tensor *input, const cz_rng *rng_state,
                             const float *R)
{
    *cz_net_rng(net) = *rng_state;
    const cz_tensor *out;
    if (cz_net_forward(net, input, &out) != CZ_OK)
        fail_msg("forward failed: %s", cz_last_error());
    double loss = 0.0;
    size_t n = cz_tensor_numel(out);
    for (size_t i = 0; i < n; i++)
        loss += (double)out->data[i] * R[i];
    return loss;
}

/* Central difference of the loss in v[i], with the step actually taken
 * in float arithmetic. */
static double numeric_grad(cz_net *net, const cz_tensor *input, const cz_rng *rng_state,
                           const float *R, float *v, size_t i, float step)
{
    float saved = v[i], plus = saved + step, minus = saved - step;
    /* v may be a parameter written through a kept pointer: say so, or the
     * forward would use the weights it packed before. */
    v[i] = plus;
    cz_net_params_changed(net);
    double loss_plus = projected_loss(net, input, rng_state, R);
    v[i] = minus;
    cz_net_params_changed(net);
    double loss_minus = projected_loss(net, input, rng_state, R);
    v[i] = saved;
    cz_net_params_changed(net);
    return (loss_plus - loss_minus) / ((double)plus - (double)minus);
}

/* Compares one analytic gradient array against finite differences of v. */
static void check_one(cz_net *net, cz_tensor *input, const cz_rng *rng_state, const float *R,
                      float *v, const float *analytic, size_t n, float step, double tol,
                      const char *what, const char *file, int line)
{
    double *numeric = malloc(sizeof(double) * (n ? n : 1));
    assert_non_null(numeric);
    double max_numeric = 0.0;
    for (size_t i = 0; i < n; i++) {
        numeric[i] = numeric_grad(net, input, rng_state, R, v, i, step);
        max_numeric = fmax(max_numeric, fabs(numeric[i]));
    }
    /* A check is only worth something if the gradient is well above the
     * absolute tolerance; an op whose gradient vanishes here is a bad test. */
    if (n > 0 && max_numeric < 10.0 * tol)
        fail_msg("%s:%d: gradient of %s: largest finite difference %.3g is too small to "
                 "check against tolerance %.3g", file, line, what, max_numeric, tol);
    if (getenv("TU_VERBOSE")) {
        double worst = 0.0;
        for (size_t i = 0; i < n; i++)
            worst = fmax(worst, fabs(analytic[i] - numeric[i]) / (1.0 + fabs(numeric[i])));
        print_message("%s:%d: gradient of %s: %zu elements, max |numeric| %.3g, "
                      "max |a - n| / (1 + |n|) %.3g\n", file, line, what, n, max_numeric, worst);
    }
    char label[200];
    snprintf(label, sizeof label, "gradient of %s", what);
    tu_expect_close_(analytic, numeric, n, tol, tol, label, file, line);
    free(numeric);
}

void tu_gradcheck_(cz_net *net, cz_tensor *input, tu_gradcheck_opts opts, const char *file,
                   int line)
{
    float step = opts.step > 0.0f ? opts.step : TU_GRAD_STEP;
    double tol = opts.tol > 0.0 ? opts.tol : TU_GRAD_TOL;
    cz_rng rng_state = *cz_net_rng(net), r_rng;
    cz_rng_seed(&r_rng, opts.seed ? opts.seed : 12345);

    /* Analytic gradients at the unperturbed point. */
    *cz_net_rng(net) = rng_state;
    const cz_tensor *out;
    cz_net_set_input_grad(net, true); /* before forward: it prepares for backward */
    tu_check(cz_net_forward(net, input, &out));
    cz_tensor R = {0};
    tu_check(cz_tensor_alloc(&R, out->ndim, out->shape));
    tu_fill_uniform(&r_rng, R.data, cz_tensor_numel(&R), -1.0f, 1.0f);
    cz_net_zero_grad(net);
    tu_check(cz_net_backward(net, &R));

    size_t n_in = cz_tensor_numel(input);
    float *dinput = malloc(sizeof(float) * n_in);
    assert_non_null(dinput);
    const cz_tensor *g = cz_net_input_grad(net);
    assert_non_null(g);
    memcpy(dinput, g->data, sizeof(float) * n_in);
    int n_params = cz_net_param_count(net);
    float **dparams = calloc((size_t)n_params + 1, sizeof *dparams);
    assert_non_null(dparams);
    for (int k = 0; k < n_params; k++) {
        cz_param *p = cz_net_param(net, k);
        if (p->kind != CZ_PARAM_WEIGHT)
            continue;
        size_t n = cz_tensor_numel(&p->grad);
        dparams[k] = malloc(sizeof(float) * n);
        assert_non_null(dparams[k]);
        memcpy(dparams[k], p->grad.data, sizeof(float) * n);
    }

    check_one(net, input, &rng_state, R.data, input->data, dinput, n_in, step, tol, "the input",
              file, line);
    for (int k = 0; k < n_params; k++) {
        cz_param *p = cz_net_param(net, k);
        if (!dparams[k])
            continue;
        check_one(net, input, &rng_state, R.data, p->value.data, dparams[k],
                  cz_tensor_numel(&p->value), step, tol, p->name, file, line);
        free(dparams[k]);
    }
    free(dparams);
    free(dinput);
    cz_tensor_free(&R);
    *cz_net_rng(net) = rng_state;
}

/* ------------------------------------------------------------ files */

static char tu_tmp_dir[2048];

int tu_make_tmp_dir(const char *tag)
{
    const char *base = getenv("CZ_TEST_TMP");
    if (base && *base) {
        mkdir(base, 0777);
        snprintf(tu_tmp_dir, sizeof tu_tmp_dir, "%s/%s.XXXXXX", base, tag);
    } else {
        snprintf(tu_tmp_dir, sizeof tu_tmp_dir, "/tmp/cz_%s.XXXXXX", tag);
    }
    return mkdtemp(tu_tmp_dir) ? 0 : -1;
}

const char *tu_tmp_path(const char *name)
{
    static char buf[4][2400];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, sizeof buf[0], "%s/%s", tu_tmp_dir, name);
    return p;
}

void tu_write_bytes(const char *path, const void *data, size_t size)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, size, fp), size);
    assert_int_equal(fclose(fp), 0);
}

void tu_expect_error(cz_status got, cz_status want, const char *part1, const char *part2)
{
    const char *msg = cz_last_error();
    if (got != want || !strstr(msg, part1) || (part2 && !strstr(msg, part2)))
        fail_msg("status %d (want %d), message \"%s\" lacks \"%s\"%s%s", got, want, msg, part1,
                 part2 ? "\" or \"" : "", part2 ? part2 : "");
    if (strchr(msg, '\n'))
        fail_msg("message is not one line: \"%s\"", msg);
}

const char *tu_fixture(const char *env, const char *name)
{
    static char buf[4][2400];
    static int next;
    const char *dir = getenv(env);
    if (!dir || !*dir) {
        print_message("%s is not set; skipping\n", env);
        skip();
    }
    char *p = buf[next++ % 4];
    snprintf(p, sizeof buf[0], "%s/%s", dir, name);
    return p;
}

int tu_for_each_line(const char *path, const char *kind, void (*fn)(char **words, int n))
{
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s", path);
    char line[1024];
    int cases = 0;
    while (fgets(line, sizeof line, f)) {
        char *words[8];
        int n = 0;
        for (char *w = strtok(line, " \n"); w && n < 8; w = strtok(NULL, " \n"))
            words[n++] = w;
        if (n > 0 && (!kind || strcmp(words[0], kind) == 0)) {
            fn(words, n);
            cases++;
        }
    }
    fclose(f);
    return cases;
}
