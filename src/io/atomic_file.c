/*
 * atomic_file.c - the crash-safe writer that every cnnzoo output goes
 * through: temporary file in the same folder, fsync, rename, fsync of the
 * folder.
 *
 * Limits: POSIX only. rename() replaces a symlink at `path` rather than the
 * file it points to.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io/io.h"

/* ------------------------------------------------------------ atomic writer */

/* The folder holding path ("." for a bare name), where the temporary file
 * must live: rename() is only atomic within one filesystem. */
static char *folder_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    size_t n = (size_t)(slash - path);
    char *dir = malloc(n + 1);
    if (dir) {
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    return dir;
}

/* A suffix unlikely to collide between processes and threads. O_EXCL makes
 * a collision harmless (we try another), so this need not be a good RNG. */
static uint64_t next_suffix(void)
{
    static atomic_uint_fast64_t counter;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t z = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^
                 ((uint64_t)getpid() << 20) ^ (atomic_fetch_add(&counter, 1) * 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static void release(cz_atomic_file *f)
{
    free(f->path);
    free(f->tmp_path);
    f->path = f->tmp_path = NULL;
}

cz_status cz_atomic_open(cz_atomic_file *f, const char *path)
{
    memset(f, 0, sizeof *f);
    if (!path || !*path)
        return cz_fail(CZ_ERR_ARG, "atomic write: empty path");
    size_t n = strlen(path);
    f->path = strdup(path);
    f->tmp_path = malloc(n + 16);
    if (!f->path || !f->tmp_path) {
        release(f);
        return cz_fail(CZ_ERR_NOMEM, "%s: out of memory", path);
    }
    /* Not mkstemp: it creates the file 0600, which would leave every saved
     * model unreadable by the group. open(O_EXCL, 0666) gives the same
     * no-clobber guarantee and lets the umask decide, as fopen would. */
    int fd = -1;
    for (int attempt = 0; attempt < 64 && fd < 0; attempt++) {
        uint64_t s = next_suffix();
        static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
        char suffix[7];
        for (int i = 0; i < 6; i++, s /= 36)
            suffix[i] = alphabet[s % 36];
        suffix[6] = '\0';
        snprintf(f->tmp_path, n + 16, "%s.tmp%s", path, suffix);
        fd = open(f->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        int e = errno;
        char *dir = folder_of(path);
        cz_status st = cz_fail(CZ_ERR_IO, "%s: cannot create a temporary file in '%s': %s", path,
                               dir ? dir : "?", strerror(e));
        free(dir);
        release(f);
        return st;
    }
    f->fp = fdopen(fd, "wb");
    if (!f->fp) {
        int e = errno;
        close(fd);
        unlink(f->tmp_path);
        release(f);
        return cz_fail(CZ_ERR_IO, "%s: %s", path, strerror(e));
    }
    return CZ_OK;
}

void cz_atomic_abort(cz_atomic_file *f)
{
    if (f->fp) {
        fclose(f->fp);
        f->fp = NULL;
        unlink(f->tmp_path);
    }
    release(f);
}

/* The writer's first failure, as every later call reports it. */
static cz_status report(const cz_atomic_file *f)
{
    return cz_fail(CZ_ERR_IO, "%s: %s: %s", f->path ? f->path : "?", f->failed,
                   strerror(f->error));
}

/* Records the failure, removes the temporary file, keeps the path for
 * messages (abort frees it), and reports it. */
static cz_status fail_errno(cz_atomic_file *f, const char *what, int e)
{
    f->error = e ? e : EIO;
    f->failed = what;
    if (f->fp) {
        fclose(f->fp);
        f->fp = NULL;
    }
    if (f->tmp_path)
        unlink(f->tmp_path);
    return report(f);
}

static cz_status not_open(const cz_atomic_file *f)
{
    if (f->error)
        return report(f);
    return cz_fail(CZ_ERR_ARG, "atomic write: the file is not open (already committed or "
                               "aborted)");
}

cz_status cz_atomic_write(cz_atomic_file *f, const void *data, size_t size)
{
    if (!f->fp)
        return not_open(f);
    errno = 0;
    if (size && fwrite(data, 1, size, f->fp) != size)
        return fail_errno(f, "write failed", errno ? errno : EIO);
    return CZ_OK;
}

cz_status cz_atomic_printf(cz_atomic_file *f, const char *fmt, ...)
{
    if (!f->fp)
        return not_open(f);
    va_list ap;
    va_start(ap, fmt);
    errno = 0;
    int r = vfprintf(f->fp, fmt, ap);
    va_end(ap);
    if (r < 0)
        return fail_errno(f, "write failed", errno ? errno : EIO);
    return CZ_OK;
}

/* fsync of the folder makes the rename itself durable. Filesystems that
 * cannot sync a folder say EINVAL; the rename has happened, so that is not
 * worth failing a save over. */
static int sync_folder(const char *path)
{
    char *dir = folder_of(path);
    if (!dir)
        return ENOMEM;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0)
        return errno;
    int e = fsync(fd) == 0 || errno == EINVAL ? 0 : errno;
    close(fd);
    return e;
}

cz_status cz_atomic_commit(cz_atomic_file *f)
{
    if (!f->fp)
        return not_open(f);
    /* ENOSPC and EIO often surface only here, when buffers reach the disk. */
    if (fflush(f->fp) != 0)
        return fail_errno(f, "write failed", errno);
    if (fsync(fileno(f->fp)) != 0)
        return fail_errno(f, "fsync failed", errno);
    FILE *fp = f->fp;
    f->fp = NULL;
    if (fclose(fp) != 0) {
        int e = errno;
        unlink(f->tmp_path);
        return fail_errno(f, "close failed", e);
    }
    if (rename(f->tmp_path, f->path) != 0) {
        int e = errno;
        unlink(f->tmp_path);
        return fail_errno(f, "cannot rename the temporary file over it", e);
    }
    int e = sync_folder(f->path);
    if (e)
        return fail_errno(f, "written, but syncing its folder failed", e);
    release(f);
    return CZ_OK;
}
