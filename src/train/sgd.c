/* sgd.c - stochastic gradient descent as torch.optim.SGD does it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train/train.h"

cz_status cz_sgd_init(cz_sgd *opt, cz_net *net, float lr, float momentum, float weight_decay)
{
    memset(opt, 0, sizeof *opt);
    if (!(lr > 0) || !(momentum >= 0) || !(weight_decay >= 0))
        return cz_fail(CZ_ERR_ARG, "sgd: lr %g must be > 0, momentum %g and weight decay %g >= 0",
                       lr, momentum, weight_decay);
    opt->lr = lr;
    opt->momentum = momentum;
    opt->weight_decay = weight_decay;
    opt->n_params = cz_net_param_count(net);
    opt->buf = calloc((size_t)opt->n_params, sizeof *opt->buf);
    if (!opt->buf)
        return cz_fail(CZ_ERR_NOMEM, "sgd: out of memory");
    for (int i = 0; momentum > 0 && i < opt->n_params; i++) {
        const cz_param *p = cz_net_param(net, i);
        if (p->kind != CZ_PARAM_WEIGHT)
            continue;
        opt->buf[i] = calloc(cz_tensor_numel(&p->value), sizeof(float));
        if (!opt->buf[i]) {
            cz_sgd_free(opt);
            return cz_fail(CZ_ERR_NOMEM, "sgd: out of memory for momentum of %s", p->name);
        }
    }
    return CZ_OK;
}

void cz_sgd_step(cz_sgd *opt, cz_net *net)
{
    for (int i = 0; i < opt->n_params; i++) {
        cz_param *p = cz_net_param(net, i);
        if (p->kind != CZ_PARAM_WEIGHT)
            continue;
        float *w = p->value.data, *dw = p->grad.data, *b = opt->buf[i];
        size_t n = cz_tensor_numel(&p->value);
        for (size_t k = 0; k < n; k++) {
            float g = dw[k] + opt->weight_decay * w[k];
            if (b) {
                b[k] = opt->started ? opt->momentum * b[k] + (1.0f - opt->dampening) * g : g;
                g = opt->nesterov ? g + opt->momentum * b[k] : b[k];
            }
            w[k] -= opt->lr * g;
        }
    }
    opt->started = true;
}

void cz_sgd_free(cz_sgd *opt)
{
    for (int i = 0; opt->buf && i < opt->n_params; i++)
        free(opt->buf[i]);
    free(opt->buf);
    opt->buf = NULL;
}

float cz_step_lr(float base, int epoch, int step_size, float gamma)
{
    if (step_size <= 0)
        return base;
    return base * powf(gamma, (float)(epoch / step_size));
}
