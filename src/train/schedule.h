/*
 * schedule.h - learning-rate schedules with torch.optim.lr_scheduler's
 * semantics (PyTorch 1.13), as a small state machine the trainer asks
 * once per step for the rate and tells once per epoch the validation loss.
 *
 *   constant     lr = base
 *   step         StepLR:       base * gamma ^ floor(epoch / step_size)
 *   multistep    MultiStepLR:  base * gamma ^ (number of milestones <= epoch)
 *   plateau      ReduceLROnPlateau(mode='min'): see cz_schedule_epoch_end
 *   cosine       CosineAnnealingLR's closed form after an optional linear
 *                warm-up, i.e. SequentialLR([LinearLR(start_factor =
 *                warmup_start_lr / base, total_iters = W),
 *                CosineAnnealingLR(T_max = total - W, eta_min)], [W]):
 *                  p < W:  warmup_start_lr + (base - warmup_start_lr) p / W
 *                  p >= W: eta_min + (base - eta_min)(1 + cos(pi (p - W) / T)) / 2
 *                with T = total - W, counted in epochs (steps_per_epoch 0)
 *                or in steps (p = epoch * steps_per_epoch + step, W and T
 *                times steps_per_epoch). Past `total` the cosine rises
 *                again, as torch's does.
 *   exponential  TF's staircase exponential_decay (EfficientNet: 0.97 every
 *                2.4 epochs): base * gamma ^ floor(p / (decay_epochs * spe))
 *                with p the step (spe = steps_per_epoch > 0) or the epoch
 *                (spe = 1). decay_epochs is read as its shortest decimal
 *                (2.4f as 2.4), so exact multiples decay on time.
 *
 * Epochs count from 0; the rate for epoch e is what torch's scheduler
 * gives after e calls of step(). Rates are computed in double and
 * returned as float.
 */
#ifndef CZ_SCHEDULE_H
#define CZ_SCHEDULE_H

#include <stdbool.h>

#include "cnnzoo.h"

typedef enum cz_sched_kind {
    CZ_SCHED_CONSTANT,
    CZ_SCHED_STEP,
    CZ_SCHED_MULTISTEP,
    CZ_SCHED_PLATEAU,
    CZ_SCHED_COSINE,
    CZ_SCHED_EXPONENTIAL,
} cz_sched_kind;

#define CZ_SCHED_MAX_MILESTONES 16

typedef struct cz_schedule_config {
    cz_sched_kind kind;
    float base_lr;
    /* step: decay by gamma every step_size epochs; multistep and
     * exponential use gamma too */
    int step_size;
    float gamma;
    /* multistep: strictly increasing epochs */
    int milestones[CZ_SCHED_MAX_MILESTONES];
    int n_milestones;
    /* plateau: ReduceLROnPlateau(mode='min', factor, patience, threshold,
     * threshold_mode = threshold_abs ? 'abs' : 'rel', cooldown, min_lr) */
    float factor;
    int patience;
    float threshold;
    bool threshold_abs;
    int cooldown;
    float min_lr;
    /* cosine: total epochs, warm-up epochs from warmup_start_lr, floor
     * eta_min; steps_per_epoch > 0 moves cosine and exponential per step */
    int total_epochs, warmup_epochs, steps_per_epoch;
    float warmup_start_lr, eta_min;
    /* exponential: epochs per decay by gamma, may be fractional */
    float decay_epochs;
} cz_schedule_config;

typedef struct cz_schedule {
    cz_schedule_config cfg;
    float lr; /* the rate cz_schedule_lr last returned (plateau: current) */
    /* ReduceLROnPlateau's mutable state, as torch keeps it */
    double plateau_lr;  /* param_group['lr'] */
    double best;        /* best metric so far (+inf at first) */
    int num_bad_epochs;
    int cooldown_counter;
    int last_epoch;     /* calls of cz_schedule_epoch_end */
} cz_schedule;

/* Checks cfg (CZ_ERR_ARG naming the field) and starts the schedule at
 * epoch 0. */
cz_status cz_schedule_init(cz_schedule *s, const cz_schedule_config *cfg);

/* The rate for step `step_in_epoch` of epoch `epoch` (both from 0): a pure
 * function of them for every kind but plateau, whose rate is its state. */
float cz_schedule_lr(cz_schedule *s, int epoch, long step_in_epoch);

/* Call after each epoch with the validation loss. Plateau: exactly
 * ReduceLROnPlateau.step(val_loss): an improvement is val_loss < best *
 * (1 - threshold) ('rel') or < best - threshold ('abs'); more than
 * `patience` bad epochs in a row (not counting cooldown) multiply the rate
 * by factor, not below min_lr, and only when that lowers it by more than
 * 1e-8; then `cooldown` epochs are ignored. A no-op for the other kinds. */
void cz_schedule_epoch_end(cz_schedule *s, double val_loss);

/* The mutable state, for checkpoints, so a resumed run continues exactly:
 * writes up to max doubles and returns how many the state has (0 for
 * the stateless kinds; CZ_SCHEDULE_STATE_LEN for plateau: lr, best,
 * num_bad_epochs, cooldown_counter, last_epoch). best may be +inf. */
#define CZ_SCHEDULE_STATE_LEN 5
int cz_schedule_state(const cz_schedule *s, double *out, int max);
/* Restores what cz_schedule_state wrote, once it is one: n values, the
 * rate from 0 to FLT_MAX, best not NaN, the three counters whole numbers
 * below INT_MAX; else CZ_ERR_FORMAT naming the value, s unchanged.
 * A stateless kind takes n 0 (and ignores the values of any other n). */
cz_status cz_schedule_set_state(cz_schedule *s, const double *in, int n);

/* Parses a command-line spec into *out (steps_per_epoch 0: the caller
 * sets it for per-step cosine or exponential):
 *   constant
 *   step:STEP_SIZE[:GAMMA]                      gamma 0.1
 *   multistep:M1,M2,...[:GAMMA]                 gamma 0.1
 *   plateau[:FACTOR[:PATIENCE[:THRESHOLD[:rel|abs[:COOLDOWN[:MIN_LR]]]]]]
 *                                               0.1, 10, 1e-4, rel, 0, 0
 *   cosine[:WARMUP[:WARMUP_START_LR[:ETA_MIN]]] 0, base / 3 (LinearLR's
 *                                               default), 0
 *   exp:GAMMA[:DECAY_EPOCHS]                    decay every 1 epoch
 * base_lr and total_epochs (the training's) fill the rest; the result is
 * checked as cz_schedule_init checks it. */
cz_status cz_schedule_parse(const char *spec, float base_lr, int total_epochs,
                            cz_schedule_config *out);

#endif
