/* shape_arg.c - parsing "CxHxW" (--input) for the CLI. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

int cz_cli_parse_chw(const char *cmd, const char *text, int *c, int *h, int *w)
{
    char *end;
    long v[3];
    const char *p = text;
    for (int i = 0; i < 3; i++) {
        v[i] = strtol(p, &end, 10);
        if (end == p || v[i] < 1 || v[i] > 100000 || (i < 2 && *end != 'x') ||
            (i == 2 && *end)) {
            cz_cli_error("%s: --input expects CxHxW with positive sizes (e.g. 3x224x224), "
                         "got '%s'",
                         cmd, text);
            return CZ_EXIT_USAGE;
        }
        p = end + 1;
    }
    *c = (int)v[0];
    *h = (int)v[1];
    *w = (int)v[2];
    return -1;
}
