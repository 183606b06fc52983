/*
 * eval.c - `cnnzoo eval MODEL --weights FILE --data DATA`: top-1 and top-5
 * accuracy on the test split, with one centre crop or the ten crops.
 */
#include <stdio.h>

#include "cli/cli.h"
#include "train/train.h"

static int evaluate(const char *model, const char *weights, const char *data, int classes,
                    bool strict, cz_eval_opts *eo)
{
    cz_dataset test = {0};
    cz_data_kind kind;
    int skipped;
    cz_net *net = NULL;
    int rc = cz_cli_dataset(model, data, false, &test, &kind, &skipped);
    if (rc == CZ_EXIT_OK) {
        net = cz_cli_model_sized(model, classes ? classes : test.classes, test.pipe.crop,
                                 test.pipe.crop);
        rc = net ? cz_cli_load_weights(net, weights, strict) : CZ_EXIT_USAGE;
    }
    if (eo->workers < 0)
        eo->workers = cz_cli_default_workers(kind);
    cz_eval_result r;
    if (rc == CZ_EXIT_OK && cz_evaluate(net, &test, eo, &r) != CZ_OK) {
        cz_cli_error("%s", cz_last_error());
        rc = CZ_EXIT_FAIL;
    }
    if (rc == CZ_EXIT_OK) {
        if (skipped + r.skipped)
            printf("skipped %d unreadable image%s (%d empty)%s%s\n", skipped + r.skipped,
                   skipped + r.skipped == 1 ? "" : "s", skipped, r.skipped ? "; the first: " : "",
                   r.first_skipped);
        printf("test accuracy: top-1 %.2f%%, top-5 %.2f%% (%d images%s), loss %.6f\n",
               100 * r.top1, 100 * r.top5, r.count, eo->ten_crop ? ", ten crops" : "", r.loss);
    }
    cz_dataset_free(&test);
    cz_net_free(net);
    return rc;
}

int cz_cmd_eval(int argc, char **argv)
{
    const char *data = NULL, *weights = NULL, *transform = NULL;
    cz_eval_opts eo = {.batch = 64, .workers = -1};
    int threads = 0, classes = 0;
    bool non_strict = false;
    const cz_opt opts[] = {
        {"weights", CZ_OPT_STRING, &weights, "FILE", "the model's weights (.safetensors or .pth)", 0, 0},
        {"data", CZ_OPT_STRING, &data, "DATA", "fashion-mnist, mnist, cifar10:PATH, cifar100:PATH, npy:IMAGES.npy,LABELS.npy, or a folder (IDX files, or images CLASS/IMAGE, or train/ and val/ of those)", 0, 0},
        {"classes", CZ_OPT_INT, &classes, "K", "the weights' class count (default: the dataset's)", 1, 100000},
        {"tencrop", CZ_OPT_FLAG, &eo.ten_crop, NULL, "average the logits of the 4 corner and centre crops and their mirrors", 0, 0},
        {"transform-input", CZ_OPT_STRING, &transform, "on|off", "torchvision's transform_input (default on for googlenet, inception_v3)", 0, 0},
        {"batch", CZ_OPT_INT, &eo.batch, "B", "images per forward pass", 1, 65536},
        {"threads", CZ_OPT_INT, &threads, "T", "threads for the network (0: all cores)", 0, 1024},
        {"workers", CZ_OPT_INT, &eo.workers, "W", "loader threads (default: 1 for in-memory sets, the core count for folders)", 0, 256},
        {"non-strict", CZ_OPT_FLAG, &non_strict, NULL, "ignore missing and unexpected keys", 0, 0},
    };
    const cz_cmd cmd = {"eval", "MODEL", 1, 1,
                        "Evaluates MODEL with saved weights on the dataset's test split (val/ of an image folder, or the whole folder).",
                        opts, (int)(sizeof opts / sizeof opts[0])};
    const char *pos[1];
    int n_pos, rc = cz_args_parse(&cmd, argc, argv, pos, &n_pos);
    if (rc >= 0)
        return rc;
    if (!weights || !data) {
        cz_cli_error("eval: --weights and --data are required");
        return CZ_EXIT_USAGE;
    }
    rc = cz_cli_transform_input("eval", pos[0], transform, &eo.transform_input);
    if (rc >= 0)
        return rc;
    cz_set_threads(threads);
    return evaluate(pos[0], weights, data, classes, !non_strict, &eo);
}
