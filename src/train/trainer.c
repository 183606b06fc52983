/*
 * trainer.c - the mini-batch training loop and evaluation, fed by the
 * background loader.
 *
 * Shuffling uses its own generator seeded from opts->seed, and each
 * sample's augmentation one seeded by (seed, epoch, position), so neither
 * depends on how many random numbers the net drew or on thread timing.
 * That is what lets a run stopped after any step (opts->stop) resume
 * exactly: its checkpoint holds the shuffling generator as the epoch began
 * and how many batches were used, and the loader starts at the next one
 * with the positions, so the transforms, of the whole epoch.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data/loader.h"
#include "train/checkpoint.h"
#include "train/train_log.h"
#include "train/train.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void progress(int epoch, int epochs, int done, int total, double loss, double t0)
{
    int width = 30, filled = (int)((long)width * done / total);
    char bar[32];
    for (int i = 0; i < width; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[width] = '\0';
    double elapsed = now() - t0;
    fprintf(stderr, "\repoch %d/%d [%s] %d/%d loss %.4f %.0f img/s ", epoch, epochs, bar, done,
            total, loss, elapsed > 0 ? done / elapsed : 0.0);
    fflush(stderr);
}

/* Running sums of one pass. */
typedef struct tally {
    double loss_sum;
    int top1, top5, seen;
} tally;

/* Adds the rows of logits (n, K): the label ranks r-th when r logits
 * exceed its own (torch.topk's view, ties in the label's favour). */
static void count_topk(tally *t, const cz_tensor *logits, const int *labels, int n)
{
    int K = logits->shape[1];
    for (int i = 0; i < n; i++) {
        const float *row = logits->data + (size_t)i * K;
        int rank = 0;
        for (int k = 0; k < K; k++)
            rank += row[k] > row[labels[i]];
        t->top1 += rank == 0;
        t->top5 += rank < 5;
    }
}

/* The whole world's tally, for the epoch's line. */
/* A tally as the doubles that MPI sums and checkpoints store, and back
 * (checkpoint.c checks stored counts before they come back as ints). */
static void tally_values(const tally *t, double v[CZ_TALLY_LEN])
{
    v[0] = t->loss_sum;
    v[1] = t->top1;
    v[2] = t->top5;
    v[3] = t->seen;
}

static tally tally_of(const double v[CZ_TALLY_LEN])
{
    return (tally){v[0], (int)v[1], (int)v[2], (int)v[3]};
}

static cz_status sum_tally(const cz_dist *d, tally *t)
{
    double v[CZ_TALLY_LEN];
    tally_values(t, v);
    cz_status s = cz_dist_sum(d, v, CZ_TALLY_LEN);
    *t = tally_of(v);
    return s;
}

static void finish(const tally *t, cz_loader *l, cz_eval_result *r)
{
    r->count = t->seen;
    r->loss = t->seen ? t->loss_sum / t->seen : 0;
    r->top1 = t->seen ? (double)t->top1 / t->seen : 0;
    r->top5 = t->seen ? (double)t->top5 / t->seen : 0;
    r->skipped = cz_loader_skipped(l, r->first_skipped, sizeof r->first_skipped);
}

static cz_status none_readable(const cz_dataset *ds, const cz_eval_result *r)
{
    return cz_fail(CZ_ERR_FORMAT, "%s: none of the %d images could be read (the first: %s)",
                   ds->source, r->skipped, r->first_skipped);
}

/* The mean over each sample's `crops` rows of y, into avg (n, K). */
static cz_status mean_crops(const cz_tensor *y, int n, int crops, cz_tensor *avg)
{
    int K = y->shape[1], shape[2] = {n, K};
    if (avg->ndim != 2 || avg->shape[0] != n || avg->shape[1] != K) {
        cz_status s = cz_tensor_alloc(avg, 2, shape);
        if (s != CZ_OK)
            return s;
    }
    for (int i = 0; i < n; i++)
        for (int k = 0; k < K; k++) {
            float sum = 0;
            for (int c = 0; c < crops; c++)
                sum += y->data[((size_t)i * crops + c) * K + k];
            avg->data[(size_t)i * K + k] = sum / crops;
        }
    return CZ_OK;
}

/* One evaluation batch: forward, average crops, loss and top-k. */
static cz_status eval_batch(cz_net *net, const cz_dataset *ds, const cz_eval_opts *o,
                            cz_tensor *x, const int *labels, int n, cz_tensor *avg, tally *t)
{
    const cz_tensor *logits;
    double loss;
    if (o->transform_input)
        cz_transform_input(&ds->pipe, x);
    cz_status s = cz_net_forward(net, x, &logits);
    if (s == CZ_OK && o->ten_crop) {
        s = mean_crops(logits, n, 10, avg);
        logits = avg;
    }
    if (s == CZ_OK)
        s = cz_cross_entropy(logits, labels, 0.0f, &loss, NULL);
    if (s == CZ_OK) {
        t->loss_sum += loss * n;
        t->seen += n;
        count_topk(t, logits, labels, n);
    }
    return s;
}

cz_status cz_evaluate(cz_net *net, const cz_dataset *ds, const cz_eval_opts *o,
                      cz_eval_result *result)
{
    memset(result, 0, sizeof *result);
    cz_loader_opts lo = {.batch = o->batch, .workers = o->workers, .ten_crop = o->ten_crop};
    cz_loader *l;
    cz_status s = cz_loader_start(ds, NULL, ds->count, &lo, &l);
    if (s != CZ_OK)
        return s;
    bool was_training = cz_net_training(net);
    cz_net_set_training(net, false);
    cz_net_set_fusion(net, true); /* no backward follows; nobody reads inner maps */
    tally t = {0};
    cz_tensor avg = {0};
    for (;;) {
        const cz_tensor *x;
        const int *labels;
        int n;
        s = cz_loader_next(l, &x, &labels, &n);
        if (s != CZ_OK || n == 0)
            break;
        /* The loader's batch is ours until the next call: transform_input
         * may change it in place. */
        s = eval_batch(net, ds, o, (cz_tensor *)x, labels, n, &avg, &t);
        if (s != CZ_OK)
            break;
    }
    cz_net_set_training(net, was_training);
    finish(&t, l, result);
    cz_loader_stop(l);
    cz_tensor_free(&avg);
    if (s == CZ_OK && result->count == 0)
        s = none_readable(ds, result);
    return s;
}

/* The loss of a training forward and its gradients: the main output's
 * cross-entropy, plus aux_weight times each auxiliary classifier's
 * (GoogLeNet 0.3, Inception-v3 0.4). */
typedef struct step_grads {
    cz_tensor dmain, daux[CZ_MAX_AUX];
    cz_grad_sync *sync; /* averaging over ranks (NULL: one process) */
} step_grads;

static void step_grads_free(step_grads *g)
{
    cz_grad_sync_free(g->sync);
    cz_tensor_free(&g->dmain);
    for (int i = 0; i < CZ_MAX_AUX; i++)
        cz_tensor_free(&g->daux[i]);
}

static cz_status training_loss(cz_net *net, const cz_tensor *logits, const int *labels,
                               const cz_train_opts *o, step_grads *g, double *loss)
{
    cz_status s = cz_cross_entropy(logits, labels, o->label_smoothing, loss, &g->dmain);
    int n_aux = o->aux_weight > 0 ? cz_net_aux_count(net) : 0;
    for (int i = 0; s == CZ_OK && i < n_aux && i < CZ_MAX_AUX; i++) {
        double aux;
        const cz_tensor *a = cz_net_node_output(net, cz_net_aux_output(net, i));
        s = cz_cross_entropy(a, labels, o->label_smoothing, &aux, &g->daux[i]);
        *loss += o->aux_weight * aux;
        for (size_t k = 0; s == CZ_OK && k < cz_tensor_numel(&g->daux[i]); k++)
            g->daux[i].data[k] *= o->aux_weight;
    }
    return s;
}

/* One step on a batch: forward, loss, backward, optimizer. */
static cz_status train_step(cz_net *net, cz_optim *opt, const cz_tensor *x, const int *labels,
                            int n, const cz_train_opts *o, step_grads *g, tally *t)
{
    const cz_tensor *logits;
    double loss = 0;
    cz_status s = cz_net_forward(net, x, &logits);
    if (s == CZ_OK)
        s = training_loss(net, logits, labels, o, g, &loss);
    if ((s == CZ_OK && !isfinite(loss)) || s == CZ_ERR_NUMERIC)
        return cz_fail(CZ_ERR_NUMERIC,
                       "training diverged: the loss is not finite at step %ld; try a smaller "
                       "--lr (the last checkpoint is the last good state)",
                       opt->step + 1);
    if (s != CZ_OK)
        return s;
    count_topk(t, logits, labels, n);
    t->loss_sum += loss * n;
    t->seen += n;
    cz_net_zero_grad(net);
    const cz_tensor *daux[CZ_MAX_AUX];
    for (int i = 0; i < CZ_MAX_AUX; i++)
        daux[i] = &g->daux[i];
    bool with_aux = o->aux_weight > 0 && cz_net_aux_count(net) > 0;
    if (g->sync)
        cz_grad_sync_begin(g->sync);
    s = cz_net_backward_aux(net, &g->dmain, with_aux ? daux : NULL);
    if (g->sync) {
        cz_status e = cz_grad_sync_end(g->sync);
        s = s == CZ_OK ? e : s;
    }
    if (s == CZ_OK)
        cz_optim_step(opt, net);
    return s;
}

/* Rewrites the epoch's order (count samples in global batches of `batch`)
 * in place into this rank's share: the same 1/size slice of every batch;
 * of a last batch that does not split evenly, the remainder is left out.
 * Returns how many samples the rank gets. */
static int rank_share(int *order, int count, int batch, const cz_dist *d)
{
    int out = 0;
    for (int start = 0; start < count; start += batch) {
        int m = count - start < batch ? count - start : batch, share = m / d->size;
        for (int i = 0; i < share; i++)
            order[out++] = order[start + d->rank * share + i];
    }
    return out;
}

/* What a run carries from epoch to epoch. */
typedef struct run_ctx {
    cz_net *net;
    cz_optim opt;
    cz_schedule sched;
    cz_run_state run;
    int *order; /* the epoch's sample order */
    const cz_dataset *train, *test;
    const cz_train_opts *o;
    cz_train_log log; /* log.path NULL: no log */
} run_ctx;

/* Whether the run is to stop, agreed by every rank: the flags summed
 * (one 8-byte allreduce a step), so that all stop after the same step
 * whichever of them was signalled. */
static cz_status stop_wanted(const cz_train_opts *o, bool *stop)
{
    *stop = false;
    if (!o->stop || !o->stop->flag)
        return CZ_OK;
    double v = *o->stop->flag != 0;
    cz_status s = o->dist ? cz_dist_sum(o->dist, &v, 1) : CZ_OK;
    *stop = s == CZ_OK && v > 0;
    return s;
}

static bool is_leader(const cz_train_opts *o)
{
    return !o->dist || o->dist->rank == 0;
}


/* One pass over the shuffled training set, from where run->pos stands (a
 * resumed epoch) to its end, or to a step after which *stopped is set.
 * The pass's place, time and tally are left in run->pos either way. */
static cz_status train_epoch(run_ctx *c, bool *stopped, cz_eval_result *r)
{
    const cz_train_opts *o = c->o;
    const cz_dataset *ds = c->train;
    cz_epoch_pos *pos = &c->run.pos;
    int size = o->dist ? o->dist->size : 1, count = ds->count, epoch = c->run.epoch;
    if (size > 1)
        count = rank_share(c->order, ds->count, o->batch, o->dist);
    cz_loader_opts lo = {.batch = o->batch / size, .workers = o->workers, .train = true,
                         .seed = o->seed, .epoch = epoch, .first_batch = pos->batches};
    cz_loader *l;
    cz_status s = cz_loader_start(ds, c->order, count, &lo, &l);
    if (s != CZ_OK)
        return s;
    cz_net_set_training(c->net, true);
    cz_net_set_fusion(c->net, true); /* the same bits; nobody reads inner maps */
    double t0 = now() - pos->seconds;
    tally t = tally_of(pos->tally);
    step_grads g = {0};
    if (size > 1)
        s = cz_grad_sync_create(o->dist, c->net, &g.sync);
    for (int k = pos->steps; s == CZ_OK; k++) {
        const cz_tensor *x;
        const int *labels;
        int n;
        s = cz_loader_next(l, &x, &labels, &n);
        c->opt.cfg.lr = cz_schedule_lr(&c->sched, epoch, k);
        if (s == CZ_OK && n > 0 && o->max_steps && c->opt.step >= o->max_steps)
            break;
        if (s == CZ_OK && n > 0)
            s = train_step(c->net, &c->opt, x, labels, n, o, &g, &t);
        if (s != CZ_OK || n == 0)
            break;
        if (o->progress && k % 20 == 0)
            progress(epoch + 1, o->epochs, t.seen, ds->count, t.loss_sum / t.seen, t0);
        if ((s = stop_wanted(o, stopped)) == CZ_OK && *stopped) {
            pos->steps = k + 1;
            pos->batches = cz_loader_batches_used(l);
            break;
        }
    }
    if (o->progress)
        fprintf(stderr, "\r\033[K");
    pos->seconds = now() - t0;
    tally_values(&t, pos->tally);
    if (s == CZ_OK && o->dist && !*stopped)
        s = sum_tally(o->dist, &t);
    finish(&t, l, r);
    cz_loader_stop(l);
    step_grads_free(&g);
    if (s == CZ_OK && r->count == 0 && !*stopped)
        s = none_readable(ds, r);
    return s;
}

static void report_skipped(FILE *out, const cz_dataset *ds, const cz_eval_result *r)
{
    if (out && r->skipped)
        fprintf(out, "%s: skipped %d unreadable image%s (the first: %s)\n", ds->source,
                r->skipped, r->skipped == 1 ? "" : "s", r->first_skipped);
}

/* The epoch's line on o->out and in the log. */
static cz_status report_epoch(run_ctx *c, int epoch, float lr, const cz_eval_result *tr,
                              const cz_eval_result *test, double seconds)
{
    const cz_train_opts *o = c->o;
    if (o->max_steps)
        fprintf(o->out, "epoch %2d (step %ld of %d)", epoch + 1, c->opt.step, o->max_steps);
    else
        fprintf(o->out, "epoch %2d/%d", epoch + 1, o->epochs);
    fprintf(o->out, "  lr %.4g  train loss %.4f acc %.2f%%  ", lr, tr->loss, 100 * tr->top1);
    if (test)
        fprintf(o->out, "test loss %.4f top-1 %.2f%% top-5 %.2f%%  ", test->loss,
                100 * test->top1, 100 * test->top5);
    fprintf(o->out, "%.1f s (%.0f img/s)\n", seconds, tr->count / seconds);
    fflush(o->out);
    if (!c->log.path)
        return CZ_OK;
    char tested[128] = ",,";
    if (test)
        snprintf(tested, sizeof tested, "%.6f,%.4f,%.4f", test->loss, 100 * test->top1,
                 100 * test->top5);
    return cz_train_log_add(&c->log, "%d,%.6g,%.6f,%.4f,%s,%.1f,%.3f", epoch + 1, lr, tr->loss,
                            100 * tr->top1, tested, tr->count / seconds, seconds);
}

/* Batches in one pass over the training set (the last one may be short). */
static long epoch_batches(const cz_dataset *train, int batch)
{
    return ((long)train->count + batch - 1) / batch;
}

/* The schedule from opts: per step for cosine and exponential decay (as
 * timm's and TensorFlow's recipes run them), per epoch otherwise. */
static cz_status start_schedule(const cz_train_opts *o, const cz_dataset *train,
                                cz_schedule *sched)
{
    cz_schedule_config c = o->schedule;
    c.base_lr = o->optim.lr;
    if (c.total_epochs <= 0)
        c.total_epochs = o->epochs;
    if (c.kind == CZ_SCHED_COSINE || c.kind == CZ_SCHED_EXPONENTIAL)
        c.steps_per_epoch = (int)epoch_batches(train, o->batch);
    return cz_schedule_init(sched, &c);
}

/* A checkpoint written inside an epoch must fit this run's epochs. */
static cz_status check_resumed(const run_ctx *c)
{
    const cz_train_opts *o = c->o;
    const cz_run_state *run = &c->run;
    long batches = epoch_batches(c->train, o->batch);
    bool inside = run->pos.batches > 0;
    if (run->epoch + inside > o->epochs)
        return cz_fail(CZ_ERR_ARG, "%s holds %d epochs%s, more than the %d asked for", o->resume,
                       run->epoch, inside ? " and part of one" : "", o->epochs);
    if (run->pos.batches > batches)
        return cz_fail(CZ_ERR_ARG, "%s stopped after batch %ld of an epoch, but this run's "
                       "epochs have %ld (was it saved with another --batch or --data?)",
                       o->resume, run->pos.batches, batches);
    return CZ_OK;
}

/* Where to start: the beginning, or where opts->resume stopped. */
static cz_status resume(run_ctx *c)
{
    const cz_train_opts *o = c->o;
    if (!o->resume)
        return CZ_OK;
    cz_run_state *run = &c->run;
    cz_status s = cz_checkpoint_load(o->resume, c->net, &c->opt, &c->sched, run);
    if (s == CZ_OK)
        s = check_resumed(c);
    if (s != CZ_OK || !o->out)
        return s;
    if (run->pos.batches > 0)
        fprintf(o->out, "resumed from %s inside epoch %d, after its step %d (step %ld)\n",
                o->resume, run->epoch + 1, run->pos.steps, c->opt.step);
    else
        fprintf(o->out, "resumed from %s after epoch %d (step %ld)\n", o->resume, run->epoch,
                c->opt.step);
    return CZ_OK;
}

static cz_status save_checkpoint(run_ctx *c)
{
    const cz_train_opts *o = c->o;
    if (!o->checkpoint)
        return CZ_OK;
    return cz_checkpoint_save(o->checkpoint, c->net, &c->opt, &c->sched, &c->run, o->meta,
                              o->n_meta);
}

/* Records the stop for the caller and says so on stderr (rank 0). */
static void note_stop(run_ctx *c, int step_in_epoch, long batches)
{
    const cz_train_opts *o = c->o;
    cz_train_stop *st = o->stop;
    *st = (cz_train_stop){.flag = st->flag, .hint = st->hint, .stopped = true,
                          .epoch = c->run.epoch + (step_in_epoch > 0),
                          .step_in_epoch = step_in_epoch, .step = c->opt.step};
    if (!o->out || !is_leader(o))
        return;
    if (step_in_epoch > 0)
        fprintf(stderr, "stopping after step %ld (epoch %d, batch %ld of %ld)", st->step,
                st->epoch, batches, epoch_batches(c->train, o->batch));
    else
        fprintf(stderr, "stopping after epoch %d (step %ld)", st->epoch, st->step);
    if (o->checkpoint)
        fprintf(stderr, ": %s %s", step_in_epoch > 0 ? "writing" : "wrote", o->checkpoint);
    fprintf(stderr, "%s\n", st->hint ? st->hint : "");
}

/* A stop inside an epoch: the checkpoint records the place, and every
 * rank's tally (gathered to rank 0, which writes it). */
static cz_status stop_inside(run_ctx *c)
{
    const cz_train_opts *o = c->o;
    note_stop(c, c->run.pos.steps, c->run.pos.batches);
    int ranks = o->dist ? o->dist->size : 1;
    double *all = NULL;
    cz_status s = CZ_OK;
    if (ranks > 1) {
        all = calloc((size_t)ranks * CZ_TALLY_LEN, sizeof *all);
        if (!all)
            return cz_fail(CZ_ERR_NOMEM, "train: out of memory");
        memcpy(all + (size_t)o->dist->rank * CZ_TALLY_LEN, c->run.pos.tally,
               sizeof c->run.pos.tally);
        s = cz_dist_sum(o->dist, all, ranks * CZ_TALLY_LEN);
        c->run.tallies = all;
    }
    if (s == CZ_OK)
        s = save_checkpoint(c);
    c->run.tallies = NULL;
    free(all);
    /* No rank ends before rank 0 has written the checkpoint (mpirun kills
     * the others once one ends by a signal), and all learn whether it was. */
    if (ranks > 1) {
        double failed = s != CZ_OK;
        cz_status e = cz_dist_sum(o->dist, &failed, 1);
        if (s == CZ_OK && (e != CZ_OK || failed > 0))
            s = e != CZ_OK ? e : cz_fail(CZ_ERR_IO, "train: rank 0 could not write the checkpoint");
    }
    return s;
}

/* Evaluates on the test split (rank 0 for everyone: the schedule must
 * decide alike on every rank). */
static cz_status test_pass(run_ctx *c, bool first, cz_eval_result *last)
{
    const cz_train_opts *o = c->o;
    cz_eval_opts eo = {.batch = o->batch, .workers = o->workers};
    cz_status s = is_leader(o) ? cz_evaluate(c->net, c->test, &eo, last) : CZ_OK;
    if (s == CZ_OK && first)
        report_skipped(o->out, c->test, last);
    double v[4] = {last->loss, last->top1, last->top5, last->count};
    if (s == CZ_OK && o->dist && (s = cz_dist_broadcast(o->dist, v, 4)) == CZ_OK)
        *last = (cz_eval_result){.loss = v[0], .top1 = v[1], .top5 = v[2], .count = (int)v[3]};
    return s;
}

/* One epoch (or the rest of one): shuffle, train, evaluate, report,
 * checkpoint; or, stopped inside it, the checkpoint of the place.
 * Unreadable files are reported in the run's first epoch only. */
static cz_status epoch_pass(run_ctx *c, bool first, bool *stopped, cz_eval_result *last)
{
    const cz_train_opts *o = c->o;
    int epoch = c->run.epoch;
    /* run.shuffle stays the epoch's starting state until the epoch ends,
     * so a checkpoint inside it makes the same order on resume. */
    cz_rng shuffle = c->run.shuffle;
    for (int i = 0; i < c->train->count; i++)
        c->order[i] = i;
    if (!o->no_shuffle)
        cz_rng_shuffle(&shuffle, c->order, (size_t)c->train->count);
    float lr = cz_schedule_lr(&c->sched, epoch, 0);
    cz_eval_result tr = {0};
    cz_status s = train_epoch(c, stopped, &tr);
    if (s == CZ_OK && *stopped)
        return stop_inside(c);
    if (s == CZ_OK && first)
        report_skipped(o->out, c->train, &tr);
    if (s == CZ_OK && c->test)
        s = test_pass(c, first, last);
    if (s == CZ_OK && o->out)
        s = report_epoch(c, epoch, lr, &tr, c->test ? last : NULL, c->run.pos.seconds);
    if (s != CZ_OK)
        return s;
    cz_schedule_epoch_end(&c->sched, c->test ? last->loss : tr.loss);
    c->run.epoch = epoch + 1;
    c->run.shuffle = shuffle;
    c->run.pos = (cz_epoch_pos){0};
    return save_checkpoint(c);
}

static bool run_done(const run_ctx *c)
{
    const cz_train_opts *o = c->o;
    return c->run.epoch >= o->epochs || (o->max_steps && c->opt.step >= o->max_steps);
}

/* The epochs from where the run stands to the end or to a stop. */
static cz_status epochs(run_ctx *c, cz_eval_result *last)
{
    int start = c->run.epoch;
    bool stopped = false;
    cz_status s = CZ_OK;
    while (s == CZ_OK && !stopped && !run_done(c)) {
        s = epoch_pass(c, c->run.epoch == start, &stopped, last);
        /* A stop asked during the evaluation or the checkpoint: the
         * epoch's checkpoint is the place to resume from. */
        if (s == CZ_OK && !stopped && !run_done(c) && (s = stop_wanted(c->o, &stopped)) == CZ_OK &&
            stopped)
            note_stop(c, 0, 0);
    }
    return s;
}

cz_status cz_train(cz_net *net, const cz_dataset *train, const cz_dataset *test,
                   const cz_train_opts *o, cz_eval_result *last)
{
    if (o->epochs < 1 || o->batch < 1)
        return cz_fail(CZ_ERR_ARG, "train: epochs %d and batch %d must be positive", o->epochs,
                       o->batch);
    run_ctx c = {.net = net, .train = train, .test = test, .o = o};
    cz_status s = start_schedule(o, train, &c.sched);
    if (s != CZ_OK)
        return s;
    if ((s = cz_optim_init(&c.opt, net, &o->optim)) != CZ_OK)
        return s;
    if (o->stop)
        o->stop->stopped = false;
    c.run.rank = o->dist ? o->dist->rank : 0;
    c.run.ranks = o->dist ? o->dist->size : 1;
    cz_rng_seed(&c.run.shuffle, o->seed ^ 0x5348554646ull); /* "SHUFF" */
    c.order = malloc(sizeof(int) * (size_t)train->count);
    s = c.order ? resume(&c) : cz_fail(CZ_ERR_NOMEM, "train: out of memory");
    memset(last, 0, sizeof *last);
    if (s == CZ_OK && o->log)
        s = cz_train_log_open(&c.log, o->log, CZ_TRAIN_LOG_HEADER, o->resume != NULL,
                              c.run.epoch);
    if (s == CZ_OK && o->dist && o->batch % o->dist->size != 0)
        s = cz_fail(CZ_ERR_ARG, "train: batch %d does not split over %d processes; use a "
                    "multiple of %d", o->batch, o->dist->size, o->dist->size);
    if (o->dist && o->sync_bn)
        cz_dist_sync_bn(o->dist, net);
    if (s == CZ_OK)
        s = epochs(&c, last);
    cz_net_set_sync_stats(net, NULL, NULL);
    cz_train_log_free(&c.log);
    free(c.order);
    cz_optim_free(&c.opt);
    return s;
}
