/*
 * test_image.c - JPEG and PNG decoding against PIL 9.4: every fixture
 * image (baseline, progressive, 4:4:4, grey and CMYK JPEGs; RGB, grey,
 * palette, RGBA, grey+alpha, 1-bit, 16-bit grey and RGB PNGs; odd sizes
 * down to 1x1) decoded to RGB and to grey must equal
 * Image.open(f).convert("RGB"/"L") byte for byte. Bad files (empty,
 * truncated, corrupt, a header claiming 100000x100000 or 65000x65000
 * pixels) must fail with a one-line error naming the file; truncations at
 * many lengths are decoded from exact-size heap buffers so the sanitizers
 * see any overread.
 *
 * Fixtures come from tools/image_reference.py through CZ_IMAGE_FIXTURES;
 * without it the fixture tests are skipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "io/image.h"
#include "io/io.h"
#include "io/npy.h"
#include "testutil.h"

static const char *fixtures(void)
{
    const char *dir = getenv("CZ_IMAGE_FIXTURES");
    return dir && *dir ? dir : NULL;
}

static const char *fixture_path(const char *name)
{
    return tu_fixture("CZ_IMAGE_FIXTURES", name);
}

/* Each manifest line starting with `kind`, handed to fn as words. */
static int for_each_case(const char *kind, void (*fn)(char **words, int n))
{
    return tu_for_each_line(fixture_path("manifest.txt"), kind, fn);
}

/* The decoded image must equal PIL's (H, W[, 3]) uint8 array exactly. */
static void expect_pixels(const char *image, int channels, const char *npy)
{
    cz_image img;
    cz_status st = cz_image_load(fixture_path(image), channels, &img);
    if (st != CZ_OK)
        fail_msg("%s: %s", image, cz_last_error());
    cz_npy_array want;
    if (cz_npy_read(fixture_path(npy), CZ_NPY_F32, &want) != CZ_OK)
        fail_msg("%s", cz_last_error());
    assert_int_equal(want.ndim, channels == 3 ? 3 : 2);
    assert_int_equal(want.shape[0], img.height);
    assert_int_equal(want.shape[1], img.width);
    assert_int_equal(img.channels, channels);
    size_t bad = 0, first = 0;
    const float *w = want.data;
    for (size_t i = 0; i < want.numel; i++)
        if ((float)img.pixels[i] != w[i] && bad++ == 0)
            first = i;
    if (bad)
        fail_msg("%s as %d channels: %zu of %zu bytes differ from PIL, first at %zu (%u vs %.0f)",
                 image, channels, bad, want.numel, first, img.pixels[first], w[first]);
    cz_npy_free(&want);
    cz_image_free(&img);
}

static void decode_case(char **words, int n)
{
    assert_int_equal(n, 4);
    expect_pixels(words[1], 3, words[2]);
    expect_pixels(words[1], 1, words[3]);
}

static void test_decode_matches_pil(void **state)
{
    (void)state;
    if (!fixtures())
        skip();
    assert_true(for_each_case("decode", decode_case) >= 15);
}

/* A refused file: an error, no image, a single line naming the file. */
static void bad_case(char **words, int n)
{
    assert_int_equal(n, 2);
    const char *path = fixture_path(words[1]);
    for (int channels = 1; channels <= 3; channels += 2) {
        cz_image img;
        cz_status st = cz_image_load(path, channels, &img);
        if (st == CZ_OK)
            fail_msg("%s decoded as %dx%d, expected an error", words[1], img.width, img.height);
        assert_null(img.pixels);
        const char *msg = cz_last_error();
        assert_non_null(strstr(msg, path));
        assert_null(strchr(msg, '\n'));
    }
}

static void test_bad_files_refused(void **state)
{
    (void)state;
    if (!fixtures())
        skip();
    assert_true(for_each_case("bad", bad_case) >= 10);
}

/* Headers claiming more pixels than the limit are refused as such. */
static void test_huge_headers_refused_before_allocation(void **state)
{
    (void)state;
    if (!fixtures())
        skip();
    const char *names[] = {"huge.png", "huge.jpg"};
    for (int i = 0; i < 2; i++) {
        cz_image img;
        assert_int_equal(cz_image_load(fixture_path(names[i]), 3, &img), CZ_ERR_NOMEM);
        assert_non_null(strstr(cz_last_error(), "exceeds the limit"));
    }
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* One PNG chunk at p (length, type, body, CRC); returns its size. */
static size_t png_chunk(uint8_t *p, const char *type, const uint8_t *body, size_t n)
{
    put_be32(p, (uint32_t)n);
    memcpy(p + 4, type, 4);
    if (n)
        memcpy(p + 8, body, n); /* IEND has no body */
    put_be32(p + 8 + n, (uint32_t)crc32(crc32(0, p + 4, 4), body, (uInt)n));
    return 12 + n;
}

/* An 8-bit PNG of width x height, grey (colour type 0) or RGB (2), all
 * pixels 7, into a malloc'd buffer. */
static uint8_t *make_png(int width, int height, bool rgb, size_t *size)
{
    size_t row = 1 + (size_t)width * (rgb ? 3 : 1), raw_size = row * (size_t)height;
    uint8_t *raw = malloc(raw_size);
    uLongf packed_size = compressBound(raw_size);
    uint8_t *packed = malloc(packed_size), *png = malloc(packed_size + 100);
    assert_true(raw && packed && png);
    memset(raw, 7, raw_size);
    for (int y = 0; y < height; y++)
        raw[(size_t)y * row] = 0; /* filter: none */
    assert_int_equal(compress(packed, &packed_size, raw, raw_size), Z_OK);
    uint8_t ihdr[13] = {0, 0, 0, 0, 0, 0, 0, 0, 8, rgb ? 2 : 0, 0, 0, 0};
    put_be32(ihdr, (uint32_t)width);
    put_be32(ihdr + 4, (uint32_t)height);
    memcpy(png, "\x89PNG\r\n\x1a\n", 8);
    size_t n = 8 + png_chunk(png + 8, "IHDR", ihdr, sizeof ihdr);
    n += png_chunk(png + n, "IDAT", packed, packed_size);
    n += png_chunk(png + n, "IEND", NULL, 0);
    free(raw);
    free(packed);
    *size = n;
    return png;
}

/* The allocation ceiling: a PNG's decoded rows, then the image in the
 * channels asked for, each refused above the limit with both numbers,
 * and decoded at exactly the limit. */
static void test_alloc_ceiling(void **state)
{
    (void)state;
    size_t size;
    uint8_t *rgb = make_png(64, 32, true, &size);
    cz_image img;
    cz_set_max_alloc(6143);
    tu_expect_error(cz_image_decode("rgb.png", rgb, size, 1, &img), CZ_ERR_NOMEM,
                    "rgb.png: PNG rows of 192 bytes x 32 needs 6144 bytes (6 KiB), over the "
                    "6143-byte",
                    "CNNZOO_MAX_ALLOC");
    assert_null(img.pixels);
    cz_set_max_alloc(6144);
    assert_int_equal(cz_image_decode("rgb.png", rgb, size, 3, &img), CZ_OK);
    assert_int_equal(img.pixels[6143], 7);
    cz_image_free(&img);
    free(rgb);

    /* Grey rows fit in 2048 bytes; the RGB image asked for does not. */
    uint8_t *grey = make_png(64, 32, false, &size);
    cz_set_max_alloc(2048);
    tu_expect_error(cz_image_decode("grey.png", grey, size, 3, &img), CZ_ERR_NOMEM,
                    "grey.png: image of 64x32 pixels, 3 channels needs 6144 bytes (6 KiB), over "
                    "the 2048-byte (2 KiB) limit",
                    NULL);
    assert_null(img.pixels);
    assert_int_equal(cz_image_decode("grey.png", grey, size, 1, &img), CZ_OK);
    cz_image_free(&img);
    cz_set_max_alloc(0);
    free(grey);
}

/* Every prefix length in a spread over the file: an error or (for JPEGs
 * whose missing tail is only the EOI marker) an image, never a crash. */
static void decode_prefixes(const char *name)
{
    cz_mapped_file m;
    if (cz_map_file(&m, fixture_path(name)) != CZ_OK)
        fail_msg("%s", cz_last_error());
    size_t step = m.size / 97 + 1;
    for (size_t len = 0; len < m.size; len += len < 64 ? 1 : step) {
        uint8_t *copy = malloc(len ? len : 1);
        assert_non_null(copy);
        memcpy(copy, m.data, len);
        cz_image img;
        cz_status st = cz_image_decode(name, copy, len, 3, &img);
        if (st != CZ_OK) {
            assert_null(img.pixels);
            assert_non_null(strstr(cz_last_error(), name));
        } else {
            assert_true(len + 2 >= m.size);
        }
        cz_image_free(&img);
        free(copy);
    }
    cz_unmap_file(&m);
}

static void test_truncations(void **state)
{
    (void)state;
    if (!fixtures())
        skip();
    decode_prefixes("photo_q90.jpg");
    decode_prefixes("photo_progressive.jpg");
    decode_prefixes("photo.png");
    decode_prefixes("palette.png");
}

static void test_bad_arguments(void **state)
{
    (void)state;
    static const uint8_t junk[4] = {1, 2, 3, 4};
    cz_image img;
    assert_int_equal(cz_image_decode("x.png", junk, sizeof junk, 2, &img), CZ_ERR_ARG);
    assert_int_equal(cz_image_decode("x.png", junk, 0, 3, &img), CZ_ERR_FORMAT);
    assert_non_null(strstr(cz_last_error(), "empty"));
    assert_int_equal(cz_image_decode("x.png", junk, sizeof junk, 3, &img), CZ_ERR_FORMAT);
    assert_int_equal(cz_image_load("/nonexistent/x.png", 3, &img), CZ_ERR_IO);
    assert_non_null(strstr(cz_last_error(), "/nonexistent/x.png"));
    cz_image_free(&img);
    cz_image_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_matches_pil),
        cmocka_unit_test(test_bad_files_refused),
        cmocka_unit_test(test_huge_headers_refused_before_allocation),
        cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_alloc_ceiling),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
