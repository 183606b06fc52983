/* common.c - what several subcommands share: models and datasets. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "data/preprocess.h"
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

int cz_cli_transform_input(const char *cmd, const char *model, const char *text, bool *on)
{
    bool capable = cz_has_transform_input(model);
    if (!text) {
        *on = capable;
        return -1;
    }
    if (strcmp(text, "on") != 0 && strcmp(text, "off") != 0) {
        cz_cli_error("%s: --transform-input expects on or off, got '%s'", cmd, text);
        return CZ_EXIT_USAGE;
    }
    *on = strcmp(text, "on") == 0;
    if (*on && !capable) {
        cz_cli_error("%s: --transform-input on: only googlenet and inception_v3 have "
                     "torchvision's transform_input, not %s", cmd, model);
        return CZ_EXIT_USAGE;
    }
    return -1;
}

void cz_cli_shape_text(const cz_net *net, int node, char *buf, size_t size)
{
    int shape[3], ndim = cz_net_node_shape(net, node, shape);
    if (ndim == 3)
        snprintf(buf, size, "%dx%dx%d", shape[0], shape[1], shape[2]);
    else
        snprintf(buf, size, "%d", shape[0]);
}
