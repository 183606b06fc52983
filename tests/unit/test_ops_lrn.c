/*
 * test_ops_lrn.c - local response norm forward against PyTorch's
 * definition written out: square, zero-pad size/2 channels before and
 * (size-1)/2 after, average `size` channels, b = a / (k + alpha avg)^beta.
 * Odd and even sizes, sizes larger than the channel count, 1x1 maps;
 * values PyTorch 1.13 gave; argument errors.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static void ref_lrn(const float *x, int N, int C, int HW, int size, double alpha, double beta,
                    double k, double *y)
{
    int before = size / 2, after = (size - 1) / 2, CP = C + before + after;
    double *sq = malloc(sizeof(double) * CP);
    for (int n = 0; n < N; n++)
        for (int p = 0; p < HW; p++) {
            for (int c = 0; c < CP; c++) {
                int src = c - before;
                double v = src >= 0 && src < C ? x[((size_t)n * C + src) * HW + p] : 0.0;
                sq[c] = v * v;
            }
            for (int c = 0; c < C; c++) {
                double avg = 0.0;
                for (int j = 0; j < size; j++)
                    avg += sq[c + j];
                avg /= size;
                size_t i = ((size_t)n * C + c) * HW + p;
                y[i] = x[i] / pow(k + alpha * avg, beta);
            }
        }
    free(sq);
}

static void check_lrn(int N, int C, int H, int W, int size, float alpha, float beta, float k,
                      uint64_t seed)
{
    cz_net *net = cz_net_create(C, H, W, seed);
    cz_lrn(net, CZ_INPUT, "lrn", size, alpha, beta, k);
    tu_check(cz_net_status(net));
    cz_rng rng;
    cz_rng_seed(&rng, seed);
    cz_tensor x = {0};
    tu_tensor_random(&x, &rng, N, C, H, W);
    for (size_t i = 0; i < cz_tensor_numel(&x); i++)
        x.data[i] *= 3.0f;
    const cz_tensor *y;
    tu_check(cz_net_forward(net, &x, &y));
    size_t n = cz_tensor_numel(&x);
    double *want = malloc(sizeof(double) * n);
    ref_lrn(x.data, N, C, H * W, size, alpha, beta, k, want);
    tu_expect_close(y->data, want, n, 1e-6, 1e-5, "lrn");
    free(want);
    cz_tensor_free(&x);
    cz_net_free(net);
}

static void test_lrn_forward(void **state)
{
    (void)state;
    check_lrn(2, 8, 5, 7, 5, 1e-4f, 0.75f, 2.0f, 1);   /* AlexNet's */
    check_lrn(2, 8, 5, 7, 5, 0.5f, 0.75f, 1.0f, 2);    /* strong: alpha matters */
    check_lrn(1, 7, 3, 3, 4, 0.8f, 0.6f, 1.0f, 3);     /* even size */
    check_lrn(1, 6, 2, 2, 2, 0.8f, 1.2f, 0.5f, 4);
    check_lrn(2, 3, 4, 4, 9, 0.7f, 0.75f, 1.0f, 5);    /* size > C */
    check_lrn(3, 5, 1, 1, 3, 0.9f, 0.5f, 1.5f, 6);     /* 1x1 maps */
    check_lrn(1, 1, 4, 3, 1, 0.9f, 0.75f, 1.0f, 7);    /* one channel */
    check_lrn(1, 9, 9, 9, 5, 0.9f, 0.75f, 1.0f, 8);    /* more than one 64-position block */
}

/* F.local_response_norm(x, size, alpha=1, beta=0.75, k=1) in PyTorch 1.13
 * for x = [1, 2, 3, 4] channels at one position. */
static void test_lrn_matches_pytorch(void **state)
{
    (void)state;
    static const struct {
        int size;
        float want[4];
    } cases[] = {
        {2, {0.7377879619598389f, 0.781589925289154f, 0.6619501709938049f, 0.5679494142532349f}},
        {3, {0.4792073369026184f, 0.544545590877533f, 0.508276104927063f, 0.7490872740745544f}},
        {4, {0.5443310737609863f, 0.6473223567008972f, 0.6026387810707092f, 0.8217118382453918f}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        cz_net *net = cz_net_create(4, 1, 1, 1);
        cz_lrn(net, CZ_INPUT, "lrn", cases[c].size, 1.0f, 0.75f, 1.0f);
        tu_check(cz_net_status(net));
        int shape[4] = {1, 4, 1, 1};
        cz_tensor x = {0};
        tu_check(cz_tensor_alloc(&x, 4, shape));
        for (int i = 0; i < 4; i++)
            x.data[i] = (float)(i + 1);
        const cz_tensor *y;
        tu_check(cz_net_forward(net, &x, &y));
        tu_expect_close_f(y->data, cases[c].want, 4, 1e-6, 1e-6, "lrn vs PyTorch");
        cz_tensor_free(&x);
        cz_net_free(net);
    }
}

static void test_lrn_errors(void **state)
{
    (void)state;
    static const struct {
        int size;
        float alpha, beta, k;
        const char *needle;
    } bad[] = {
        {0, 1e-4f, 0.75f, 2.0f, "size 0 must be positive"},
        {-3, 1e-4f, 0.75f, 2.0f, "size -3 must be positive"},
        {5, 1e-4f, 0.75f, 0.0f, "k 0 must be positive"},
        {5, -1.0f, 0.75f, 2.0f, "alpha -1 non-negative"},
        {5, 1e-4f, INFINITY, 2.0f, "beta inf finite"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cz_net *net = cz_net_create(4, 3, 3, 1);
        assert_int_equal(cz_lrn(net, CZ_INPUT, "features.2", bad[i].size, bad[i].alpha,
                                bad[i].beta, bad[i].k),
                         -1);
        assert_int_equal(cz_net_status(net), CZ_ERR_ARG);
        if (!strstr(cz_last_error(), bad[i].needle) || !strstr(cz_last_error(), "features.2"))
            fail_msg("message \"%s\" lacks \"%s\"", cz_last_error(), bad[i].needle);
        cz_net_free(net);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lrn_forward),
        cmocka_unit_test(test_lrn_matches_pytorch),
        cmocka_unit_test(test_lrn_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
