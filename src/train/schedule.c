/* schedule.c - learning-rate schedules as torch.optim.lr_scheduler has them. */
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/schedule.h"

static const double PI = 3.14159265358979323846;

/* ------------------------------------------------------------ checking */

static bool finite_pos(float x) { return isfinite(x) && x > 0; }
static bool finite_nonneg(float x) { return isfinite(x) && x >= 0; }

static cz_status check_config(const cz_schedule_config *c, const char *who)
{
    if (!finite_pos(c->base_lr))
        return cz_fail(CZ_ERR_ARG, "%s: base_lr %g must be > 0", who, c->base_lr);
    switch (c->kind) {
    case CZ_SCHED_CONSTANT:
        return CZ_OK;
    case CZ_SCHED_STEP:
        if (c->step_size < 1)
            return cz_fail(CZ_ERR_ARG, "%s step: step_size %d must be >= 1", who, c->step_size);
        if (!finite_pos(c->gamma))
            return cz_fail(CZ_ERR_ARG, "%s step: gamma %g must be > 0", who, c->gamma);
        return CZ_OK;
    case CZ_SCHED_MULTISTEP:
        if (c->n_milestones < 1 || c->n_milestones > CZ_SCHED_MAX_MILESTONES)
            return cz_fail(CZ_ERR_ARG, "%s multistep: n_milestones %d must be 1 to %d", who,
                           c->n_milestones, CZ_SCHED_MAX_MILESTONES);
        for (int i = 0; i < c->n_milestones; i++)
            if (c->milestones[i] < 0 || (i > 0 && c->milestones[i] <= c->milestones[i - 1]))
                return cz_fail(CZ_ERR_ARG, "%s multistep: milestones[%d] = %d: milestones "
                               "must be >= 0 and strictly increasing", who, i, c->milestones[i]);
        if (!finite_pos(c->gamma))
            return cz_fail(CZ_ERR_ARG, "%s multistep: gamma %g must be > 0", who, c->gamma);
        return CZ_OK;
    case CZ_SCHED_PLATEAU:
        if (!(isfinite(c->factor) && c->factor > 0 && c->factor < 1))
            return cz_fail(CZ_ERR_ARG, "%s plateau: factor %g must be in (0, 1)", who, c->factor);
        if (c->patience < 0)
            return cz_fail(CZ_ERR_ARG, "%s plateau: patience %d must be >= 0", who, c->patience);
        if (!finite_nonneg(c->threshold) || (!c->threshold_abs && c->threshold >= 1))
            return cz_fail(CZ_ERR_ARG, "%s plateau: threshold %g must be >= 0 (and < 1 "
                           "when relative)", who, c->threshold);
        if (c->cooldown < 0)
            return cz_fail(CZ_ERR_ARG, "%s plateau: cooldown %d must be >= 0", who, c->cooldown);
        if (!finite_nonneg(c->min_lr))
            return cz_fail(CZ_ERR_ARG, "%s plateau: min_lr %g must be >= 0", who, c->min_lr);
        return CZ_OK;
    case CZ_SCHED_COSINE:
        if (c->total_epochs < 1)
            return cz_fail(CZ_ERR_ARG, "%s cosine: total_epochs %d must be >= 1", who,
                           c->total_epochs);
        if (c->warmup_epochs < 0 || c->warmup_epochs >= c->total_epochs)
            return cz_fail(CZ_ERR_ARG, "%s cosine: warmup_epochs %d must be >= 0 and "
                           "< total_epochs %d", who, c->warmup_epochs, c->total_epochs);
        if (c->steps_per_epoch < 0)
            return cz_fail(CZ_ERR_ARG, "%s cosine: steps_per_epoch %d must be >= 0", who,
                           c->steps_per_epoch);
        if (!finite_nonneg(c->warmup_start_lr))
            return cz_fail(CZ_ERR_ARG, "%s cosine: warmup_start_lr %g must be >= 0", who,
                           c->warmup_start_lr);
        if (!finite_nonneg(c->eta_min))
            return cz_fail(CZ_ERR_ARG, "%s cosine: eta_min %g must be >= 0", who, c->eta_min);
        return CZ_OK;
    case CZ_SCHED_EXPONENTIAL:
        if (!finite_pos(c->gamma))
            return cz_fail(CZ_ERR_ARG, "%s exp: gamma %g must be > 0", who, c->gamma);
        if (!finite_pos(c->decay_epochs))
            return cz_fail(CZ_ERR_ARG, "%s exp: decay_epochs %g must be > 0", who,
                           c->decay_epochs);
        if (c->steps_per_epoch < 0)
            return cz_fail(CZ_ERR_ARG, "%s exp: steps_per_epoch %d must be >= 0", who,
                           c->steps_per_epoch);
        return CZ_OK;
    }
    return cz_fail(CZ_ERR_ARG, "%s: unknown kind %d", who, (int)c->kind);
}

cz_status cz_schedule_init(cz_schedule *s, const cz_schedule_config *cfg)
{
    memset(s, 0, sizeof *s);
    cz_status st = check_config(cfg, "lr schedule");
    if (st != CZ_OK)
        return st;
    s->cfg = *cfg;
    s->lr = cfg->base_lr;
    s->plateau_lr = cfg->base_lr;
    s->best = INFINITY; /* mode 'min': mode_worse */
    return CZ_OK;
}

/* ------------------------------------------------------------ rates */

/* The float as the shortest decimal it was most likely written as (2.4f
 * as 2.4), so that 12 / 2.4 is 5 and not 4.9999998. */
static double decimal_of(float x)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%.6g", (double)x);
    return strtod(buf, NULL);
}

static double cosine_lr(const cz_schedule_config *c, int epoch, long step)
{
    double base = c->base_lr, pos = epoch, warmup = c->warmup_epochs,
           span = c->total_epochs - c->warmup_epochs;
    if (c->steps_per_epoch > 0) {
        double spe = c->steps_per_epoch;
        pos = pos * spe + (double)step;
        warmup *= spe;
        span *= spe;
    }
    if (pos < warmup) {
        double start = c->warmup_start_lr;
        return start + (base - start) * pos / warmup;
    }
    double eta = c->eta_min;
    return eta + (base - eta) * (1 + cos(PI * (pos - warmup) / span)) / 2;
}

static double exponential_lr(const cz_schedule_config *c, int epoch, long step)
{
    double pos = epoch, period = decimal_of(c->decay_epochs);
    if (c->steps_per_epoch > 0) {
        pos = pos * c->steps_per_epoch + (double)step;
        period *= c->steps_per_epoch;
    }
    /* the nudge keeps an exact multiple that double rounds just below */
    double decays = floor(pos / period * (1 + 1e-9));
    return c->base_lr * pow(c->gamma, decays);
}

float cz_schedule_lr(cz_schedule *s, int epoch, long step_in_epoch)
{
    const cz_schedule_config *c = &s->cfg;
    if (epoch < 0)
        epoch = 0;
    if (step_in_epoch < 0)
        step_in_epoch = 0;
    double lr = c->base_lr;
    switch (c->kind) {
    case CZ_SCHED_CONSTANT:
        break;
    case CZ_SCHED_STEP:
        lr = c->base_lr * pow(c->gamma, epoch / c->step_size);
        break;
    case CZ_SCHED_MULTISTEP: {
        int passed = 0;
        while (passed < c->n_milestones && c->milestones[passed] <= epoch)
            passed++;
        lr = c->base_lr * pow(c->gamma, passed);
        break;
    }
    case CZ_SCHED_PLATEAU:
        lr = s->plateau_lr;
        break;
    case CZ_SCHED_COSINE:
        lr = cosine_lr(c, epoch, step_in_epoch);
        break;
    case CZ_SCHED_EXPONENTIAL:
        lr = exponential_lr(c, epoch, step_in_epoch);
        break;
    }
    s->lr = (float)lr;
    return s->lr;
}

void cz_schedule_epoch_end(cz_schedule *s, double val_loss)
{
    const cz_schedule_config *c = &s->cfg;
    if (c->kind != CZ_SCHED_PLATEAU)
        return;
    /* ReduceLROnPlateau.step, in torch's order */
    s->last_epoch++;
    double threshold = c->threshold;
    bool better = c->threshold_abs ? val_loss < s->best - threshold
                                   : val_loss < s->best * (1. - threshold);
    if (better) {
        s->best = val_loss;
        s->num_bad_epochs = 0;
    } else {
        s->num_bad_epochs++;
    }
    if (s->cooldown_counter > 0) {
        s->cooldown_counter--;
        s->num_bad_epochs = 0;
    }
    if (s->num_bad_epochs > c->patience) {
        double old_lr = s->plateau_lr;
        double new_lr = fmax(old_lr * c->factor, c->min_lr);
        if (old_lr - new_lr > 1e-8) /* torch's eps */
            s->plateau_lr = new_lr;
        s->cooldown_counter = c->cooldown;
        s->num_bad_epochs = 0;
    }
    s->lr = (float)s->plateau_lr;
}

/* ------------------------------------------------------------ state */

int cz_schedule_state(const cz_schedule *s, double *out, int max)
{
    if (s->cfg.kind != CZ_SCHED_PLATEAU)
        return 0;
    double state[CZ_SCHEDULE_STATE_LEN] = {
        s->plateau_lr, s->best, s->num_bad_epochs, s->cooldown_counter, s->last_epoch,
    };
    for (int i = 0; i < CZ_SCHEDULE_STATE_LEN && i < max; i++)
        out[i] = state[i];
    return CZ_SCHEDULE_STATE_LEN;
}

cz_status cz_schedule_set_state(cz_schedule *s, const double *in, int n)
{
    if (s->cfg.kind != CZ_SCHED_PLATEAU)
        return CZ_OK;
    if (n != CZ_SCHEDULE_STATE_LEN)
        return cz_fail(CZ_ERR_FORMAT, "plateau schedule state: %d values, expected %d", n,
                       CZ_SCHEDULE_STATE_LEN);
    if (!(in[0] >= 0 && in[0] <= FLT_MAX) || isnan(in[1]))
        return cz_fail(CZ_ERR_FORMAT, "plateau schedule state: lr %.17g and best %.17g; "
                       "expected an lr from 0 to %g and a best loss", in[0], in[1], FLT_MAX);
    /* below INT_MAX: epoch_end adds one to each */
    static const char *const counter[] = {"num_bad_epochs", "cooldown_counter", "last_epoch"};
    for (int i = 2; i < CZ_SCHEDULE_STATE_LEN; i++)
        if (!(in[i] >= 0 && in[i] < INT_MAX && in[i] == floor(in[i])))
            return cz_fail(CZ_ERR_FORMAT, "plateau schedule state: %s is %.17g; expected a "
                           "count from 0 to %d", counter[i - 2], in[i], INT_MAX - 1);
    s->plateau_lr = in[0];
    s->best = in[1];
    s->num_bad_epochs = (int)in[2];
    s->cooldown_counter = (int)in[3];
    s->last_epoch = (int)in[4];
    s->lr = (float)s->plateau_lr;
    return CZ_OK;
}

/* ------------------------------------------------------------ parsing */

#define SPEC_FORMS "constant, step:STEP_SIZE[:GAMMA], multistep:M1,M2,...[:GAMMA], " \
    "plateau[:FACTOR[:PATIENCE[:THRESHOLD[:rel|abs[:COOLDOWN[:MIN_LR]]]]]], " \
    "cosine[:WARMUP_EPOCHS[:WARMUP_START_LR[:ETA_MIN]]] or exp:GAMMA[:DECAY_EPOCHS]"

typedef struct spec_ctx {
    const char *spec;
    char *fields[8];
    int n;
} spec_ctx;

static cz_status bad_spec(const spec_ctx *p, const char *what)
{
    return cz_fail(CZ_ERR_ARG, "lr schedule '%s': %s; expected %s", p->spec, what, SPEC_FORMS);
}

static cz_status parse_float(const spec_ctx *p, int i, const char *name, float *out)
{
    if (i >= p->n)
        return CZ_OK; /* keep the default */
    const char *f = p->fields[i];
    char *end;
    errno = 0;
    float v = strtof(f, &end);
    if (!*f || *end || errno || !isfinite(v)) {
        char what[160];
        snprintf(what, sizeof what, "%s '%.40s' is not a number", name, f);
        return bad_spec(p, what);
    }
    *out = v;
    return CZ_OK;
}

static cz_status parse_int(const spec_ctx *p, const char *f, const char *name, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(f, &end, 10);
    if (!*f || *end || errno || v < INT_MIN || v > INT_MAX) {
        char what[160];
        snprintf(what, sizeof what, "%s '%.40s' is not an integer", name, f);
        return bad_spec(p, what);
    }
    *out = (int)v;
    return CZ_OK;
}

static cz_status parse_int_at(const spec_ctx *p, int i, const char *name, int *out)
{
    return i < p->n ? parse_int(p, p->fields[i], name, out) : CZ_OK;
}

static cz_status parse_milestones(const spec_ctx *p, cz_schedule_config *c)
{
    char *m = p->fields[1];
    c->n_milestones = 0;
    for (;;) {
        char *comma = strchr(m, ',');
        if (comma)
            *comma = '\0';
        if (!*m)
            return bad_spec(p, "an empty milestone");
        if (c->n_milestones == CZ_SCHED_MAX_MILESTONES) {
            char what[64];
            snprintf(what, sizeof what, "more than %d milestones", CZ_SCHED_MAX_MILESTONES);
            return bad_spec(p, what);
        }
        cz_status st = parse_int(p, m, "milestone", &c->milestones[c->n_milestones++]);
        if (st != CZ_OK || !comma)
            return st;
        m = comma + 1;
    }
}

cz_status cz_schedule_parse(const char *spec, float base_lr, int total_epochs,
                            cz_schedule_config *out)
{
    static const struct { const char *name; cz_sched_kind kind; int min, max; } kinds[] = {
        {"constant", CZ_SCHED_CONSTANT, 0, 0},   {"step", CZ_SCHED_STEP, 1, 2},
        {"multistep", CZ_SCHED_MULTISTEP, 1, 2}, {"plateau", CZ_SCHED_PLATEAU, 0, 6},
        {"cosine", CZ_SCHED_COSINE, 0, 3},       {"exp", CZ_SCHED_EXPONENTIAL, 1, 2},
    };
    if (!spec)
        spec = "";
    char buf[256];
    spec_ctx p = {.spec = spec};
    if (strlen(spec) >= sizeof buf)
        return cz_fail(CZ_ERR_ARG, "lr schedule: spec of %zu characters is too long",
                       strlen(spec));
    strcpy(buf, spec);
    /* split on ':' keeping empty fields, so "step::0.1" is an error */
    p.fields[p.n++] = buf;
    for (char *q = buf; *q; q++) {
        if (*q != ':')
            continue;
        if (p.n == 8)
            return bad_spec(&p, "too many fields");
        *q = '\0';
        p.fields[p.n++] = q + 1;
    }
    for (int i = 1; i < p.n; i++)
        if (!*p.fields[i])
            return bad_spec(&p, "an empty field");

    int k = 0, n_kinds = (int)(sizeof kinds / sizeof kinds[0]);
    while (k < n_kinds && strcmp(p.fields[0], kinds[k].name) != 0)
        k++;
    if (k == n_kinds)
        return bad_spec(&p, "unknown schedule");
    int args = p.n - 1;
    if (args < kinds[k].min || args > kinds[k].max) {
        char what[96];
        snprintf(what, sizeof what, "%s takes %d to %d parameters, not %d", kinds[k].name,
                 kinds[k].min, kinds[k].max, args);
        return bad_spec(&p, what);
    }

    cz_schedule_config c = {
        .kind = kinds[k].kind,
        .base_lr = base_lr,
        .total_epochs = total_epochs,
        .gamma = 0.1f,
        .factor = 0.1f, .patience = 10, .threshold = 1e-4f, /* torch's defaults */
        .warmup_start_lr = base_lr / 3, /* LinearLR's start_factor 1/3 */
        .decay_epochs = 1,
    };
    cz_status st = CZ_OK;
    switch (c.kind) {
    case CZ_SCHED_CONSTANT:
        break;
    case CZ_SCHED_STEP:
        st = parse_int_at(&p, 1, "STEP_SIZE", &c.step_size);
        if (st == CZ_OK)
            st = parse_float(&p, 2, "GAMMA", &c.gamma);
        break;
    case CZ_SCHED_MULTISTEP:
        st = parse_milestones(&p, &c);
        if (st == CZ_OK)
            st = parse_float(&p, 2, "GAMMA", &c.gamma);
        break;
    case CZ_SCHED_PLATEAU:
        st = parse_float(&p, 1, "FACTOR", &c.factor);
        if (st == CZ_OK)
            st = parse_int_at(&p, 2, "PATIENCE", &c.patience);
        if (st == CZ_OK)
            st = parse_float(&p, 3, "THRESHOLD", &c.threshold);
        if (st == CZ_OK && p.n > 4) {
            if (strcmp(p.fields[4], "abs") == 0)
                c.threshold_abs = true;
            else if (strcmp(p.fields[4], "rel") != 0)
                st = bad_spec(&p, "threshold mode must be rel or abs");
        }
        if (st == CZ_OK)
            st = parse_int_at(&p, 5, "COOLDOWN", &c.cooldown);
        if (st == CZ_OK)
            st = parse_float(&p, 6, "MIN_LR", &c.min_lr);
        break;
    case CZ_SCHED_COSINE:
        st = parse_int_at(&p, 1, "WARMUP_EPOCHS", &c.warmup_epochs);
        if (st == CZ_OK)
            st = parse_float(&p, 2, "WARMUP_START_LR", &c.warmup_start_lr);
        if (st == CZ_OK)
            st = parse_float(&p, 3, "ETA_MIN", &c.eta_min);
        break;
    case CZ_SCHED_EXPONENTIAL:
        st = parse_float(&p, 1, "GAMMA", &c.gamma);
        if (st == CZ_OK)
            st = parse_float(&p, 2, "DECAY_EPOCHS", &c.decay_epochs);
        break;
    }
    if (st != CZ_OK)
        return st;
    char who[300];
    snprintf(who, sizeof who, "lr schedule '%s'", spec);
    st = check_config(&c, who);
    if (st != CZ_OK)
        return st;
    *out = c;
    return CZ_OK;
}
