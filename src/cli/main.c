/*
 * main.c - `cnnzoo <command> [options]`: dispatch to one file per
 * subcommand. Exit codes: 0 success, 1 the work failed, 2 bad usage.
 */
#include <stdio.h>
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
    fprintf(f, "\n`cnnzoo <command> --help` describes each command's options.\n"
               "Example: cnnzoo train lenet5 --data fashion-mnist --epochs 10\n");
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
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    cz_cli_error("unknown command '%s' (see cnnzoo --help)", argv[1]);
    return CZ_EXIT_USAGE;
}
