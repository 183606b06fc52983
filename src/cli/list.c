/* list.c - `cnnzoo list`: every model with its input, parameters and MACs. */
#include <stdio.h>

#include "cli/cli.h"

int cz_cmd_list(int argc, char **argv)
{
    bool json = false;
    const cz_opt opts[] = {
        {"json", CZ_OPT_FLAG, &json, NULL, "print JSON instead of a table", 0, 0},
    };
    const cz_cmd cmd = {"list", "", 0, 0,
                        "Lists the models: default input, classes, parameters, GMACs per image.",
                        opts, 1};
    const char *pos[1];
    int n_pos, rc = cz_args_parse(&cmd, argc, argv, pos, &n_pos);
    if (rc >= 0)
        return rc;
    if (json)
        printf("[");
    else
        printf("%-20s %-12s %7s %12s %9s  %s\n", "model", "input", "classes", "params", "GMACs",
               "description");
    for (int i = 0; i < cz_model_count(); i++) {
        const cz_model_info *m = cz_model_at(i);
        cz_net *net = cz_model_describe(m->name, 0, 0, 0);
        if (!net) {
            cz_cli_error("%s", cz_last_error());
            return CZ_EXIT_FAIL;
        }
        char input[32];
        snprintf(input, sizeof input, "%dx%dx%d", m->channels, m->height, m->width);
        if (json)
            printf("%s\n  {\"name\": \"%s\", \"input\": [%d, %d, %d], \"classes\": %d, "
                   "\"params\": %lld, \"macs\": %lld, \"description\": \"%s\"}",
                   i ? "," : "", m->name, m->channels, m->height, m->width, m->classes,
                   (long long)cz_net_weight_numel(net), (long long)cz_net_macs(net),
                   m->description);
        else
            printf("%-20s %-12s %7d %12lld %9.4f  %s\n", m->name, input, m->classes,
                   (long long)cz_net_weight_numel(net), cz_net_macs(net) / 1e9, m->description);
        cz_net_free(net);
    }
    if (json)
        printf("\n]\n");
    return CZ_EXIT_OK;
}
