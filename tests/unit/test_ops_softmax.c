/*
 * test_ops_softmax.c - softmax over features and over channels against
 * exp / sum in double, with large logits (stability); and cross-entropy's
 * loss and dlogits against the definition and against PyTorch 1.13's
 * CrossEntropyLoss(label_smoothing) values; label errors.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static void check_softmax(int N, int C, int H, int W, bool features, float scale)
{
    cz_net *net = cz_net_create(C, H, W, 1);
    int x_node = features ? cz_flatten(net, CZ_INPUT, NULL) : CZ_INPUT;
    cz_softmax(net, x_node, "softmax");
    tu_check(cz_net_status(net));
    cz_rng rng;
    cz_rng_seed(&rng, (uint64_t)C * 7 + H);
    cz_tensor x = {0};
    tu_tensor_random(&x, &rng, N, C, H, W);
    for (size_t i = 0; i < cz_tensor_numel(&x); i++)
        x.data[i] *= scale;
    const cz_tensor *y;
    tu_check(cz_net_forward(net, &x, &y));
    int K = features ? C * H * W : C;
    size_t M = features ? 1 : (size_t)H * W, n = cz_tensor_numel(&x);
    double *want = malloc(sizeof(double) * n);
    for (int s = 0; s < N; s++)
        for (size_t m = 0; m < M; m++) {
            double max = -INFINITY, sum = 0.0;
            for (int c = 0; c < K; c++)
                max = fmax(max, x.data[((size_t)s * K + c) * M + m]);
            for (int c = 0; c < K; c++)
                sum += exp(x.data[((size_t)s * K + c) * M + m] - max);
            for (int c = 0; c < K; c++) {
                size_t i = ((size_t)s * K + c) * M + m;
                want[i] = exp(x.data[i] - max) / sum;
            }
        }
    tu_expect_close(y->data, want, n, 1e-7, 1e-5, "softmax");
    free(want);
    cz_tensor_free(&x);
    cz_net_free(net);
}

static void test_softmax(void **state)
{
    (void)state;
    check_softmax(3, 10, 1, 1, true, 3.0f);
    check_softmax(2, 4, 3, 5, false, 3.0f);
    check_softmax(2, 3, 2, 2, true, 3.0f);
    check_softmax(2, 6, 2, 3, false, 500.0f); /* exp would overflow unshifted */
    check_softmax(1, 1, 2, 2, false, 3.0f);   /* one channel: all ones */
}

/* ------------------------------------------------------------ cross-entropy */

static double ref_ce(const float *z, const int *labels, int N, int K, double eps, double *dz)
{
    double total = 0.0;
    for (int n = 0; n < N; n++) {
        double max = -INFINITY, sum = 0.0;
        for (int k = 0; k < K; k++)
            max = fmax(max, z[n * K + k]);
        for (int k = 0; k < K; k++)
            sum += exp(z[n * K + k] - max);
        for (int k = 0; k < K; k++) {
            double logp = z[n * K + k] - max - log(sum);
            double target = (k == labels[n] ? 1.0 - eps : 0.0) + eps / K;
            total -= target * logp;
            dz[n * K + k] = (exp(logp) - target) / N;
        }
    }
    return total / N;
}

static void test_cross_entropy(void **state)
{
    (void)state;
    cz_rng rng;
    cz_rng_seed(&rng, 9);
    static const float smoothings[] = {0.0f, 0.1f, 1.0f};
    for (int t = 0; t < 6; t++) {
        int N = 1 + (int)cz_rng_below(&rng, 5), K = 1 + (int)cz_rng_below(&rng, 12);
        cz_tensor z = {0}, dz = {0};
        tu_tensor_random(&z, &rng, N, K, 0, 0);
        for (int i = 0; i < N * K; i++)
            z.data[i] *= 4.0f;
        int labels[5];
        for (int n = 0; n < N; n++)
            labels[n] = (int)cz_rng_below(&rng, (uint64_t)K);
        for (size_t s = 0; s < 3; s++) {
            double loss, *want = malloc(sizeof(double) * N * K);
            tu_check(cz_cross_entropy(&z, labels, smoothings[s], &loss, &dz));
            double want_loss = ref_ce(z.data, labels, N, K, smoothings[s], want);
            if (fabs(loss - want_loss) > 1e-12 * (1 + fabs(want_loss)))
                fail_msg("loss %.17g, want %.17g", loss, want_loss);
            assert_int_equal(dz.ndim, 2);
            assert_int_equal(dz.shape[0], N);
            assert_int_equal(dz.shape[1], K);
            tu_expect_close(dz.data, want, (size_t)N * K, 1e-7, 1e-6, "dlogits");
            tu_check(cz_cross_entropy(&z, labels, smoothings[s], &loss, NULL));
            free(want);
        }
        cz_tensor_free(&z);
        cz_tensor_free(&dz);
    }
}

/* torch.nn.CrossEntropyLoss(label_smoothing=eps) in PyTorch 1.13. */
static void test_cross_entropy_matches_pytorch(void **state)
{
    (void)state;
    int shape[2] = {2, 3}, labels[2] = {2, 0};
    cz_tensor z = {0}, dz = {0};
    tu_check(cz_tensor_alloc(&z, 2, shape));
    memcpy(z.data, (float[]){1, 2, 3, 0.5f, -1, 2}, 6 * sizeof(float));
    static const struct {
        float eps;
        double loss;
        float dz[6];
    } cases[] = {
        {0.0f, 1.0744585990905762,
         {0.04501529037952423f, 0.12236424535512924f, -0.1673794984817505f, -0.41235479712486267f,
          0.019556285813450813f, 0.392798513174057f}},
        {0.1f, 1.1244585514068604,
         {0.02834862284362316f, 0.10569757968187332f, -0.13404616713523865f,
          -0.37902146577835083f, 0.0028896182775497437f, 0.3761318325996399f}},
    };
    for (int c = 0; c < 2; c++) {
        double loss;
        tu_check(cz_cross_entropy(&z, labels, cases[c].eps, &loss, &dz));
        if (fabs(loss - cases[c].loss) > 1e-6)
            fail_msg("eps %g: loss %.9g, PyTorch %.9g", cases[c].eps, loss, cases[c].loss);
        tu_expect_close_f(dz.data, cases[c].dz, 6, 1e-7, 1e-5, "dlogits vs PyTorch");
    }
    /* Huge logits: PyTorch gives exactly 1000 (eps 0.2, label 1). */
    int shape1[2] = {1, 3}, label1 = 1;
    cz_tensor big = {0};
    tu_check(cz_tensor_alloc(&big, 2, shape1));
    memcpy(big.data, (float[]){1000, 0, -1000}, 3 * sizeof(float));
    double loss;
    tu_check(cz_cross_entropy(&big, &label1, 0.2f, &loss, NULL));
    assert_true(fabs(loss - 1000.0) < 1e-9);
    cz_tensor_free(&big);
    cz_tensor_free(&z);
    cz_tensor_free(&dz);
}

static void test_cross_entropy_errors(void **state)
{
    (void)state;
    int shape[2] = {3, 4};
    cz_tensor z = {0};
    tu_check(cz_tensor_alloc(&z, 2, shape));
    double loss;
    assert_int_equal(cz_cross_entropy(&z, (int[]){0, 4, 1}, 0.0f, &loss, NULL), CZ_ERR_ARG);
    assert_string_equal(cz_last_error(), "cross_entropy: labels[1] = 4 is outside [0, 4)");
    assert_int_equal(cz_cross_entropy(&z, (int[]){0, 1, -1}, 0.0f, &loss, NULL), CZ_ERR_ARG);
    assert_string_equal(cz_last_error(), "cross_entropy: labels[2] = -1 is outside [0, 4)");
    assert_int_equal(cz_cross_entropy(&z, (int[]){0, 1, 2}, 1.5f, &loss, NULL), CZ_ERR_ARG);
    assert_non_null(strstr(cz_last_error(), "label smoothing 1.5"));
    int shape4[4] = {3, 4, 1, 1};
    cz_tensor z4 = {0};
    tu_check(cz_tensor_alloc(&z4, 4, shape4));
    assert_int_equal(cz_cross_entropy(&z4, (int[]){0, 1, 2}, 0.0f, &loss, NULL), CZ_ERR_SHAPE);
    assert_non_null(strstr(cz_last_error(), "[3, 4, 1, 1] must be (N, K)"));
    z.data[5] = NAN;
    assert_int_equal(cz_cross_entropy(&z, (int[]){0, 1, 2}, 0.0f, &loss, NULL), CZ_ERR_NUMERIC);
    cz_tensor_free(&z4);
    cz_tensor_free(&z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_softmax),
        cmocka_unit_test(test_cross_entropy),
        cmocka_unit_test(test_cross_entropy_matches_pytorch),
        cmocka_unit_test(test_cross_entropy_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
