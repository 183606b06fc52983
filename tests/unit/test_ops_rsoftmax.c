/*
 * test_ops_rsoftmax.c - ResNeSt's radix softmax against timm's recipe
 * done literally in double: view (groups, radix, rest), transpose to
 * (radix, groups, rest), softmax over radix, flatten; sigmoid at radix 1.
 * Features and (C, 1, 1) inputs, one and several groups, a worked example
 * by hand, large logits; bad shapes and arguments are builder errors.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* timm: x.view(N, groups, radix, -1).transpose(1, 2), softmax(dim=1),
 * reshape(N, -1). */
static void ref_rsoftmax(const float *x, double *y, int N, int C, int radix, int groups)
{
    int rest = C / (radix * groups);
    for (int n = 0; n < N; n++) {
        const float *xn = x + (size_t)n * C;
        double *yn = y + (size_t)n * C;
        if (radix == 1) {
            for (int c = 0; c < C; c++)
                yn[c] = 1.0 / (1.0 + exp(-(double)xn[c]));
            continue;
        }
        double *t = malloc(sizeof(double) * C); /* the transposed view */
        for (int g = 0; g < groups; g++)
            for (int r = 0; r < radix; r++)
                for (int j = 0; j < rest; j++)
                    t[(r * groups + g) * rest + j] = xn[(g * radix + r) * rest + j];
        for (int g = 0; g < groups; g++)
            for (int j = 0; j < rest; j++) {
                double sum = 0.0;
                for (int r = 0; r < radix; r++)
                    sum += exp(t[(r * groups + g) * rest + j]);
                for (int r = 0; r < radix; r++)
                    yn[(r * groups + g) * rest + j] = exp(t[(r * groups + g) * rest + j]) / sum;
            }
        free(t);
    }
}

static void check_rsoftmax(int N, int C, int radix, int groups, bool features, float scale)
{
    cz_net *net = cz_net_create(C, 1, 1, 1);
    int x_node = features ? cz_flatten(net, CZ_INPUT, NULL) : CZ_INPUT;
    int s = cz_rsoftmax(net, x_node, "rsoftmax", radix, groups);
    tu_check(cz_net_status(net));
    int shape[3];
    assert_int_equal(cz_net_node_shape(net, s, shape), features ? 1 : 3);
    assert_int_equal(shape[0], C);
    cz_rng rng;
    cz_rng_seed(&rng, (uint64_t)C * 31 + radix * 7 + groups);
    cz_tensor x = {0};
    tu_tensor_random(&x, &rng, N, C, 1, 1);
    for (size_t i = 0; i < cz_tensor_numel(&x); i++)
        x.data[i] *= scale;
    const cz_tensor *y;
    tu_check(cz_net_forward(net, &x, &y));
    size_t n = cz_tensor_numel(&x);
    double *want = malloc(sizeof(double) * n);
    ref_rsoftmax(x.data, want, N, C, radix, groups);
    tu_expect_close(y->data, want, n, 1e-7, 1e-5, "rsoftmax");
    free(want);
    cz_tensor_free(&x);
    cz_net_free(net);
}

static void test_rsoftmax_shapes(void **state)
{
    (void)state;
    check_rsoftmax(2, 8, 2, 1, false, 3.0f);   /* resnest50d: radix 2, one group */
    check_rsoftmax(3, 24, 2, 3, true, 3.0f);   /* groups reorder the channels */
    check_rsoftmax(2, 24, 4, 2, false, 3.0f);  /* resnest50d_4s2x40d's radix 4 x 2 */
    check_rsoftmax(2, 12, 3, 4, true, 3.0f);   /* rest 1 */
    check_rsoftmax(2, 10, 1, 1, false, 3.0f);  /* radix 1: sigmoid */
    check_rsoftmax(2, 12, 1, 4, true, 3.0f);
    check_rsoftmax(2, 8, 2, 2, false, 400.0f); /* exp would overflow unshifted */
}

/* radix 2, groups 2, rest 1: input (g0r0, g0r1, g1r0, g1r1) -> output
 * (r0g0, r0g1, r1g0, r1g1), each pair over r summing to one. */
static void test_rsoftmax_by_hand(void **state)
{
    (void)state;
    cz_net *net = cz_net_create(4, 1, 1, 1);
    cz_rsoftmax(net, CZ_INPUT, "rsoftmax", 2, 2);
    tu_check(cz_net_status(net));
    float in[4] = {0.0f, logf(3.0f), logf(2.0f), logf(2.0f)};
    cz_tensor x = {0};
    tu_check(cz_tensor_alloc(&x, 4, (int[]){1, 4, 1, 1}));
    memcpy(x.data, in, sizeof in);
    const cz_tensor *y;
    tu_check(cz_net_forward(net, &x, &y));
    const double want[4] = {0.25, 0.5, 0.75, 0.5};
    tu_expect_close(y->data, want, 4, 1e-7, 1e-6, "rsoftmax by hand");
    cz_tensor_free(&x);
    cz_net_free(net);
}

static void expect_error(int C, int H, int radix, int groups, cz_status status, const char *what)
{
    cz_net *net = cz_net_create(C, H, H, 1);
    assert_int_equal(cz_rsoftmax(net, CZ_INPUT, "attn", radix, groups), -1);
    assert_int_equal(cz_net_status(net), status);
    assert_non_null(strstr(cz_last_error(), "attn (rsoftmax)"));
    assert_non_null(strstr(cz_last_error(), what));
    cz_net_free(net);
}

static void test_rsoftmax_errors(void **state)
{
    (void)state;
    expect_error(8, 2, 2, 1, CZ_ERR_SHAPE, "(C, 1, 1)");
    expect_error(8, 1, 0, 1, CZ_ERR_ARG, "must be positive");
    expect_error(8, 1, 2, -1, CZ_ERR_ARG, "must be positive");
    expect_error(10, 1, 4, 1, CZ_ERR_SHAPE, "do not split into radix 4 x groups 1");
    expect_error(8, 1, 2, 3, CZ_ERR_SHAPE, "radix 2 x groups 3");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rsoftmax_shapes),
        cmocka_unit_test(test_rsoftmax_by_hand),
        cmocka_unit_test(test_rsoftmax_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
