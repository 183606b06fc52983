/* eval.c - `cnnzoo eval MODEL --weights FILE --data NAME`: test accuracy. */
#include <stdio.h>

#include "cli/cli.h"
#include "train/train.h"

int cz_cmd_eval(int argc, char **argv)
{
    const char *data = NULL, *weights = NULL;
    int batch = 1000, threads = 0;
    bool non_strict = false;
    const cz_opt opts[] = {
        {"weights", CZ_OPT_STRING, &weights, "FILE", "the model's weights (.safetensors or .pth)", 0, 0},
        {"data", CZ_OPT_STRING, &data, "NAME", "fashion-mnist, mnist, or a folder of IDX files", 0, 0},
        {"batch", CZ_OPT_INT, &batch, "B", "samples per forward pass", 1, 65536},
        {"threads", CZ_OPT_INT, &threads, "T", "threads (0: all cores)", 0, 1024},
        {"non-strict", CZ_OPT_FLAG, &non_strict, NULL, "ignore missing and unexpected keys", 0, 0},
    };
    const cz_cmd cmd = {"eval", "MODEL", 1, 1,
                        "Evaluates MODEL with saved weights on the dataset's test split.", opts,
                        (int)(sizeof opts / sizeof opts[0])};
    const char *pos[1];
    int n_pos, rc = cz_args_parse(&cmd, argc, argv, pos, &n_pos);
    if (rc >= 0)
        return rc;
    if (!weights || !data) {
        cz_cli_error("eval: --weights and --data are required");
        return CZ_EXIT_USAGE;
    }
    cz_set_threads(threads);
    cz_net *net = cz_cli_model(pos[0], 0);
    if (!net)
        return CZ_EXIT_USAGE;
    cz_dataset test = {0};
    rc = cz_cli_load_weights(net, weights, !non_strict);
    if (rc == CZ_EXIT_OK)
        rc = cz_cli_dataset(net, data, false, &test);
    cz_eval_result r;
    if (rc == CZ_EXIT_OK && cz_evaluate(net, &test, batch, &r) != CZ_OK) {
        cz_cli_error("%s", cz_last_error());
        rc = CZ_EXIT_FAIL;
    }
    if (rc == CZ_EXIT_OK)
        printf("test accuracy: %.2f%% (%d images), loss %.4f\n", 100 * r.top1, r.count, r.loss);
    cz_dataset_free(&test);
    cz_net_free(net);
    return rc;
}
