/* common.c - what several subcommands share: models and datasets. */
#include <stdio.h>

#include "cli/cli.h"
#include "io/pth.h"

cz_net *cz_cli_model(const char *name, uint64_t seed)
{
    cz_net *net = cz_model_create(name, 0, 0, 0, seed);
    if (!net)
        cz_cli_error("%s", cz_last_error());
    return net;
}

cz_net *cz_cli_model_sized(const char *name, int classes, int height, int width)
{
    cz_net *net = cz_model_create(name, classes, height, width, 0);
    if (!net)
        cz_cli_error("%s", cz_last_error());
    return net;
}

int cz_cli_load_weights(cz_net *net, const char *path, bool strict)
{
    if (cz_weights_load(net, path, strict) != CZ_OK) {
        cz_cli_error("%s", cz_last_error());
        return CZ_EXIT_FAIL;
    }
    return CZ_EXIT_OK;
}

int cz_cli_dataset(const cz_net *net, const char *name, bool train, cz_dataset *ds)
{
    int shape[3];
    cz_net_node_shape(net, CZ_INPUT, shape);
    /* IDX images are 28x28: pad them to the model's square input. */
    int pad = (shape[1] - 28) / 2;
    if (shape[0] != 1 || shape[1] != shape[2] || pad < 0 || 28 + 2 * pad != shape[1]) {
        cz_cli_error("--data %s: 1x28x28 images do not fit the model's %dx%dx%d input", name,
                     shape[0], shape[1], shape[2]);
        return CZ_EXIT_USAGE;
    }
    if (cz_dataset_load_idx(name, train, pad, ds) != CZ_OK) {
        cz_cli_error("%s", cz_last_error());
        return CZ_EXIT_FAIL;
    }
    return CZ_EXIT_OK;
}
