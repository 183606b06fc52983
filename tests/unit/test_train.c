/*
 * test_train.c - end to end: LeNet-5 on the first 2048 Fashion-MNIST
 * training images. The loss must fall, and the
 * same seed and kernel thread count must give the same weights bit for
 * bit, whether the loader runs in the caller's thread or in three workers.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "train/train.h"

static cz_dataset train_set;

static int setup(void **state)
{
    (void)state;
    if (cz_dataset_load_idx("fashion-mnist", true, 2, &train_set) != CZ_OK) {
        print_error("%s\n", cz_last_error());
        return -1;
    }
    train_set.count = 2048; /* a slice keeps the test quick */
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cz_dataset_free(&train_set);
    return 0;
}

static cz_net *train_lenet(int epochs, uint64_t seed, int workers, cz_eval_result *before,
                           cz_eval_result *after)
{
    cz_net *net = cz_model_create("lenet5", 0, 0, 0, seed);
    assert_non_null(net);
    cz_train_opts o = {.epochs = epochs, .batch = 64, .seed = seed, .workers = workers,
                       .optim = cz_optim_defaults(CZ_OPTIM_SGD),
                       .schedule = {.kind = CZ_SCHED_CONSTANT}};
    o.optim.lr = 0.05f;
    o.optim.momentum = 0.9f;
    o.optim.weight_decay = 5e-4f;
    cz_eval_opts eo = {.batch = 512, .workers = workers};
    cz_eval_result last;
    assert_int_equal(cz_evaluate(net, &train_set, &eo, before), CZ_OK);
    assert_int_equal(cz_train(net, &train_set, NULL, &o, &last), CZ_OK);
    assert_int_equal(cz_evaluate(net, &train_set, &eo, after), CZ_OK);
    return net;
}

static void loss_falls(void **state)
{
    (void)state;
    cz_eval_result before, after;
    cz_net *net = train_lenet(2, 7, 1, &before, &after);
    print_message("loss %.4f -> %.4f, top-1 %.1f%% -> %.1f%%, top-5 %.1f%% -> %.1f%%\n",
                  before.loss, after.loss, 100 * before.top1, 100 * after.top1,
                  100 * before.top5, 100 * after.top5);
    assert_true(before.loss > 2.0);    /* about ln 10 untrained */
    assert_true(after.loss < 0.8);     /* it has learned */
    assert_true(after.top1 > 0.70);
    assert_true(after.top5 >= after.top1 && after.top5 > 0.95);
    assert_int_equal(after.count, 2048);
    cz_net_free(net);
}

static void same_seed_same_weights(void **state)
{
    (void)state;
    cz_eval_result b1, a1, b2, a2;
    cz_net *n1 = train_lenet(1, 3, 0, &b1, &a1), *n2 = train_lenet(1, 3, 3, &b2, &a2);
    for (int i = 0; i < cz_net_param_count(n1); i++) {
        cz_param *p1 = cz_net_param(n1, i), *p2 = cz_net_param(n2, i);
        assert_memory_equal(p1->value.data, p2->value.data,
                            cz_tensor_numel(&p1->value) * sizeof(float));
    }
    assert_true(a1.loss == a2.loss);
    cz_net_free(n1);
    cz_net_free(n2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loss_falls),
        cmocka_unit_test(same_seed_same_weights),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
