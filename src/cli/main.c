/*
 * main.c - `cnnzoo <command> [options]`: dispatch to one file per
 * subcommand. Exit codes: 0 success, 1 the work failed, 2 bad usage.
 * The environment's CNNZOO_MAX_ALLOC sets the ceiling on one allocation
 * sized by a file (cz_set_max_alloc) for every command.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"train", cz_cmd_train, "train a model on a dataset and save its weights"},
    {"eval", cz_cmd_eval, "evaluate saved weights on a dataset's test split"},
    {"list", cz_cmd_list, "list the models with their input, parameters and MACs"},
    {"summary", cz_cmd_summary, "print a model's layers: op, output shape, parameters, MACs"},
    {"forward", cz_cmd_forward, "run a model with weights on an .npy batch, write the output"},
    {"convert", cz_cmd_convert, "convert a PyTorch .pth state_dict to safetensors"},
    {"classify", cz_cmd_classify, "print the top-k classes of JPEG/PNG images"},
    {"preprocess", cz_cmd_preprocess, "write the float32 batch a model sees for JPEG/PNG images"},
    {"plot", cz_cmd_plot, "draw a training log's loss and accuracy curves as a PNG"},
    {"bench", cz_cmd_bench, "time a model's inference or training step, per layer too"},
    {"viz", cz_cmd_viz, "draw what a model sees: filters, features, deconv, occlusion, Grad-CAM, saliency"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: cnnzoo <command> [options]\n\n"
               "The classic convolutional networks in C: build, train, evaluate, inspect.\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-11s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nenvironment:\n  CNNZOO_MAX_ALLOC=SIZE  the most memory one allocation sized by a file may "
               "take (default 16G)\n");
    fprintf(f, "\n`cnnzoo <command> --help` describes each command's options.\n"
               "Example: cnnzoo train lenet5 --data fashion-mnist --epochs 10\n");
}

/* "123", "512K", "64M", "16G", "1T" (powers of 1024, either case) into
 * *bytes: digits and at most one suffix, nothing else, at least 1 byte. */
static bool parse_size(const char *text, size_t *bytes)
{
    static const char suffixes[] = "KMGT";
    size_t value = 0;
    const char *p = text;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (__builtin_mul_overflow(value, 10, &value) ||
            __builtin_add_overflow(value, (size_t)(*p - '0'), &value))
            return false;
    }
    if (p == text)
        return false;
    if (*p) {
        const char *s = strchr(suffixes, toupper((unsigned char)*p));
        if (!s || !*s || p[1])
            return false;
        for (int shift = (int)(s - suffixes) + 1; shift > 0; shift--)
            if (__builtin_mul_overflow(value, 1024, &value))
                return false;
    }
    *bytes = value;
    return value > 0;
}

/* CNNZOO_MAX_ALLOC, when set: -1 to go on, or the usage exit code after
 * naming the variable and its bad value. */
static int apply_max_alloc(void)
{
    const char *text = getenv("CNNZOO_MAX_ALLOC");
    size_t bytes;
    if (!text)
        return -1;
    if (!parse_size(text, &bytes)) {
        cz_cli_error("CNNZOO_MAX_ALLOC='%.40s' is not a size: expected a whole number of bytes "
                     "from 1 to 2^64 - 1, optionally with K, M, G or T (e.g. 512M, 16G)",
                     text);
        return CZ_EXIT_USAGE;
    }
    cz_set_max_alloc(bytes);
    return -1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CZ_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return CZ_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("cnnzoo %s\n", CZ_VERSION);
        return CZ_EXIT_OK;
    }
    int rc = apply_max_alloc();
    if (rc >= 0)
        return rc;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    cz_cli_error("unknown command '%s' (see cnnzoo --help)", argv[1]);
    return CZ_EXIT_USAGE;
}
