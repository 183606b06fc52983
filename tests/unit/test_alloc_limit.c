/*
 * test_alloc_limit.c - the ceiling on one allocation sized by a file
 * (cz_set_max_alloc, cz_alloc_check): its default and reset, the check at
 * and around the limit, overflow, the message (file, key, both numbers,
 * how to raise it), and a piped file read whole, which has no size to
 * check in advance. The readers' own uses are tested beside them
 * (test_pth, test_npy, test_idx, test_image, test_datasets).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "io/io.h"
#include "testutil.h"

static void test_default_and_reset(void **state)
{
    (void)state;
    assert_int_equal(cz_max_alloc(), CZ_MAX_ALLOC_DEFAULT);
    assert_int_equal(CZ_MAX_ALLOC_DEFAULT, (size_t)16 << 30);
    cz_set_max_alloc(5);
    assert_int_equal(cz_max_alloc(), 5);
    cz_set_max_alloc(0);
    assert_int_equal(cz_max_alloc(), CZ_MAX_ALLOC_DEFAULT);
}

static void test_check(void **state)
{
    (void)state;
    size_t bytes = 99;
    cz_set_max_alloc(12);
    assert_int_equal(cz_alloc_check(&bytes, 3, 4, "w.pth", "tensor '%s'", "k"), CZ_OK);
    assert_int_equal(bytes, 12);
    assert_int_equal(cz_alloc_check(&bytes, 0, 4, "w.pth", "empty"), CZ_OK);
    assert_int_equal(bytes, 0);
    cz_set_max_alloc(11);
    tu_expect_error(cz_alloc_check(&bytes, 3, 4, "w.pth", "tensor '%s'", "k"), CZ_ERR_NOMEM,
                    "w.pth: tensor 'k' needs 12 bytes, over the 11-byte limit on one allocation; "
                    "if the file is right, raise it with CNNZOO_MAX_ALLOC (e.g. 64G) or "
                    "cz_set_max_alloc()",
                    NULL);
    assert_int_equal(bytes, 0);

    /* Sizes past 1 KiB are also given in binary units. */
    cz_set_max_alloc((size_t)1 << 30);
    tu_expect_error(cz_alloc_check(&bytes, 3, (size_t)1 << 30, "big.npy", "array"),
                    CZ_ERR_NOMEM,
                    "big.npy: array needs 3221225472 bytes (3 GiB), over the 1073741824-byte "
                    "(1 GiB) limit",
                    NULL);
    cz_set_max_alloc(1000);
    tu_expect_error(cz_alloc_check(&bytes, 1536, 1, "x.png", "rows"), CZ_ERR_NOMEM,
                    "needs 1536 bytes (1.5 KiB), over the 1000-byte limit", NULL);

    /* A product past 2^64 never wraps into a small allocation. */
    cz_set_max_alloc(SIZE_MAX);
    tu_expect_error(cz_alloc_check(&bytes, (uint64_t)1 << 63, 4, "x.idx", "data"), CZ_ERR_NOMEM,
                    "x.idx: data needs more than 2^64 bytes (9223372036854775808 x 4)", NULL);
    assert_int_equal(bytes, 0);
    cz_set_max_alloc(0);
}

/* cz_map_file on a pipe fed `n` bytes by a child process. */
static cz_status map_pipe(size_t n, cz_mapped_file *m)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        close(fds[0]);
        char block[4096];
        memset(block, 'x', sizeof block);
        for (size_t done = 0; done < n;) {
            size_t k = n - done < sizeof block ? n - done : sizeof block;
            ssize_t w = write(fds[1], block, k);
            if (w <= 0)
                _exit(1);
            done += (size_t)w;
        }
        _exit(0);
    }
    close(fds[1]);
    char path[64];
    snprintf(path, sizeof path, "/dev/fd/%d", fds[0]);
    cz_status st = cz_map_file(m, path);
    close(fds[0]); /* a child still writing gets EPIPE and exits */
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    return st;
}

static void test_pipe(void **state)
{
    (void)state;
    cz_mapped_file m;
    cz_set_max_alloc(100000);
    assert_int_equal(map_pipe(100000, &m), CZ_OK); /* exactly the limit */
    assert_int_equal(m.size, 100000);
    assert_int_equal(m.data[99999], 'x');
    cz_unmap_file(&m);
    tu_expect_error(map_pipe(100001, &m), CZ_ERR_NOMEM,
                    "reading this stream whole needs 100001 bytes (97.7 KiB), over the "
                    "100000-byte (97.7 KiB) limit",
                    NULL);
    assert_null(m.data);
    cz_set_max_alloc(0);
    assert_int_equal(map_pipe(300000, &m), CZ_OK);
    assert_int_equal(m.size, 300000);
    cz_unmap_file(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_and_reset),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_pipe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
