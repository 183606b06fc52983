/* cli.h - the subcommands of `cnnzoo` and what they share. */
#ifndef CZ_CLI_H
#define CZ_CLI_H

#include "cli/args.h"
#include "cnnzoo.h"
#include "data/dataset.h"

int cz_cmd_train(int argc, char **argv);
int cz_cmd_eval(int argc, char **argv);
int cz_cmd_list(int argc, char **argv);

/* Builds a model by name for the CLI: prints the error and returns NULL. */
cz_net *cz_cli_model(const char *name, uint64_t seed);
/* Loads the IDX dataset `name` shaped for the model's input. */
int cz_cli_dataset(const cz_net *net, const char *name, bool train, cz_dataset *ds);

#endif
