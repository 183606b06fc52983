/* args.c - option parsing and generated --help for every subcommand. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"

/* One write per message: under mpirun every rank may report the same
 * error at once, and separate writes would interleave mid-line. */
void cz_cli_error(const char *fmt, ...)
{
    va_list ap, again;
    va_start(ap, fmt);
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    char *line = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (line)
        vsnprintf(line, (size_t)n + 1, fmt, again);
    va_end(again);
    va_end(ap);
    fprintf(stderr, "cnnzoo: error: %s\n", line ? line : fmt);
    free(line);
}

/* A number below the option's range stands for "chosen at run time",
 * which the help text describes in words. */
static void print_default(const cz_opt *o)
{
    switch (o->type) {
    case CZ_OPT_INT:
        if (*(int *)o->dest >= o->min)
            printf(" (default %d)", *(int *)o->dest);
        break;
    case CZ_OPT_FLOAT:
        if (*(float *)o->dest >= o->min)
            printf(" (default %g)", *(float *)o->dest);
        break;
    case CZ_OPT_SEED:
        printf(" (default %llu)", (unsigned long long)*(uint64_t *)o->dest);
        break;
    case CZ_OPT_STRING:
        if (*(const char **)o->dest)
            printf(" (default %s)", *(const char **)o->dest);
        break;
    case CZ_OPT_FLAG:
        break;
    }
}

static void print_help(const cz_cmd *cmd)
{
    printf("usage: cnnzoo %s %s [options]\n\n%s\n\noptions:\n", cmd->name, cmd->args, cmd->summary);
    for (int i = 0; i < cmd->n_opts; i++) {
        const cz_opt *o = &cmd->opts[i];
        char left[64];
        snprintf(left, sizeof left, "--%s%s%s", o->name, o->metavar ? " " : "",
                 o->metavar ? o->metavar : "");
        printf("  %-22s %s", left, o->help);
        print_default(o);
        putchar('\n');
    }
    printf("  %-22s %s\n", "--help", "show this help");
}

/* Converts text for option o into its destination; 2 on a bad value. */
static int set_value(const cz_cmd *cmd, const cz_opt *o, const char *text)
{
    char *end;
    errno = 0;
    if (o->type == CZ_OPT_STRING) {
        if (!*text) {
            cz_cli_error("%s: --%s needs a non-empty %s", cmd->name, o->name, o->metavar);
            return CZ_EXIT_USAGE;
        }
        *(const char **)o->dest = text;
        return -1;
    }
    double v = strtod(text, &end);
    bool integral = o->type != CZ_OPT_FLOAT;
    if (errno || end == text || *end || !isfinite(v) || (integral && v != floor(v)) ||
        v < o->min || v > o->max) {
        cz_cli_error("%s: --%s expects %s in [%.10g, %.10g], got '%s'", cmd->name, o->name,
                     integral ? "an integer" : "a number", o->min, o->max, text);
        return CZ_EXIT_USAGE;
    }
    if (o->type == CZ_OPT_INT)
        *(int *)o->dest = (int)v;
    else if (o->type == CZ_OPT_FLOAT)
        *(float *)o->dest = (float)v;
    else
        *(uint64_t *)o->dest = strtoull(text, NULL, 10);
    return -1;
}

int cz_args_parse(const cz_cmd *cmd, int argc, char **argv, const char **pos, int *n_pos)
{
    *n_pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            print_help(cmd);
            return CZ_EXIT_OK;
        }
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
            if (*n_pos >= cmd->max_pos) {
                cz_cli_error("%s: unexpected argument '%s' (usage: cnnzoo %s %s [options])",
                             cmd->name, arg, cmd->name, cmd->args);
                return CZ_EXIT_USAGE;
            }
            pos[(*n_pos)++] = arg;
            continue;
        }
        const char *name = arg + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const cz_opt *o = NULL;
        for (int k = 0; k < cmd->n_opts && !o; k++)
            if (strlen(cmd->opts[k].name) == len && strncmp(cmd->opts[k].name, name, len) == 0)
                o = &cmd->opts[k];
        if (!o) {
            cz_cli_error("%s: unknown option '--%.*s' (see cnnzoo %s --help)", cmd->name,
                         (int)len, name, cmd->name);
            return CZ_EXIT_USAGE;
        }
        if (o->type == CZ_OPT_FLAG) {
            if (eq) {
                cz_cli_error("%s: --%s takes no value", cmd->name, o->name);
                return CZ_EXIT_USAGE;
            }
            *(bool *)o->dest = true;
            continue;
        }
        const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!value) {
            cz_cli_error("%s: --%s needs a value (%s)", cmd->name, o->name, o->metavar);
            return CZ_EXIT_USAGE;
        }
        int rc = set_value(cmd, o, value);
        if (rc >= 0)
            return rc;
    }
    if (*n_pos < cmd->min_pos) {
        cz_cli_error("%s: missing %s (usage: cnnzoo %s %s [options])", cmd->name, cmd->args,
                     cmd->name, cmd->args);
        return CZ_EXIT_USAGE;
    }
    return -1;
}
