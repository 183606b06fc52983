/*
 * test_atomic_file.c - the crash-safe writer (commit replaces, abort and
 * failures leave the old file, no temporary files left behind, errors name
 * the path) and the whole-file readers in src/io/atomic_file.c.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "io/io.h"
#include "testutil.h"

static int make_tmp_dir(void **state)
{
    (void)state;
    return tu_make_tmp_dir("atomic_file");
}

static void write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(text, 1, strlen(text), fp), strlen(text));
    assert_int_equal(fclose(fp), 0);
}

static void assert_file_text(const char *path, const char *expected)
{
    char *data;
    size_t size;
    assert_int_equal(cz_read_file(path, 1 << 20, &data, &size), CZ_OK);
    assert_int_equal(size, strlen(expected));
    assert_string_equal(data, expected);
    free(data);
}

/* No "<name>.tmp*" file may survive a commit, an abort or a failure. */
static void assert_no_temporaries(void)
{
    DIR *dir = opendir(tu_tmp_path("."));
    assert_non_null(dir);
    struct dirent *e;
    while ((e = readdir(dir)))
        if (strstr(e->d_name, ".tmp")) {
            closedir(dir);
            fail_msg("temporary file left behind: %s", e->d_name);
        }
    closedir(dir);
}

static void test_commit_creates_with_umask_mode(void **state)
{
    (void)state;
    const char *path = tu_tmp_path("new.txt");
    mode_t old_mask = umask(022);
    cz_atomic_file f;
    assert_int_equal(cz_atomic_open(&f, path), CZ_OK);
    assert_int_equal(cz_atomic_write(&f, "hello ", 6), CZ_OK);
    assert_int_equal(cz_atomic_printf(&f, "%s %d\n", "world", 42), CZ_OK);
    /* Until commit the final name does not exist. */
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(cz_atomic_commit(&f), CZ_OK);
    umask(old_mask);
    assert_file_text(path, "hello world 42\n");
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0644);
    assert_no_temporaries();
}

static void test_commit_replaces(void **state)
{
    (void)state;
    const char *path = tu_tmp_path("replace.txt");
    write_text(path, "old contents, longer than the new ones\n");
    cz_atomic_file f;
    assert_int_equal(cz_atomic_open(&f, path), CZ_OK);
    assert_int_equal(cz_atomic_write(&f, "new\n", 4), CZ_OK);
    /* The old file stays readable while the new one is written. */
    assert_file_text(path, "old contents, longer than the new ones\n");
    assert_int_equal(cz_atomic_commit(&f), CZ_OK);
    assert_file_text(path, "new\n");
    assert_no_temporaries();
}

static void test_abort_keeps_old(void **state)
{
    (void)state;
    const char *path = tu_tmp_path("abort.txt");
    write_text(path, "keep me\n");
    cz_atomic_file f;
    assert_int_equal(cz_atomic_open(&f, path), CZ_OK);
    assert_int_equal(cz_atomic_write(&f, "discard", 7), CZ_OK);
    cz_atomic_abort(&f);
    assert_file_text(path, "keep me\n");
    assert_no_temporaries();
    /* After abort the handle is dead but safe to use. */
    tu_expect_error(cz_atomic_write(&f, "x", 1), CZ_ERR_ARG, "not open", NULL);
    tu_expect_error(cz_atomic_commit(&f), CZ_ERR_ARG, "not open", NULL);
    cz_atomic_abort(&f);
}

static void test_empty_commit(void **state)
{
    (void)state;
    const char *path = tu_tmp_path("empty.txt");
    cz_atomic_file f;
    assert_int_equal(cz_atomic_open(&f, path), CZ_OK);
    assert_int_equal(cz_atomic_commit(&f), CZ_OK);
    assert_file_text(path, "");
    cz_atomic_abort(&f); /* after commit: harmless */
    assert_file_text(path, "");
}

static void test_missing_folder(void **state)
{
    (void)state;
    const char *path = tu_tmp_path("no/such/folder/model.safetensors");
    cz_atomic_file f;
    tu_expect_error(cz_atomic_open(&f, path), CZ_ERR_IO, path, "No such file or directory");
    assert_null(f.fp);
}

static void test_folder_is_a_file(void **state)
{
    (void)state;
    const char *file = tu_tmp_path("plain_file");
    write_text(file, "x");
    char path[2600];
    snprintf(path, sizeof path, "%s/model.safetensors", file);
    cz_atomic_file f;
    tu_expect_error(cz_atomic_open(&f, path), CZ_ERR_IO, path, "Not a directory");
}

static void test_unwritable_folder(void **state)
{
    (void)state;
    /* root ignores folder permissions, so this only means something for
     * ordinary users; the missing-folder test covers the path for root. */
    if (geteuid() == 0)
        skip();
    const char *dir = tu_tmp_path("readonly");
    assert_int_equal(mkdir(dir, 0555), 0);
    char path[2600];
    snprintf(path, sizeof path, "%s/out.bin", dir);
    cz_atomic_file f;
    tu_expect_error(cz_atomic_open(&f, path), CZ_ERR_IO, path, "Permission denied");
    chmod(dir, 0755);
}

/* A file-size limit makes writes fail with EFBIG, standing in for a full
 * disk: the same failure path as ENOSPC, without filling one. */
static void test_write_failure_keeps_old(void **state)
{
    (void)state;
    const char *path = tu_tmp_path("big.bin");
    write_text(path, "previous\n");
    struct rlimit saved;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    struct rlimit small = saved;
    small.rlim_cur = 4096;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);

    static char block[1 << 16];
    memset(block, 'z', sizeof block);
    cz_atomic_file f;
    cz_status st = cz_atomic_open(&f, path);
    for (int i = 0; st == CZ_OK && i < 16; i++)
        st = cz_atomic_write(&f, block, sizeof block);
    if (st == CZ_OK)
        st = cz_atomic_commit(&f);
    char msg[1100];
    snprintf(msg, sizeof msg, "%s", cz_last_error());
    cz_atomic_abort(&f);

    setrlimit(RLIMIT_FSIZE, &saved);
    signal(SIGXFSZ, old_handler);
    assert_int_equal(st, CZ_ERR_IO);
    if (!strstr(msg, path) || !strstr(msg, "File too large"))
        fail_msg("message \"%s\" should name the path and the error", msg);
    assert_file_text(path, "previous\n");
    assert_no_temporaries();
}

static void test_read_file(void **state)
{
    (void)state;
    const char *path = tu_tmp_path("small.txt");
    write_text(path, "0123456789");
    char *data;
    size_t size;
    assert_int_equal(cz_read_file(path, 10, &data, &size), CZ_OK);
    assert_int_equal(size, 10);
    assert_string_equal(data, "0123456789");
    free(data);
    tu_expect_error(cz_read_file(path, 9, &data, &size), CZ_ERR_ARG, path, "9-byte limit");
    assert_null(data);
    tu_expect_error(cz_read_file(tu_tmp_path("absent.txt"), 100, &data, &size), CZ_ERR_IO,
                 "absent.txt", "No such file or directory");
    const char *dir = tu_tmp_path(".");
    tu_expect_error(cz_read_file(dir, 100, &data, &size), CZ_ERR_IO, dir, "Is a directory");
}

static void test_map_file(void **state)
{
    (void)state;
    const char *path = tu_tmp_path("mapped.txt");
    write_text(path, "mapped bytes");
    cz_mapped_file m;
    assert_int_equal(cz_map_file(&m, path), CZ_OK);
    assert_int_equal(m.size, 12);
    assert_memory_equal(m.data, "mapped bytes", 12);
    cz_unmap_file(&m);
    assert_null(m.data);

    const char *empty = tu_tmp_path("mapped_empty.txt");
    write_text(empty, "");
    assert_int_equal(cz_map_file(&m, empty), CZ_OK);
    assert_int_equal(m.size, 0);
    cz_unmap_file(&m);

    const char *dir = tu_tmp_path(".");
    tu_expect_error(cz_map_file(&m, dir), CZ_ERR_IO, dir, "Is a directory");
    tu_expect_error(cz_map_file(&m, tu_tmp_path("absent.bin")), CZ_ERR_IO, "absent.bin",
                 "No such file or directory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commit_creates_with_umask_mode),
        cmocka_unit_test(test_commit_replaces),
        cmocka_unit_test(test_abort_keeps_old),
        cmocka_unit_test(test_empty_commit),
        cmocka_unit_test(test_missing_folder),
        cmocka_unit_test(test_folder_is_a_file),
        cmocka_unit_test(test_unwritable_folder),
        cmocka_unit_test(test_write_failure_keeps_old),
        cmocka_unit_test(test_read_file),
        cmocka_unit_test(test_map_file),
    };
    return cmocka_run_group_tests(tests, make_tmp_dir, NULL);
}
