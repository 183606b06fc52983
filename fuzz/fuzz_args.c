/*
 * fuzz_args.c - the CLI's argument parsing: an input is argv, arguments
 * separated by NUL bytes, parsed against an option table with every kind
 * of option the subcommands use (integers and floats with ranges, strings,
 * flags, seeds); then the values that have their own grammar are parsed as
 * `cnnzoo train` parses them: --input CxHxW and --schedule.
 */
#include <stdio.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "fuzz.h"
#include "train/schedule.h"

#define MAX_ARGS 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char buf[4096];
    if (size >= sizeof buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *argv[MAX_ARGS + 1] = {"train"};
    int argc = 1;
    for (char *p = buf; p < buf + size && argc < MAX_ARGS; p += strlen(p) + 1)
        argv[argc++] = p;
    argv[argc] = NULL;

    int epochs = 10, workers = -1;
    float lr = 0.1f, wd = 1e-4f;
    const char *input = NULL, *schedule = "constant", *out = NULL;
    bool quiet = false;
    uint64_t seed = 0;
    const cz_opt opts[] = {
        {"epochs", CZ_OPT_INT, &epochs, "N", "epochs", 1, 1000000},
        {"workers", CZ_OPT_INT, &workers, "N", "loader threads", 0, 256},
        {"lr", CZ_OPT_FLOAT, &lr, "LR", "learning rate", 0, 1e3},
        {"weight-decay", CZ_OPT_FLOAT, &wd, "WD", "weight decay", 0, 1},
        {"input", CZ_OPT_STRING, &input, "CxHxW", "input size", 0, 0},
        {"schedule", CZ_OPT_STRING, &schedule, "SPEC", "learning-rate schedule", 0, 0},
        {"out", CZ_OPT_STRING, &out, "DIR", "output folder", 0, 0},
        {"quiet", CZ_OPT_FLAG, &quiet, NULL, "no progress", 0, 0},
        {"seed", CZ_OPT_SEED, &seed, "S", "random seed", 0, 0},
    };
    const cz_cmd cmd = {"train", "MODEL", 1, 2, "fuzz", opts, (int)(sizeof opts / sizeof opts[0])};
    const char *pos[2];
    int n_pos = 0;
    if (cz_args_parse(&cmd, argc, argv, pos, &n_pos) != -1)
        return 0;
    int c, h, w;
    if (input)
        cz_cli_parse_chw("train", input, &c, &h, &w);
    cz_schedule_config cfg;
    cz_schedule_parse(schedule, lr, epochs, &cfg);
    return 0;
}
