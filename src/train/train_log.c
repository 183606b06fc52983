/*
 * train_log.c - the CSV training log, rewritten atomically (see
 * train_log.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/io.h"
#include "train/train_log.h"

/* A log read back on resume is at most this big: a million epochs of
 * 60-byte lines. Anything larger is not a log of ours. */
enum { LOG_MAX = 64 << 20 };

static cz_status append(cz_train_log *log, const char *s, size_t n)
{
    if (log->len + n + 1 > log->cap) {
        size_t cap = log->cap ? log->cap : 4096;
        while (cap < log->len + n + 1)
            cap *= 2;
        char *text = realloc(log->text, cap);
        if (!text)
            return cz_fail(CZ_ERR_NOMEM, "%s: out of memory for the log", log->path);
        log->text = text;
        log->cap = cap;
    }
    memcpy(log->text + log->len, s, n);
    log->len += n;
    log->text[log->len] = '\0';
    return CZ_OK;
}

static bool same_file(const struct stat *st, int fd)
{
    struct stat of;
    return fstat(fd, &of) == 0 && st->st_dev == of.st_dev && st->st_ino == of.st_ino;
}

/* Whether path is a stream rather than a file the atomic writer may
 * replace, and if so *stream, opened (NULL if that failed): this
 * process's stdout or stderr when the path is that file (/dev/stdout
 * redirected to a file stats as the file, and a second descriptor on it
 * would write at its own offset, over what stdout writes; a rename would
 * replace the link); anything that exists and is not a regular file (a
 * FIFO, a terminal); a link under /dev or /proc (/dev/fd/N). A path that
 * does not exist yet is a new regular file. */
static bool open_stream(const char *path, FILE **stream)
{
    struct stat st, link;
    *stream = NULL;
    if (stat(path, &st) != 0)
        return false;
    if (same_file(&st, STDOUT_FILENO) || same_file(&st, STDERR_FILENO)) {
        *stream = same_file(&st, STDOUT_FILENO) ? stdout : stderr;
        return true;
    }
    bool system_link = (strncmp(path, "/dev/", 5) == 0 || strncmp(path, "/proc/", 6) == 0) &&
                       lstat(path, &link) == 0 && S_ISLNK(link.st_mode);
    if (S_ISREG(st.st_mode) && !system_link)
        return false;
    *stream = fopen(path, "ae");
    return true;
}

/* A stream gets the text since its last write (the header, or a line). */
static cz_status write_stream(cz_train_log *log, const char *s, size_t n)
{
    if (fwrite(s, 1, n, log->stream) != n || fflush(log->stream) != 0)
        return cz_fail(CZ_ERR_IO, "%s: could not write the log: %s", log->path, strerror(errno));
    return CZ_OK;
}

static cz_status rewrite(cz_train_log *log)
{
    cz_atomic_file f;
    cz_status s = cz_atomic_open(&f, log->path);
    if (s == CZ_OK)
        s = cz_atomic_write(&f, log->text, log->len);
    if (s == CZ_OK)
        s = cz_atomic_commit(&f);
    cz_atomic_abort(&f);
    return s;
}

/* The complete lines of text (from a resumed run's file) whose epoch, the
 * first field, is 1..epochs; the first line must be the header. */
static cz_status keep_epochs(cz_train_log *log, const char *text, const char *header,
                             int epochs)
{
    size_t hlen = strlen(header);
    if (strncmp(text, header, hlen) != 0 || text[hlen] != '\n')
        return cz_fail(CZ_ERR_FORMAT, "%s: not a cnnzoo training log (its first line is not "
                       "'%s'); to keep it, log the resumed run elsewhere", log->path, header);
    const char *line = text + hlen + 1;
    cz_status s = CZ_OK;
    for (const char *end; s == CZ_OK && (end = strchr(line, '\n')); line = end + 1) {
        char *after;
        long epoch = strtol(line, &after, 10);
        if (after != line && *after == ',' && epoch >= 1 && epoch <= epochs)
            s = append(log, line, (size_t)(end - line) + 1);
    }
    return s;
}

/* The header, then what a resumed run keeps of the existing file. */
static cz_status start_text(cz_train_log *log, const char *header, bool resume, int epochs)
{
    cz_status s = append(log, header, strlen(header));
    if (s == CZ_OK)
        s = append(log, "\n", 1);
    struct stat st;
    if (s != CZ_OK || !resume || (stat(log->path, &st) != 0 && errno == ENOENT))
        return s;
    char *old;
    size_t size;
    if ((s = cz_read_file(log->path, LOG_MAX, &old, &size)) != CZ_OK)
        return s;
    if (strlen(old) != size)
        s = cz_fail(CZ_ERR_FORMAT, "%s: not a cnnzoo training log (it holds a NUL byte)",
                    log->path);
    if (s == CZ_OK)
        s = keep_epochs(log, old, header, epochs);
    free(old);
    return s;
}

cz_status cz_train_log_open(cz_train_log *log, const char *path, const char *header,
                            bool resume, int epochs)
{
    memset(log, 0, sizeof *log);
    if (!(log->path = strdup(path)))
        return cz_fail(CZ_ERR_NOMEM, "%s: out of memory", path);
    cz_status s;
    if (open_stream(path, &log->stream)) {
        if (!log->stream)
            s = cz_fail(CZ_ERR_IO, "%s: could not open the log: %s", path, strerror(errno));
        else if ((s = write_stream(log, header, strlen(header))) == CZ_OK)
            s = write_stream(log, "\n", 1);
    } else {
        s = start_text(log, header, resume, epochs);
        if (s == CZ_OK)
            s = rewrite(log);
    }
    if (s != CZ_OK)
        cz_train_log_free(log);
    return s;
}

cz_status cz_train_log_add(cz_train_log *log, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0 || n >= (int)sizeof line - 1)
        return cz_fail(CZ_ERR_ARG, "%s: a log line longer than %zu bytes", log->path,
                       sizeof line - 2);
    line[n++] = '\n';
    if (log->stream)
        return write_stream(log, line, (size_t)n);
    cz_status s = append(log, line, (size_t)n);
    return s == CZ_OK ? rewrite(log) : s;
}

void cz_train_log_free(cz_train_log *log)
{
    if (log->stream && log->stream != stdout && log->stream != stderr)
        fclose(log->stream);
    free(log->path);
    free(log->text);
    memset(log, 0, sizeof *log);
}
