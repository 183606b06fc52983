/*
 * train_log.h - the training run's CSV log (a header, then one line per
 * epoch, for `cnnzoo plot`), kept in memory and rewritten whole through
 * the atomic writer after every epoch: a crash, a kill or a full disk
 * leaves the previous version of the file, never a torn line. The log is
 * one short line per epoch, so rewriting it costs nothing next to the
 * epoch's checkpoint.
 *
 * A path that is not a regular file (a FIFO, a terminal, /dev/stdout,
 * /dev/fd/N) cannot be replaced by a rename; the log is written to it a
 * line at a time instead, as a stream.
 */
#ifndef CZ_TRAIN_LOG_H
#define CZ_TRAIN_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "cnnzoo.h"

typedef struct cz_train_log {
    char *path;
    char *text; /* the whole file */
    size_t len, cap;
    FILE *stream; /* the path is not a regular file: lines go here */
} cz_train_log;

/* Starts the log at path and writes it at once, so that a path that
 * cannot be written fails before any training. A new run starts with
 * `header`. A resumed run keeps the header and the lines of the epochs its
 * checkpoint holds (1..epochs) from the file, if it exists: lines a
 * killed run wrote after its last checkpoint are dropped, as the resumed
 * run writes them again (a stream keeps nothing: it gets the header and
 * the new lines). */
cz_status cz_train_log_open(cz_train_log *log, const char *path, const char *header,
                            bool resume, int epochs);

/* Appends a line (fmt gives it without the newline) and rewrites the
 * file. */
cz_status cz_train_log_add(cz_train_log *log, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void cz_train_log_free(cz_train_log *log);

#endif
