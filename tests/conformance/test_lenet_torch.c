/*
 * test_lenet_torch.c - LeNet-5 against PyTorch, output for output: the
 * logits, the loss, every gradient by state_dict name, and the weights
 * after two SGD steps (momentum and weight decay included). The fixture
 * comes from tools/lenet_reference.py, made in the build tree by ctest.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "io/io.h"
#include "train/train.h"

static const char *fixture_path;

/* max |a - b| / max |b| over n floats; prints where it is worst. */
static double rel_error(const char *what, const float *a, const float *b, size_t n)
{
    double max_err = 0, max_ref = 0;
    size_t worst = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]);
        if (e > max_err) {
            max_err = e;
            worst = i;
        }
        if (fabs(b[i]) > max_ref)
            max_ref = fabs(b[i]);
    }
    double rel = max_err / (max_ref > 1e-12 ? max_ref : 1e-12);
    if (rel > 1e-4)
        print_error("%s: relative error %.3g (max abs %.3g at index %zu: got %.8g, torch %.8g)\n",
                    what, rel, max_err, worst, a[worst], b[worst]);
    return rel;
}

static const cz_st_tensor *need(cz_st_file *f, const char *name)
{
    const cz_st_tensor *t = cz_st_find(f, name);
    if (!t)
        fail_msg("fixture %s has no tensor '%s'", fixture_path, name);
    return t;
}

static float *floats(cz_st_file *f, const char *name)
{
    const cz_st_tensor *t = need(f, name);
    float *v = malloc(sizeof(float) * t->numel);
    assert_non_null(v);
    assert_int_equal(cz_st_to_f32(f, t, v), CZ_OK);
    return v;
}

static void check_params(cz_net *net, cz_st_file *f, const char *prefix, bool grads)
{
    for (int i = 0; i < cz_net_param_count(net); i++) {
        cz_param *p = cz_net_param(net, i);
        char key[256];
        snprintf(key, sizeof key, "%s%s", prefix, p->name);
        float *want = floats(f, key);
        const cz_tensor *got = grads ? &p->grad : &p->value;
        assert_true(rel_error(key, got->data, want, cz_tensor_numel(got)) <= 1e-4);
        free(want);
    }
}

static void lenet_matches_torch(void **state)
{
    (void)state;
    cz_st_file *f;
    assert_int_equal(cz_st_open(&f, fixture_path), CZ_OK);
    cz_net *net = cz_model_create("lenet5", 0, 0, 0, 0);
    assert_non_null(net);
    assert_int_equal(cz_safetensors_load(net, fixture_path, false), CZ_OK);
    cz_net_set_training(net, true);

    const cz_st_tensor *xt = need(f, "input");
    cz_tensor x = {0};
    int shape[4] = {(int)xt->shape[0], 1, 32, 32};
    assert_int_equal(cz_tensor_alloc(&x, 4, shape), CZ_OK);
    assert_int_equal(cz_st_to_f32(f, xt, x.data), CZ_OK);
    int n = shape[0];
    int64_t labels64[64];
    int labels[64];
    assert_int_equal(cz_st_to_i64(f, need(f, "labels"), labels64), CZ_OK);
    for (int i = 0; i < n; i++)
        labels[i] = (int)labels64[i];

    cz_optim opt;
    cz_optim_config cfg = cz_optim_defaults(CZ_OPTIM_SGD);
    cfg.lr = 0.1f;
    cfg.momentum = 0.9f;
    cfg.weight_decay = 5e-4f;
    assert_int_equal(cz_optim_init(&opt, net, &cfg), CZ_OK);
    for (int step = 0; step < 2; step++) {
        const cz_tensor *logits;
        assert_int_equal(cz_net_forward(net, &x, &logits), CZ_OK);
        cz_tensor dlogits = {0};
        assert_int_equal(cz_tensor_alloc(&dlogits, 2, logits->shape), CZ_OK);
        double loss;
        assert_int_equal(cz_cross_entropy(logits, labels, 0.0f, &loss, &dlogits), CZ_OK);
        cz_net_zero_grad(net);
        assert_int_equal(cz_net_backward(net, &dlogits), CZ_OK);
        if (step == 0) {
            float *want = floats(f, "logits"), *want_loss = floats(f, "loss");
            float got_loss = (float)loss;
            assert_true(rel_error("logits", logits->data, want, cz_tensor_numel(logits)) <= 1e-4);
            assert_true(rel_error("loss", &got_loss, want_loss, 1) <= 1e-4);
            free(want);
            free(want_loss);
            check_params(net, f, "grad.", true);
        }
        cz_optim_step(&opt, net);
        cz_tensor_free(&dlogits);
    }
    check_params(net, f, "step2.", false);
    cz_optim_free(&opt);
    cz_tensor_free(&x);
    cz_net_free(net);
    cz_st_close(f);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FIXTURE.safetensors\n", argv[0]);
        return 2;
    }
    fixture_path = argv[1];
    const struct CMUnitTest tests[] = {cmocka_unit_test(lenet_matches_torch)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
