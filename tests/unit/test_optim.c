/*
 * test_optim.c - the optimizers against torch.optim (PyTorch 1.13): the
 * parameters of BatchNorm2d(5) + Linear(5, 8) take five steps from the
 * same start and gradients as tools/optim_reference.py gives torch, for
 * each case of the table below (the script holds the same table); every
 * value after every step and the final state must agree to 1e-5 relative
 * (on an AVX2 machine they agree bit for bit; fc.weight's 40 elements go
 * through both torch's vectorised and its scalar loops).
 * Also: buffers are never touched, the state's names, and the settings
 * torch refuses.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "io/npy.h"
#include "testutil.h"
#include "train/optim.h"

#define STEPS 5
#define RTOL 1e-5

static const float lr_schedule[STEPS] = {0.1f, 0.05f, 0.025f, 0.0125f, 0.00625f};
static const char *param_names[] = {"bn.weight", "bn.bias", "fc.weight", "fc.bias"};
#define N_PARAMS 4
#define MAX_NUMEL 64
static const char *slot_names[] = {"momentum_buffer", "exp_avg", "exp_avg_sq", "square_avg"};

typedef struct optim_case {
    const char *name;
    cz_optim_config cfg;
    bool lr_schedule; /* lr_schedule[t] at step t */
} optim_case;

#define SGD .kind = CZ_OPTIM_SGD
#define ADAMW .kind = CZ_OPTIM_ADAMW, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f
#define RMSPROP .kind = CZ_OPTIM_RMSPROP

static const optim_case cases[] = {
    {"sgd_plain", {SGD, .lr = 0.1f, .weight_decay = 1e-4f}, false},
    {"sgd_momentum", {SGD, .lr = 0.1f, .momentum = 0.9f, .weight_decay = 1e-4f}, false},
    {"sgd_nesterov",
     {SGD, .lr = 0.1f, .momentum = 0.9f, .weight_decay = 1e-4f, .nesterov = true},
     false},
    {"sgd_dampening",
     {SGD, .lr = 0.1f, .momentum = 0.9f, .dampening = 0.1f, .weight_decay = 1e-4f},
     false},
    {"sgd_exempt",
     {SGD, .lr = 0.1f, .momentum = 0.9f, .weight_decay = 0.01f, .decay_exempt_1d = true},
     false},
    {"sgd_lr_schedule", {SGD, .momentum = 0.9f, .weight_decay = 1e-4f}, true},
    {"adamw", {ADAMW, .lr = 1e-3f, .weight_decay = 0.05f}, false},
    {"adamw_fast",
     {.kind = CZ_OPTIM_ADAMW, .lr = 0.05f, .beta1 = 0.8f, .beta2 = 0.99f, .eps = 1e-6f,
      .weight_decay = 0.05f},
     false},
    {"adamw_exempt", {ADAMW, .lr = 0.01f, .weight_decay = 0.05f, .decay_exempt_1d = true}, false},
    {"adamw_lr_schedule", {ADAMW, .weight_decay = 0.05f}, true},
    {"rmsprop",
     {RMSPROP, .lr = 0.01f, .alpha = 0.9f, .eps = 1e-3f, .momentum = 0.9f, .weight_decay = 1e-5f},
     false},
    {"rmsprop_plain", {RMSPROP, .lr = 0.01f, .alpha = 0.99f, .eps = 1e-8f}, false},
    {"rmsprop_tf",
     {RMSPROP, .lr = 0.01f, .alpha = 0.9f, .eps = 1e-3f, .momentum = 0.9f, .weight_decay = 1e-5f,
      .tf_style = true},
     false},
    {"rmsprop_tf_plain",
     {RMSPROP, .lr = 0.01f, .alpha = 0.9f, .eps = 1e-3f, .weight_decay = 1e-5f, .tf_style = true},
     false},
    {"rmsprop_tf_exempt",
     {RMSPROP, .lr = 0.01f, .alpha = 0.9f, .eps = 1e-3f, .momentum = 0.9f, .weight_decay = 0.01f,
      .tf_style = true, .decay_exempt_1d = true},
     false},
};
#define N_CASES (sizeof cases / sizeof cases[0])

/* Worst errors over all cases, printed at the end: of the values
 * (relative), and of each step's update relative to its largest element. */
static double worst_value_rel, worst_state_rel, worst_update_rel;

/* ------------------------------------------------------------ helpers */

/* BatchNorm2d(5) on (5, 1, 1) then Linear(5, 8): bn.weight, bn.bias (5),
 * bn's three buffers, fc.weight (8, 5), fc.bias (8). */
static cz_net *tiny_net(void)
{
    cz_net *net = cz_net_create(5, 1, 1, 1);
    int x = cz_batchnorm(net, CZ_INPUT, "bn", 1e-5f, 0.1f);
    x = cz_flatten(net, x, NULL);
    cz_linear(net, x, "fc", 8, true);
    tu_check(cz_net_status(net));
    return net;
}

static cz_param *param(cz_net *net, const char *name)
{
    cz_param *p = cz_net_find_param(net, name);
    if (!p)
        fail_msg("no parameter %s", name);
    return p;
}

static const char *fixture_path(const char *name)
{
    return tu_fixture("CZ_OPTIM_FIXTURES", name);
}

static bool fixture_exists(const char *name)
{
    return access(fixture_path(name), R_OK) == 0;
}

/* Reads fixture `name` (.npy added); its element count must be `numel`. */
static void read_npy(const char *name, size_t numel, cz_npy_array *a)
{
    char file[256];
    snprintf(file, sizeof file, "%s.npy", name);
    if (cz_npy_read(fixture_path(file), CZ_NPY_F32, a) != CZ_OK)
        fail_msg("%s", cz_last_error());
    if (a->numel != numel)
        fail_msg("%s holds %zu values, want %zu", file, a->numel, numel);
}

static double rel_error(const float *got, const float *want, size_t n)
{
    double worst = 0;
    for (size_t k = 0; k < n; k++)
        worst = fmax(worst, fabs((double)got[k] - want[k]) / fmax(fabs(want[k]), 1e-30));
    return worst;
}

/* Buffers get values that no step may change. */
static void mark_buffers(cz_net *net)
{
    float *mean = param(net, "bn.running_mean")->value.data;
    float *var = param(net, "bn.running_var")->value.data;
    for (int c = 0; c < 5; c++) {
        mean[c] = 0.25f * (float)(c + 1);
        var[c] = 1.5f + (float)c;
    }
    param(net, "bn.num_batches_tracked")->count = 7;
}

static void expect_buffers_marked(cz_net *net)
{
    const cz_param *mean = param(net, "bn.running_mean"), *var = param(net, "bn.running_var");
    assert_int_equal(mean->kind, CZ_PARAM_BUFFER);
    for (int c = 0; c < 5; c++) {
        assert_true(mean->value.data[c] == 0.25f * (float)(c + 1));
        assert_true(var->value.data[c] == 1.5f + (float)c);
    }
    assert_int_equal(param(net, "bn.num_batches_tracked")->count, 7);
}

/* ------------------------------------------------------------ against torch */

static void run_case(const optim_case *oc)
{
    cz_net *net = tiny_net();
    mark_buffers(net);
    cz_npy_array grads[N_PARAMS], want[N_PARAMS];
    size_t numel[N_PARAMS];
    char name[256];
    for (int j = 0; j < N_PARAMS; j++) {
        cz_param *p = param(net, param_names[j]);
        numel[j] = cz_tensor_numel(&p->value);
        assert_true(numel[j] <= MAX_NUMEL);
        cz_npy_array init;
        snprintf(name, sizeof name, "init__%s", param_names[j]);
        read_npy(name, numel[j], &init);
        memcpy(p->value.data, init.data, numel[j] * sizeof(float));
        cz_npy_free(&init);
        snprintf(name, sizeof name, "grad__%s", param_names[j]);
        read_npy(name, STEPS * numel[j], &grads[j]);
        snprintf(name, sizeof name, "%s__%s", oc->name, param_names[j]);
        read_npy(name, STEPS * numel[j], &want[j]);
    }

    cz_optim opt;
    tu_check(cz_optim_init(&opt, net, &oc->cfg));
    for (int t = 0; t < STEPS; t++) {
        for (int j = 0; j < N_PARAMS; j++) {
            cz_param *p = param(net, param_names[j]);
            memcpy(p->grad.data, (float *)grads[j].data + t * numel[j], numel[j] * sizeof(float));
        }
        if (oc->lr_schedule)
            opt.cfg.lr = lr_schedule[t];
        /* The values before the step, to measure the update's error. */
        float prev[N_PARAMS][MAX_NUMEL];
        for (int j = 0; j < N_PARAMS; j++)
            memcpy(prev[j], param(net, param_names[j])->value.data, numel[j] * sizeof(float));
        cz_optim_step(&opt, net);
        assert_int_equal(opt.step, t + 1);
        for (int j = 0; j < N_PARAMS; j++) {
            const float *got = param(net, param_names[j])->value.data;
            const float *w = (const float *)want[j].data + t * numel[j];
            snprintf(name, sizeof name, "%s: %s after step %d", oc->name, param_names[j], t + 1);
            tu_expect_close_f(got, w, numel[j], 0, RTOL, name);
            worst_value_rel = fmax(worst_value_rel, rel_error(got, w, numel[j]));
            /* torch's update from torch's previous value against ours from ours */
            const float *w_prev = t > 0 ? w - numel[j] : prev[j];
            double scale = 0, err = 0;
            for (size_t k = 0; k < numel[j]; k++) {
                double du_want = (double)w[k] - w_prev[k], du_got = (double)got[k] - prev[j][k];
                scale = fmax(scale, fabs(du_want));
                err = fmax(err, fabs(du_got - du_want));
            }
            if (scale > 0)
                worst_update_rel = fmax(worst_update_rel, err / scale);
        }
    }
    expect_buffers_marked(net);

    /* The final state, named as torch keys it; every state torch has, we have. */
    int expected = 0;
    for (int j = 0; j < N_PARAMS; j++)
        for (int s = 0; s < 4; s++) {
            snprintf(name, sizeof name, "%s__%s.%s.npy", oc->name, param_names[j], slot_names[s]);
            expected += fixture_exists(name);
        }
    assert_int_equal(cz_optim_state_count(&opt), expected);
    for (int i = 0; i < expected; i++) {
        char key[128];
        float *data;
        size_t count;
        tu_check(cz_optim_state(&opt, i, key, sizeof key, &data, &count));
        cz_npy_array a;
        snprintf(name, sizeof name, "%s__%s", oc->name, key);
        read_npy(name, count, &a);
        tu_expect_close_f(data, (const float *)a.data, count, 0, RTOL, name);
        worst_state_rel = fmax(worst_state_rel, rel_error(data, a.data, count));
        cz_npy_free(&a);
    }

    if (getenv("TU_VERBOSE"))
        print_message("%-18s values %.3g  state %.3g  updates %.3g (worst so far)\n", oc->name,
                      worst_value_rel, worst_state_rel, worst_update_rel);
    cz_optim_free(&opt);
    for (int j = 0; j < N_PARAMS; j++) {
        cz_npy_free(&grads[j]);
        cz_npy_free(&want[j]);
    }
    cz_net_free(net);
}

static void matches_torch(void **state)
{
    (void)state;
    char line[64];
    for (size_t c = 0; c < N_CASES; c++) {
        snprintf(line, sizeof line, "%s__fc.weight.npy", cases[c].name);
        if (!fixture_exists(line))
            fail_msg("no fixture for case %s", cases[c].name);
        run_case(&cases[c]);
    }
    print_message("%zu cases, worst relative error: values %.3g, state %.3g, "
                  "updates (of each step's largest) %.3g\n",
                  N_CASES, worst_value_rel, worst_state_rel, worst_update_rel);
}

/* ------------------------------------------------------------ by hand */

/* One weight w = 1 with gradient 0.5, lr 0.1, momentum 0.9, wd 0.01:
 * step 1: b = 0.5 + 0.01 = 0.51, w = 1 - 0.051 = 0.949
 * step 2: g = 0.5 + 0.00949 = 0.50949, b = 0.9*0.51 + g = 0.96849,
 *         w = 0.949 - 0.096849 = 0.852151 */
static void sgd_by_hand(void **state)
{
    (void)state;
    cz_net *net = cz_net_create(1, 1, 1, 0);
    cz_flatten(net, CZ_INPUT, NULL);
    cz_linear(net, 1, "fc", 1, false);
    tu_check(cz_net_status(net));
    cz_param *w = param(net, "fc.weight");
    w->value.data[0] = 1.0f;
    w->grad.data[0] = 0.5f;
    cz_optim_config cfg = cz_optim_defaults(CZ_OPTIM_SGD);
    cfg.lr = 0.1f;
    cfg.momentum = 0.9f;
    cfg.weight_decay = 0.01f;
    cz_optim opt;
    tu_check(cz_optim_init(&opt, net, &cfg));
    cz_optim_step(&opt, net);
    assert_float_equal(w->value.data[0], 0.949f, 1e-6);
    cz_optim_step(&opt, net);
    assert_float_equal(w->value.data[0], 0.852151f, 1e-6);
    cz_optim_free(&opt);
    cz_net_free(net);
}

static void defaults_are_torchs(void **state)
{
    (void)state;
    cz_optim_config s = cz_optim_defaults(CZ_OPTIM_SGD);
    assert_true(s.kind == CZ_OPTIM_SGD && s.lr == 0.01f && s.momentum == 0 && s.dampening == 0 &&
                s.weight_decay == 0 && !s.nesterov && !s.decay_exempt_1d);
    cz_optim_config a = cz_optim_defaults(CZ_OPTIM_ADAMW);
    assert_true(a.kind == CZ_OPTIM_ADAMW && a.lr == 0.001f && a.beta1 == 0.9f &&
                a.beta2 == 0.999f && a.eps == 1e-8f && a.weight_decay == 0.01f);
    cz_optim_config r = cz_optim_defaults(CZ_OPTIM_RMSPROP);
    assert_true(r.kind == CZ_OPTIM_RMSPROP && r.lr == 0.01f && r.alpha == 0.99f &&
                r.eps == 1e-8f && r.momentum == 0 && r.weight_decay == 0 && !r.tf_style);
}

static void state_names(void **state)
{
    (void)state;
    cz_net *net = tiny_net();
    cz_optim opt;
    cz_optim_config cfg = cz_optim_defaults(CZ_OPTIM_ADAMW);
    tu_check(cz_optim_init(&opt, net, &cfg));
    assert_int_equal(cz_optim_state_count(&opt), 8);
    static const char *want[] = {
        "bn.weight.exp_avg", "bn.weight.exp_avg_sq", "bn.bias.exp_avg", "bn.bias.exp_avg_sq",
        "fc.weight.exp_avg", "fc.weight.exp_avg_sq", "fc.bias.exp_avg", "fc.bias.exp_avg_sq",
    };
    static const size_t want_count[] = {5, 5, 5, 5, 40, 40, 8, 8};
    char name[64];
    float *data;
    size_t count;
    for (int i = 0; i < 8; i++) {
        tu_check(cz_optim_state(&opt, i, name, sizeof name, &data, &count));
        assert_string_equal(name, want[i]);
        assert_int_equal(count, want_count[i]);
        assert_non_null(data);
    }
    tu_expect_error(cz_optim_state(&opt, 8, name, sizeof name, &data, &count), CZ_ERR_ARG,
                    "out of range", NULL);
    tu_expect_error(cz_optim_state(&opt, 4, name, 9, &data, &count), CZ_ERR_ARG, "fc.weight",
                    "longer");
    cz_optim_free(&opt);

    /* SGD without momentum keeps nothing; with it, one buffer each. */
    cfg = cz_optim_defaults(CZ_OPTIM_SGD);
    tu_check(cz_optim_init(&opt, net, &cfg));
    assert_int_equal(cz_optim_state_count(&opt), 0);
    cz_optim_free(&opt);
    cfg.momentum = 0.9f;
    tu_check(cz_optim_init(&opt, net, &cfg));
    assert_int_equal(cz_optim_state_count(&opt), 4);
    tu_check(cz_optim_state(&opt, 3, name, sizeof name, &data, &count));
    assert_string_equal(name, "fc.bias.momentum_buffer");
    cz_optim_free(&opt);

    /* TF's RMSprop starts its mean square at one, torch's at zero. */
    cfg = cz_optim_defaults(CZ_OPTIM_RMSPROP);
    cfg.momentum = 0.9f;
    for (int tf = 0; tf < 2; tf++) {
        cfg.tf_style = tf;
        tu_check(cz_optim_init(&opt, net, &cfg));
        assert_int_equal(cz_optim_state_count(&opt), 8);
        tu_check(cz_optim_state(&opt, 4, name, sizeof name, &data, &count));
        assert_string_equal(name, "fc.weight.square_avg");
        for (size_t k = 0; k < count; k++)
            assert_true(data[k] == (tf ? 1.0f : 0.0f));
        tu_check(cz_optim_state(&opt, 5, name, sizeof name, &data, &count));
        assert_string_equal(name, "fc.weight.momentum_buffer");
        cz_optim_free(&opt);
    }
    cz_net_free(net);
}

/* Buffers stay as they were even with gradients, decay and momentum. */
static void buffers_untouched(void **state)
{
    (void)state;
    cz_net *net = tiny_net();
    mark_buffers(net);
    for (int j = 0; j < N_PARAMS; j++) {
        cz_param *p = param(net, param_names[j]);
        for (size_t k = 0; k < cz_tensor_numel(&p->value); k++)
            p->grad.data[k] = 0.1f;
    }
    for (int kind = 0; kind < 3; kind++) {
        cz_optim_config cfg = cz_optim_defaults((cz_optim_kind)kind);
        cfg.weight_decay = 0.1f;
        cfg.momentum = kind == CZ_OPTIM_ADAMW ? 0 : 0.9f;
        cz_optim opt;
        tu_check(cz_optim_init(&opt, net, &cfg));
        const float w0 = param(net, "fc.weight")->value.data[0];
        for (int t = 0; t < 3; t++)
            cz_optim_step(&opt, net);
        assert_true(param(net, "fc.weight")->value.data[0] != w0);
        expect_buffers_marked(net);
        cz_optim_free(&opt);
    }
    cz_net_free(net);
}

static void expect_refused(cz_optim_config cfg, const char *field, const char *what)
{
    cz_net *net = tiny_net();
    cz_optim opt;
    tu_expect_error(cz_optim_init(&opt, net, &cfg), CZ_ERR_ARG, field, what);
    cz_optim_free(&opt); /* harmless after a failed init */
    cz_net_free(net);
}

static void refuses_what_torch_refuses(void **state)
{
    (void)state;
    cz_optim_config c = cz_optim_defaults(CZ_OPTIM_SGD);
    c.lr = -0.1f;
    expect_refused(c, "lr", ">= 0");
    c.lr = NAN;
    expect_refused(c, "lr", ">= 0");
    c = cz_optim_defaults(CZ_OPTIM_SGD);
    c.momentum = -0.5f;
    expect_refused(c, "momentum", ">= 0");
    c = cz_optim_defaults(CZ_OPTIM_SGD);
    c.weight_decay = -1e-4f;
    expect_refused(c, "weight_decay", ">= 0");
    c = cz_optim_defaults(CZ_OPTIM_SGD);
    c.nesterov = true;
    expect_refused(c, "nesterov", "momentum > 0");
    c.momentum = 0.9f;
    c.dampening = 0.1f;
    expect_refused(c, "nesterov", "dampening 0");
    c = cz_optim_defaults(CZ_OPTIM_SGD);
    c.dampening = 1.5f;
    expect_refused(c, "dampening", "[0, 1]");

    c = cz_optim_defaults(CZ_OPTIM_ADAMW);
    c.beta1 = 1.0f;
    expect_refused(c, "beta1", "[0, 1)");
    c = cz_optim_defaults(CZ_OPTIM_ADAMW);
    c.beta2 = -0.1f;
    expect_refused(c, "beta2", "[0, 1)");
    c = cz_optim_defaults(CZ_OPTIM_ADAMW);
    c.eps = -1e-8f;
    expect_refused(c, "eps", ">= 0");
    c = cz_optim_defaults(CZ_OPTIM_ADAMW);
    c.nesterov = true;
    expect_refused(c, "nesterov", "SGD");

    c = cz_optim_defaults(CZ_OPTIM_RMSPROP);
    c.alpha = -0.9f;
    expect_refused(c, "alpha", ">= 0");
    c = cz_optim_defaults(CZ_OPTIM_RMSPROP);
    c.momentum = -0.9f;
    expect_refused(c, "momentum", ">= 0");
    c = cz_optim_defaults(CZ_OPTIM_RMSPROP);
    c.eps = -1e-3f;
    expect_refused(c, "eps", ">= 0");
    c = cz_optim_defaults(CZ_OPTIM_SGD);
    c.tf_style = true;
    expect_refused(c, "tf_style", "RMSprop");
    c.kind = (cz_optim_kind)7;
    expect_refused(c, "kind", NULL);

    /* torch accepts lr 0 */
    cz_net *net = tiny_net();
    cz_optim opt;
    c = cz_optim_defaults(CZ_OPTIM_ADAMW);
    c.lr = 0;
    tu_check(cz_optim_init(&opt, net, &c));
    cz_optim_free(&opt);
    cz_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sgd_by_hand),
        cmocka_unit_test(defaults_are_torchs),
        cmocka_unit_test(state_names),
        cmocka_unit_test(buffers_untouched),
        cmocka_unit_test(refuses_what_torch_refuses),
        cmocka_unit_test(matches_torch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
