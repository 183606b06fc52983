/*
 * test_augment.c - the training transforms: the centre mode equals the
 * evaluation pipeline bit for bit; RandomResizedCrop's boxes stay inside
 * the image, respect scale and ratio, fall back as torchvision does and
 * have the analytic mean area; every crop mode's output is a window of the
 * (resized, padded) image, each window is reached, and the crops equal
 * torchvision 0.14 / PIL 9.4 byte for byte; ColorJitter's ops and PCA
 * lighting match torchvision's tensor functions within 1e-6; the flip is
 * an exact mirror; a seed fixes the sample; bad recipes are refused with
 * messages naming the rule.
 *
 * Fixtures come from tools/augment_reference.py through
 * CZ_AUGMENT_FIXTURES; without it those tests are skipped.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "data/augment.h"
#include "io/npy.h"
#include "testutil.h"

/* ToTensor alone: Normalize by mean 0 and std 1 leaves x / 255, so an
 * output pixel is exactly (float)byte / 255. */
static cz_preprocess to_tensor(int channels, int resize, int crop)
{
    return (cz_preprocess){channels, resize, crop, CZ_RESAMPLE_BILINEAR, {0.0f, 0.0f, 0.0f},
                           {1.0f, 1.0f, 1.0f}};
}

/* A w x h image of bytes 1..255 (never 0, so zero padding shows),
 * random so that no two windows agree; free with cz_image_free. */
static cz_image random_image(int w, int h, int c, uint64_t seed)
{
    cz_rng rng;
    cz_rng_seed(&rng, seed);
    cz_image img = {w, h, c, malloc((size_t)w * (size_t)h * (size_t)c)};
    assert_non_null(img.pixels);
    for (size_t i = 0; i < (size_t)w * (size_t)h * (size_t)c; i++)
        img.pixels[i] = (uint8_t)(1 + cz_rng_below(&rng, 255));
    return img;
}

/* The oracle for every crop: dst (c x n x n) = img's n x n window at
 * (left, top) / 255, zero outside, read right to left when mirrored. */
static void window_of(const cz_image *img, int left, int top, int n, bool mirror, float *dst)
{
    int c = img->channels;
    for (int ch = 0; ch < c; ch++)
        for (int y = 0; y < n; y++)
            for (int x = 0; x < n; x++) {
                int sy = top + y, sx = left + (mirror ? n - 1 - x : x);
                bool in = sy >= 0 && sy < img->height && sx >= 0 && sx < img->width;
                uint8_t b = in ? img->pixels[(sy * img->width + sx) * c + ch] : 0;
                dst[(ch * n + y) * n + x] = (float)b / 255.0f;
            }
}

/* Every window of img at offsets (left0 + i, top0 + j), i < nx, j < ny,
 * as window_of gives it, index j * nx + i, then the same mirrored when
 * `mirrors`; free() the result. */
static float *all_windows(const cz_image *img, int left0, int top0, int nx, int ny, int n,
                          bool mirrors)
{
    size_t numel = (size_t)img->channels * (size_t)n * (size_t)n, count = (size_t)(nx * ny);
    float *w = malloc((mirrors ? 2 : 1) * count * numel * sizeof *w);
    assert_non_null(w);
    for (size_t k = 0; k < (mirrors ? 2 : 1) * count; k++)
        window_of(img, left0 + (int)(k % count) % nx, top0 + (int)(k % count) / nx, n,
                  k >= count, w + k * numel);
    return w;
}

/* The index of out among `count` candidates of numel floats, or -1. */
static int find_in(const float *candidates, int count, size_t numel, const float *out)
{
    for (int k = 0; k < count; k++)
        if (memcmp(candidates + (size_t)k * numel, out, numel * sizeof *out) == 0)
            return k;
    return -1;
}

/* ------------------------------------------------------------ fixtures */

static const char *fixture_path(const char *name)
{
    return tu_fixture("CZ_AUGMENT_FIXTURES", name);
}

static int for_each_case(const char *kind, void (*fn)(char **words, int n))
{
    return tu_for_each_line(fixture_path("manifest.txt"), kind, fn);
}

static void read_npy(const char *name, cz_npy_array *a)
{
    if (cz_npy_read(fixture_path(name), CZ_NPY_F32, a) != CZ_OK)
        fail_msg("%s", cz_last_error());
}

/* An (H, W, C) uint8 .npy as an image. */
static cz_image read_image(const char *name)
{
    cz_npy_array a;
    read_npy(name, &a);
    assert_int_equal(a.ndim, 3);
    cz_image img = {(int)a.shape[1], (int)a.shape[0], (int)a.shape[2], malloc(a.numel)};
    assert_non_null(img.pixels);
    for (size_t i = 0; i < a.numel; i++)
        img.pixels[i] = (uint8_t)((const float *)a.data)[i];
    cz_npy_free(&a);
    return img;
}

static cz_resample filter_named(const char *name)
{
    return strcmp(name, "bicubic") == 0 ? CZ_RESAMPLE_BICUBIC : CZ_RESAMPLE_BILINEAR;
}

/* ------------------------------------------------------------ recipes */

static void test_default_recipes(void **state)
{
    (void)state;
    for (int m = CZ_CROP_CENTER; m <= CZ_CROP_PAD_RANDOM; m++) {
        cz_augment a = cz_augment_default((cz_crop_mode)m);
        assert_int_equal(a.crop, m);
        assert_float_equal(a.scale_min, 0.08, 1e-7);
        assert_float_equal(a.scale_max, 1.0, 0);
        assert_float_equal(a.ratio_min, 0.75, 0);
        assert_float_equal(a.ratio_max, 4.0 / 3.0, 1e-7);
        assert_int_equal(a.pad, 4);
        assert_int_equal(a.flip, m != CZ_CROP_CENTER);
        assert_true(a.brightness == 0 && a.contrast == 0 && a.saturation == 0 && a.lighting == 0);
    }
}

/* With nothing random enabled the centre mode is the evaluation pipeline,
 * bit for bit: a resnet (resize up, crop) and LeNet-5 (crop pads). */
static void test_centre_equals_preprocess(void **state)
{
    (void)state;
    const char *models[2] = {"resnet18", "lenet5"};
    for (int m = 0; m < 2; m++) {
        cz_preprocess p;
        tu_check(cz_preprocess_for_model(models[m], &p));
        cz_image img = random_image(50, 37, p.channels, 7);
        size_t n = (size_t)p.channels * (size_t)p.crop * (size_t)p.crop;
        float *want = malloc(n * sizeof *want), *got = malloc(n * sizeof *got);
        assert_true(want && got);
        tu_check(cz_preprocess_image(&p, &img, want));
        cz_augment a = cz_augment_default(CZ_CROP_CENTER);
        cz_rng rng;
        cz_rng_seed(&rng, 1);
        tu_check(cz_augment_image(&p, &a, &img, &rng, got));
        if (memcmp(want, got, n * sizeof *got) != 0)
            fail_msg("%s: centre mode differs from cz_preprocess_image", models[m]);
        free(want);
        free(got);
        cz_image_free(&img);
    }
}

/* ------------------------------------------------------------ boxes */

/* torchvision's fallback box for a w x h image and the default ratios. */
static void expected_fallback(int w, int h, int box[4])
{
    double in_ratio = (double)w / h;
    int bw = w, bh = h;
    if (in_ratio < 0.75)
        bh = (int)nearbyint(w / 0.75);
    else if (in_ratio > 4.0 / 3.0)
        bw = (int)nearbyint(h * (4.0 / 3.0));
    int want[4] = {(w - bw) / 2, (h - bh) / 2, bw, bh};
    memcpy(box, want, sizeof want);
}

/* A drawn box: w = round(sqrt(A s a)), h = round(sqrt(A s / a)) with
 * s in [smin, smax] and a in [rmin, rmax], so the unrounded sides lie
 * within half a pixel of w and h. */
static bool drawn_box_fits(int W, int H, int w, int h, const cz_augment *a)
{
    double area = (double)W * H;
    return (w + 0.5) * (h + 0.5) >= area * a->scale_min - 1e-9 &&
           (w - 0.5) * (h - 0.5) <= area * a->scale_max + 1e-9 &&
           (w + 0.5) / (h - 0.5) >= a->ratio_min - 1e-6 &&
           (w - 0.5) / (h + 0.5) <= a->ratio_max + 1e-6;
}

static void test_box_bounds(void **state)
{
    (void)state;
    const int sizes[][2] = {{1, 1}, {3, 1000}, {1000, 3}, {2, 2}, {7, 5}, {224, 224},
                            {500, 375}, {1000, 10}, {40, 2000}, {4096, 3072}};
    cz_augment a = cz_augment_default(CZ_CROP_RANDOM_RESIZED);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int W = sizes[s][0], H = sizes[s][1], fallback[4];
        expected_fallback(W, H, fallback);
        int fallbacks = 0;
        for (uint64_t seed = 0; seed < 500; seed++) {
            cz_rng rng;
            cz_rng_seed(&rng, seed);
            int box[4];
            cz_random_resized_box(&rng, W, H, &a, &box[0], &box[1], &box[2], &box[3]);
            if (box[0] < 0 || box[1] < 0 || box[2] < 1 || box[3] < 1 || box[0] + box[2] > W ||
                box[1] + box[3] > H)
                fail_msg("%dx%d seed %d: box (%d, %d, %dx%d) leaves the image", W, H, (int)seed,
                         box[0], box[1], box[2], box[3]);
            bool is_fallback = memcmp(box, fallback, sizeof box) == 0;
            fallbacks += is_fallback;
            if (!is_fallback && !drawn_box_fits(W, H, box[2], box[3], &a))
                fail_msg("%dx%d seed %d: box %dx%d breaks scale 0.08..1 or ratio 3/4..4/3", W,
                         H, (int)seed, box[2], box[3]);
        }
        /* Slivers cannot hold a 3/4..4/3 box of 8% of their area. */
        if ((W == 3 && H == 1000) || (W == 1000 && H == 3))
            assert_int_equal(fallbacks, 500);
    }
    /* The formula's numbers: 3 wide -> 3 x round(3 / 0.75) = 3 x 4, centred
     * with floor division at (1000 - 4) // 2 = 498. */
    int f[4];
    expected_fallback(3, 1000, f);
    assert_true(f[0] == 0 && f[1] == 498 && f[2] == 3 && f[3] == 4);
}

/* Areas above the image always reject all ten draws: the fallback. */
static void test_box_fallback(void **state)
{
    (void)state;
    cz_augment a = cz_augment_default(CZ_CROP_RANDOM_RESIZED);
    a.scale_min = a.scale_max = 2.0f;
    const int cases[][6] = {
        {100, 100, 0, 0, 100, 100}, /* ratio within bounds: the whole image */
        {100, 50, 16, 0, 67, 50},   /* too wide: w = round(50 * 4/3) */
        {50, 100, 0, 16, 50, 67},   /* too tall: h = round(50 / 0.75) */
    };
    for (int i = 0; i < 3; i++) {
        cz_rng rng;
        cz_rng_seed(&rng, (uint64_t)i);
        int l, t, w, h;
        cz_random_resized_box(&rng, cases[i][0], cases[i][1], &a, &l, &t, &w, &h);
        if (l != cases[i][2] || t != cases[i][3] || w != cases[i][4] || h != cases[i][5])
            fail_msg("%dx%d: fallback (%d, %d, %dx%d), expected (%d, %d, %dx%d)", cases[i][0],
                     cases[i][1], l, t, w, h, cases[i][2], cases[i][3], cases[i][4],
                     cases[i][5]);
    }
}

/* The mean area fraction of accepted boxes on a 1000x1000 image against
 * the analytic mean of s over the (s, log a) rectangle where the box fits
 * (s a <= 1 and s / a <= 1), by midpoint integration; the mean log ratio
 * is 0 by symmetry; offsets are uniform. Ten rejections in a row have
 * probability < 1e-9 here, so the fallback does not bias the means. */
static void test_box_distribution(void **state)
{
    (void)state;
    cz_augment a = cz_augment_default(CZ_CROP_RANDOM_RESIZED);
    double lo = log(a.ratio_min), hi = log(a.ratio_max), num = 0.0, den = 0.0;
    for (int i = 0; i < 400; i++)
        for (int j = 0; j < 400; j++) {
            double s = a.scale_min + (a.scale_max - a.scale_min) * (i + 0.5) / 400;
            double r = exp(lo + (hi - lo) * (j + 0.5) / 400);
            if (s * r <= 1.0 && s / r <= 1.0) {
                num += s;
                den += 1.0;
            }
        }
    double want = num / den, area = 0.0, log_ratio = 0.0, offset = 0.0;
    int n = 10000, offsets = 0;
    cz_rng rng;
    cz_rng_seed(&rng, 42);
    for (int k = 0; k < n; k++) {
        int l, t, w, h;
        cz_random_resized_box(&rng, 1000, 1000, &a, &l, &t, &w, &h);
        area += w * h / 1e6;
        log_ratio += log((double)w / h);
        if (h < 1000) {
            offset += (double)t / (1000 - h);
            offsets++;
        }
    }
    area /= n;
    log_ratio /= n;
    offset /= offsets;
    print_message("mean area fraction %.4f (analytic %.4f), mean log ratio %.4f, "
                  "mean top / (H - h) %.4f\n", area, want, log_ratio, offset);
    /* Standard errors: ~0.0025, ~0.0017, ~0.003. */
    assert_true(fabs(area - want) < 0.01);
    assert_true(fabs(log_ratio) < 0.01);
    assert_true(fabs(offset - 0.5) < 0.02);
}

/* ------------------------------------------------------------ crops */

static void crop_case(char **words, int n)
{
    assert_int_equal(n, 6);
    int l, t, w, h, ow, oh;
    assert_int_equal(sscanf(words[2], "%d,%d,%d,%d", &l, &t, &w, &h), 4);
    assert_int_equal(sscanf(words[3], "%d,%d", &ow, &oh), 2);
    cz_image img = read_image(words[1]), want = read_image(words[5]), got;
    tu_check(cz_image_resized_crop(&img, l, t, w, h, ow, oh, filter_named(words[4]), &got));
    assert_int_equal(got.width, want.width);
    assert_int_equal(got.height, want.height);
    assert_int_equal(got.channels, want.channels);
    size_t size = (size_t)ow * (size_t)oh * (size_t)got.channels, bad = 0, first = 0;
    for (size_t i = 0; i < size; i++)
        if (got.pixels[i] != want.pixels[i] && bad++ == 0)
            first = i;
    if (bad)
        fail_msg("%s box %s to %s %s: %zu of %zu bytes differ from torchvision, first at %zu "
                 "(%u vs %u)", words[1], words[2], words[3], words[4], bad, size, first,
                 got.pixels[first], want.pixels[first]);
    cz_image_free(&img);
    cz_image_free(&want);
    cz_image_free(&got);
}

static void test_resized_crop_matches_torchvision(void **state)
{
    (void)state;
    assert_true(for_each_case("crop", crop_case) >= 40);
}

static void test_resized_crop_arguments(void **state)
{
    (void)state;
    uint8_t px[3] = {1, 2, 3};
    cz_image img = {1, 1, 3, px}, out;
    tu_expect_error(cz_image_resized_crop(&img, 0, 0, 0, 5, 4, 4, CZ_RESAMPLE_BILINEAR, &out),
                    CZ_ERR_ARG, "box 0x5", "expected 1 to");
    assert_null(out.pixels);
    tu_expect_error(cz_image_resized_crop(&img, 0, 0, 1, 1, 0, 4, CZ_RESAMPLE_BILINEAR, &out),
                    CZ_ERR_ARG, "output 0x4", NULL);
    /* Entirely outside the image: all zeros. */
    tu_check(cz_image_resized_crop(&img, 5, -9, 2, 2, 3, 3, CZ_RESAMPLE_BICUBIC, &out));
    for (int i = 0; i < 27; i++)
        assert_int_equal(out.pixels[i], 0);
    cz_image_free(&out);
}

/* RandomResizedCrop draws its box first, so the same seed through
 * cz_random_resized_box gives the box the pipeline cropped. */
static void test_random_resized_uses_box(void **state)
{
    (void)state;
    cz_image img = random_image(53, 41, 3, 3);
    cz_preprocess p = to_tensor(3, 24, 24);
    p.resample = CZ_RESAMPLE_BICUBIC;
    cz_augment a = cz_augment_default(CZ_CROP_RANDOM_RESIZED);
    a.flip = false;
    float got[3 * 24 * 24], want[3 * 24 * 24];
    for (uint64_t seed = 0; seed < 50; seed++) {
        cz_rng rng;
        cz_rng_seed(&rng, seed);
        tu_check(cz_augment_image(&p, &a, &img, &rng, got));
        cz_rng_seed(&rng, seed);
        int l, t, w, h;
        cz_random_resized_box(&rng, img.width, img.height, &a, &l, &t, &w, &h);
        cz_image crop;
        tu_check(cz_image_resized_crop(&img, l, t, w, h, 24, 24, CZ_RESAMPLE_BICUBIC, &crop));
        window_of(&crop, 0, 0, 24, false, want);
        cz_image_free(&crop);
        if (memcmp(got, want, sizeof got) != 0)
            fail_msg("seed %d: output is not the resized crop of box (%d, %d, %dx%d)",
                     (int)seed, l, t, w, h);
    }
    cz_image_free(&img);
}

/* Draws `draws` outputs of the recipe; each must be one of the
 * candidates (what names them in messages); returns how many distinct
 * candidates were drawn and marks them in seen. */
static int draw_windows(const cz_preprocess *p, const cz_augment *a, const cz_image *img,
                        uint64_t seed, int draws, const float *candidates, int count,
                        bool *seen, const char *what)
{
    size_t numel = (size_t)p->channels * (size_t)p->crop * (size_t)p->crop;
    float *got = malloc(numel * sizeof *got);
    assert_non_null(got);
    cz_rng rng;
    cz_rng_seed(&rng, seed);
    int distinct = 0;
    for (int k = 0; k < draws; k++) {
        tu_check(cz_augment_image(p, a, img, &rng, got));
        int found = find_in(candidates, count, numel, got);
        if (found < 0)
            fail_msg("%s: draw %d is none of the %d expected windows", what, k, count);
        distinct += !seen[found];
        seen[found] = true;
    }
    free(got);
    return distinct;
}

/* AlexNet's mode: every output is a 20x20 window of the image resized as
 * Resize(24) does (53x41 -> 31x24), and all 12 x 5 offsets occur. */
static void test_random_crop_windows(void **state)
{
    (void)state;
    cz_image img = random_image(53, 41, 3, 5), r;
    tu_check(cz_image_resize(&img, 31, 24, CZ_RESAMPLE_BILINEAR, &r));
    cz_preprocess p = to_tensor(3, 24, 20);
    cz_augment a = cz_augment_default(CZ_CROP_RANDOM);
    a.flip = false;
    float *windows = all_windows(&r, 0, 0, 12, 5, 20, false);
    bool seen[60] = {false};
    assert_int_equal(draw_windows(&p, &a, &img, 11, 1000, windows, 60, seen, "Resize(24)"), 60);
    free(windows);
    cz_image_free(&img);
    cz_image_free(&r);
}

/* Against torchvision's Resize(SIZE): crops of SIZE slide along the
 * resized image's long side only; each equals a window of torchvision's
 * resized image byte for byte, and every offset occurs. */
static void resize_case(char **words, int n)
{
    assert_int_equal(n, 5);
    cz_image img = read_image(words[1]), want = read_image(words[4]);
    int size = atoi(words[2]);
    cz_preprocess p = to_tensor(img.channels, size, size);
    p.resample = filter_named(words[3]);
    cz_augment a = cz_augment_default(CZ_CROP_RANDOM);
    a.flip = false;
    bool wide = want.width > want.height;
    int count = (wide ? want.width : want.height) - size + 1;
    float *windows = all_windows(&want, 0, 0, wide ? count : 1, wide ? 1 : count, size, false);
    bool *seen = calloc((size_t)count, 1);
    assert_non_null(seen);
    assert_int_equal(draw_windows(&p, &a, &img, 3, 40 * count, windows, count, seen, words[1]),
                     count);
    free(windows);
    free(seen);
    cz_image_free(&img);
    cz_image_free(&want);
}

static void test_random_crop_matches_torchvision(void **state)
{
    (void)state;
    assert_true(for_each_case("resize", resize_case) >= 2);
}

/* CIFAR's mode on 32x32: every output is the zero-padded image's window
 * at an offset in [0, 8]^2, perhaps mirrored; all 81 offsets and both
 * mirrorings occur. */
static void test_pad_crop_windows(void **state)
{
    (void)state;
    for (int c = 1; c <= 3; c += 2) {
        cz_image img = random_image(32, 32, c, 9);
        cz_preprocess p = to_tensor(c, 32, 32);
        cz_augment a = cz_augment_default(CZ_CROP_PAD_RANDOM);
        float *windows = all_windows(&img, -4, -4, 9, 9, 32, true);
        bool seen[2 * 81] = {false};
        draw_windows(&p, &a, &img, 21, 2000, windows, 2 * 81, seen, "pad 4");
        bool mirrored = false, plain = false;
        for (int k = 0; k < 81; k++) {
            if (!seen[k] && !seen[81 + k])
                fail_msg("%d channels: offset (%d, %d) never drawn", c, k % 9, k / 9);
            plain |= seen[k];
            mirrored |= seen[81 + k];
        }
        assert_true(plain && mirrored);
        free(windows);
        cz_image_free(&img);
    }
}

/* Against torchvision: each output (flip off) is byte for byte one of
 * the 81 crops F.crop(F.pad(img, 4), i, j, 32, 32), and all occur. */
static void padcrop_case(char **words, int n)
{
    assert_int_equal(n, 5);
    cz_image img = read_image(words[1]);
    cz_npy_array crops;
    read_npy(words[4], &crops);
    int pad = atoi(words[2]), size = atoi(words[3]), count = img.width + 2 * pad - size + 1;
    assert_int_equal(crops.shape[0], count * count);
    /* torchvision's (H, W, C) bytes to our (C, H, W) / 255. */
    size_t plane = (size_t)size * (size_t)size, numel = (size_t)img.channels * plane;
    float *windows = malloc(crops.numel * sizeof *windows);
    assert_non_null(windows);
    const float *hwc = crops.data;
    for (size_t i = 0; i < crops.numel; i++) {
        size_t crop = i / numel, ch = i % numel / plane, yx = i % plane;
        windows[i] = hwc[crop * numel + yx * (size_t)img.channels + ch] / 255.0f;
    }
    cz_preprocess p = to_tensor(img.channels, size, size);
    cz_augment a = cz_augment_default(CZ_CROP_PAD_RANDOM);
    a.flip = false;
    a.pad = pad;
    bool *seen = calloc((size_t)(count * count), 1);
    assert_non_null(seen);
    assert_int_equal(draw_windows(&p, &a, &img, 4, 25 * count * count, windows, count * count,
                                  seen, words[1]),
                     count * count);
    free(windows);
    free(seen);
    cz_npy_free(&crops);
    cz_image_free(&img);
}

static void test_pad_crop_matches_torchvision(void **state)
{
    (void)state;
    assert_true(for_each_case("padcrops", padcrop_case) >= 2);
}

/* ------------------------------------------------------------ colour */

static double worst_jitter;

static void jitter_case(char **words, int n)
{
    assert_int_equal(n, 5);
    float f = (float)strtod(words[2], NULL);
    cz_npy_array in, want;
    read_npy(words[3], &in);
    read_npy(words[4], &want);
    assert_int_equal(in.ndim, 3);
    assert_int_equal(in.numel, want.numel);
    int c = (int)in.shape[0], h = (int)in.shape[1], w = (int)in.shape[2];
    float *x = in.data;
    if (strcmp(words[1], "brightness") == 0)
        cz_adjust_brightness(x, c, h, w, f);
    else if (strcmp(words[1], "contrast") == 0)
        cz_adjust_contrast(x, c, h, w, f);
    else
        cz_adjust_saturation(x, c, h, w, f);
    for (size_t i = 0; i < in.numel; i++) {
        double d = fabs((double)x[i] - ((const float *)want.data)[i]);
        worst_jitter = d > worst_jitter ? d : worst_jitter;
    }
    char what[160];
    snprintf(what, sizeof what, "%s %s on %d channels", words[1], words[2], c);
    tu_expect_close_f(x, want.data, in.numel, 1e-6, 0, what);
    cz_npy_free(&in);
    cz_npy_free(&want);
}

static void test_jitter_matches_torchvision(void **state)
{
    (void)state;
    worst_jitter = 0.0;
    assert_true(for_each_case("jitter", jitter_case) >= 30);
    print_message("largest jitter difference from torchvision: %.3g\n", worst_jitter);
}

static void lighting_case(char **words, int n)
{
    assert_int_equal(n, 4);
    double a0, a1, a2;
    assert_int_equal(sscanf(words[2], "%lf,%lf,%lf", &a0, &a1, &a2), 3);
    const float alpha[3] = {(float)a0, (float)a1, (float)a2};
    cz_npy_array in, want;
    read_npy(words[1], &in);
    read_npy(words[3], &want);
    cz_lighting(in.data, (int)in.shape[1], (int)in.shape[2], alpha);
    for (size_t i = 0; i < in.numel; i++) {
        double d = fabs((double)((float *)in.data)[i] - ((const float *)want.data)[i]);
        worst_jitter = d > worst_jitter ? d : worst_jitter;
    }
    tu_expect_close_f(in.data, want.data, in.numel, 1e-6, 0, words[2]);
    cz_npy_free(&in);
    cz_npy_free(&want);
}

static void test_lighting_matches_reference(void **state)
{
    (void)state;
    worst_jitter = 0.0;
    assert_true(for_each_case("lighting", lighting_case) >= 3);
    print_message("largest lighting difference from the reference: %.3g\n", worst_jitter);
}

/* In the pipeline: brightness alone scales the whole (unflipped) crop by
 * one factor in [0.6, 1.4] per sample, averaging 1; lighting alone adds
 * one offset per channel, whose spread over samples is alpha ~ N(0, 0.1)
 * through R's eigenvector row: 0.1 |eigvec[R] * eigval|. */
static void test_jitter_and_lighting_in_pipeline(void **state)
{
    (void)state;
    cz_image img = random_image(40, 30, 3, 13);
    cz_preprocess p = to_tensor(3, 30, 24);
    enum { N = 3 * 24 * 24, PLANE = 24 * 24 };
    float base[N], got[N];
    tu_check(cz_preprocess_image(&p, &img, base));
    size_t darkest = 0; /* f * base stays below the clamp there */
    for (size_t i = 0; i < N; i++)
        darkest = base[i] < base[darkest] ? i : darkest;
    cz_augment a = cz_augment_default(CZ_CROP_CENTER);
    a.brightness = 0.4f;
    double mean_factor = 0.0, sq_offset = 0.0;
    for (uint64_t seed = 0; seed < 200; seed++) {
        cz_rng rng;
        cz_rng_seed(&rng, seed);
        tu_check(cz_augment_image(&p, &a, &img, &rng, got));
        float f = got[darkest] / base[darkest];
        assert_true(f >= 0.6f - 1e-5f && f <= 1.4f + 1e-5f);
        for (size_t i = 0; i < N; i++)
            assert_float_equal(got[i], fminf(f * base[i], 1.0f), 2e-6);
        mean_factor += f / 200.0;
    }
    a.brightness = 0.0f;
    a.lighting = 0.1f;
    for (uint64_t seed = 0; seed < 400; seed++) {
        cz_rng rng;
        cz_rng_seed(&rng, seed);
        tu_check(cz_augment_image(&p, &a, &img, &rng, got));
        for (int c = 0; c < 3; c++) {
            float offset = got[c * PLANE] - base[c * PLANE];
            for (int i = 0; i < PLANE; i++)
                assert_float_equal(got[c * PLANE + i] - base[c * PLANE + i], offset, 1e-6);
        }
        sq_offset += (double)(got[0] - base[0]) * (got[0] - base[0]) / 400.0;
    }
    double want_std = 0.1 * hypot(hypot(0.5675 * 0.2175, 0.7192 * 0.0188), 0.4009 * 0.0045);
    print_message("mean brightness factor %.3f; lighting R offset std %.4f (expected %.4f)\n",
                  mean_factor, sqrt(sq_offset), want_std);
    assert_true(fabs(mean_factor - 1.0) < 0.05);
    assert_true(fabs(sqrt(sq_offset) / want_std - 1.0) < 0.15);
    cz_image_free(&img);
}

/* ------------------------------------------------------------ flip, seed */

static void mirror(const float *in, float *out, int c, int n)
{
    for (int row = 0; row < c * n; row++)
        for (int x = 0; x < n; x++)
            out[row * n + x] = in[row * n + n - 1 - x];
}

/* The flip is an exact mirror, its own inverse, taken about half the
 * time. */
static void test_flip_mirrors(void **state)
{
    (void)state;
    cz_image img = random_image(37, 29, 3, 17);
    cz_preprocess p = to_tensor(3, 29, 25);
    float base[3 * 625], flipped[3 * 625], back[3 * 625], got[3 * 625];
    tu_check(cz_preprocess_image(&p, &img, base));
    mirror(base, flipped, 3, 25);
    mirror(flipped, back, 3, 25);
    assert_memory_equal(back, base, sizeof base);
    assert_memory_not_equal(flipped, base, sizeof base);
    cz_augment a = cz_augment_default(CZ_CROP_CENTER);
    a.flip = true;
    int flips = 0;
    for (uint64_t seed = 0; seed < 64; seed++) {
        cz_rng rng;
        cz_rng_seed(&rng, seed);
        tu_check(cz_augment_image(&p, &a, &img, &rng, got));
        bool is_flipped = memcmp(got, flipped, sizeof got) == 0;
        if (!is_flipped && memcmp(got, base, sizeof got) != 0)
            fail_msg("seed %d: output is neither the crop nor its mirror", (int)seed);
        flips += is_flipped;
    }
    print_message("%d of 64 flipped\n", flips);
    assert_true(flips >= 16 && flips <= 48);
    cz_image_free(&img);
}

/* Every knob on: one seed gives one sample; twenty seeds, twenty. */
static void test_seed_fixes_sample(void **state)
{
    (void)state;
    cz_image img = random_image(53, 41, 3, 19);
    cz_preprocess p;
    tu_check(cz_preprocess_for_model("resnet18", &p));
    p.crop = 24;
    cz_augment a = cz_augment_default(CZ_CROP_RANDOM_RESIZED);
    a.brightness = a.contrast = a.saturation = 0.4f;
    a.lighting = 0.1f;
    static float out[20][3 * 24 * 24];
    float again[3 * 24 * 24];
    for (int s = 0; s < 20; s++) {
        cz_rng rng;
        cz_rng_seed(&rng, (uint64_t)s);
        tu_check(cz_augment_image(&p, &a, &img, &rng, out[s]));
        cz_rng_seed(&rng, (uint64_t)s);
        tu_check(cz_augment_image(&p, &a, &img, &rng, again));
        assert_memory_equal(again, out[s], sizeof again);
        for (int t = 0; t < s; t++)
            if (memcmp(out[t], out[s], sizeof again) == 0)
                fail_msg("seeds %d and %d give the same sample", t, s);
    }
    cz_image_free(&img);
}

/* ------------------------------------------------------------ errors */

static void test_errors(void **state)
{
    (void)state;
    cz_image rgb = random_image(10, 10, 3, 1), grey = random_image(10, 10, 1, 1);
    float out[3 * 32 * 32];
    cz_rng rng;
    cz_rng_seed(&rng, 0);
    cz_preprocess p1 = to_tensor(1, 32, 32), p3 = to_tensor(3, 32, 32);
    cz_augment a = cz_augment_default(CZ_CROP_PAD_RANDOM);
    tu_expect_error(cz_augment_image(&p1, &a, &rgb, &rng, out), CZ_ERR_ARG,
                    "image has 3 channels", "expects 1");
    /* 10 + 2 * 4 = 18 < 32: torchvision would need pad_if_needed. */
    tu_expect_error(cz_augment_image(&p3, &a, &rgb, &rng, out), CZ_ERR_ARG, "padded by 4",
                    "smaller than the crop 32");
    a.pad = -1;
    tu_expect_error(cz_augment_image(&p3, &a, &rgb, &rng, out), CZ_ERR_ARG, "pad -1", ">= 0");
    a = cz_augment_default(CZ_CROP_RANDOM);
    cz_preprocess small = to_tensor(3, 20, 32);
    tu_expect_error(cz_augment_image(&small, &a, &rgb, &rng, out), CZ_ERR_ARG,
                    "random crop of 32", "expected the crop to fit");
    a.lighting = 0.1f;
    tu_expect_error(cz_augment_image(&p1, &a, &grey, &rng, out), CZ_ERR_ARG, "PCA lighting",
                    "expected 3");
    a = cz_augment_default(CZ_CROP_RANDOM_RESIZED);
    a.ratio_min = 0.0f;
    tu_expect_error(cz_augment_image(&p3, &a, &rgb, &rng, out), CZ_ERR_ARG, "ratio 0..",
                    "0 < ratio_min");
    a = cz_augment_default(CZ_CROP_RANDOM_RESIZED);
    a.contrast = -0.5f;
    tu_expect_error(cz_augment_image(&p3, &a, &rgb, &rng, out), CZ_ERR_ARG, "jitter",
                    "expected >= 0");
    cz_image_free(&rgb);
    cz_image_free(&grey);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_recipes),
        cmocka_unit_test(test_centre_equals_preprocess),
        cmocka_unit_test(test_box_bounds),
        cmocka_unit_test(test_box_fallback),
        cmocka_unit_test(test_box_distribution),
        cmocka_unit_test(test_resized_crop_matches_torchvision),
        cmocka_unit_test(test_resized_crop_arguments),
        cmocka_unit_test(test_random_resized_uses_box),
        cmocka_unit_test(test_random_crop_windows),
        cmocka_unit_test(test_random_crop_matches_torchvision),
        cmocka_unit_test(test_pad_crop_windows),
        cmocka_unit_test(test_pad_crop_matches_torchvision),
        cmocka_unit_test(test_jitter_matches_torchvision),
        cmocka_unit_test(test_lighting_matches_reference),
        cmocka_unit_test(test_jitter_and_lighting_in_pipeline),
        cmocka_unit_test(test_flip_mirrors),
        cmocka_unit_test(test_seed_fixes_sample),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
