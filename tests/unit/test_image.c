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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
