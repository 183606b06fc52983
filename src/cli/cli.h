/* cli.h - the subcommands of `cnnzoo` and what they share. */
#ifndef CZ_CLI_H
#define CZ_CLI_H

#include "cli/args.h"
#include "cnnzoo.h"
#include "data/dataset.h"

int cz_cmd_train(int argc, char **argv);
int cz_cmd_eval(int argc, char **argv);
int cz_cmd_list(int argc, char **argv);
int cz_cmd_summary(int argc, char **argv);
int cz_cmd_forward(int argc, char **argv);
int cz_cmd_convert(int argc, char **argv);
int cz_cmd_classify(int argc, char **argv);
int cz_cmd_preprocess(int argc, char **argv);

/* Builds a model by name for the CLI: prints the error and returns NULL. */
cz_net *cz_cli_model(const char *name, uint64_t seed);
/* Parses "CxHxW" for --input: -1 on success, else the exit code after
 * printing the error. */
int cz_cli_parse_chw(const char *cmd, const char *text, int *c, int *h, int *w);
/* Builds MODEL with classes/height/width (0: defaults); NULL after
 * printing the error. */
cz_net *cz_cli_model_sized(const char *name, int classes, int height, int width);
/* Loads weights (.pth or .safetensors) into net; prints the error. */
int cz_cli_load_weights(cz_net *net, const char *path, bool strict);
/* Loads the IDX dataset `name` shaped for the model's input. */
int cz_cli_dataset(const cz_net *net, const char *name, bool train, cz_dataset *ds);

#endif
