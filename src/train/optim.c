/* optim.c - SGD, AdamW and RMSprop with torch.optim's update rules. */
#include "train/optim.h"

#include "graph/net.h" /* CZ_ELEMENTWISE */

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cz_optim_config cz_optim_defaults(cz_optim_kind kind)
{
    cz_optim_config c = {.kind = kind, .lr = 0.01f};
    switch (kind) {
    case CZ_OPTIM_SGD:
        break;
    case CZ_OPTIM_ADAMW:
        c.lr = 0.001f;
        c.weight_decay = 0.01f;
        c.beta1 = 0.9f;
        c.beta2 = 0.999f;
        c.eps = 1e-8f;
        break;
    case CZ_OPTIM_RMSPROP:
        c.alpha = 0.99f;
        c.eps = 1e-8f;
        break;
    }
    return c;
}

/* The double Python would hold for a setting typed as a decimal: the
 * shortest decimal that rounds to f (0.9f gives 0.9, not 0.899999976). */
static double decimal(float f)
{
    char buf[32];
    for (int digits = 1; digits <= 9; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, (double)f);
        double d = strtod(buf, NULL);
        if ((float)d == f)
            return d;
    }
    return f;
}

static const char *kind_name(cz_optim_kind kind)
{
    return kind == CZ_OPTIM_SGD ? "sgd" : kind == CZ_OPTIM_ADAMW ? "adamw" : "rmsprop";
}

/* The state key of slot 0 or 1 for this configuration, NULL if unused. */
static const char *slot_name(const cz_optim_config *c, int slot)
{
    switch (c->kind) {
    case CZ_OPTIM_SGD:
        return slot == 0 && c->momentum > 0 ? "momentum_buffer" : NULL;
    case CZ_OPTIM_ADAMW:
        return slot == 0 ? "exp_avg" : "exp_avg_sq";
    case CZ_OPTIM_RMSPROP:
        return slot == 0 ? "square_avg" : c->momentum > 0 ? "momentum_buffer" : NULL;
    }
    return NULL;
}

static cz_status check_config(const cz_optim_config *c)
{
    if (c->kind != CZ_OPTIM_SGD && c->kind != CZ_OPTIM_ADAMW && c->kind != CZ_OPTIM_RMSPROP)
        return cz_fail(CZ_ERR_ARG, "optimizer: unknown kind %d", (int)c->kind);
    const char *k = kind_name(c->kind);
    if (!(c->lr >= 0) || isinf(c->lr))
        return cz_fail(CZ_ERR_ARG, "%s: lr %g must be finite and >= 0", k, c->lr);
    if (!(c->weight_decay >= 0) || isinf(c->weight_decay))
        return cz_fail(CZ_ERR_ARG, "%s: weight_decay %g must be finite and >= 0", k,
                       c->weight_decay);
    if (c->kind != CZ_OPTIM_ADAMW && (!(c->momentum >= 0) || isinf(c->momentum)))
        return cz_fail(CZ_ERR_ARG, "%s: momentum %g must be finite and >= 0", k, c->momentum);
    if (c->nesterov && c->kind != CZ_OPTIM_SGD)
        return cz_fail(CZ_ERR_ARG, "%s: nesterov is an SGD option", k);
    if (c->tf_style && c->kind != CZ_OPTIM_RMSPROP)
        return cz_fail(CZ_ERR_ARG, "%s: tf_style is an RMSprop option", k);
    if (c->kind == CZ_OPTIM_SGD) {
        if (!(c->dampening >= 0 && c->dampening <= 1))
            return cz_fail(CZ_ERR_ARG, "sgd: dampening %g must be in [0, 1]", c->dampening);
        if (c->nesterov && (c->momentum <= 0 || c->dampening != 0))
            return cz_fail(CZ_ERR_ARG,
                           "sgd: nesterov needs momentum > 0 and dampening 0, got momentum %g "
                           "and dampening %g",
                           c->momentum, c->dampening);
    }
    if (c->kind == CZ_OPTIM_ADAMW) {
        if (!(c->beta1 >= 0 && c->beta1 < 1))
            return cz_fail(CZ_ERR_ARG, "adamw: beta1 %g must be in [0, 1)", c->beta1);
        if (!(c->beta2 >= 0 && c->beta2 < 1))
            return cz_fail(CZ_ERR_ARG, "adamw: beta2 %g must be in [0, 1)", c->beta2);
    }
    if (c->kind != CZ_OPTIM_SGD && (!(c->eps >= 0) || isinf(c->eps)))
        return cz_fail(CZ_ERR_ARG, "%s: eps %g must be finite and >= 0", k, c->eps);
    if (c->kind == CZ_OPTIM_RMSPROP && (!(c->alpha >= 0) || isinf(c->alpha)))
        return cz_fail(CZ_ERR_ARG, "rmsprop: alpha %g must be finite and >= 0", c->alpha);
    return CZ_OK;
}

/* Entries the optimizer updates: learned float parameters. */
static bool is_learned(const cz_param *p)
{
    return p->kind == CZ_PARAM_WEIGHT && p->dtype == CZ_F32 && p->value.data && p->grad.data;
}

cz_status cz_optim_init(cz_optim *opt, cz_net *net, const cz_optim_config *cfg)
{
    memset(opt, 0, sizeof *opt);
    cz_status st = check_config(cfg);
    if (st != CZ_OK)
        return st;
    opt->cfg = *cfg;
    opt->net = net;
    opt->n_params = cz_net_param_count(net);
    for (int slot = 0; slot < 2; slot++) {
        opt->state[slot] = calloc((size_t)opt->n_params + 1, sizeof *opt->state[slot]);
        if (!opt->state[slot]) {
            cz_optim_free(opt);
            return cz_fail(CZ_ERR_NOMEM, "%s: out of memory", kind_name(cfg->kind));
        }
    }
    for (int i = 0; i < opt->n_params; i++) {
        const cz_param *p = cz_net_param(net, i);
        if (!is_learned(p))
            continue;
        size_t n = cz_tensor_numel(&p->value);
        for (int slot = 0; slot < 2; slot++) {
            if (!slot_name(cfg, slot))
                continue;
            float *s = calloc(n, sizeof *s);
            if (!s) {
                cz_optim_free(opt);
                return cz_fail(CZ_ERR_NOMEM, "%s: out of memory for the state of %s",
                               kind_name(cfg->kind), p->name);
            }
            if (cfg->kind == CZ_OPTIM_RMSPROP && cfg->tf_style && slot == 0)
                for (size_t k = 0; k < n; k++)
                    s[k] = 1.0f; /* TF starts the mean square at one */
            opt->state[slot][i] = s;
        }
    }
    return CZ_OK;
}

/* SGD on n elements; b is NULL without momentum. The updates are
 * CZ_ELEMENTWISE so that fmaf is an instruction, not a libm call, and the
 * loops vectorise; fmaf rounds once either way, so the bits are the same. */
CZ_ELEMENTWISE static void sgd_update(const cz_optim *opt, bool first, float wd, float *w, const float *dw,
                       float *b, size_t n)
{
    const cz_optim_config *c = &opt->cfg;
    float mom = c->momentum, keep = (float)(1.0 - decimal(c->dampening)), neg_lr = -c->lr;
    for (size_t k = 0; k < n; k++) {
        float g = fmaf(wd, w[k], dw[k]);
        if (b) {
            b[k] = first ? g : fmaf(keep, g, b[k] * mom);
            g = c->nesterov ? fmaf(mom, b[k], g) : b[k];
        }
        w[k] = fmaf(neg_lr, g, w[k]);
    }
}

CZ_ELEMENTWISE static void adamw_update(const cz_optim *opt, float wd, float *w, const float *dw, float *m,
                         float *v, size_t n)
{
    const cz_optim_config *c = &opt->cfg;
    double lr = decimal(c->lr), b1 = decimal(c->beta1), b2 = decimal(c->beta2);
    double t = (double)opt->step; /* already counts this step */
    float decay = (float)(1.0 - lr * decimal(wd));
    float one_b1 = (float)(1.0 - b1), one_b2 = (float)(1.0 - b2);
    float neg_step = (float)(-(lr / (1.0 - pow(b1, t))));
    float bc2_sqrt = (float)sqrt(1.0 - pow(b2, t));
    for (size_t k = 0; k < n; k++) {
        float g = dw[k];
        w[k] = w[k] * decay;
        m[k] = fmaf(one_b1, g, m[k] * c->beta1);
        v[k] = fmaf(one_b2 * g, g, v[k] * c->beta2);
        float denom = sqrtf(v[k]) / bc2_sqrt + c->eps;
        w[k] = w[k] + neg_step * m[k] / denom;
    }
}

/* RMSprop, torch's or TF's; b is NULL without momentum. */
CZ_ELEMENTWISE static void rmsprop_update(const cz_optim *opt, float wd, float *w, const float *dw, float *s,
                           float *b, size_t n)
{
    const cz_optim_config *c = &opt->cfg;
    float one_alpha = (float)(1.0 - decimal(c->alpha)), lr = c->lr, neg_lr = -c->lr;
    for (size_t k = 0; k < n; k++) {
        float g = fmaf(wd, w[k], dw[k]), d;
        if (c->tf_style) {
            s[k] = fmaf(one_alpha, g * g - s[k], s[k]);
            d = sqrtf(s[k] + c->eps);
        } else {
            s[k] = fmaf(one_alpha * g, g, s[k] * c->alpha);
            d = sqrtf(s[k]) + c->eps;
        }
        if (b && c->tf_style) {
            b[k] = b[k] * c->momentum;
            b[k] = b[k] + lr * g / d;
            w[k] = w[k] + -b[k];
        } else if (b) {
            b[k] = b[k] * c->momentum;
            b[k] = b[k] + g / d;
            w[k] = fmaf(neg_lr, b[k], w[k]);
        } else {
            w[k] = w[k] + neg_lr * g / d;
        }
    }
}

/* Elements [lo, hi) of parameter i. */
static void update_range(cz_optim *opt, cz_net *net, int i, bool first, size_t lo, size_t hi)
{
    cz_param *p = &net->params[i]; /* cz_net_params_changed was called once */
    float wd = opt->cfg.decay_exempt_1d && p->value.ndim == 1 ? 0.0f : opt->cfg.weight_decay;
    float *w = p->value.data + lo, *dw = p->grad.data + lo;
    float *s0 = opt->state[0][i], *s1 = opt->state[1][i];
    s0 = s0 ? s0 + lo : NULL;
    s1 = s1 ? s1 + lo : NULL;
    switch (opt->cfg.kind) {
    case CZ_OPTIM_SGD:
        sgd_update(opt, first, wd, w, dw, s0, hi - lo);
        break;
    case CZ_OPTIM_ADAMW:
        adamw_update(opt, wd, w, dw, s0, s1, hi - lo);
        break;
    case CZ_OPTIM_RMSPROP:
        rmsprop_update(opt, wd, w, dw, s0, s1, hi - lo);
        break;
    }
}

/* Each element's update is independent of the others', so the threads
 * take contiguous shares of every large parameter. */
void cz_optim_step(cz_optim *opt, cz_net *net)
{
    enum { SHARED = 1 << 16 }; /* elements below which one thread does it */
    bool first = opt->step == 0;
    opt->step++;
    cz_net_params_changed(net); /* here, not per parameter on every thread */
#pragma omp parallel
    {
        int t = omp_get_thread_num(), T = omp_get_num_threads();
        for (int i = 0; i < opt->n_params; i++) {
            const cz_param *p = &net->params[i];
            if (!is_learned(p))
                continue;
            size_t n = cz_tensor_numel(&p->value);
            if (n >= SHARED)
                update_range(opt, net, i, first, n * (size_t)t / (size_t)T,
                             n * (size_t)(t + 1) / (size_t)T);
            else if (i % T == t)
                update_range(opt, net, i, first, 0, n);
        }
    }
}

void cz_optim_free(cz_optim *opt)
{
    for (int slot = 0; slot < 2; slot++) {
        for (int i = 0; opt->state[slot] && i < opt->n_params; i++)
            free(opt->state[slot][i]);
        free(opt->state[slot]);
        opt->state[slot] = NULL;
    }
}

int cz_optim_state_count(const cz_optim *opt)
{
    int count = 0;
    for (int i = 0; i < opt->n_params; i++)
        for (int slot = 0; slot < 2; slot++)
            count += opt->state[slot] && opt->state[slot][i] != NULL;
    return count;
}

cz_status cz_optim_state(cz_optim *opt, int i, char *name, size_t name_size, float **data,
                         size_t *count)
{
    int seen = 0;
    for (int e = 0; e < opt->n_params; e++) {
        for (int slot = 0; slot < 2; slot++) {
            if (!opt->state[slot] || !opt->state[slot][e] || seen++ != i)
                continue;
            const cz_param *p = cz_net_param(opt->net, e);
            int len = snprintf(name, name_size, "%s.%s", p->name, slot_name(&opt->cfg, slot));
            if (len < 0 || (size_t)len >= name_size)
                return cz_fail(CZ_ERR_ARG, "optimizer state %s.%s: name longer than %zu bytes",
                               p->name, slot_name(&opt->cfg, slot),
                               name_size ? name_size - 1 : 0);
            *data = opt->state[slot][e];
            *count = cz_tensor_numel(&p->value);
            return CZ_OK;
        }
    }
    return cz_fail(CZ_ERR_ARG, "optimizer state %d out of range: %d tensors", i, seen);
}
