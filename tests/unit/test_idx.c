/*
 * test_idx.c - the IDX reader on the real Fashion-MNIST files (when the
 * Debian package is installed) and on small plain, gzip and malformed
 * files written here, each malformed one giving a message that names it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "cnnzoo.h"
#include "testutil.h"

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

static int make_tmp_dir(void **state)
{
    (void)state;
    return tu_make_tmp_dir("idx");
}

static void write_gz(const char *path, const void *data, size_t size)
{
    gzFile gz = gzopen(path, "wb");
    assert_non_null(gz);
    assert_int_equal(gzwrite(gz, data, (unsigned)size), (int)size);
    assert_int_equal(gzclose(gz), Z_OK);
}

/* An IDX header (type 0x08) for the given dims into buf; returns its size. */
static size_t idx_header(uint8_t *buf, int ndim, const uint32_t *dims)
{
    buf[0] = 0;
    buf[1] = 0;
    buf[2] = 0x08;
    buf[3] = (uint8_t)ndim;
    for (int i = 0; i < ndim; i++) {
        buf[4 + 4 * i] = (uint8_t)(dims[i] >> 24);
        buf[5 + 4 * i] = (uint8_t)(dims[i] >> 16);
        buf[6 + 4 * i] = (uint8_t)(dims[i] >> 8);
        buf[7 + 4 * i] = (uint8_t)dims[i];
    }
    return 4 + 4 * (size_t)ndim;
}

/* Reads path, expects failure with `status` and a message holding the
 * path and `part`, and that the output was left empty. */
static void expect_error(const char *path, cz_status status, const char *part)
{
    cz_idx idx;
    cz_status st = cz_idx_read(path, &idx);
    const char *msg = cz_last_error();
    if (st != status || !strstr(msg, path) || !strstr(msg, part))
        fail_msg("%s: status %d (want %d), message \"%s\" lacks \"%s\"", path, st, status, msg,
                 part);
    assert_null(idx.data);
    assert_int_equal(idx.count, 0);
}

static void test_fashion_train_labels(void **state)
{
    (void)state;
    const char *path = FASHION_DIR "/train-labels-idx1-ubyte.gz";
    if (access(path, R_OK) != 0)
        skip(); /* dataset-fashion-mnist not installed */
    cz_idx idx;
    assert_int_equal(cz_idx_read(path, &idx), CZ_OK);
    assert_int_equal(idx.ndim, 1);
    assert_int_equal(idx.dims[0], 60000);
    assert_int_equal(idx.count, 60000);
    int histogram[10] = {0};
    for (size_t i = 0; i < idx.count; i++) {
        assert_in_range(idx.data[i], 0, 9);
        histogram[idx.data[i]]++;
    }
    /* Fashion-MNIST's training set is balanced: 6000 of each class. */
    for (int c = 0; c < 10; c++)
        assert_int_equal(histogram[c], 6000);
    cz_idx_free(&idx);
    assert_null(idx.data);
}

static void test_fashion_test_images(void **state)
{
    (void)state;
    const char *path = FASHION_DIR "/t10k-images-idx3-ubyte.gz";
    if (access(path, R_OK) != 0)
        skip();
    cz_idx idx;
    assert_int_equal(cz_idx_read(path, &idx), CZ_OK);
    assert_int_equal(idx.ndim, 3);
    assert_int_equal(idx.dims[0], 10000);
    assert_int_equal(idx.dims[1], 28);
    assert_int_equal(idx.dims[2], 28);
    assert_int_equal(idx.count, 10000);
    /* Real images: dark background, bright garments, mean in between. */
    uint64_t sum = 0;
    int max = 0;
    for (size_t i = 0; i < (size_t)10000 * 28 * 28; i++) {
        sum += idx.data[i];
        max = idx.data[i] > max ? idx.data[i] : max;
    }
    double mean = (double)sum / (10000.0 * 28 * 28);
    assert_true(mean > 40 && mean < 110);
    assert_int_equal(max, 255);
    cz_idx_free(&idx);
}

static void test_plain_and_gz_agree(void **state)
{
    (void)state;
    uint8_t buf[64];
    uint32_t dims[2] = {3, 4};
    size_t n = idx_header(buf, 2, dims);
    for (int i = 0; i < 12; i++)
        buf[n + (size_t)i] = (uint8_t)(i * 20);
    const char *plain = tu_tmp_path("small-idx2-ubyte");
    const char *gz = tu_tmp_path("small-idx2-ubyte.gz");
    tu_write_bytes(plain, buf, n + 12);
    write_gz(gz, buf, n + 12);
    for (int k = 0; k < 2; k++) {
        cz_idx idx;
        assert_int_equal(cz_idx_read(k ? gz : plain, &idx), CZ_OK);
        assert_int_equal(idx.ndim, 2);
        assert_int_equal(idx.dims[0], 3);
        assert_int_equal(idx.dims[1], 4);
        assert_int_equal(idx.count, 3);
        assert_memory_equal(idx.data, buf + n, 12);
        cz_idx_free(&idx);
    }
}

/* gzip data larger than the first buffer (1 MiB, then doubled as data
 * arrives) reads whole, and one cut short in the middle of a growth step
 * says how much came. */
static void test_gz_grows(void **state)
{
    (void)state;
    uint32_t dims[2] = {3000005, 1}; /* not a power of two */
    size_t data = 3000005, half = 1500000;
    uint8_t *buf = malloc(8 + 4 + data);
    assert_non_null(buf);
    size_t n = idx_header(buf, 2, dims);
    for (size_t i = 0; i < data; i++)
        buf[n + i] = (uint8_t)(i * 7 + i / 251);
    const char *gz = tu_tmp_path("grow-idx2-ubyte.gz");
    write_gz(gz, buf, n + data);
    cz_idx idx;
    assert_int_equal(cz_idx_read(gz, &idx), CZ_OK);
    assert_int_equal(idx.count, data);
    assert_memory_equal(idx.data, buf + n, data);
    cz_idx_free(&idx);
    const char *cut = tu_tmp_path("cut-idx2-ubyte.gz");
    write_gz(cut, buf, n + half);
    expect_error(cut, CZ_ERR_FORMAT, "truncated: expected 3000005 bytes of data, found 1500000");
    free(buf);
}

static void test_empty_dataset(void **state)
{
    (void)state;
    uint8_t buf[16];
    uint32_t dims[2] = {0, 28};
    const char *path = tu_tmp_path("empty-idx2-ubyte");
    tu_write_bytes(path, buf, idx_header(buf, 2, dims));
    cz_idx idx;
    assert_int_equal(cz_idx_read(path, &idx), CZ_OK);
    assert_int_equal(idx.count, 0);
    assert_int_equal(idx.dims[1], 28);
    cz_idx_free(&idx);
}

static void test_missing_file(void **state)
{
    (void)state;
    expect_error(tu_tmp_path("absent-idx1-ubyte.gz"), CZ_ERR_IO, "No such file or directory");
}

static void test_wrong_magic(void **state)
{
    (void)state;
    const char *path = tu_tmp_path("archive.zip");
    tu_write_bytes(path, "PK\x03\x04 not idx at all", 20);
    expect_error(path, CZ_ERR_FORMAT, "not an IDX file (magic 0x504b0304, expected 0x000008NN");

    /* Compressed twice: one gunzip leaves gzip's own magic. */
    const char *inner = tu_tmp_path("inner.gz");
    uint8_t buf[16];
    uint32_t dims[1] = {2};
    size_t n = idx_header(buf, 1, dims);
    buf[n] = 1;
    buf[n + 1] = 2;
    write_gz(inner, buf, n + 2);
    FILE *fp = fopen(inner, "rb");
    assert_non_null(fp);
    uint8_t gz_bytes[256];
    size_t gz_size = fread(gz_bytes, 1, sizeof gz_bytes, fp);
    fclose(fp);
    const char *twice = tu_tmp_path("twice.gz");
    write_gz(twice, gz_bytes, gz_size);
    expect_error(twice, CZ_ERR_FORMAT, "not an IDX file (magic 0x1f8b08");
}

static void test_unsupported_type(void **state)
{
    (void)state;
    const uint8_t floats[] = {0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0x80, 0x3f};
    const char *path = tu_tmp_path("floats-idx1");
    tu_write_bytes(path, floats, sizeof floats);
    expect_error(path, CZ_ERR_FORMAT, "element type 0x0d (float) is not supported");
}

static void test_bad_ndim(void **state)
{
    (void)state;
    const uint8_t zero[] = {0, 0, 8, 0, 7};
    const char *path0 = tu_tmp_path("ndim0.gz");
    write_gz(path0, zero, sizeof zero);
    expect_error(path0, CZ_ERR_FORMAT, "IDX header has 0 dims, expected 1 to 4");

    uint8_t five[4 + 20 + 1] = {0, 0, 8, 5};
    for (int i = 0; i < 5; i++)
        five[7 + 4 * i] = 1;
    const char *path5 = tu_tmp_path("ndim5.gz");
    write_gz(path5, five, sizeof five);
    expect_error(path5, CZ_ERR_FORMAT, "IDX header has 5 dims, expected 1 to 4");
}

static void test_short_files(void **state)
{
    (void)state;
    const char *empty = tu_tmp_path("empty.gz");
    write_gz(empty, "", 0);
    expect_error(empty, CZ_ERR_FORMAT, "0 bytes, shorter than the 4-byte magic");

    const char *two = tu_tmp_path("two-bytes");
    tu_write_bytes(two, "\0\0", 2);
    expect_error(two, CZ_ERR_FORMAT, "2 bytes, shorter than the 4-byte magic");

    const uint8_t cut_dims[] = {0, 0, 8, 3, 0, 0, 0x27, 0x10, 0, 0};
    const char *dims = tu_tmp_path("cut-dims.gz");
    write_gz(dims, cut_dims, sizeof cut_dims);
    expect_error(dims, CZ_ERR_FORMAT, "truncated IDX header: expected 12 bytes of dims, found 6");
}

/* An IDX file of `count` 28x28 images into buf whose data section holds
 * `bytes` bytes (fewer than the header promises, or all of them); its
 * length. buf must hold 16 + bytes. */
static size_t images_idx(uint8_t *buf, uint32_t count, size_t bytes)
{
    uint32_t dims[3] = {count, 28, 28};
    size_t n = idx_header(buf, 3, dims);
    memset(buf + n, 7, bytes);
    return n + bytes;
}

/* A well-formed gzip whose IDX header promises more data than it holds. */
static void test_truncated_data(void **state)
{
    (void)state;
    uint8_t buf[16 + 100];
    size_t n = images_idx(buf, 10, 100);
    const char *path = tu_tmp_path("truncated-idx3-ubyte.gz");
    write_gz(path, buf, n);
    expect_error(path, CZ_ERR_FORMAT, "truncated: expected 7840 bytes of data, found 100");

    /* Uncompressed: caught from the file's size, before any allocation. */
    const char *plain = tu_tmp_path("truncated-idx3-ubyte");
    tu_write_bytes(plain, buf, n);
    expect_error(plain, CZ_ERR_FORMAT,
                 "truncated: IDX dims 10x28x28 announce 7840 bytes of data, the file holds 100 "
                 "after its 16-byte header");
}

/* The gzip stream itself cut short, as an interrupted download leaves it. */
static void test_truncated_gzip_stream(void **state)
{
    (void)state;
    static uint8_t buf[16 + 5000];
    uint32_t dims[1] = {5000};
    size_t n = idx_header(buf, 1, dims);
    for (int i = 0; i < 5000; i++)
        buf[n + (size_t)i] = (uint8_t)(i * 7919 % 251); /* hard to compress */
    const char *full = tu_tmp_path("full.gz");
    write_gz(full, buf, n + 5000);
    FILE *fp = fopen(full, "rb");
    assert_non_null(fp);
    static uint8_t gz_bytes[8192];
    size_t gz_size = fread(gz_bytes, 1, sizeof gz_bytes, fp);
    fclose(fp);
    assert_true(gz_size > 200);
    const char *cut = tu_tmp_path("cut.gz");
    tu_write_bytes(cut, gz_bytes, gz_size / 2);
    cz_idx idx;
    cz_status st = cz_idx_read(cut, &idx);
    assert_true(st == CZ_ERR_IO || st == CZ_ERR_FORMAT);
    assert_non_null(strstr(cz_last_error(), cut));
    assert_non_null(strstr(cz_last_error(), "truncated (the gzip stream ends early): expected "
                                            "5000 bytes of data, found"));
    assert_null(idx.data);
}

static void test_trailing_data(void **state)
{
    (void)state;
    uint8_t buf[16];
    uint32_t dims[1] = {5};
    size_t n = idx_header(buf, 1, dims);
    memset(buf + n, 1, 6); /* one byte too many */
    const char *path = tu_tmp_path("trailing.gz");
    write_gz(path, buf, n + 6);
    expect_error(path, CZ_ERR_FORMAT, "trailing data after the 5 bytes the header announces");
}

static void test_huge_dims(void **state)
{
    (void)state;
    uint8_t buf[32];
    uint32_t big[3] = {65536, 65536, 65536}; /* 2^48 bytes */
    const char *path = tu_tmp_path("big-idx3-ubyte");
    tu_write_bytes(path, buf, idx_header(buf, 3, big));
    expect_error(path, CZ_ERR_FORMAT,
                 "truncated: IDX dims 65536x65536x65536 announce 281474976710656 bytes of data, "
                 "the file holds 0");
    /* Compressed, the size is unknown until inflated: the ceiling refuses
     * the allocation before it is made. */
    const char *gz = tu_tmp_path("big-idx3-ubyte.gz");
    write_gz(gz, buf, idx_header(buf, 3, big));
    expect_error(gz, CZ_ERR_NOMEM,
                 "IDX data of dims 65536x65536x65536 needs 281474976710656 bytes (256 TiB), over "
                 "the 17179869184-byte (16 GiB) limit on one allocation");

    uint32_t wide[4] = {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu};
    const char *path2 = tu_tmp_path("wide-idx4-ubyte");
    tu_write_bytes(path2, buf, idx_header(buf, 4, wide));
    expect_error(path2, CZ_ERR_FORMAT, "IDX dim 0 is 4294967295, larger than 2^31 - 1");

    uint32_t product[4] = {0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff};
    const char *path3 = tu_tmp_path("product-idx4-ubyte");
    tu_write_bytes(path3, buf, idx_header(buf, 4, product));
    expect_error(path3, CZ_ERR_FORMAT,
                 "IDX dims 2147483647x2147483647x2147483647x2147483647 make more than 2^64 bytes "
                 "(overflow)");
}

/* The allocation ceiling applies to IDX data: a real file over a lowered
 * limit is refused with the limit in the message, and reads again once
 * the default is restored. */
static void test_alloc_ceiling(void **state)
{
    (void)state;
    uint8_t buf[16 + 784];
    const char *path = tu_tmp_path("ceiling-idx3-ubyte.gz");
    write_gz(path, buf, images_idx(buf, 1, 784));
    cz_set_max_alloc(783);
    assert_int_equal(cz_max_alloc(), 783);
    expect_error(path, CZ_ERR_NOMEM,
                 "IDX data of dims 1x28x28 needs 784 bytes, over the 783-byte limit on one "
                 "allocation; if the file is right, raise it with CNNZOO_MAX_ALLOC");
    cz_set_max_alloc(784); /* exactly the size: allowed */
    cz_idx idx;
    assert_int_equal(cz_idx_read(path, &idx), CZ_OK);
    cz_idx_free(&idx);
    cz_set_max_alloc(0); /* back to the default */
    assert_int_equal(cz_max_alloc(), CZ_MAX_ALLOC_DEFAULT);
}

static void test_directory(void **state)
{
    (void)state;
    cz_idx idx;
    assert_int_not_equal(cz_idx_read(tu_tmp_path("."), &idx), CZ_OK);
    assert_non_null(strstr(cz_last_error(), tu_tmp_path(".")));
    assert_null(idx.data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fashion_train_labels),
        cmocka_unit_test(test_fashion_test_images),
        cmocka_unit_test(test_plain_and_gz_agree),
        cmocka_unit_test(test_gz_grows),
        cmocka_unit_test(test_empty_dataset),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_wrong_magic),
        cmocka_unit_test(test_unsupported_type),
        cmocka_unit_test(test_bad_ndim),
        cmocka_unit_test(test_short_files),
        cmocka_unit_test(test_truncated_data),
        cmocka_unit_test(test_truncated_gzip_stream),
        cmocka_unit_test(test_trailing_data),
        cmocka_unit_test(test_huge_dims),
        cmocka_unit_test(test_alloc_ceiling),
        cmocka_unit_test(test_directory),
    };
    return cmocka_run_group_tests(tests, make_tmp_dir, NULL);
}
