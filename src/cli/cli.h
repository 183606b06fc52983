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
int cz_cmd_plot(int argc, char **argv);
int cz_cmd_bench(int argc, char **argv);
int cz_cmd_viz(int argc, char **argv);

/* Builds a model by name for the CLI: prints the error and returns NULL. */
cz_net *cz_cli_model(const char *name, uint64_t seed);
/* Parses "CxHxW" for --input: -1 on success, else the exit code after
 * printing the error. */
int cz_cli_parse_chw(const char *cmd, const char *text, int *c, int *h, int *w);
/* Builds MODEL with classes/height/width (0: defaults); NULL after
 * printing the error. */
cz_net *cz_cli_model_sized(const char *name, int classes, int height, int width);
/* A node's per-sample output shape as "CxHxW" (or "F" for features). */
void cz_cli_shape_text(const cz_net *net, int node, char *buf, size_t size);
/* Loads weights (.pth or .safetensors) into net; prints the error. */
int cz_cli_load_weights(cz_net *net, const char *path, bool strict);
typedef enum cz_data_kind { CZ_DATA_IDX, CZ_DATA_CIFAR, CZ_DATA_FOLDER, CZ_DATA_NPY } cz_data_kind;

/* Opens the train or test split of what --data names, with MODEL's
 * pipeline for image folders (see data_arg.c); prints the error. Zero-byte
 * files left out of a folder are counted in *skipped. */
int cz_cli_dataset(const char *model, const char *spec, bool train, cz_dataset *ds,
                   cz_data_kind *kind, int *skipped);
/* Whether --data has a test split: an image folder has one only when laid
 * out as train/ and val/. */
bool cz_cli_has_test_split(const char *spec, cz_data_kind kind);
/* Loader threads when --workers is not given. */
int cz_cli_default_workers(cz_data_kind kind);
/* Resolves --transform-input (on, off, or NULL for the model's default)
 * into *on; -1, or the exit code after printing the error. */
int cz_cli_transform_input(const char *cmd, const char *model, const char *text, bool *on);

#endif
