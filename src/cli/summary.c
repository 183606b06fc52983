/*
 * summary.c - `cnnzoo summary MODEL [--input CxHxW] [--classes N] [--json]`:
 * every layer with its op, output shape, parameters and MACs, then the
 * totals, as torchinfo prints them. Auxiliary (training-only) layers are
 * marked and left out of the MAC total, which counts inference.
 */
#include <stdio.h>

#include "cli/cli.h"

static void print_table(const cz_net *net, const char *model)
{
    printf("%-40s %-18s %-14s %12s %14s\n", "layer", "op", "output", "params", "MACs");
    for (int i = 0; i < cz_net_node_count(net); i++) {
        char shape[48];
        cz_cli_shape_text(net, i, shape, sizeof shape);
        printf("%-40s %-18s %-14s %12lld %14lld%s\n", cz_net_node_name(net, i),
               cz_net_node_op(net, i), shape, (long long)cz_net_node_weight_numel(net, i),
               (long long)cz_net_node_macs(net, i), cz_net_node_is_aux(net, i) ? "  (aux)" : "");
    }
    printf("\n%s: %lld parameters, %.4f GMACs per image (conv + linear, inference)\n", model,
           (long long)cz_net_weight_numel(net), cz_net_macs(net) / 1e9);
}

static void print_json(const cz_net *net, const char *model)
{
    int in[3];
    cz_net_node_shape(net, CZ_INPUT, in);
    printf("{\"model\": \"%s\", \"input\": [%d, %d, %d], \"params\": %lld, \"macs\": %lld, "
           "\"layers\": [",
           model, in[0], in[1], in[2], (long long)cz_net_weight_numel(net),
           (long long)cz_net_macs(net));
    for (int i = 0; i < cz_net_node_count(net); i++) {
        int shape[3], ndim = cz_net_node_shape(net, i, shape);
        printf("%s\n  {\"name\": \"%s\", \"op\": \"%s\", \"shape\": [", i ? "," : "",
               cz_net_node_name(net, i), cz_net_node_op(net, i));
        for (int d = 0; d < ndim; d++)
            printf("%s%d", d ? ", " : "", shape[d]);
        printf("], \"params\": %lld, \"macs\": %lld, \"aux\": %s}",
               (long long)cz_net_node_weight_numel(net, i), (long long)cz_net_node_macs(net, i),
               cz_net_node_is_aux(net, i) ? "true" : "false");
    }
    printf("\n]}\n");
}

int cz_cmd_summary(int argc, char **argv)
{
    const char *input = NULL;
    int classes = 0;
    bool json = false;
    const cz_opt opts[] = {
        {"input", CZ_OPT_STRING, &input, "CxHxW", "input size (default: the model's)", 0, 0},
        {"classes", CZ_OPT_INT, &classes, "N", "output classes (0: the model's default)", 0, 1e6},
        {"json", CZ_OPT_FLAG, &json, NULL, "print JSON instead of a table", 0, 0},
    };
    const cz_cmd cmd = {"summary", "MODEL", 1, 1,
                        "Prints every layer of MODEL: op, output shape, parameters, MACs.", opts,
                        (int)(sizeof opts / sizeof opts[0])};
    const char *pos[1];
    int n_pos, rc = cz_args_parse(&cmd, argc, argv, pos, &n_pos);
    if (rc >= 0)
        return rc;
    int c = 0, h = 0, w = 0;
    if (input && (rc = cz_cli_parse_chw("summary", input, &c, &h, &w)) >= 0)
        return rc;
    const cz_model_info *info = cz_model_find(pos[0]);
    if (info && input && c != info->channels) {
        cz_cli_error("summary: %s takes %d input channels, --input gives %d", pos[0],
                     info->channels, c);
        return CZ_EXIT_USAGE;
    }
    cz_net *net = cz_model_describe(pos[0], classes, h, w); /* no weights needed */
    if (!net) {
        cz_cli_error("%s", cz_last_error());
        return CZ_EXIT_USAGE;
    }
    if (json)
        print_json(net, pos[0]);
    else
        print_table(net, pos[0]);
    cz_net_free(net);
    return CZ_EXIT_OK;
}
