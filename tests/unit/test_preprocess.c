/*
 * test_preprocess.c - torchvision's evaluation transforms: cz_image_resize
 * against PIL 9.4's Image.resize byte for byte (bilinear and bicubic, up
 * and down, extreme aspect ratios, 1x1); every model pipeline against
 * torchvision 0.14 (its weights' transforms, or timm's eval transform
 * rebuilt from timm's configs) on JPEG and PNG inputs, reporting the
 * largest difference in 1/255 units before normalisation; ten crops in
 * TenCrop's order; a pipeline for every model of the zoo.
 *
 * Fixtures come from tools/image_reference.py through CZ_IMAGE_FIXTURES;
 * without it those tests are skipped.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "data/preprocess.h"
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

static void read_npy(const char *name, cz_npy_array *a)
{
    if (cz_npy_read(fixture_path(name), CZ_NPY_F32, a) != CZ_OK)
        fail_msg("%s", cz_last_error());
}

/* ------------------------------------------------------------ resize */

static void resize_case(char **words, int n)
{
    assert_int_equal(n, 6);
    int width = atoi(words[2]), height = atoi(words[3]);
    cz_resample r = strcmp(words[4], "bicubic") == 0 ? CZ_RESAMPLE_BICUBIC : CZ_RESAMPLE_BILINEAR;
    cz_npy_array want;
    read_npy(words[5], &want);
    int channels = want.ndim == 3 ? 3 : 1;
    cz_image in, out;
    if (cz_image_load(fixture_path(words[1]), channels, &in) != CZ_OK)
        fail_msg("%s", cz_last_error());
    if (cz_image_resize(&in, width, height, r, &out) != CZ_OK)
        fail_msg("%s", cz_last_error());
    assert_int_equal(want.shape[0], out.height);
    assert_int_equal(want.shape[1], out.width);
    const float *w = want.data;
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < want.numel; i++)
        if ((float)out.pixels[i] != w[i] && bad++ == 0)
            first = i;
    if (bad)
        fail_msg("resize %s to %dx%d %s: %zu of %zu bytes differ from PIL, first at %zu "
                 "(%u vs %.0f)", words[1], width, height, words[4], bad, want.numel, first,
                 out.pixels[first], w[first]);
    cz_image_free(&in);
    cz_image_free(&out);
    cz_npy_free(&want);
}

static void test_resize_matches_pil(void **state)
{
    (void)state;
    if (!fixtures())
        skip();
    assert_true(for_each_case("resize", resize_case) >= 20);
}

static void test_resize_arguments(void **state)
{
    (void)state;
    uint8_t px[3] = {1, 2, 3};
    cz_image in = {1, 1, 3, px}, out;
    assert_int_equal(cz_image_resize(&in, 0, 5, CZ_RESAMPLE_BILINEAR, &out), CZ_ERR_ARG);
    assert_int_equal(cz_image_resize(&in, 100000, 100000, CZ_RESAMPLE_BILINEAR, &out),
                     CZ_ERR_ARG);
    assert_null(out.pixels);
    /* Same size: a copy, as PIL skips both passes. */
    assert_int_equal(cz_image_resize(&in, 1, 1, CZ_RESAMPLE_BICUBIC, &out), CZ_OK);
    assert_memory_equal(out.pixels, px, 3);
    cz_image_free(&out);
}

/* ------------------------------------------------------------ pipelines */

static double worst_seen; /* the largest difference over all pipelines, /255 units */

static void pipeline_case(char **words, int n)
{
    assert_int_equal(n, 5);
    cz_preprocess p;
    if (cz_preprocess_for_model(words[1], &p) != CZ_OK)
        fail_msg("%s", cz_last_error());
    bool tencrop = strcmp(words[3], "1") == 0;
    cz_npy_array want;
    read_npy(words[4], &want);
    assert_int_equal(want.ndim, 4);
    assert_int_equal(want.shape[0], tencrop ? 10 : 1);
    assert_int_equal(want.shape[1], p.channels);
    assert_int_equal(want.shape[2], p.crop);
    assert_int_equal(want.shape[3], p.crop);
    cz_image img;
    if (cz_image_load(fixture_path(words[2]), p.channels, &img) != CZ_OK)
        fail_msg("%s", cz_last_error());
    float *got = malloc(want.numel * sizeof *got);
    assert_non_null(got);
    cz_status st = tencrop ? cz_preprocess_ten_crops(&p, &img, got)
                           : cz_preprocess_image(&p, &img, got);
    if (st != CZ_OK)
        fail_msg("%s", cz_last_error());
    /* The difference before Normalize: |got - want| * std, in 1/255. */
    const float *w = want.data;
    size_t plane = (size_t)p.crop * (size_t)p.crop, worst_at = 0;
    double worst = 0.0;
    for (size_t i = 0; i < want.numel; i++) {
        double d = fabs((double)got[i] - w[i]) * p.std[(i / plane) % (size_t)p.channels] * 255.0;
        if (d > worst) {
            worst = d;
            worst_at = i;
        }
    }
    if (worst > worst_seen)
        worst_seen = worst;
    if (worst > 2.0)
        fail_msg("%s on %s%s: differs from torchvision by %.3f/255 at %zu (%g vs %g)", words[1],
                 words[2], tencrop ? " (ten crops)" : "", worst, worst_at, got[worst_at],
                 w[worst_at]);
    free(got);
    cz_image_free(&img);
    cz_npy_free(&want);
}

static void test_pipelines_match_torchvision(void **state)
{
    (void)state;
    if (!fixtures())
        skip();
    worst_seen = 0.0;
    assert_true(for_each_case("pipeline", pipeline_case) >= 50);
    print_message("largest difference from torchvision before Normalize: %.6f/255\n", worst_seen);
}

/* ------------------------------------------------------------ no fixtures */

/* A 6x4 image whose pixel (x, y) holds 10 y + x, cropped 3x3 after a
 * resize that keeps it: each crop's top-left value shows where it came
 * from; the mirrored five read the row right to left. */
static void test_ten_crops_order(void **state)
{
    (void)state;
    uint8_t px[24];
    for (int i = 0; i < 24; i++)
        px[i] = (uint8_t)(10 * (i / 6) + i % 6);
    cz_image img = {6, 4, 1, px};
    cz_preprocess p = {1, 4, 3, CZ_RESAMPLE_BILINEAR, {0.0f}, {1.0f / 255.0f}};
    float out[10 * 9];
    assert_int_equal(cz_preprocess_ten_crops(&p, &img, out), CZ_OK);
    /* Centre of a 4-row image cropped to 3: round(0.5) = 0 (halves to
     * even, as Python); of 6 columns: round(1.5) = 2. */
    const float top_left[10] = {0, 3, 10, 13, 2, 5, 2, 15, 12, 3};
    for (int i = 0; i < 10; i++)
        assert_float_equal(out[i * 9], top_left[i], 1e-4);
    /* Mirrored crops run right to left. */
    assert_float_equal(out[5 * 9 + 1], 4, 1e-4);
}

/* A crop larger than the image pads it with zeros, (crop - size) // 2
 * before, as CenterCrop does (LeNet-5's 28x28 inside 32x32). */
static void test_centre_crop_pads(void **state)
{
    (void)state;
    uint8_t px[4] = {10, 20, 30, 40};
    cz_image img = {2, 2, 1, px};
    cz_preprocess p = {1, 2, 5, CZ_RESAMPLE_BILINEAR, {0.0f}, {1.0f / 255.0f}};
    float out[25];
    assert_int_equal(cz_preprocess_image(&p, &img, out), CZ_OK);
    for (int i = 0; i < 25; i++) {
        int y = i / 5 - 1, x = i % 5 - 1;
        float want = y >= 0 && y < 2 && x >= 0 && x < 2 ? px[y * 2 + x] : 0.0f;
        assert_float_equal(out[i], want, 1e-4);
    }
    float ten[10 * 25];
    assert_int_equal(cz_preprocess_ten_crops(&p, &img, ten), CZ_ERR_ARG);
}

static void test_every_model_has_a_pipeline(void **state)
{
    (void)state;
    for (int i = 0; i < cz_model_count(); i++) {
        const cz_model_info *info = cz_model_at(i);
        cz_preprocess p;
        if (cz_preprocess_for_model(info->name, &p) != CZ_OK)
            fail_msg("%s", cz_last_error());
        assert_int_equal(p.channels, info->channels);
        assert_true(p.crop > 0 && p.resize > 0);
        for (int c = 0; c < p.channels; c++)
            assert_true(p.std[c] > 0.0f);
    }
    cz_preprocess p;
    assert_int_equal(cz_preprocess_for_model("resnet9000", &p), CZ_ERR_ARG);
}

static void test_channel_mismatch(void **state)
{
    (void)state;
    uint8_t px[3] = {0};
    cz_image img = {1, 1, 3, px};
    cz_preprocess p;
    assert_int_equal(cz_preprocess_for_model("lenet5", &p), CZ_OK);
    float out[32 * 32];
    assert_int_equal(cz_preprocess_image(&p, &img, out), CZ_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resize_matches_pil),
        cmocka_unit_test(test_resize_arguments),
        cmocka_unit_test(test_pipelines_match_torchvision),
        cmocka_unit_test(test_ten_crops_order),
        cmocka_unit_test(test_centre_crop_pads),
        cmocka_unit_test(test_every_model_has_a_pipeline),
        cmocka_unit_test(test_channel_mismatch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
