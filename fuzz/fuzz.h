/*
 * fuzz.h - what the fuzz targets share. Each fuzz/fuzz_*.c defines
 * LLVMFuzzerTestOneInput for one reader. Built with clang and libFuzzer
 * (`make fuzz`) it is a coverage-guided fuzzer; built by the normal build it
 * links fuzz/replay.c instead, and ctest replays the seed corpus and every
 * crash found so far (fuzz/regress/TARGET/) through it, so a fixed crash
 * stays fixed on machines without clang.
 *
 * A target must never print on success paths it cannot avoid, never leak,
 * and never abort on bad input: a failure status is the expected outcome
 * for almost every input.
 */
#ifndef CZ_FUZZ_H
#define CZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A scratch folder of this process (made once, removed at exit), for the
 * readers that take a path or a folder rather than bytes. */
const char *fz_dir(void);
/* "<fz_dir()>/<name>" in a static buffer. */
const char *fz_path(const char *name);
/* Writes size bytes to path (creating its parent folders below fz_dir());
 * false on any failure, which a target treats as "skip this input". */
int fz_write(const char *path, const void *data, size_t size);
/* Makes folder path and its parents below fz_dir(); false on failure. */
int fz_mkdirs(const char *path);
/* Makes a symbolic link at path (and its parent folders) to target. */
int fz_symlink(const char *target, const char *path);
/* Empties fz_dir() so each input starts from nothing. */
void fz_clear(void);

/* Writes data to fz_dir()/name and loads it into a LeNet-5 (made once)
 * through cz_weights_load, non-strict, as `--weights` does: the name and
 * shape matching after a weights file opened. */
void fz_load_weights(const char *name, const uint8_t *data, size_t size);
/* Tensors larger than this are checked but not converted: conversion is
 * plain arithmetic, and a big buffer only slows the fuzzer down. */
#define FZ_MAX_CONVERT ((uint64_t)1 << 16)

/* Splits data at each occurrence of the 4-byte separator "#CZ#" into at
 * most max parts (the rest stays in the last one); returns how many. The
 * targets that need several files (a dataset's images and labels, a folder
 * of images) read them from one input this way. */
#define FZ_SEP "#CZ#"
int fz_split(const uint8_t *data, size_t size, const uint8_t **part, size_t *len, int max);

#endif
