/*
 * test_npy.c - the .npy reader and writer: numpy-written fixtures (every
 * supported dtype, 0-dim and empty arrays, header versions 1 to 3) read
 * with exact values, files written here byte-identical to np.save's, round
 * trips, and malformed headers and sizes, each a one-line error naming the
 * file, never a crash.
 *
 * Fixtures come from tools/make_pth_fixtures.py through CZ_PTH_FIXTURES;
 * without it those tests are skipped. Malformed inputs are read from
 * exact-size heap buffers so the sanitizers see any overread.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "io/io.h"
#include "io/npy.h"
#include "testutil.h"

/* ------------------------------------------------------------ helpers */

static int make_tmp_dir(void **state)
{
    (void)state;
    return tu_make_tmp_dir("npy");
}

static uint8_t *slurp(const char *path, size_t *size)
{
    char *data;
    if (cz_read_file(path, (size_t)1 << 24, &data, size) != CZ_OK)
        fail_msg("%s", cz_last_error());
    return (uint8_t *)data;
}

/* Reads bytes copied into an exact-size heap buffer. */
static cz_status read_bytes(const void *data, size_t size, cz_npy_dtype as, cz_npy_array *a)
{
    uint8_t *copy = malloc(size ? size : 1);
    assert_non_null(copy);
    memcpy(copy, data, size);
    cz_status st = cz_npy_read_memory("bad.npy", copy, size, as, a);
    free(copy);
    return st;
}

/* A version 1.0 file with the given header text (padded to 64 bytes) and
 * data_size bytes of data. */
static uint8_t *make_npy(const char *header, size_t data_size, size_t *size)
{
    size_t len = strlen(header), hlen = (10 + len + 1 + 63) / 64 * 64 - 10;
    *size = 10 + hlen + data_size;
    uint8_t *b = calloc(1, *size);
    assert_non_null(b);
    memcpy(b, "\x93NUMPY\x01\x00", 8);
    b[8] = (uint8_t)hlen;
    b[9] = (uint8_t)(hlen >> 8);
    memset(b + 10, ' ', hlen);
    memcpy(b + 10, header, len);
    b[10 + hlen - 1] = '\n';
    return b;
}

static void expect_bad_header(const char *header, size_t data_size, const char *part1,
                              const char *part2)
{
    size_t size;
    uint8_t *b = make_npy(header, data_size, &size);
    cz_npy_array a;
    tu_expect_error(read_bytes(b, size, CZ_NPY_F32, &a), CZ_ERR_FORMAT, part1, part2);
    assert_non_null(strstr(cz_last_error(), "bad.npy"));
    assert_null(a.data);
    free(b);
}

/* The allocation ceiling counts the array as converted: 100 bytes of
 * '|u1' become 800 bytes of int64, refused under an 799-byte limit and
 * accepted at exactly 800. */
static void test_alloc_ceiling(void **state)
{
    (void)state;
    size_t size;
    uint8_t *b = make_npy("{'descr': '|u1', 'fortran_order': False, 'shape': (10, 10), }", 100,
                          &size);
    cz_npy_array a;
    cz_set_max_alloc(799);
    tu_expect_error(read_bytes(b, size, CZ_NPY_I64, &a), CZ_ERR_NOMEM,
                    "bad.npy: array (10, 10) as int64 needs 800 bytes, over the 799-byte limit",
                    "CNNZOO_MAX_ALLOC");
    assert_null(a.data);
    cz_set_max_alloc(800);
    assert_int_equal(read_bytes(b, size, CZ_NPY_I64, &a), CZ_OK);
    assert_int_equal(a.numel, 100);
    cz_npy_free(&a);
    cz_set_max_alloc(0);
    free(b);
}

/* ------------------------------------------------------------ fixtures */

static void test_read_fixtures(void **state)
{
    (void)state;
    const char *f32_files[] = {"f32_4d.npy", "f32_v2.npy", "f32_v3.npy"};
    for (int k = 0; k < 3; k++) {
        cz_npy_array a;
        assert_int_equal(cz_npy_read(tu_fixture("CZ_PTH_FIXTURES", f32_files[k]), CZ_NPY_F32, &a), CZ_OK);
        assert_int_equal(a.file_dtype, CZ_NPY_F32);
        assert_int_equal(a.ndim, 4);
        int64_t want_shape[4] = {2, 3, 4, 5};
        assert_memory_equal(a.shape, want_shape, sizeof want_shape);
        assert_int_equal(a.numel, 120);
        const float *v = a.data;
        for (int i = 0; i < 120; i++)
            assert_true(v[i] == (float)i * 0.25f - 7.0f);
        cz_npy_free(&a);
        tu_expect_error(cz_npy_read(tu_fixture("CZ_PTH_FIXTURES", f32_files[k]), CZ_NPY_I64, &a), CZ_ERR_FORMAT,
                     "element 1 (-6.75) is not a whole number", NULL);
    }

    cz_npy_array a;
    const int64_t labels[5] = {0, -1, (int64_t)1 << 40, 7, -((int64_t)1 << 62)};
    assert_int_equal(cz_npy_read(tu_fixture("CZ_PTH_FIXTURES", "i64_1d.npy"), CZ_NPY_I64, &a), CZ_OK);
    assert_int_equal(a.ndim, 1);
    assert_int_equal(a.shape[0], 5);
    assert_memory_equal(a.data, labels, sizeof labels);
    cz_npy_free(&a);
    assert_int_equal(cz_npy_read(tu_fixture("CZ_PTH_FIXTURES", "i64_1d.npy"), CZ_NPY_F32, &a), CZ_OK);
    assert_true(((float *)a.data)[2] == 0x1p40f);
    cz_npy_free(&a);

    assert_int_equal(cz_npy_read(tu_fixture("CZ_PTH_FIXTURES", "f64_2d.npy"), CZ_NPY_F32, &a), CZ_OK);
    assert_int_equal(a.file_dtype, CZ_NPY_F64);
    for (int i = 0; i < 12; i++)
        assert_true(((float *)a.data)[i] == (float)(i * 0.5 + 0.1));
    cz_npy_free(&a);

    assert_int_equal(cz_npy_read(tu_fixture("CZ_PTH_FIXTURES", "i32_2d.npy"), CZ_NPY_I64, &a), CZ_OK);
    const int64_t i32[4] = {1, -2, 3, 1 << 30};
    assert_memory_equal(a.data, i32, sizeof i32);
    cz_npy_free(&a);

    assert_int_equal(cz_npy_read(tu_fixture("CZ_PTH_FIXTURES", "u8_1d.npy"), CZ_NPY_F32, &a), CZ_OK);
    assert_int_equal(a.file_dtype, CZ_NPY_U8);
    assert_true(((float *)a.data)[1] == 128.0f && ((float *)a.data)[2] == 255.0f);
    cz_npy_free(&a);

    assert_int_equal(cz_npy_read(tu_fixture("CZ_PTH_FIXTURES", "scalar.npy"), CZ_NPY_F32, &a), CZ_OK);
    assert_int_equal(a.ndim, 0);
    assert_int_equal(a.numel, 1);
    assert_true(((float *)a.data)[0] == 3.5f);
    cz_npy_free(&a);

    assert_int_equal(cz_npy_read(tu_fixture("CZ_PTH_FIXTURES", "empty.npy"), CZ_NPY_F32, &a), CZ_OK);
    assert_int_equal(a.ndim, 2);
    assert_int_equal(a.numel, 0);
    assert_non_null(a.data);
    cz_npy_free(&a);

    cz_tensor t = {0};
    assert_int_equal(cz_npy_read_tensor(tu_fixture("CZ_PTH_FIXTURES", "f32_4d.npy"), &t), CZ_OK);
    assert_int_equal(t.ndim, 4);
    assert_int_equal(t.shape[3], 5);
    assert_true(t.data[119] == 119 * 0.25f - 7.0f);
    cz_tensor_free(&t);

    tu_expect_error(cz_npy_read(tu_fixture("CZ_PTH_FIXTURES", "fortran.npy"), CZ_NPY_F32, &a), CZ_ERR_FORMAT,
                 "fortran.npy: array is in Fortran order", NULL);
    tu_expect_error(cz_npy_read(tu_fixture("CZ_PTH_FIXTURES", "bigendian.npy"), CZ_NPY_F32, &a), CZ_ERR_FORMAT,
                 "dtype '>f4' is big-endian", NULL);
    tu_expect_error(cz_npy_read(tu_tmp_path("absent.npy"), CZ_NPY_F32, &a), CZ_ERR_IO, "absent.npy",
                 NULL);
}

/* What we write is byte for byte what np.save writes. */
static void test_write_matches_numpy(void **state)
{
    (void)state;
    float f32[120];
    for (int i = 0; i < 120; i++)
        f32[i] = (float)i * 0.25f - 7.0f;
    const int64_t labels[5] = {0, -1, (int64_t)1 << 40, 7, -((int64_t)1 << 62)};
    const float scalar = 3.5f, f1[3] = {1.5f, -2.0f, 3.25f};
    static const struct {
        const char *name;
        cz_npy_dtype dtype;
        const void *data;
        int ndim;
        int64_t shape[4];
    } cases[] = {
        {"f32_4d.npy", CZ_NPY_F32, NULL, 4, {2, 3, 4, 5}},
        {"i64_1d.npy", CZ_NPY_I64, NULL, 1, {5}},
        {"scalar.npy", CZ_NPY_F32, NULL, 0, {0}},
        {"f32_1d.npy", CZ_NPY_F32, NULL, 1, {3}},
        {"empty.npy", CZ_NPY_F32, NULL, 2, {0, 4}},
    };
    const void *data[5] = {f32, labels, &scalar, f1, NULL};
    for (int k = 0; k < 5; k++) {
        const char *out = tu_tmp_path(cases[k].name);
        assert_int_equal(cz_npy_write(out, cases[k].dtype, data[k], cases[k].ndim, cases[k].shape),
                         CZ_OK);
        size_t got_size, want_size;
        uint8_t *got = slurp(out, &got_size), *want = slurp(tu_fixture("CZ_PTH_FIXTURES", cases[k].name), &want_size);
        assert_int_equal(got_size, want_size);
        assert_memory_equal(got, want, want_size);
        free(got);
        free(want);
    }
    cz_tensor t = {0};
    int shape[4] = {2, 3, 4, 5};
    assert_int_equal(cz_tensor_alloc(&t, 4, shape), CZ_OK);
    memcpy(t.data, f32, sizeof f32);
    assert_int_equal(cz_npy_write_tensor(tu_tmp_path("tensor.npy"), &t), CZ_OK);
    size_t a_size, b_size;
    uint8_t *a = slurp(tu_tmp_path("tensor.npy"), &a_size), *b = slurp(tu_fixture("CZ_PTH_FIXTURES", "f32_4d.npy"), &b_size);
    assert_int_equal(a_size, b_size);
    assert_memory_equal(a, b, a_size);
    free(a);
    free(b);
    cz_tensor_free(&t);
}

static void test_round_trips(void **state)
{
    (void)state;
    /* Every rank 0..8 and every dtype, with large dims in the header. */
    for (int ndim = 0; ndim <= CZ_NPY_MAX_DIMS; ndim++) {
        for (int dt = CZ_NPY_F32; dt <= CZ_NPY_U8; dt++) {
            int64_t shape[CZ_NPY_MAX_DIMS];
            size_t numel = 1;
            for (int d = 0; d < ndim; d++)
                numel *= (size_t)(shape[d] = d % 3 == 0 ? 2 : 1);
            uint8_t raw[64 * 8];
            for (size_t i = 0; i < sizeof raw; i++)
                raw[i] = (uint8_t)(i * 37 % 5); /* small whole values in every type */
            double want[256];
            for (size_t i = 0; i < numel; i++) {
                const uint8_t *p = raw + i * cz_npy_dtype_size((cz_npy_dtype)dt);
                switch (dt) {
                case CZ_NPY_F32: { float x; memcpy(&x, p, 4); want[i] = x; break; }
                case CZ_NPY_F64: { double x; memcpy(&x, p, 8); want[i] = x; break; }
                case CZ_NPY_I32: { int32_t x; memcpy(&x, p, 4); want[i] = x; break; }
                case CZ_NPY_I64: { int64_t x; memcpy(&x, p, 8); want[i] = (double)x; break; }
                default: want[i] = *p; break;
                }
            }
            const char *path = tu_tmp_path("trip.npy");
            assert_int_equal(cz_npy_write(path, (cz_npy_dtype)dt, raw, ndim, shape), CZ_OK);
            cz_npy_array a;
            assert_int_equal(cz_npy_read(path, CZ_NPY_F32, &a), CZ_OK);
            assert_int_equal(a.ndim, ndim);
            assert_int_equal(a.file_dtype, dt);
            assert_int_equal(a.numel, numel);
            for (size_t i = 0; i < numel; i++)
                assert_true(((float *)a.data)[i] == (float)want[i]);
            cz_npy_free(&a);
        }
    }
    /* Header growth room and 64-byte alignment hold for long shapes too. */
    int64_t wide[2] = {0, (int64_t)1 << 40};
    const char *path = tu_tmp_path("wide.npy");
    assert_int_equal(cz_npy_write(path, CZ_NPY_F32, NULL, 2, wide), CZ_OK);
    size_t size;
    uint8_t *b = slurp(path, &size);
    assert_int_equal(size % 64, 0);
    assert_int_equal(b[size - 1], '\n');
    free(b);
    cz_npy_array a;
    assert_int_equal(cz_npy_read(path, CZ_NPY_I64, &a), CZ_OK);
    assert_int_equal(a.shape[1], (int64_t)1 << 40);
    cz_npy_free(&a);
}

static void test_write_errors(void **state)
{
    (void)state;
    float x = 0;
    int64_t neg[1] = {-1};
    tu_expect_error(cz_npy_write(tu_tmp_path("e.npy"), CZ_NPY_F32, &x, 1, neg), CZ_ERR_ARG,
                 "dim 0 is -1", NULL);
    int64_t one[1] = {1};
    tu_expect_error(cz_npy_write(tu_tmp_path("e.npy"), CZ_NPY_F32, &x, 9, one), CZ_ERR_ARG,
                 "bad arguments", NULL);
    tu_expect_error(cz_npy_write(tu_tmp_path("e.npy"), CZ_NPY_F32, NULL, 1, one), CZ_ERR_ARG,
                 "no data", NULL);
    int64_t huge[3] = {(int64_t)1 << 40, 1 << 20, 1 << 20};
    tu_expect_error(cz_npy_write(tu_tmp_path("e.npy"), CZ_NPY_F32, &x, 3, huge), CZ_ERR_ARG, "dim 2",
                 NULL);
    tu_expect_error(cz_npy_write(tu_tmp_path("no/such/dir/e.npy"), CZ_NPY_F32, &x, 1, one),
                 CZ_ERR_IO, "no/such/dir", NULL);
    assert_int_equal(access(tu_tmp_path("e.npy"), F_OK), -1);
}

/* ------------------------------------------------------------ malformed */

static void test_bad_headers(void **state)
{
    (void)state;
    static const struct {
        const char *header;
        size_t data;
        const char *part1, *part2;
    } cases[] = {
        {"{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", 8, "Fortran order", NULL},
        {"{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", 16, "dtype '<c8' is not "
                                                                          "supported",
         NULL},
        {"{'descr': '>i8', 'fortran_order': False, 'shape': (2,), }", 16, "big-endian", NULL},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", 8, "shape entry 0",
         "non-negative integer"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2 3), }", 24,
         "expected ',' or ')' in the shape", NULL},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", 8,
         "shape entry 0 is too large", NULL},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, "
         "4294967296), }",
         8, "shape (4294967296, 4294967296, 4294967296) has more than 2^64 elements", NULL},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }", 4,
         "more than 8 dims", NULL},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 7,
         "shape (2,) of '<f4' needs 8 bytes", "7 data bytes follow the header (truncated)"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (2147483648, 2147483648), }", 8,
         "needs more than 2^64 bytes", "(truncated)"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 9, "9 data bytes",
         "wrong size"},
        {"{'descr': '<f4', 'shape': (2,), }", 8, "has no 'fortran_order'", NULL},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", 8, "has key 'x'",
         NULL},
        {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", 8,
         "key 'descr' twice", NULL},
        {"{'descr': '<f4, 'fortran_order': False, 'shape': (2,)}", 8, "dtype '<f4, '", NULL},
        {"{'descr': '<f4', 'fortran_order': Truex, 'shape': (2,)}", 8,
         "fortran_order must be True or False", NULL},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} junk", 8,
         "unexpected 'j' at byte", "after the dict"},
        {"['descr', '<f4']", 8, "expected '{' starting the header dict", NULL},
        {"{'descr': '<f4' 'fortran_order': False}", 8, "',' or '}' after a value", NULL},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,)", 8, "npy header", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_bad_header(cases[i].header, cases[i].data, cases[i].part1, cases[i].part2);

    /* What numpy itself accepts: double quotes, Python 2 longs, no spaces,
     * keys in any order, no trailing comma. */
    size_t size;
    uint8_t *b = make_npy("{\"shape\":(2L,3L),\"fortran_order\":False,\"descr\":\"<i4\"}", 24,
                          &size);
    cz_npy_array a;
    assert_int_equal(read_bytes(b, size, CZ_NPY_I64, &a), CZ_OK);
    assert_int_equal(a.ndim, 2);
    assert_int_equal(a.shape[1], 3);
    cz_npy_free(&a);
    free(b);

    /* Magic, version and header length. */
    tu_expect_error(read_bytes("\x93NUMP", 5, CZ_NPY_F32, &a), CZ_ERR_FORMAT, "too short", NULL);
    tu_expect_error(read_bytes("PK\x03\x04......", 10, CZ_NPY_F32, &a), CZ_ERR_FORMAT,
                 "no magic string", NULL);
    tu_expect_error(read_bytes("\x93NUMPY\x04\x00\x00\x00", 10, CZ_NPY_F32, &a), CZ_ERR_FORMAT,
                 "version 4.0", NULL);
    tu_expect_error(read_bytes("\x93NUMPY\x01\x00\xff\x00{}", 12, CZ_NPY_F32, &a), CZ_ERR_FORMAT,
                 "header of 255 bytes exceeds the 2 bytes", NULL);
    tu_expect_error(read_bytes("\x93NUMPY\x02\x00\x01\x00", 10, CZ_NPY_F32, &a), CZ_ERR_FORMAT,
                 "inside the npy header length", NULL);
    tu_expect_error(read_bytes("\x93NUMPY\x01\x00\x00\x00", 10, CZ_NPY_F64, &a), CZ_ERR_ARG,
                 "F32 or I64", NULL);
}

static void test_truncated_and_corrupt(void **state)
{
    (void)state;
    size_t size;
    uint8_t *b = make_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", 48,
                          &size);
    cz_npy_array a;
    for (size_t cut = 0; cut < size; cut++) {
        if (read_bytes(b, cut, CZ_NPY_F32, &a) == CZ_OK)
            fail_msg("a file cut to %zu of %zu bytes was read", cut, size);
        assert_non_null(strstr(cz_last_error(), "bad.npy"));
    }
    for (size_t i = 0; i < size - 48; i++)
        for (int bit = 0; bit < 8; bit++) {
            b[i] ^= (uint8_t)(1 << bit);
            if (read_bytes(b, size, CZ_NPY_F32, &a) == CZ_OK)
                cz_npy_free(&a);
            else if (strchr(cz_last_error(), '\n'))
                fail_msg("multi-line message: %s", cz_last_error());
            b[i] ^= (uint8_t)(1 << bit);
        }
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_fixtures),
        cmocka_unit_test(test_write_matches_numpy),
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_write_errors),
        cmocka_unit_test(test_bad_headers),
        cmocka_unit_test(test_alloc_ceiling),
        cmocka_unit_test(test_truncated_and_corrupt),
    };
    return cmocka_run_group_tests(tests, make_tmp_dir, NULL);
}
