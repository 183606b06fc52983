/*
 * train.c - `cnnzoo train MODEL --data NAME`: mini-batch SGD with momentum,
 * weight decay and a step schedule; prints one line per epoch and the final
 * test accuracy, and saves the weights as DIR/MODEL.safetensors.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
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

int cz_cmd_train(int argc, char **argv)
{
    const char *data = NULL, *out_dir = "runs";
    cz_train_opts o = {.epochs = 10, .batch = 64, .lr = 0.02f, .momentum = 0.9f,
                       .weight_decay = 5e-4f, .step_size = 4, .gamma = 0.3f, .seed = 1};
    int threads = 0;
    const cz_opt opts[] = {
        {"data", CZ_OPT_STRING, &data, "NAME", "fashion-mnist, mnist, or a folder of IDX files", 0, 0},
        {"epochs", CZ_OPT_INT, &o.epochs, "N", "passes over the training set", 1, 100000},
        {"batch", CZ_OPT_INT, &o.batch, "B", "samples per step", 1, 65536},
        {"lr", CZ_OPT_FLOAT, &o.lr, "LR", "initial learning rate", 1e-12, 100},
        {"momentum", CZ_OPT_FLOAT, &o.momentum, "M", "SGD momentum", 0, 0.999999},
        {"wd", CZ_OPT_FLOAT, &o.weight_decay, "WD", "L2 weight decay", 0, 1},
        {"step", CZ_OPT_INT, &o.step_size, "S", "multiply the lr by --gamma every S epochs (0: never)", 0, 100000},
        {"gamma", CZ_OPT_FLOAT, &o.gamma, "G", "learning-rate decay factor", 1e-6, 1},
        {"seed", CZ_OPT_SEED, &o.seed, "S", "seed for initialisation and shuffling", 0, 1.8e19},
        {"threads", CZ_OPT_INT, &threads, "T", "threads (0: all cores)", 0, 1024},
        {"out", CZ_OPT_STRING, &out_dir, "DIR", "folder for MODEL.safetensors", 0, 0},
    };
    const cz_cmd cmd = {"train", "MODEL", 1, 1,
                        "Trains MODEL from scratch, evaluating on the test split after each epoch.",
                        opts, (int)(sizeof opts / sizeof opts[0])};
    const char *pos[1];
    int n_pos, rc = cz_args_parse(&cmd, argc, argv, pos, &n_pos);
    if (rc >= 0)
        return rc;
    if (!data) {
        cz_cli_error("train: --data is required (e.g. --data fashion-mnist)");
        return CZ_EXIT_USAGE;
    }
    cz_set_threads(threads);
    cz_net *net = cz_cli_model(pos[0], o.seed);
    if (!net)
        return CZ_EXIT_USAGE;
    cz_dataset train = {0}, test = {0};
    rc = cz_cli_dataset(net, data, true, &train);
    if (rc == CZ_EXIT_OK)
        rc = cz_cli_dataset(net, data, false, &test);
    if (rc == CZ_EXIT_OK && make_dirs(out_dir) != 0)
        rc = CZ_EXIT_FAIL;
    if (rc == CZ_EXIT_OK) {
        printf("training %s on %s: %d images, %d epochs, batch %d, lr %g, %d threads\n", pos[0],
               data, train.count, o.epochs, o.batch, o.lr, cz_get_threads());
        o.out = stdout;
        o.progress = isatty(fileno(stderr));
        cz_eval_result last;
        if (cz_train(net, &train, &test, &o, &last) != CZ_OK) {
            cz_cli_error("%s", cz_last_error());
            rc = CZ_EXIT_FAIL;
        } else {
            char path[1100], acc[32], epochs[16], seed[32];
            snprintf(path, sizeof path, "%s/%s.safetensors", out_dir, pos[0]);
            snprintf(acc, sizeof acc, "%.4f", last.top1);
            snprintf(epochs, sizeof epochs, "%d", o.epochs);
            snprintf(seed, sizeof seed, "%llu", (unsigned long long)o.seed);
            const char *meta[] = {"model", pos[0], "dataset", data, "epochs", epochs,
                                  "seed", seed, "test_top1", acc};
            printf("test accuracy: %.2f%% (%d images)\n", 100 * last.top1, last.count);
            if (cz_safetensors_save(net, path, meta, 5) != CZ_OK) {
                cz_cli_error("%s", cz_last_error());
                rc = CZ_EXIT_FAIL;
            } else {
                printf("saved %s\n", path);
            }
        }
    }
    cz_dataset_free(&train);
    cz_dataset_free(&test);
    cz_net_free(net);
    return rc;
}
