/*
 * forward.c - `cnnzoo forward MODEL --weights FILE --input x.npy --output
 * y.npy`: runs a batch (N, C, H, W float32 .npy, prepared anywhere) through
 * the bare network and writes its output as .npy. Eval mode unless
 * --train (batch statistics, dropout), which writes the main output.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "io/npy.h"

/* The batch must be float32 (N, C, H, W) with the model's C: anything
 * else is more likely a wrong file than something to convert silently. */
static cz_status read_batch(const char *path, const cz_model_info *info, cz_tensor *x)
{
    cz_npy_array a;
    cz_status s = cz_npy_read(path, CZ_NPY_F32, &a);
    if (s != CZ_OK)
        return s;
    if (a.file_dtype != CZ_NPY_F32)
        s = cz_fail(CZ_ERR_FORMAT, "%s: dtype %s, expected float32 ('<f4')", path,
                    cz_npy_dtype_name(a.file_dtype));
    else if (a.ndim != 4 || a.shape[1] != info->channels || a.shape[0] > INT32_MAX ||
             a.shape[2] > INT32_MAX || a.shape[3] > INT32_MAX)
        s = cz_fail(CZ_ERR_SHAPE, "%s: array of %d dims (shape[1] = %lld), expected (N, %d, H, W) "
                    "for %s", path, a.ndim, a.ndim > 1 ? (long long)a.shape[1] : -1LL,
                    info->channels, info->name);
    if (s == CZ_OK) {
        int shape[4] = {(int)a.shape[0], (int)a.shape[1], (int)a.shape[2], (int)a.shape[3]};
        s = cz_tensor_alloc(x, 4, shape);
        if (s == CZ_OK)
            memcpy(x->data, a.data, a.numel * sizeof(float));
    }
    cz_npy_free(&a);
    return s;
}

int cz_cmd_forward(int argc, char **argv)
{
    const char *weights = NULL, *input = NULL, *output = NULL;
    int classes = 0, threads = 0;
    bool train = false, non_strict = false;
    const cz_opt opts[] = {
        {"weights", CZ_OPT_STRING, &weights, "FILE", ".pth or .safetensors weights", 0, 0},
        {"input", CZ_OPT_STRING, &input, "X.npy", "input batch (N, C, H, W) float32", 0, 0},
        {"output", CZ_OPT_STRING, &output, "Y.npy", "where to write the output", 0, 0},
        {"classes", CZ_OPT_INT, &classes, "N", "output classes (0: the model's default)", 0, 1e6},
        {"train", CZ_OPT_FLAG, &train, NULL, "training-mode forward (batch statistics)", 0, 0},
        {"non-strict", CZ_OPT_FLAG, &non_strict, NULL, "ignore missing and unexpected keys", 0, 0},
        {"threads", CZ_OPT_INT, &threads, "T", "threads (0: all cores)", 0, 1024},
    };
    const cz_cmd cmd = {"forward", "MODEL", 1, 1,
                        "Runs MODEL with its weights on an .npy batch and writes the output.",
                        opts, (int)(sizeof opts / sizeof opts[0])};
    const char *pos[1];
    int n_pos, rc = cz_args_parse(&cmd, argc, argv, pos, &n_pos);
    if (rc >= 0)
        return rc;
    if (!weights || !input || !output) {
        cz_cli_error("forward: --weights, --input and --output are required");
        return CZ_EXIT_USAGE;
    }
    const cz_model_info *info = cz_model_find(pos[0]);
    if (!info) {
        cz_cli_error("unknown model '%s' (`cnnzoo list` shows them all)", pos[0]);
        return CZ_EXIT_USAGE;
    }
    cz_set_threads(threads);
    cz_tensor x = {0};
    if (read_batch(input, info, &x) != CZ_OK) {
        cz_cli_error("%s", cz_last_error());
        return CZ_EXIT_FAIL;
    }
    cz_net *net = cz_cli_model_sized(pos[0], classes, x.shape[2], x.shape[3]);
    rc = net ? cz_cli_load_weights(net, weights, !non_strict) : CZ_EXIT_FAIL;
    const cz_tensor *y = NULL;
    if (rc == CZ_EXIT_OK) {
        cz_net_set_training(net, train);
        cz_net_set_fusion(net, true); /* the same outputs: see cz_net_set_fusion */
        if (cz_net_forward(net, &x, &y) != CZ_OK || cz_npy_write_tensor(output, y) != CZ_OK) {
            cz_cli_error("%s", cz_last_error());
            rc = CZ_EXIT_FAIL;
        }
    }
    if (rc == CZ_EXIT_OK) {
        char shape[64];
        printf("wrote %s %s\n", output, cz_shape_str(y, shape, sizeof shape));
    }
    cz_net_free(net);
    cz_tensor_free(&x);
    return rc;
}
