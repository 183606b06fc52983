/*
 * args.h - the CLI's option parser: each subcommand declares a table of
 * options; the parser fills them, validates numbers and ranges, and writes
 * --help from the same table, so help and behaviour cannot drift apart.
 */
#ifndef CZ_ARGS_H
#define CZ_ARGS_H

#include <stdbool.h>
#include <stdint.h>

/* Exit codes (DESIGN.md): success, failure of the work, bad usage. */
enum { CZ_EXIT_OK = 0, CZ_EXIT_FAIL = 1, CZ_EXIT_USAGE = 2 };

typedef enum cz_opt_type { CZ_OPT_INT, CZ_OPT_FLOAT, CZ_OPT_STRING, CZ_OPT_FLAG, CZ_OPT_SEED } cz_opt_type;

typedef struct cz_opt {
    const char *name;    /* "epochs" for --epochs */
    cz_opt_type type;
    void *dest;          /* int*, float*, const char**, bool*, uint64_t* */
    const char *metavar; /* "N" */
    const char *help;
    double min, max;     /* inclusive range for numbers */
} cz_opt;

typedef struct cz_cmd {
    const char *name;     /* "train" */
    const char *args;     /* positional part of the usage line: "MODEL" */
    int min_pos, max_pos; /* how many positionals are allowed */
    const char *summary;
    const cz_opt *opts;
    int n_opts;
} cz_cmd;

/* Parses argv (argv[0] is the subcommand). Positionals go to pos.
 * Returns -1 to continue, or an exit code: 0 after printing --help, 2 after
 * printing a usage error. */
int cz_args_parse(const cz_cmd *cmd, int argc, char **argv, const char **pos, int *n_pos);

/* Prints "cnnzoo: error: ..." on stderr. */
void cz_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
