/*
 * test_init.c - each family's initial parameters have the distributions
 * its source's constructor draws (torchvision 0.14, timm, the authors'
 * code), and cz_init_paper gives AlexNet's and ZFNet's papers' scheme.
 *
 * The expectations are written here from the sources, independently of
 * the schemes in src/models/: per conv or linear tensor a distribution
 * (uniform with bound b, normal or truncated normal with std s, or a
 * constant), per BatchNorm weight 1 / bias 0 (timm's zero_init_last and
 * CBAM's spatial gate: weight 0) and running statistics 0 / 1.
 *
 * Checks: constants exactly; uniform values within [-b, b] and truncated
 * normals within [-2, 2] for every tensor; and for tensors of at least
 * MIN_STATS values, the mean within 4.5 standard errors of 0, the sample
 * std within max(1%, 4.5 standard errors) of the expected one (about 3%
 * at 10,000 values), and the kurtosis (3 normal, 1.8 uniform) within
 * 0.6 of the expected one, so a uniform with the right std does not pass
 * for a normal. Smaller tensors get only the bounds and constant checks.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/net.h"
#include "models/init.h"
#include "testutil.h"

#define MIN_STATS 2000

typedef enum dist_kind { CONSTANT, UNIFORM, NORMAL, TRUNC_NORMAL } dist_kind;

typedef struct dist {
    dist_kind kind;
    double a; /* the constant, the uniform's bound or the std */
} dist;

/* One conv or linear parameter, as a rule sees it. */
typedef struct layer {
    const char *name; /* the parameter's full name */
    bool conv, bias;
    double fan_in, fan_out; /* PyTorch's: groups do not divide fan_out */
    int groups;
} layer;

typedef struct expectation {
    dist (*layer)(const layer *l);
    float (*bn_weight)(const char *name); /* NULL: 1 */
} expectation;

/* ----------------------------------------------------- the sources' rules */

static dist constant(double v) { return (dist){CONSTANT, v}; }
static dist torch_default(const layer *l) { return (dist){UNIFORM, 1.0 / sqrt(l->fan_in)}; }
static dist kaiming_out(const layer *l) { return (dist){NORMAL, sqrt(2.0 / l->fan_out)}; }

/* LeNet-5, AlexNet, ZFNet, NIN, ShuffleNet, Inception-v4: no re-init. */
static dist rule_default(const layer *l) { return torch_default(l); }

static dist rule_vgg(const layer *l)
{
    if (l->bias)
        return constant(0);
    return l->conv ? kaiming_out(l) : (dist){NORMAL, 0.01};
}

static dist rule_googlenet(const layer *l)
{
    return l->bias ? torch_default(l) : (dist){TRUNC_NORMAL, 0.01};
}

static dist rule_inception_v3(const layer *l)
{
    if (l->bias)
        return torch_default(l);
    return (dist){TRUNC_NORMAL, strcmp(l->name, "AuxLogits.fc.weight") == 0 ? 0.001 : 0.1};
}

static dist rule_densenet(const layer *l)
{
    if (l->conv)
        return (dist){NORMAL, sqrt(2.0 / l->fan_in)};
    return l->bias ? constant(0) : torch_default(l);
}

static dist rule_mobilenet_tv(const layer *l)
{
    if (l->bias)
        return constant(0);
    return l->conv ? kaiming_out(l) : (dist){NORMAL, 0.01};
}

static dist rule_efficientnet(const layer *l)
{
    if (l->bias)
        return constant(0);
    return l->conv ? kaiming_out(l) : (dist){UNIFORM, 1.0 / sqrt(l->fan_out)};
}

static dist rule_timm_goog(const layer *l)
{
    if (l->bias)
        return constant(0);
    return l->conv ? (dist){NORMAL, sqrt(2.0 / (l->fan_out / l->groups))}
                   : (dist){UNIFORM, 1.0 / sqrt(l->fan_out)};
}

/* torchvision's ResNet, timm's ResNet / legacy SENet / legacy Xception. */
static dist rule_kaiming_convs(const layer *l)
{
    return l->conv && !l->bias ? kaiming_out(l) : torch_default(l);
}

static dist rule_resnetv2(const layer *l)
{
    if (l->bias)
        return constant(0);
    return strcmp(l->name, "head.fc.weight") == 0 ? (dist){NORMAL, 0.01} : kaiming_out(l);
}

static dist rule_wrn(const layer *l)
{
    if (l->conv)
        return kaiming_out(l);
    return l->bias ? constant(0) : torch_default(l);
}

static dist rule_cbam(const layer *l)
{
    if (l->bias)
        return constant(0);
    if (strcmp(l->name, "fc.weight") == 0)
        return (dist){NORMAL, sqrt(2.0 / l->fan_in)};
    return strstr(l->name, "conv") ? kaiming_out(l) : torch_default(l);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static float bn_timm_zero_last(const char *name) { return ends_with(name, ".bn3.weight") ? 0 : 1; }

static float bn_cbam(const char *name)
{
    return strstr(name, "bn") && strstr(name, "SpatialGate") ? 0 : 1;
}

/* ------------------------------------------------------------ the checks */

typedef struct tally {
    int tensors, with_stats;
    double worst_std; /* largest |std / expected - 1| seen */
    char worst_name[CZ_NAME_MAX + 16];
} tally;

static void check_const(const cz_param *p, float v)
{
    for (size_t i = 0; i < cz_tensor_numel(&p->value); i++)
        if (p->value.data[i] != v)
            fail_msg("%s[%zu] = %g, want exactly %g", p->name, i, p->value.data[i], v);
}

static void check_dist(const cz_param *p, dist d, tally *t)
{
    size_t n = cz_tensor_numel(&p->value);
    const float *x = p->value.data;
    t->tensors++;
    if (d.kind == CONSTANT) {
        check_const(p, (float)d.a);
        return;
    }
    /* The ops compute a uniform's bound in float: allow its rounding. */
    double lo = d.kind == UNIFORM ? -d.a * (1 + 1e-6) : d.kind == TRUNC_NORMAL ? -2.0 : -INFINITY;
    double sum = 0, sum2 = 0, sum4 = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(x[i] >= lo && x[i] <= -lo))
            fail_msg("%s[%zu] = %g outside [%g, %g]", p->name, i, x[i], lo, -lo);
        sum += x[i];
    }
    if (n < MIN_STATS)
        return;
    double mean = sum / (double)n;
    for (size_t i = 0; i < n; i++) {
        double dx = x[i] - mean, d2 = dx * dx;
        sum2 += d2;
        sum4 += d2 * d2;
    }
    double var = sum2 / (double)(n - 1), std = sqrt(var);
    double kurtosis = (sum4 / (double)n) / ((sum2 / (double)n) * (sum2 / (double)n));
    double want_std = d.kind == UNIFORM ? d.a / sqrt(3.0) : d.a;
    double want_kurtosis = d.kind == UNIFORM ? 1.8 : 3.0;
    double se = 1.0 / sqrt(2.0 * (double)n); /* relative, of a normal's sample std */
    double tol = fmax(0.01, 4.5 * se);
    double rel = std / want_std - 1.0;
    if (fabs(mean) > 4.5 * want_std / sqrt((double)n))
        fail_msg("%s: mean %g, want 0 (std %g, %zu values)", p->name, mean, want_std, n);
    if (fabs(rel) > tol)
        fail_msg("%s: std %g, want %g (off by %.1f%%, tolerance %.1f%%, %zu values)", p->name, std,
                 want_std, 100 * rel, 100 * tol, n);
    if (fabs(kurtosis - want_kurtosis) > 0.6)
        fail_msg("%s: kurtosis %.2f, want %.1f (%s)", p->name, kurtosis, want_kurtosis,
                 d.kind == UNIFORM ? "uniform" : "normal");
    t->with_stats++;
    if (fabs(rel) >= fabs(t->worst_std) || t->with_stats == 1) {
        t->worst_std = rel;
        snprintf(t->worst_name, sizeof t->worst_name, "%s", p->name);
    }
}

static void check_net(cz_net *net, const char *model, const expectation *e)
{
    tally t = {0};
    bool *seen = calloc((size_t)net->n_params + 1, sizeof *seen);
    assert_non_null(seen);
    for (int i = 0; i < net->n_nodes; i++) {
        const cz_node *node = &net->nodes[i];
        bool conv = node->op == &cz_op_conv2d, linear = node->op == &cz_op_linear;
        if (node->op == &cz_op_batchnorm) {
            const cz_param *w = cz_node_param(net, node, 0);
            check_const(w, e->bn_weight ? e->bn_weight(w->name) : 1.0f);
            check_const(cz_node_param(net, node, 1), 0.0f); /* bias */
            check_const(cz_node_param(net, node, 2), 0.0f); /* running_mean */
            check_const(cz_node_param(net, node, 3), 1.0f); /* running_var */
            assert_int_equal(cz_node_param(net, node, 4)->count, 0);
            continue;
        }
        if (!conv && !linear)
            continue;
        const cz_tensor *w = &cz_node_param(net, node, 0)->value;
        double receptive = conv ? (double)w->shape[2] * w->shape[3] : 1.0;
        for (int k = 0; k < node->n_params; k++) {
            if (seen[node->params[k]]) /* a shared parameter: checked once */
                continue;
            seen[node->params[k]] = true;
            const cz_param *p = cz_node_param(net, node, k);
            layer l = {p->name,
                       conv,
                       k == 1,
                       w->shape[1] * receptive,
                       w->shape[0] * receptive,
                       conv ? node->attr.conv.groups : 1};
            check_dist(p, e->layer(&l), &t);
        }
    }
    free(seen);
    print_message("%-20s %3d tensors, %3d with statistics, worst std %+.2f%% (%s)\n", model,
                  t.tensors, t.with_stats, 100 * t.worst_std, t.worst_name);
    assert_true(t.with_stats >= 2); /* the model has large tensors: not vacuous */
}

typedef struct model_case {
    const char *name;
    int size; /* square input; 0 the default */
    expectation e;
} model_case;

static const model_case cases[] = {
    {"lenet5", 0, {rule_default, NULL}},
    {"alexnet", 64, {rule_default, NULL}},
    {"nin_cifar10", 0, {rule_default, NULL}},
    {"vgg11_bn", 32, {rule_vgg, NULL}},
    {"googlenet", 64, {rule_googlenet, NULL}},
    {"inception_v3", 96, {rule_inception_v3, NULL}},
    {"inception_v4", 80, {rule_default, NULL}},
    {"xception", 64, {rule_kaiming_convs, NULL}},
    {"resnet18", 64, {rule_kaiming_convs, NULL}},
    {"resnext50_32x4d", 64, {rule_kaiming_convs, NULL}},
    {"resnetv2_50", 64, {rule_resnetv2, NULL}},
    {"wrn28_10", 32, {rule_wrn, NULL}},
    {"seresnet50", 64, {rule_kaiming_convs, bn_timm_zero_last}},
    {"cbam_resnet50", 64, {rule_cbam, bn_cbam}},
    {"resnest50d", 64, {rule_kaiming_convs, bn_timm_zero_last}},
    {"res2net50_26w_4s", 64, {rule_kaiming_convs, bn_timm_zero_last}},
    {"densenet121", 64, {rule_densenet, NULL}},
    {"shufflenet_v1", 64, {rule_default, NULL}},
    {"shufflenet_v2_x1_0", 64, {rule_default, NULL}},
    {"mobilenet_v1", 64, {rule_timm_goog, NULL}},
    {"mobilenet_v2", 64, {rule_mobilenet_tv, NULL}},
    {"mobilenet_v3_small", 64, {rule_mobilenet_tv, NULL}},
    {"efficientnet_b0", 64, {rule_efficientnet, NULL}},
};

static void test_family_defaults(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const model_case *c = &cases[i];
        cz_net *net = cz_model_create(c->name, 10, c->size, c->size, 7 + i);
        if (!net)
            fail_msg("%s: %s", c->name, cz_last_error());
        check_net(net, c->name, &c->e);
        cz_net_free(net);
    }
}

/* True when every parameter of a and b holds the same values. */
static bool same_params(cz_net *a, cz_net *b)
{
    assert_int_equal(cz_net_param_count(a), cz_net_param_count(b));
    for (int i = 0; i < cz_net_param_count(a); i++) {
        const cz_tensor *x = &cz_net_param(a, i)->value, *y = &cz_net_param(b, i)->value;
        if (x->data && memcmp(x->data, y->data, cz_tensor_numel(x) * sizeof(float)) != 0)
            return false;
    }
    return true;
}

/* Equal within the model, different across models: every kind of scheme
 * (re-drawn conv and linear weights, and the module defaults). */
static void test_seeds(void **state)
{
    (void)state;
    static const char *const names[] = {"lenet5", "resnet18", "mobilenet_v1", "googlenet"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        cz_net *a = cz_model_create(names[i], 10, 64 * (i > 0), 64 * (i > 0), 1);
        cz_net *b = cz_model_create(names[i], 10, 64 * (i > 0), 64 * (i > 0), 1);
        cz_net *c = cz_model_create(names[i], 10, 64 * (i > 0), 64 * (i > 0), 2);
        assert_non_null(a);
        assert_non_null(b);
        assert_non_null(c);
        assert_true(same_params(a, b));
        /* Every weight tensor differs between the seeds. */
        for (int k = 0; k < cz_net_param_count(a); k++) {
            const cz_param *p = cz_net_param(a, k), *q = cz_net_param(c, k);
            size_t n = cz_tensor_numel(&p->value);
            bool constant = true;
            for (size_t j = 1; j < n && constant; j++)
                constant = p->value.data[j] == p->value.data[0];
            if (p->kind != CZ_PARAM_WEIGHT || p->dtype != CZ_F32 || constant)
                continue;
            if (memcmp(p->value.data, q->value.data, n * sizeof(float)) == 0)
                fail_msg("%s: %s is the same for seeds 1 and 2", names[i], p->name);
        }
        cz_net_free(a);
        cz_net_free(b);
        cz_net_free(c);
    }
}

/* ------------------------------------------------------------ the papers */

/* FNV-1a over every parameter's values, a float at a time. */
static uint64_t params_hash(cz_net *net)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (int i = 0; i < cz_net_param_count(net); i++) {
        const cz_tensor *t = &cz_net_param(net, i)->value;
        for (size_t j = 0; t->data && j < cz_tensor_numel(t); j++) {
            uint32_t bits;
            memcpy(&bits, &t->data[j], sizeof bits);
            h = (h ^ bits) * 0x100000001b3ull;
        }
    }
    return h;
}

typedef struct paper_case {
    const char *model;
    const char *one[5]; /* the bias-1 layers (module names) */
} paper_case;

static const paper_case papers[] = {
    /* conv2, conv4, conv5, fc6, fc7 */
    {"alexnet", {"features.3", "features.8", "features.10", "classifier.1", "classifier.4"}},
    {"alexnet_paper", {"features.4", "features.10", "features.12", "classifier.1", "classifier.4"}},
    {"zfnet", {NULL}}, /* all biases 0 */
};

static bool bias_one(const paper_case *c, const char *name)
{
    for (int i = 0; i < 5 && c->one[i]; i++) {
        char want[CZ_NAME_MAX];
        snprintf(want, sizeof want, "%s.bias", c->one[i]);
        if (strcmp(name, want) == 0)
            return true;
    }
    return false;
}

static void test_paper_init(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof papers / sizeof papers[0]; i++) {
        const paper_case *c = &papers[i];
        cz_net *net = cz_model_create(c->model, 10, 64, 64, 3);
        assert_non_null(net);
        tu_check(cz_init_paper(net, c->model, 11));
        tally t = {0};
        int ones = 0, biases = 0;
        for (int k = 0; k < cz_net_param_count(net); k++) {
            const cz_param *p = cz_net_param(net, k);
            if (p->value.ndim == 1) {
                bool one = bias_one(c, p->name);
                check_dist(p, constant(one ? 1 : 0), &t);
                ones += one;
                biases++;
            } else {
                check_dist(p, (dist){NORMAL, 0.01}, &t);
            }
        }
        print_message("%-14s paper: %d biases (%d of them 1), %d weights, worst std %+.2f%% "
                      "(%s)\n",
                      c->model, biases, ones, t.with_stats, 100 * t.worst_std, t.worst_name);
        assert_int_equal(biases, 8);
        assert_int_equal(ones, c->one[0] ? 5 : 0);
        assert_int_equal(t.with_stats, 8); /* every weight tensor is large */

        /* The same seed gives the same weights, another seed others. */
        uint64_t h11 = params_hash(net);
        tu_check(cz_init_paper(net, c->model, 12));
        assert_true(params_hash(net) != h11);
        tu_check(cz_init_paper(net, c->model, 11));
        assert_true(params_hash(net) == h11);
        cz_net_free(net);
    }
}

static void test_paper_init_other_models(void **state)
{
    (void)state;
    cz_net *net = cz_model_create("lenet5", 0, 0, 0, 1);
    assert_non_null(net);
    tu_expect_error(cz_init_paper(net, "lenet5", 1), CZ_ERR_ARG,
                    "no paper initialisation for lenet5",
                    "(alexnet, alexnet_paper, zfnet have one)");
    cz_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_family_defaults),
        cmocka_unit_test(test_seeds),
        cmocka_unit_test(test_paper_init),
        cmocka_unit_test(test_paper_init_other_models),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
