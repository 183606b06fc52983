/*
 * optim.h - optimizers with PyTorch 1.13's exact update rules, over a
 * net's parameter table. Buffers (BN running statistics) and int64
 * entries are never touched. For each learned parameter w with gradient
 * grad, at step t (from 1), with wd the weight decay (0 for 1-d
 * parameters when decay_exempt_1d):
 *
 *   SGD      torch.optim.SGD:
 *              g = grad + wd w
 *              momentum > 0:  b = (t == 1) ? g : momentum b + (1 - dampening) g
 *                             g = nesterov ? g + momentum b : b
 *              w -= lr g
 *   AdamW    torch.optim.AdamW (amsgrad off):
 *              w *= 1 - lr wd
 *              m = beta1 m + (1 - beta1) grad
 *              v = beta2 v + (1 - beta2) grad^2
 *              w -= (lr / (1 - beta1^t)) m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 *   RMSprop  torch.optim.RMSprop (centered off), s starting at 0:
 *              g = grad + wd w
 *              s = alpha s + (1 - alpha) g^2;  d = sqrt(s) + eps
 *              momentum > 0:  b = momentum b + g / d;  w -= lr b
 *              else:          w -= lr g / d
 *   RMSprop, tf_style: TensorFlow's, as timm's RMSpropTF with
 *            lr_in_momentum=True, s starting at 1:
 *              g = grad + wd w
 *              s = s + (1 - alpha)(g^2 - s);  d = sqrt(s + eps)
 *              momentum > 0:  b = momentum b + lr g / d;  w -= b
 *              else:          w -= lr g / d
 *
 * Each operation is done in float32 in torch's order, with the per-step
 * scalars (1 - lr wd, the bias corrections, 1 - beta) in double from the
 * shortest decimals of the float settings (0.9f as 0.9), as Python
 * computes them, and a fused multiply-add (fmaf) wherever torch's CPU
 * kernels fuse one (add with alpha, addcmul), so results are bit for bit
 * torch's on an AVX2 machine, and within a few float roundings of a
 * torch without it.
 *
 * Usage: cz_optim_init once (state allocated then), then per batch set
 * opt.cfg.lr if a schedule changes it, fill the gradients and call
 * cz_optim_step; cz_optim_free at the end.
 */
#ifndef CZ_OPTIM_H
#define CZ_OPTIM_H

#include <stdbool.h>
#include <stddef.h>

#include "cnnzoo.h"

typedef enum cz_optim_kind {
    CZ_OPTIM_SGD,
    CZ_OPTIM_ADAMW,
    CZ_OPTIM_RMSPROP,
} cz_optim_kind;

typedef struct cz_optim_config {
    cz_optim_kind kind;
    float lr;           /* >= 0; read at every step, so schedules may change it */
    float weight_decay; /* >= 0; L2 added to the gradient (SGD, RMSprop) or
                         * decoupled (AdamW) */
    bool decay_exempt_1d; /* no weight decay on 1-d parameters: BN weights
                           * and biases and all biases */
    /* SGD (momentum also RMSprop's) */
    float momentum;  /* >= 0; 0: none */
    float dampening; /* in [0, 1]; SGD only */
    bool nesterov;   /* SGD only; needs momentum > 0 and dampening 0 */
    /* AdamW (eps also RMSprop's) */
    float beta1, beta2; /* each in [0, 1) */
    float eps;          /* >= 0 */
    /* RMSprop */
    float alpha;   /* smoothing constant, >= 0 (torch 0.99; TF 0.9) */
    bool tf_style; /* TensorFlow's RMSprop: eps inside the sqrt, square_avg
                    * starting at 1 and lr inside the momentum buffer, as
                    * EfficientNet and MobileNet were trained (alpha 0.9,
                    * eps 1e-3, momentum 0.9) */
} cz_optim_config;

/* PyTorch's defaults for `kind`: SGD lr 0.01, no momentum, dampening or
 * decay; AdamW lr 0.001, betas 0.9/0.999, eps 1e-8, weight decay 0.01;
 * RMSprop lr 0.01, alpha 0.99, eps 1e-8, no momentum or decay. */
cz_optim_config cz_optim_defaults(cz_optim_kind kind);

/* Per-parameter state, two slots per table entry (NULL where unused):
 *   SGD      state[0] momentum_buffer (momentum > 0)
 *   AdamW    state[0] exp_avg,    state[1] exp_avg_sq
 *   RMSprop  state[0] square_avg, state[1] momentum_buffer (momentum > 0) */
typedef struct cz_optim {
    cz_optim_config cfg;
    long step;        /* steps taken; SGD's buffer starts as the gradient
                       * at the first step (step 0) */
    cz_net *net;      /* the net given to init, for the state's names */
    int n_params;     /* entries in its table */
    float **state[2]; /* [slot][entry]: numel(value) floats */
} cz_optim;

/* Checks cfg (CZ_ERR_ARG naming the field and what it must be) and
 * allocates the state for every learned float parameter of net. */
cz_status cz_optim_init(cz_optim *opt, cz_net *net, const cz_optim_config *cfg);
/* One update of every learned parameter from its gradient, at opt->cfg.lr.
 * net must be the net given to cz_optim_init (the same table). */
void cz_optim_step(cz_optim *opt, cz_net *net);
void cz_optim_free(cz_optim *opt);

/* The optimizer state for checkpoints, fixed from init on: state tensor i
 * (0 <= i < cz_optim_state_count) is named "<param name>.<slot>" with
 * PyTorch's state keys for slot (momentum_buffer, exp_avg, exp_avg_sq,
 * square_avg), in table order then slot order; *data gets its floats
 * (readable and writable) and *count their number. The step counter is
 * opt->step. CZ_ERR_ARG for i out of range or a name longer than
 * name_size. */
int cz_optim_state_count(const cz_optim *opt);
cz_status cz_optim_state(cz_optim *opt, int i, char *name, size_t name_size, float **data,
                         size_t *count);

#endif
