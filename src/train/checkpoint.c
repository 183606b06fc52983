/*
 * checkpoint.c - saving and restoring a training run (see checkpoint.h).
 */
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/io.h"
#include "train/checkpoint.h"

enum { SCHED_MAX = 16, TEXT = 512, OWN_META = 6, POS_META = 4 };

static void rng_text(const cz_rng *r, char *buf, size_t size)
{
    snprintf(buf, size, "%016" PRIx64 ",%016" PRIx64 ",%016" PRIx64 ",%016" PRIx64, r->s[0],
             r->s[1], r->s[2], r->s[3]);
}

static bool rng_parse(const char *text, cz_rng *r)
{
    int used = 0;
    return text &&
           sscanf(text, "%16" SCNx64 ",%16" SCNx64 ",%16" SCNx64 ",%16" SCNx64 "%n", &r->s[0],
                  &r->s[1], &r->s[2], &r->s[3], &used) == 4 &&
           text[used] == '\0';
}

static void schedule_text(const cz_schedule *s, char *buf, size_t size)
{
    double v[SCHED_MAX];
    int n = cz_schedule_state(s, v, SCHED_MAX);
    size_t at = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && at < size; i++)
        at += (size_t)snprintf(buf + at, size - at, "%s%.17g", i ? "," : "", v[i]);
}

static int schedule_parse(const char *text, double *v)
{
    int n = 0;
    for (const char *p = text; p && *p && n < SCHED_MAX;) {
        char *end;
        v[n++] = strtod(p, &end);
        if (end == p)
            return -1;
        p = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            return -1;
    }
    return n;
}

/* The net's table plus the optimizer's state tensors, for cz_st_write. */
static cz_status gather(cz_net *net, cz_optim *opt, cz_st_tensor *t, char (*names)[TEXT])
{
    int n = cz_net_param_count(net);
    for (int i = 0; i < n; i++)
        cz_st_from_param(cz_net_param(net, i), &t[i]);
    for (int k = 0; k < cz_optim_state_count(opt); k++) {
        float *data;
        size_t count;
        int len = snprintf(names[k], TEXT, "%s", CZ_CHECKPOINT_PREFIX);
        cz_status s = cz_optim_state(opt, k, names[k] + len, TEXT - (size_t)len, &data, &count);
        if (s != CZ_OK)
            return s;
        t[n + k] = (cz_st_tensor){.name = names[k], .dtype = CZ_ST_F32, .ndim = 1,
                                  .shape = {(int64_t)count}, .data = data};
    }
    return CZ_OK;
}

/* Every rank's tally as "v,v,...": ranks rows of CZ_TALLY_LEN, in full
 * precision so that the resumed epoch's sums are the same doubles.
 * malloc'd; NULL when out of memory. */
static char *tally_text(const cz_run_state *run)
{
    int ranks = run->tallies ? run->ranks : 1;
    const double *v = run->tallies ? run->tallies : run->pos.tally;
    size_t n = (size_t)ranks * CZ_TALLY_LEN, size = n * 26 + 1, at = 0;
    char *buf = malloc(size);
    for (size_t i = 0; buf && i < n; i++)
        at += (size_t)snprintf(buf + at, size - at, "%s%.17g", i ? "," : "", v[i]);
    return buf;
}

/* The text of the run state's metadata values. */
typedef struct run_text {
    char epoch[16], step[32], shuffle[80], net_rng[80], schedule[TEXT];
    char steps[16], batches[32], seconds[32];
    char *tally;
} run_text;

/* The run state as metadata pairs into own: OWN_META of them, and
 * POS_META more inside an epoch; t holds their values. Returns how many
 * pairs. */
static int run_meta(cz_net *net, const cz_optim *opt, const cz_schedule *sched,
                    const cz_run_state *run, run_text *t, const char **own)
{
    bool inside = run->pos.batches > 0;
    snprintf(t->epoch, sizeof t->epoch, "%d", run->epoch);
    snprintf(t->step, sizeof t->step, "%ld", opt->step);
    rng_text(&run->shuffle, t->shuffle, sizeof t->shuffle);
    rng_text(cz_net_rng(net), t->net_rng, sizeof t->net_rng);
    schedule_text(sched, t->schedule, sizeof t->schedule);
    const char *base[2 * OWN_META] = {
        "cnnzoo.format", inside ? "checkpoint 2" : "checkpoint 1", "cnnzoo.epoch", t->epoch,
        "cnnzoo.optim.step", t->step, "cnnzoo.rng.shuffle", t->shuffle,
        "cnnzoo.rng.net", t->net_rng, "cnnzoo.schedule", t->schedule};
    memcpy(own, base, sizeof base);
    if (!inside)
        return OWN_META;
    snprintf(t->steps, sizeof t->steps, "%d", run->pos.steps);
    snprintf(t->batches, sizeof t->batches, "%ld", run->pos.batches);
    snprintf(t->seconds, sizeof t->seconds, "%.17g", run->pos.seconds);
    const char *pos[2 * POS_META] = {"cnnzoo.epoch.steps", t->steps,
                                     "cnnzoo.epoch.batches", t->batches,
                                     "cnnzoo.epoch.seconds", t->seconds,
                                     "cnnzoo.epoch.tally", t->tally};
    memcpy(own + 2 * OWN_META, pos, sizeof pos);
    return OWN_META + POS_META;
}

cz_status cz_checkpoint_save(const char *path, cz_net *net, cz_optim *opt,
                             const cz_schedule *sched, const cz_run_state *run,
                             const char *const *meta, int n_meta)
{
    int n = cz_net_param_count(net), k = cz_optim_state_count(opt);
    cz_st_tensor *t = calloc((size_t)(n + k + 1), sizeof *t);
    char(*names)[TEXT] = calloc((size_t)k + 1, TEXT);
    const char **all = calloc((size_t)(2 * (OWN_META + POS_META + n_meta)), sizeof *all);
    run_text text = {.tally = tally_text(run)};
    cz_status s = t && names && all && text.tally
                      ? gather(net, opt, t, names)
                      : cz_fail(CZ_ERR_NOMEM, "%s: out of memory", path);
    if (s == CZ_OK) {
        int own = run_meta(net, opt, sched, run, &text, all);
        for (int i = 0; i < 2 * n_meta; i++)
            all[2 * own + i] = meta[i];
        s = cz_st_write(path, t, n + k, all, own + n_meta);
    }
    free(text.tally);
    free(t);
    free(names);
    free(all);
    return s;
}

/* The optimizer's state tensors from f, each checked against its size. */
static cz_status load_optim(const char *path, const cz_st_file *f, cz_optim *opt)
{
    char name[TEXT];
    int len = snprintf(name, sizeof name, "%s", CZ_CHECKPOINT_PREFIX);
    for (int k = 0; k < cz_optim_state_count(opt); k++) {
        float *data;
        size_t count;
        cz_status s = cz_optim_state(opt, k, name + len, sizeof name - (size_t)len, &data, &count);
        if (s != CZ_OK)
            return s;
        const cz_st_tensor *t = cz_st_find(f, name);
        if (!t)
            return cz_fail(CZ_ERR_FORMAT, "%s: no optimizer state '%s' (was it saved with "
                           "another --optim?)", path, name);
        if (t->numel != count)
            return cz_fail(CZ_ERR_FORMAT, "%s: '%s' holds %llu values, expected %zu", path, name,
                           (unsigned long long)t->numel, count);
        if ((s = cz_st_to_f32(f, t, data)) != CZ_OK)
            return s;
    }
    return CZ_OK;
}

/* A whole number in [lo, hi] from metadata key, or -1. */
static long meta_long(const cz_st_file *f, const char *key, long lo, long hi)
{
    const char *text = cz_st_meta(f, key);
    char *end;
    long v = text ? strtol(text, &end, 10) : -1;
    return text && end != text && !*end && v >= lo && v <= hi ? v : -1;
}

/* Values "v,v,..." of text into v[max], all finite and >= 0; their
 * count, or -1. */
static long parse_values(const char *text, double *v, long max)
{
    long n = 0;
    for (const char *p = text; p && *p; n++) {
        char *end;
        double x = strtod(p, &end);
        if (end == p || !isfinite(x) || x < 0 || (*end && *end != ','))
            return -1;
        if (n < max)
            v[n] = x;
        p = *end ? end + 1 : end;
    }
    return text ? n : -1;
}

/* The counts of a tally row (top-1, top-5, samples seen) become ints:
 * whole numbers with top1 <= top5 <= seen <= INT_MAX, or the file is
 * refused (converting 1e30 to int would be undefined behaviour). */
static cz_status check_tally(const char *path, const double *t)
{
    bool ok = true;
    for (int i = 1; i < CZ_TALLY_LEN; i++)
        ok = ok && t[i] == floor(t[i]) && t[i] <= INT_MAX;
    if (!ok || t[1] > t[2] || t[2] > t[3])
        return cz_fail(CZ_ERR_FORMAT, "%s: metadata cnnzoo.epoch.tally has top-1 %g, top-5 %g "
                       "and %g samples; expected whole numbers with top-1 <= top-5 <= samples "
                       "<= %d", path, t[1], t[2], t[3], INT_MAX);
    return CZ_OK;
}

/* How far a checkpoint written inside an epoch got, and this rank's row of
 * the tallies. */
static cz_status load_pos(const char *path, const cz_st_file *f, const cz_run_state *run,
                          cz_epoch_pos *pos)
{
    long steps = meta_long(f, "cnnzoo.epoch.steps", 1, INT32_MAX);
    long batches = meta_long(f, "cnnzoo.epoch.batches", steps > 0 ? steps : 1, LONG_MAX);
    const char *seconds = cz_st_meta(f, "cnnzoo.epoch.seconds");
    if (steps < 0 || batches < 0 || parse_values(seconds, &pos->seconds, 1) != 1)
        return cz_fail(CZ_ERR_FORMAT, "%s: metadata cnnzoo.epoch.steps, .batches or .seconds "
                       "is missing or not a count (steps >= 1, batches >= steps)", path);
    pos->steps = (int)steps;
    pos->batches = batches;
    int ranks = run->ranks > 0 ? run->ranks : 1, rank = run->ranks > 0 ? run->rank : 0;
    long want = (long)ranks * CZ_TALLY_LEN;
    double *all = malloc(sizeof(double) * (size_t)want);
    if (!all)
        return cz_fail(CZ_ERR_NOMEM, "%s: out of memory", path);
    long n = parse_values(cz_st_meta(f, "cnnzoo.epoch.tally"), all, want);
    if (n == want)
        memcpy(pos->tally, all + (size_t)rank * CZ_TALLY_LEN, sizeof pos->tally);
    free(all);
    if (n < 0 || n % CZ_TALLY_LEN != 0)
        return cz_fail(CZ_ERR_FORMAT, "%s: metadata cnnzoo.epoch.tally is missing or not rows "
                       "of %d counts", path, CZ_TALLY_LEN);
    if (n != want)
        return cz_fail(CZ_ERR_FORMAT, "%s: stopped inside an epoch by %ld process%s, resumed "
                       "by %d: resume it with as many", path, n / CZ_TALLY_LEN,
                       n == CZ_TALLY_LEN ? "" : "es", ranks);
    return check_tally(path, pos->tally);
}

/* The header's run state: epoch, step, generators, schedule. */
static cz_status load_meta(const char *path, const cz_st_file *f, cz_net *net, cz_optim *opt,
                           cz_schedule *sched, cz_run_state *run)
{
    const char *format = cz_st_meta(f, "cnnzoo.format");
    bool inside = format && strcmp(format, "checkpoint 2") == 0;
    if (!format || (!inside && strcmp(format, "checkpoint 1") != 0))
        return cz_fail(CZ_ERR_FORMAT, "%s: not a cnnzoo checkpoint (no cnnzoo.format "
                       "'checkpoint 1' or '2' in its metadata); to start from weights, use "
                       "--weights", path);
    cz_epoch_pos pos = {0};
    cz_status s = inside ? load_pos(path, f, run, &pos) : CZ_OK;
    if (s != CZ_OK)
        return s;
    const char *epoch = cz_st_meta(f, "cnnzoo.epoch"), *step = cz_st_meta(f, "cnnzoo.optim.step");
    char *end;
    long e = epoch ? strtol(epoch, &end, 10) : -1;
    if (!epoch || *end || e < 0 || e > 1000000)
        return cz_fail(CZ_ERR_FORMAT, "%s: metadata cnnzoo.epoch '%s' is not an epoch count",
                       path, epoch ? epoch : "(missing)");
    long st = step ? strtol(step, &end, 10) : -1;
    if (!step || *end || st < 0)
        return cz_fail(CZ_ERR_FORMAT, "%s: metadata cnnzoo.optim.step '%s' is not a step count",
                       path, step ? step : "(missing)");
    cz_rng shuffle, net_rng;
    if (!rng_parse(cz_st_meta(f, "cnnzoo.rng.shuffle"), &shuffle) ||
        !rng_parse(cz_st_meta(f, "cnnzoo.rng.net"), &net_rng))
        return cz_fail(CZ_ERR_FORMAT, "%s: metadata cnnzoo.rng.shuffle or cnnzoo.rng.net is not "
                       "four hexadecimal words", path);
    double v[SCHED_MAX];
    int n = schedule_parse(cz_st_meta(f, "cnnzoo.schedule"), v);
    if (n < 0 || n != cz_schedule_state(sched, NULL, 0))
        return cz_fail(CZ_ERR_FORMAT, "%s: metadata cnnzoo.schedule does not hold this "
                       "schedule's state (was it saved with another --schedule?)", path);
    if (cz_schedule_set_state(sched, v, n) != CZ_OK)
        return cz_fail(CZ_ERR_FORMAT, "%s: metadata cnnzoo.schedule: %s", path, cz_last_error());
    run->epoch = (int)e;
    run->shuffle = shuffle;
    run->pos = pos;
    *cz_net_rng(net) = net_rng;
    opt->step = st;
    return CZ_OK;
}

cz_status cz_checkpoint_load(const char *path, cz_net *net, cz_optim *opt, cz_schedule *sched,
                             cz_run_state *run)
{
    cz_st_file *f;
    cz_status s = cz_st_open(&f, path);
    if (s != CZ_OK)
        return s;
    /* Everything that can fail on the file's contents comes first. */
    s = load_meta(path, f, net, opt, sched, run);
    if (s == CZ_OK)
        s = load_optim(path, f, opt);
    if (s == CZ_OK)
        s = cz_st_load_net(net, f, CZ_CHECKPOINT_PREFIX, true);
    cz_st_close(f);
    return s;
}
