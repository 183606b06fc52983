/*
 * train.c - `cnnzoo train MODEL --data DATA`: mini-batch SGD with momentum,
 * weight decay and a step schedule, with the survey's augmentations;
 * prints one line per epoch and the final test accuracy, and saves the
 * weights as DIR/MODEL.safetensors. Ctrl-C or SIGTERM stops the run after
 * the step in progress with a checkpoint and the command that resumes it.
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/recipe.h"
#include "models/init.h"
#include "train/train.h"

/* mkdir -p */
static int make_dirs(const char *path)
{
    char buf[1024];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        cz_cli_error("--out: path too long");
        return -1;
    }
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
                cz_cli_error("--out %s: cannot create %s: %s", path, buf, strerror(errno));
                return -1;
            }
            *p = c;
            if (!c)
                return 0;
        }
    }
}

typedef struct augment_args {
    const char *mode; /* --augment */
    float jitter, lighting;
} augment_args;

static bool is_alexnet_like(const char *model)
{
    return strncmp(model, "alexnet", 7) == 0 || strcmp(model, "zfnet") == 0;
}

/* --augment auto picks each dataset's usual recipe: none for the IDX
 * digits, the pad-4 crop and flip for CIFAR, and for image folders
 * AlexNet's random 224 crop of the 256 image with PCA lighting (AlexNet,
 * ZFNet) or Inception's RandomResizedCrop (everything after). */
static int pick_augment(const augment_args *a, const char *model, cz_data_kind kind,
                        cz_augment *out)
{
    static const struct {
        const char *name;
        cz_crop_mode crop;
    } modes[] = {{"none", CZ_CROP_CENTER},
                 {"resized-crop", CZ_CROP_RANDOM_RESIZED},
                 {"random-crop", CZ_CROP_RANDOM},
                 {"pad-crop", CZ_CROP_PAD_RANDOM}};
    float lighting = a->lighting;
    if (strcmp(a->mode, "auto") == 0) {
        cz_crop_mode crop = kind == CZ_DATA_IDX || kind == CZ_DATA_NPY ? CZ_CROP_CENTER
                            : kind == CZ_DATA_CIFAR ? CZ_CROP_PAD_RANDOM
                            : is_alexnet_like(model) ? CZ_CROP_RANDOM
                                                    : CZ_CROP_RANDOM_RESIZED;
        if (crop == CZ_CROP_RANDOM && lighting < 0)
            lighting = 0.1f;
        *out = cz_augment_default(crop);
    } else {
        size_t k = 0, n = sizeof modes / sizeof modes[0];
        while (k < n && strcmp(a->mode, modes[k].name) != 0)
            k++;
        if (k == n) {
            cz_cli_error("train: --augment expects auto, none, resized-crop, random-crop or "
                         "pad-crop, got '%s'", a->mode);
            return CZ_EXIT_USAGE;
        }
        *out = cz_augment_default(modes[k].crop);
    }
    out->brightness = out->contrast = out->saturation = a->jitter;
    out->lighting = lighting > 0 ? lighting : 0;
    return CZ_EXIT_OK;
}

static const char *crop_name(cz_crop_mode crop)
{
    switch (crop) {
    case CZ_CROP_RANDOM_RESIZED: return "RandomResizedCrop";
    case CZ_CROP_RANDOM: return "random crop of the resized image";
    case CZ_CROP_PAD_RANDOM: return "pad-4 random crop";
    default: return "none";
    }
}

/* Builds MODEL for `classes` (0: the dataset's; for arrays, the model's)
 * and the dataset's sample size. */
static cz_net *model_for(const char *model, const cz_dataset *ds, cz_data_kind kind, int classes,
                         uint64_t seed)
{
    if (!classes)
        classes = kind == CZ_DATA_NPY ? cz_model_find(model)->classes : ds->classes;
    if (ds->classes > classes) {
        cz_cli_error("%s has labels up to %d, but %s is built for %d classes (--classes)",
                     ds->source, ds->classes - 1, model, classes);
        return NULL;
    }
    cz_net *net = cz_model_create(model, classes, ds->pipe.crop, ds->pipe.crop, seed);
    if (!net) {
        cz_cli_error("%s", cz_last_error());
        return NULL;
    }
    int shape[3];
    cz_net_node_shape(net, CZ_INPUT, shape);
    if (shape[0] != ds->pipe.channels) {
        cz_cli_error("%s takes %d-channel images, but %s gives %d", model, shape[0], ds->source,
                     ds->pipe.channels);
        cz_net_free(net);
        return NULL;
    }
    return net;
}

/* Paths and names a run reads and writes besides its data. */
typedef struct run_files {
    int argc; /* the command line, for the resume command */
    char **argv;
    const char *out_dir, *log, *weights, *checkpoint, *save, *init;
    float bn_momentum; /* < 0: the model's own */
    const char *optim_name, *schedule; /* as given, for the header line */
    bool follower; /* an MPI rank other than 0: no output, files or log */
    int classes;
    char checkpoint_buf[1100];
} run_files;

static int net_classes(const cz_net *net)
{
    int shape[3];
    cz_net_node_shape(net, cz_net_output(net), shape);
    return shape[0];
}

/* --init paper: the AlexNet paper's initialisation. */
static int paper_init(cz_net *net, const char *model, const char *init, uint64_t seed)
{
    if (strcmp(init, "paper") != 0) {
        cz_cli_error("train: --init expects default or paper, got '%s'", init);
        return CZ_EXIT_USAGE;
    }
    if (cz_init_paper(net, model, seed) != CZ_OK) {
        cz_cli_error("train: --init paper: %s", cz_last_error());
        return CZ_EXIT_USAGE;
    }
    return CZ_EXIT_OK;
}

/* The final weights: --save FILE, or DIR/MODEL.safetensors. */
static int save(cz_net *net, const run_files *rf, const char *model, const char *data,
                const cz_train_opts *o, const cz_eval_result *last)
{
    char path[1100], acc[32], epochs[16], seed[32];
    if (rf->save)
        snprintf(path, sizeof path, "%s", rf->save);
    else
        snprintf(path, sizeof path, "%s/%s.safetensors", rf->out_dir, model);
    snprintf(acc, sizeof acc, "%.4f", last->top1);
    snprintf(epochs, sizeof epochs, "%d", o->epochs);
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)o->seed);
    const char *meta[] = {"model", model, "dataset", data, "epochs", epochs, "seed", seed,
                          "test_top1", acc};
    if (cz_safetensors_save(net, path, meta, 5) != CZ_OK) {
        cz_cli_error("%s", cz_last_error());
        return CZ_EXIT_FAIL;
    }
    printf("saved %s\n", path);
    return CZ_EXIT_OK;
}

/* ------------------------------------------------------------ stopping */

/* The signal that asked the run to stop (0: none). The handler only sets
 * it; the trainer reads it after every step, outside the handler, where
 * writing a checkpoint is safe. An atomic rather than a volatile
 * sig_atomic_t: the signal may land on any thread (a loader's, OpenMP's)
 * and the loop reads it on another; a lock-free atomic is both
 * async-signal-safe and visible across threads. */
static atomic_int stop_signal;

static void on_stop_signal(int sig)
{
    stop_signal = sig;
}

static const int stop_signals[2] = {SIGINT, SIGTERM};

/* Catches SIGINT and SIGTERM while the run trains. SA_RESETHAND gives a
 * signal its default action back once caught, so the same signal again
 * ends the process at once (the previous checkpoint stays whole: it is
 * only ever replaced by a rename); SA_RESTART keeps the loader's reads
 * from failing with EINTR. A signal that was ignored when cnnzoo started
 * (a background command of a shell without job control, nohup-like
 * launchers) stays ignored, as whoever started us asked. */
static void catch_stop_signals(struct sigaction old[2])
{
    for (int i = 0; i < 2; i++) {
        sigaction(stop_signals[i], NULL, &old[i]);
        if (!(old[i].sa_flags & SA_SIGINFO) && old[i].sa_handler == SIG_IGN)
            continue;
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_stop_signal;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESETHAND | SA_RESTART;
        sigaction(stop_signals[i], &sa, NULL);
    }
}

static void restore_signals(const struct sigaction old[2])
{
    for (int i = 0; i < 2; i++)
        sigaction(stop_signals[i], &old[i], NULL);
}

/* arg as a shell reads it back: bare when made of harmless characters,
 * else in single quotes. */
static void put_quoted(FILE *f, const char *arg)
{
    static const char plain[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                "0123456789-_./:=,+@%";
    if (*arg && strspn(arg, plain) == strlen(arg)) {
        fputs(arg, f);
        return;
    }
    fputc('\'', f);
    for (const char *p = arg; *p; p++) {
        if (*p == '\'')
            fputs("'\\''", f); /* close, an escaped quote, reopen */
        else
            fputc(*p, f);
    }
    fputc('\'', f);
}

/* The command that continues the run: this one, with --resume CHECKPOINT
 * in place of any --resume it had. */
static void print_resume_command(const run_files *rf, const cz_dist *dist)
{
    fputs("cnnzoo: to continue exactly where it stopped: ", stderr);
    if (dist && dist->size > 1)
        fprintf(stderr, "mpirun -np %d ", dist->size);
    fputs("cnnzoo", stderr);
    for (int i = 0; i < rf->argc; i++) {
        if (strcmp(rf->argv[i], "--resume") == 0) {
            i++;
            continue;
        }
        if (strncmp(rf->argv[i], "--resume=", 9) == 0)
            continue;
        fputc(' ', stderr);
        put_quoted(stderr, rf->argv[i]);
    }
    fputs(" --resume ", stderr);
    put_quoted(stderr, rf->checkpoint);
    fputc('\n', stderr);
}

/* A run a signal stopped: where, which checkpoint holds it, and the
 * command that resumes it (rank 0 says it for all). Returns 128 + the
 * signal (130 for Ctrl-C, 143 for SIGTERM), the status a shell gives a
 * command that signal ended, which scripts and job schedulers test for:
 * the run did not finish (no final weights), so not 0, and it is not a
 * failure (1) either, since the checkpoint resumes it exactly. A rank that
 * stopped because another was signalled reports SIGTERM's status. */
static int report_stop(const run_files *rf, const cz_train_opts *o, const cz_train_stop *st)
{
    int sig = stop_signal ? stop_signal : SIGTERM;
    if (rf->follower)
        return 128 + sig;
    fflush(stdout);
    const char *name = stop_signal == SIGINT    ? "SIGINT (Ctrl-C)"
                       : stop_signal == SIGTERM ? "SIGTERM"
                                                : "a signal to another process";
    if (st->step_in_epoch > 0)
        fprintf(stderr, "cnnzoo: stopped by %s after step %ld (step %d of epoch %d); %s holds "
                "the run so far\n", name, st->step, st->step_in_epoch, st->epoch, rf->checkpoint);
    else
        fprintf(stderr, "cnnzoo: stopped by %s after epoch %d (step %ld); %s holds the run so "
                "far\n", name, st->epoch, st->step, rf->checkpoint);
    print_resume_command(rf, o->dist);
    return 128 + sig;
}

/* cz_train with SIGINT and SIGTERM caught; 0 ok, 1 failed, or 128 + the
 * signal that stopped it. */
static int train_stoppable(cz_net *net, const cz_dataset *train, const cz_dataset *test,
                           const run_files *rf, cz_train_opts *o, cz_eval_result *last)
{
    cz_train_stop stop = {.flag = &stop_signal,
                          .hint = "; the same signal again (Ctrl-C) quits at once, keeping the "
                                  "previous checkpoint"};
    o->stop = &stop;
    struct sigaction old[2];
    catch_stop_signals(old);
    cz_status s = cz_train(net, train, test, o, last);
    restore_signals(old);
    o->stop = NULL;
    if (s != CZ_OK) {
        cz_cli_error("%s", cz_last_error());
        return CZ_EXIT_FAIL;
    }
    return stop.stopped ? report_stop(rf, o, &stop) : CZ_EXIT_OK;
}

static int run(const char *model, const char *data, run_files *rf, cz_train_opts *o,
               const augment_args *aa)
{
    const char *out_dir = rf->out_dir;
    cz_dataset train = {0}, test = {0};
    cz_data_kind kind;
    int skipped = 0, test_skipped = 0;
    cz_net *net = NULL;
    int rc = cz_cli_dataset(model, data, true, &train, &kind, &skipped);
    bool has_test = rc == CZ_EXIT_OK && cz_cli_has_test_split(data, kind);
    if (rc == CZ_EXIT_OK && has_test)
        rc = cz_cli_dataset(model, data, false, &test, &kind, &test_skipped);
    if (rc == CZ_EXIT_OK)
        rc = pick_augment(aa, model, kind, &train.aug);
    if (rc == CZ_EXIT_OK && o->workers < 0)
        o->workers = cz_cli_default_workers(kind);
    if (rc == CZ_EXIT_OK && !(net = model_for(model, &train, kind, rf->classes, o->seed)))
        rc = CZ_EXIT_USAGE;
    if (rc == CZ_EXIT_OK && rf->bn_momentum >= 0)
        cz_net_set_bn_momentum(net, rf->bn_momentum);
    if (rc == CZ_EXIT_OK && rf->init && strcmp(rf->init, "default") != 0)
        rc = paper_init(net, model, rf->init, o->seed);
    if (rc == CZ_EXIT_OK && rf->weights)
        rc = cz_cli_load_weights(net, rf->weights, true);
    if (rc == CZ_EXIT_OK && make_dirs(out_dir) != 0)
        rc = CZ_EXIT_FAIL;
    /* A resumed run continues the log the first run began (train_log.h). */
    o->log = rf->follower ? NULL : rf->log;
    if (rc == CZ_EXIT_OK) {
        char length[48];
        if (o->max_steps)
            snprintf(length, sizeof length, "%d steps", o->max_steps);
        else
            snprintf(length, sizeof length, "%d epochs", o->epochs);
        printf("training %s on %s: %d images, %d classes, %dx%d, augmentation %s%s; %s, "
               "batch %d, lr %g, %d threads, %d loader threads\n",
               model, data, train.count, net_classes(net), train.pipe.crop, train.pipe.crop,
               crop_name(train.aug.crop), train.aug.flip ? " + flip" : "", length, o->batch,
               o->optim.lr, cz_get_threads(), o->workers);
        printf("%s lr %g momentum %g weight decay %g%s, schedule %s, label smoothing %g, "
               "aux weight %g, init %s",
               rf->optim_name, o->optim.lr, o->optim.momentum, o->optim.weight_decay,
               o->optim.nesterov ? " nesterov" : "", rf->schedule, o->label_smoothing,
               o->aux_weight, rf->init ? rf->init : "default");
        if (rf->bn_momentum >= 0)
            printf(", BN momentum %g", rf->bn_momentum);
        printf("%s\n", o->sync_bn && o->dist ? ", BN synced over processes" : "");
        if (skipped + test_skipped)
            printf("left out %d empty file%s\n", skipped + test_skipped,
                   skipped + test_skipped == 1 ? "" : "s");
        if (!has_test && kind == CZ_DATA_FOLDER)
            printf("no test split (%s has no train/ and val/ folders)\n", data);
        fflush(stdout); /* before any error on stderr */
        o->out = stdout;
        o->progress = isatty(fileno(stderr));
        if (!rf->checkpoint) {
            snprintf(rf->checkpoint_buf, sizeof rf->checkpoint_buf, "%s/%s.ckpt.safetensors",
                     out_dir, model);
            rf->checkpoint = rf->checkpoint_buf;
        }
        char seed[32];
        snprintf(seed, sizeof seed, "%llu", (unsigned long long)o->seed);
        const char *meta[] = {"model", model, "dataset", data, "seed", seed};
        o->checkpoint = rf->follower ? NULL : rf->checkpoint;
        o->meta = meta;
        o->n_meta = 3;
        cz_eval_result last;
        rc = train_stoppable(net, &train, has_test ? &test : NULL, rf, o, &last);
        if (rc == CZ_EXIT_OK) {
            if (has_test)
                printf("test accuracy: top-1 %.2f%%, top-5 %.2f%% (%d images)\n",
                       100 * last.top1, 100 * last.top5, last.count);
            rc = rf->follower ? CZ_EXIT_OK : save(net, rf, model, data, o, &last);
        }
    }
    cz_dataset_free(&train);
    cz_dataset_free(&test);
    cz_net_free(net);
    return rc;
}

/* What --optim and its companions name, into o->optim. */
typedef struct optim_args {
    const char *kind, *schedule;
    float lr, momentum, weight_decay, eps;
    bool nesterov, exempt;
} optim_args;

static int pick_optim(const optim_args *a, cz_train_opts *o)
{
    static const struct {
        const char *name;
        cz_optim_kind kind;
        bool tf;
    } kinds[] = {{"sgd", CZ_OPTIM_SGD, false},
                 {"adamw", CZ_OPTIM_ADAMW, false},
                 {"rmsprop", CZ_OPTIM_RMSPROP, false},
                 {"rmsprop-tf", CZ_OPTIM_RMSPROP, true}};
    size_t k = 0, n = sizeof kinds / sizeof kinds[0];
    while (k < n && strcmp(a->kind, kinds[k].name) != 0)
        k++;
    if (k == n) {
        cz_cli_error("train: --optim expects sgd, adamw, rmsprop or rmsprop-tf, got '%s'",
                     a->kind);
        return CZ_EXIT_USAGE;
    }
    o->optim = cz_optim_defaults(kinds[k].kind);
    o->optim.lr = a->lr;
    o->optim.weight_decay = a->weight_decay;
    o->optim.decay_exempt_1d = a->exempt;
    o->optim.nesterov = a->nesterov;
    if (kinds[k].kind != CZ_OPTIM_ADAMW)
        o->optim.momentum = a->momentum;
    if (kinds[k].tf) { /* TensorFlow's RMSprop as EfficientNet and MobileNet ran it */
        o->optim.tf_style = true;
        o->optim.alpha = 0.9f;
        o->optim.eps = 1e-3f;
    }
    if (a->eps > 0)
        o->optim.eps = a->eps;
    if (cz_schedule_parse(a->schedule, a->lr, o->epochs, &o->schedule) != CZ_OK) {
        cz_cli_error("train: --schedule: %s", cz_last_error());
        return CZ_EXIT_USAGE;
    }
    return CZ_EXIT_OK;
}

/* torchvision's reference recipes weight the auxiliary losses 0.3
 * (GoogLeNet, each) and 0.4 (Inception-v3). */
static float default_aux_weight(const char *model)
{
    return strcmp(model, "googlenet") == 0 ? 0.3f : strcmp(model, "inception_v3") == 0 ? 0.4f : 0;
}

static int train_ranks(const char *model, const char *data, run_files *rf, cz_train_opts *o,
                       const augment_args *aa);

/* --recipe NAME, looked for before the options are parsed, so that
 * explicit options override what the recipe sets. -1, or an exit code. */
static int apply_recipe(int argc, char **argv, cz_train_opts *o, optim_args *oa,
                        augment_args *aa, run_files *rf)
{
    const char *name = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--recipe") == 0 && i + 1 < argc)
            name = argv[i + 1];
        else if (strncmp(argv[i], "--recipe=", 9) == 0)
            name = argv[i] + 9;
    }
    if (!name)
        return -1;
    const cz_recipe *r = cz_recipe_find(name);
    if (!r) {
        cz_cli_error("train: --recipe expects %s, got '%s'", cz_recipe_names(), name);
        return CZ_EXIT_USAGE;
    }
    o->batch = r->batch;
    o->epochs = r->epochs;
    o->label_smoothing = r->label_smoothing;
    o->aux_weight = r->aux_weight;
    *oa = (optim_args){.kind = r->optim, .schedule = r->schedule, .lr = r->lr,
                       .momentum = r->momentum, .weight_decay = r->weight_decay, .eps = r->eps};
    *aa = (augment_args){r->augment, r->jitter, r->lighting};
    rf->init = r->paper_init ? "paper" : "default";
    if (r->bn_momentum > 0)
        rf->bn_momentum = r->bn_momentum;
    return -1;
}

/* Ends the process by sig, now that the checkpoint is written and
 * everything is freed (MPI finalised too). A shell looks at how a child
 * ended, not at its status, to decide whether Ctrl-C was meant for the
 * whole script or loop: one that exits 130 on its own is taken to have
 * handled it, and the loop goes on. Dying by the signal stops it, as any
 * program Ctrl-C ends would; the status the shell shows is 128 + sig. */
static void end_by_signal(int sig)
{
    fflush(stdout);
    fflush(stderr);
    signal(sig, SIG_DFL);
    raise(sig);
}

int cz_cmd_train(int argc, char **argv)
{
    const char *data = NULL;
    cz_train_opts o = {.epochs = 0, .batch = 64, .seed = 1, .workers = -1, .aux_weight = -1};
    optim_args oa = {.kind = "sgd", .schedule = "constant", .lr = 0.02f, .momentum = 0.9f,
                     .weight_decay = 5e-4f};
    augment_args aa = {"auto", 0, -1};
    run_files rf = {.out_dir = "runs", .bn_momentum = -1};
    const char *recipe = NULL;
    int threads = 0;
    int rc = apply_recipe(argc, argv, &o, &oa, &aa, &rf);
    if (rc >= 0)
        return rc;
    const cz_opt opts[] = {
        {"data", CZ_OPT_STRING, &data, "DATA", "fashion-mnist, mnist, cifar10:PATH, cifar100:PATH, npy:IMAGES.npy,LABELS.npy, or a folder (IDX files, or images CLASS/IMAGE, or train/ and val/ of those)", 0, 0},
        {"epochs", CZ_OPT_INT, &o.epochs, "N", "passes over the training set (default 10, or as many as --steps takes)", 1, 1000000},
        {"batch", CZ_OPT_INT, &o.batch, "B", "samples per step", 1, 65536},
        {"recipe", CZ_OPT_STRING, &recipe, "NAME", "a paper's settings, which the options below override: alexnet, vgg, googlenet, resnet, inception_v3, mobilenet, efficientnet (see README)", 0, 0},
        {"init", CZ_OPT_STRING, &rf.init, "default|paper", "torchvision's initialisation, or the AlexNet paper's (alexnet, alexnet_paper, zfnet)", 0, 0},
        {"optim", CZ_OPT_STRING, &oa.kind, "NAME", "sgd, adamw, rmsprop, or rmsprop-tf (TensorFlow's: eps 1e-3 inside the root, alpha 0.9)", 0, 0},
        {"lr", CZ_OPT_FLOAT, &oa.lr, "LR", "initial learning rate", 1e-12, 100},
        {"momentum", CZ_OPT_FLOAT, &oa.momentum, "M", "momentum (SGD, RMSprop)", 0, 0.999999},
        {"nesterov", CZ_OPT_FLAG, &oa.nesterov, NULL, "Nesterov momentum (SGD)", 0, 0},
        {"eps", CZ_OPT_FLOAT, &oa.eps, "E", "the optimizer's epsilon (default: its own)", 0, 10},
        {"wd", CZ_OPT_FLOAT, &oa.weight_decay, "WD", "weight decay (decoupled for AdamW)", 0, 1},
        {"bn-momentum", CZ_OPT_FLOAT, &rf.bn_momentum, "M", "BatchNorm momentum, PyTorch's convention: the new batch's weight in the running statistics (default: the model's, 0.1; TensorFlow's 0.99 is 0.01)", 0, 1},
        {"no-decay-1d", CZ_OPT_FLAG, &oa.exempt, NULL, "no weight decay on BatchNorm weights and biases", 0, 0},
        {"schedule", CZ_OPT_STRING, &oa.schedule, "SPEC", "constant, step:S[:G], multistep:M1,M2[:G], plateau[:F[:P]], cosine[:WARMUP], exp:G[:EPOCHS]", 0, 0},
        {"label-smoothing", CZ_OPT_FLOAT, &o.label_smoothing, "E", "label smoothing of the cross-entropy", 0, 0.999},
        {"aux-weight", CZ_OPT_FLOAT, &o.aux_weight, "W", "weight of each auxiliary classifier's loss (default: 0.3 googlenet, 0.4 inception_v3)", 0, 10},
        {"augment", CZ_OPT_STRING, &aa.mode, "MODE", "auto, none, resized-crop, random-crop (224 of 256) or pad-crop (CIFAR); all but none flip too", 0, 0},
        {"jitter", CZ_OPT_FLOAT, &aa.jitter, "J", "colour jitter: brightness, contrast, saturation factors in [1-J, 1+J]", 0, 1},
        {"lighting", CZ_OPT_FLOAT, &aa.lighting, "S", "AlexNet's PCA lighting noise std (auto: 0.1 with random-crop)", 0, 10},
        {"seed", CZ_OPT_SEED, &o.seed, "S", "seed for initialisation, shuffling and augmentation", 0, 1.8e19},
        {"threads", CZ_OPT_INT, &threads, "T", "threads for the network (0: all cores)", 0, 1024},
        {"workers", CZ_OPT_INT, &o.workers, "W", "loader threads decoding and augmenting (default: 1 for in-memory sets, the core count for folders)", 0, 256},
        {"out", CZ_OPT_STRING, &rf.out_dir, "DIR", "folder for MODEL.safetensors and MODEL.ckpt.safetensors", 0, 0},
        {"log", CZ_OPT_STRING, &rf.log, "FILE", "a CSV line per epoch (for cnnzoo plot), the file rewritten atomically each time (a FIFO or /dev/stdout: written as a stream)", 0, 0},
        {"weights", CZ_OPT_STRING, &rf.weights, "FILE", "start from these weights (.pth or .safetensors) instead of the initialisation", 0, 0},
        {"checkpoint", CZ_OPT_STRING, &rf.checkpoint, "FILE", "written atomically after every epoch, and when Ctrl-C or SIGTERM stops the run after a step (default: DIR/MODEL.ckpt.safetensors)", 0, 0},
        {"resume", CZ_OPT_STRING, &o.resume, "FILE", "continue the run a checkpoint stopped, at an epoch's end or inside one, exactly", 0, 0},
        {"save", CZ_OPT_STRING, &rf.save, "FILE", "write the final weights here (default: DIR/MODEL.safetensors)", 0, 0},
        {"classes", CZ_OPT_INT, &rf.classes, "K", "build the model for K classes (default: the dataset's; for arrays, the model's)", 1, 100000},
        {"steps", CZ_OPT_INT, &o.max_steps, "K", "stop after K optimizer steps", 1, 2e9},
        {"no-shuffle", CZ_OPT_FLAG, &o.no_shuffle, NULL, "take the batches in the data's order", 0, 0},
        {"sync-bn", CZ_OPT_FLAG, &o.sync_bn, NULL, "under mpirun, BatchNorm normalises with the whole batch's statistics, not each process's (PyTorch's SyncBatchNorm)", 0, 0},
    };
    const cz_cmd cmd = {"train", "MODEL", 1, 1,
                        "Trains MODEL from scratch, evaluating on the test split after each epoch. "
                        "Ctrl-C (or SIGTERM) stops it after the step in progress with a checkpoint "
                        "and prints the command that resumes it; a second Ctrl-C quits at once.",
                        opts, (int)(sizeof opts / sizeof opts[0])};
    const char *pos[1];
    int n_pos;
    rc = cz_args_parse(&cmd, argc, argv, pos, &n_pos);
    (void)recipe; /* applied by apply_recipe */
    if (rc >= 0)
        return rc;
    if (!data) {
        cz_cli_error("train: --data is required (e.g. --data fashion-mnist)");
        return CZ_EXIT_USAGE;
    }
    cz_set_threads(threads);
    if (!o.epochs)
        o.epochs = o.max_steps ? 1000000 : 10;
    if ((rc = pick_optim(&oa, &o)) != CZ_EXIT_OK)
        return rc;
    rf.optim_name = oa.kind;
    rf.schedule = oa.schedule;
    if (o.aux_weight < 0)
        o.aux_weight = default_aux_weight(pos[0]);
    rf.argc = argc;
    rf.argv = argv;
    rc = train_ranks(pos[0], data, &rf, &o, &aa);
    if (rc > 128 && stop_signal)
        end_by_signal(stop_signal);
    return rc;
}

/* Under mpirun every process trains its share of each batch; rank 0
 * alone prints, logs and writes files. */
static int train_ranks(const char *model, const char *data, run_files *rf, cz_train_opts *o,
                       const augment_args *aa)
{
    cz_dist dist;
    if (cz_dist_init(NULL, NULL, &dist) != CZ_OK) {
        cz_cli_error("%s", cz_last_error());
        return CZ_EXIT_FAIL;
    }
    rf->follower = dist.rank != 0;
    if (rf->follower && !freopen("/dev/null", "w", stdout))
        return CZ_EXIT_FAIL;
    if (dist.size > 1) {
        o->dist = &dist;
        printf("data-parallel over %d processes: %d samples each per step\n", dist.size,
               o->batch / dist.size);
    }
    int rc = run(model, data, rf, o, aa);
    cz_dist_finalize(&dist);
    return rc;
}
