/* init.c - weight initialisation schemes (see init.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/net.h"
#include "init.h"

/* The fans of a conv's or linear's weight, as PyTorch computes them. */
typedef struct fans {
    double in, out, out_per_group;
} fans;

static fans node_fans(const cz_net *net, const cz_node *node)
{
    const cz_tensor *w = &net->params[node->params[0]].value;
    double receptive = w->ndim == 4 ? (double)w->shape[2] * w->shape[3] : 1.0;
    fans f = {w->shape[1] * receptive, w->shape[0] * receptive, w->shape[0] * receptive};
    if (node->op == &cz_op_conv2d)
        f.out_per_group /= node->attr.conv.groups;
    return f;
}

/* Standard normals drawn two at a time (Box-Muller's cosine and sine: half
 * the logarithms and square roots of cz_rng_normal, which keeps only the
 * cosine; building VGG draws 130 million). */
typedef struct normals {
    cz_rng *rng;
    double spare;
    bool has_spare;
} normals;

static double normal_next(normals *g)
{
    if (g->has_spare) {
        g->has_spare = false;
        return g->spare;
    }
    /* 1 - u keeps the log's argument in (0, 1]. */
    double u = 1.0 - cz_rng_uniform(g->rng), v = cz_rng_uniform(g->rng);
    double r = sqrt(-2.0 * log(u)), a = 2.0 * M_PI * v;
    g->spare = r * sin(a);
    g->has_spare = true;
    return r * cos(a);
}

static double normal_below(normals *g, double bound)
{
    double x;
    do
        x = normal_next(g);
    while (fabs(x) > bound);
    return x;
}

static void fill(cz_tensor *t, cz_init_fill how, float std, fans f, cz_rng *rng)
{
    size_t n = t->data ? cz_tensor_numel(t) : 0; /* NULL: shapes only */
    normals g = {.rng = rng};
    double s = 0.0;
    switch (how) {
    case CZ_FILL_KEEP:
        return;
    case CZ_FILL_ZERO:
    case CZ_FILL_ONE:
        for (size_t i = 0; i < n; i++)
            t->data[i] = how == CZ_FILL_ONE ? 1.0f : 0.0f;
        return;
    case CZ_FILL_TRUNC_NORMAL:
        /* trunc_normal_(std=s, a=-2, b=2): the bounds are absolute. */
        for (size_t i = 0; i < n; i++)
            t->data[i] = (float)(std * normal_below(&g, 2.0 / std));
        return;
    case CZ_FILL_TORCH_DEFAULT:
    case CZ_FILL_UNIFORM_OUT:
        s = 1.0 / sqrt(how == CZ_FILL_TORCH_DEFAULT ? f.in : f.out);
        for (size_t i = 0; i < n; i++)
            t->data[i] = (float)(s * (2.0 * cz_rng_uniform(rng) - 1.0));
        return;
    case CZ_FILL_KAIMING_IN:
        s = sqrt(2.0 / f.in);
        break;
    case CZ_FILL_KAIMING_OUT:
        s = sqrt(2.0 / f.out);
        break;
    case CZ_FILL_KAIMING_OUT_GROUPS:
        s = sqrt(2.0 / f.out_per_group);
        break;
    case CZ_FILL_NORMAL:
        s = std;
        break;
    }
    for (size_t i = 0; i < n; i++)
        t->data[i] = (float)(s * normal_next(&g));
}

static bool has_weights(const cz_net *net)
{
    return net && net->status == CZ_OK && cz_net_has_weights(net);
}

static bool is_layer(const cz_node *node)
{
    return node->op == &cz_op_conv2d || node->op == &cz_op_linear;
}

/* A parameter shared by several nodes (CBAM's channel-gate MLP) is drawn
 * once, by the first node that uses it: `done` has one flag per entry of
 * the table. */
static bool first_use(bool *done, const cz_node *node, int k)
{
    if (done[node->params[k]])
        return false;
    done[node->params[k]] = true;
    return true;
}

/* Records a failure in the net, as a failed builder call does, so the
 * builder's final cz_net_status() check reports it. */
static cz_status init_error(cz_net *net, cz_status status, const char *what)
{
    net->status = status;
    snprintf(net->error, sizeof net->error, "initialisation: %s", what);
    return cz_net_status(net);
}

static bool *done_flags(cz_net *net)
{
    bool *done = calloc((size_t)net->n_params + 1, sizeof *done);
    if (!done)
        init_error(net, CZ_ERR_NOMEM, "out of memory");
    return done;
}

void cz_init_apply(cz_net *net, const cz_init_scheme *scheme)
{
    cz_net_params_changed(net);
    bool *done = has_weights(net) ? done_flags(net) : NULL;
    if (!done)
        return;
    for (int i = 0; i < net->n_nodes; i++) {
        cz_node *node = &net->nodes[i];
        if (!is_layer(node))
            continue;
        bool conv = node->op == &cz_op_conv2d;
        fans f = node_fans(net, node);
        for (int k = 0; k < node->n_params; k++) {
            if (!first_use(done, node, k))
                continue;
            cz_init_fill how = k == 0 ? (conv ? scheme->conv_weight : scheme->linear_weight)
                                      : (conv ? scheme->conv_bias : scheme->linear_bias);
            fill(&cz_node_param(net, node, k)->value, how, scheme->std, f, &net->rng);
        }
    }
    free(done);
}

cz_status cz_init_param(cz_net *net, const char *name, cz_init_fill how, float std)
{
    cz_net_params_changed(net);
    if (!has_weights(net))
        return CZ_OK;
    for (int i = 0; i < net->n_nodes; i++) {
        cz_node *node = &net->nodes[i];
        for (int k = 0; is_layer(node) && k < node->n_params; k++)
            if (strcmp(cz_node_param(net, node, k)->name, name) == 0) {
                fill(&cz_node_param(net, node, k)->value, how, std, node_fans(net, node),
                     &net->rng);
                return CZ_OK;
            }
    }
    char what[CZ_NAME_MAX + 64];
    snprintf(what, sizeof what, "no conv or linear parameter named '%s'", name);
    return init_error(net, CZ_ERR_ARG, what);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

int cz_init_fill_suffix(cz_net *net, const char *suffix, float value)
{
    cz_net_params_changed(net);
    int count = 0;
    if (!has_weights(net))
        return 0;
    for (int i = 0; i < net->n_params; i++) {
        cz_param *p = &net->params[i];
        if (p->dtype != CZ_F32 || !ends_with(p->name, suffix))
            continue;
        for (size_t j = 0; j < cz_tensor_numel(&p->value); j++)
            p->value.data[j] = value;
        count++;
    }
    return count;
}

void cz_init_cbam(cz_net *net)
{
    cz_net_params_changed(net);
    bool *done = has_weights(net) ? done_flags(net) : NULL;
    if (!done)
        return;
    for (int i = 0; i < net->n_nodes; i++) {
        cz_node *node = &net->nodes[i];
        bool bn = node->op == &cz_op_batchnorm;
        if (!is_layer(node) && !bn)
            continue;
        fans f = bn ? (fans){0} : node_fans(net, node);
        for (int k = 0; k < node->n_params && k < 2; k++) {
            cz_param *p = cz_node_param(net, node, k);
            if (!first_use(done, node, k))
                continue;
            cz_init_fill how = bn ? CZ_FILL_KEEP : CZ_FILL_TORCH_DEFAULT;
            if (k == 1)
                how = CZ_FILL_ZERO; /* every bias */
            else if (strcmp(p->name, "fc.weight") == 0)
                how = CZ_FILL_KAIMING_IN;
            else if (strstr(p->name, "conv"))
                how = CZ_FILL_KAIMING_OUT;
            else if (strstr(p->name, "bn"))
                how = strstr(p->name, "SpatialGate") ? CZ_FILL_ZERO : CZ_FILL_ONE;
            fill(&p->value, how, 0.0f, f, &net->rng);
        }
    }
    free(done);
}

cz_status cz_init_paper(cz_net *net, const char *model, uint64_t seed)
{
    cz_net_params_changed(net);
    bool alexnet = strcmp(model, "alexnet") == 0 || strcmp(model, "alexnet_paper") == 0;
    if (!alexnet && strcmp(model, "zfnet") != 0)
        return cz_fail(CZ_ERR_ARG,
                       "no paper initialisation for %s (alexnet, alexnet_paper, "
                       "zfnet have one)",
                       model);
    if (!has_weights(net))
        return net ? cz_net_status(net) : cz_fail(CZ_ERR_ARG, "no net");
    int n_conv = 0, n_linear = 0;
    for (int i = 0; i < net->n_nodes; i++) {
        n_conv += net->nodes[i].op == &cz_op_conv2d;
        n_linear += net->nodes[i].op == &cz_op_linear;
    }
    if (n_conv != 5 || n_linear != 3)
        return cz_fail(CZ_ERR_ARG,
                       "%s: paper initialisation needs 5 convs and 3 linears, the "
                       "net has %d and %d",
                       model, n_conv, n_linear);
    cz_rng rng;
    cz_rng_seed(&rng, seed);
    int conv = 0, linear = 0;
    for (int i = 0; i < net->n_nodes; i++) {
        cz_node *node = &net->nodes[i];
        if (!is_layer(node))
            continue;
        /* AlexNet's bias 1: conv2, conv4, conv5, fc6, fc7 (1-based). */
        bool one =
            node->op == &cz_op_conv2d ? (++conv == 2 || conv == 4 || conv == 5) : ++linear < 3;
        fans f = node_fans(net, node);
        fill(&cz_node_param(net, node, 0)->value, CZ_FILL_NORMAL, 0.01f, f, &rng);
        if (node->n_params > 1)
            fill(&cz_node_param(net, node, 1)->value, alexnet && one ? CZ_FILL_ONE : CZ_FILL_ZERO,
                 0.0f, f, &rng);
    }
    return CZ_OK;
}
