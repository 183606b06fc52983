/*
 * augment.c - torchvision 0.14's training transforms on PIL images,
 * reproduced on cz_image. The crops and the flip only move bytes and the
 * resampling is cz_image_resize (PIL's), so up to ToTensor a sample is
 * byte for byte what torchvision makes of the same box and coin. The
 * random numbers come from cz_rng, not torch's generator, so the same
 * seed gives other boxes than torch; the algorithms are torchvision's.
 *
 * ColorJitter runs on the float tensor with torchvision's tensor
 * functions (functional_tensor.py). On a PIL image torchvision would
 * quantise to uint8 after each of its ops; we do not, so a jittered
 * sample differs from torchvision-on-PIL by up to about 1/255 per op.
 */
#include "data/augment.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

cz_augment cz_augment_default(cz_crop_mode crop)
{
    return (cz_augment){
        .crop = crop,
        .scale_min = 0.08f,
        .scale_max = 1.0f,
        .ratio_min = 3.0f / 4.0f,
        .ratio_max = 4.0f / 3.0f,
        .pad = 4,
        .flip = crop != CZ_CROP_CENTER,
    };
}

/* ------------------------------------------------------------ boxes */

static double uniform(cz_rng *rng, double lo, double hi)
{
    return lo + (hi - lo) * cz_rng_uniform(rng);
}

/* torchvision's fallback: the whole image with its ratio clamped to
 * [min(ratio), max(ratio)], centred with floor division. A side is kept
 * at least 1, where torchvision would return an empty box and fail. */
static void fallback_box(int width, int height, double rmin, double rmax, int *left, int *top,
                         int *box_w, int *box_h)
{
    double in_ratio = (double)width / height;
    int w = width, h = height;
    if (in_ratio < rmin)
        h = (int)nearbyint(w / rmin);
    else if (in_ratio > rmax)
        w = (int)nearbyint(h * rmax);
    w = w < 1 ? 1 : w;
    h = h < 1 ? 1 : h;
    *left = (width - w) / 2;
    *top = (height - h) / 2;
    *box_w = w;
    *box_h = h;
}

void cz_random_resized_box(cz_rng *rng, int width, int height, const cz_augment *a, int *left,
                           int *top, int *box_w, int *box_h)
{
    double area = (double)width * height;
    double log_min = log(a->ratio_min), log_max = log(a->ratio_max);
    for (int attempt = 0; attempt < 10; attempt++) {
        double target = area * uniform(rng, a->scale_min, a->scale_max);
        double aspect = exp(uniform(rng, log_min, log_max));
        /* Python's round() halves to even, as nearbyint in the default
         * rounding mode; compared as doubles so no int overflows. */
        double w = nearbyint(sqrt(target * aspect));
        double h = nearbyint(sqrt(target / aspect));
        if (w > 0 && w <= width && h > 0 && h <= height) {
            *box_w = (int)w;
            *box_h = (int)h;
            *top = (int)cz_rng_below(rng, (uint64_t)(height - *box_h) + 1);
            *left = (int)cz_rng_below(rng, (uint64_t)(width - *box_w) + 1);
            return;
        }
    }
    fallback_box(width, height, fmin(a->ratio_min, a->ratio_max),
                 fmax(a->ratio_min, a->ratio_max), left, top, box_w, box_h);
}

/* ------------------------------------------------------------ crops */

/* dst (img->channels x h x w) = img's window at (left, top) / 255, as
 * ToTensor computes it; pixels outside the image are 0 (PIL's crop and
 * torchvision's zero padding). */
static void window_to_tensor(const cz_image *img, int left, int top, int w, int h, float *dst)
{
    int c = img->channels;
    for (int ch = 0; ch < c; ch++) {
        float *plane = dst + (size_t)ch * (size_t)h * (size_t)w;
        for (int y = 0; y < h; y++) {
            int64_t sy = (int64_t)top + y;
            for (int x = 0; x < w; x++) {
                int64_t sx = (int64_t)left + x;
                uint8_t b = 0;
                if (sy >= 0 && sy < img->height && sx >= 0 && sx < img->width)
                    b = img->pixels[((size_t)sy * (size_t)img->width + (size_t)sx) * (size_t)c +
                                    (size_t)ch];
                plane[y * w + x] = (float)b / 255.0f;
            }
        }
    }
}

/* box = img's window at (left, top), zero outside: PIL's Image.crop. */
static void copy_window(const cz_image *img, int left, int top, cz_image *box)
{
    size_t c = (size_t)img->channels;
    int64_t x0 = left < 0 ? 0 : left;
    int64_t x1 = (int64_t)left + box->width;
    x1 = x1 > img->width ? img->width : x1;
    for (int y = 0; y < box->height; y++) {
        int64_t sy = (int64_t)top + y;
        if (sy < 0 || sy >= img->height || x0 >= x1)
            continue;
        memcpy(box->pixels + ((size_t)y * (size_t)box->width + (size_t)(x0 - left)) * c,
               img->pixels + ((size_t)sy * (size_t)img->width + (size_t)x0) * c,
               (size_t)(x1 - x0) * c);
    }
}

cz_status cz_image_resized_crop(const cz_image *img, int left, int top, int width, int height,
                                int out_w, int out_h, cz_resample resample, cz_image *out)
{
    memset(out, 0, sizeof *out);
    if (width <= 0 || height <= 0 || (uint64_t)width * (uint64_t)height > CZ_IMAGE_MAX_PIXELS)
        return cz_fail(CZ_ERR_ARG, "resized crop: box %dx%d, expected 1 to %u pixels", width,
                       height, CZ_IMAGE_MAX_PIXELS);
    /* torchvision crops, then resizes the copy (not PIL's resize box),
     * so the filter sees the zeros outside the image. */
    cz_image box = {width, height, img->channels,
                    calloc((size_t)width * (size_t)height, (size_t)img->channels)};
    if (!box.pixels)
        return cz_fail(CZ_ERR_NOMEM, "resized crop: out of memory for a %dx%d box", width,
                       height);
    copy_window(img, left, top, &box);
    cz_status st = cz_image_resize(&box, out_w, out_h, resample, out);
    cz_image_free(&box);
    return st;
}

/* torchvision's Resize(int) rule, as preprocess.c's: the shorter side to
 * `size`, the longer to int(size * long / short). */
static void resized_size(int w, int h, int size, int *out_w, int *out_h)
{
    int short_side = w <= h ? w : h, long_side = w <= h ? h : w;
    int new_long = (int)((double)((int64_t)size * long_side) / short_side);
    *out_w = w <= h ? size : new_long;
    *out_h = w <= h ? new_long : size;
}

/* RandomCrop(n).get_params on a w x h image: offsets uniform over every
 * window that fits, top drawn first. */
static void random_offsets(cz_rng *rng, int w, int h, int n, int *left, int *top)
{
    *top = (int)cz_rng_below(rng, (uint64_t)(h - n) + 1);
    *left = (int)cz_rng_below(rng, (uint64_t)(w - n) + 1);
}

static cz_status random_resized_crop(const cz_preprocess *p, const cz_augment *a,
                                     const cz_image *img, cz_rng *rng, float *dst)
{
    int left, top, w, h;
    cz_random_resized_box(rng, img->width, img->height, a, &left, &top, &w, &h);
    cz_image out;
    cz_status st = cz_image_resized_crop(img, left, top, w, h, p->crop, p->crop, p->resample, &out);
    if (st != CZ_OK)
        return st;
    window_to_tensor(&out, 0, 0, p->crop, p->crop, dst);
    cz_image_free(&out);
    return CZ_OK;
}

/* AlexNet's: Resize(p->resize), then RandomCrop(p->crop). */
static cz_status resize_random_crop(const cz_preprocess *p, const cz_image *img, cz_rng *rng,
                                    float *dst)
{
    int w, h;
    resized_size(img->width, img->height, p->resize, &w, &h);
    if (w < p->crop || h < p->crop)
        return cz_fail(CZ_ERR_ARG, "augment: random crop of %d from a %dx%d image resized to "
                       "%dx%d, expected the crop to fit", p->crop, img->width, img->height, w, h);
    cz_image r;
    cz_status st = cz_image_resize(img, w, h, p->resample, &r);
    if (st != CZ_OK)
        return st;
    int left, top;
    random_offsets(rng, w, h, p->crop, &left, &top);
    window_to_tensor(&r, left, top, p->crop, p->crop, dst);
    cz_image_free(&r);
    return CZ_OK;
}

/* CIFAR's RandomCrop(p->crop, padding=a->pad): offsets in the padded
 * image, read from the unpadded one shifted by the pad. */
static cz_status pad_random_crop(const cz_preprocess *p, const cz_augment *a, const cz_image *img,
                                 cz_rng *rng, float *dst)
{
    int64_t w = (int64_t)img->width + 2 * (int64_t)a->pad;
    int64_t h = (int64_t)img->height + 2 * (int64_t)a->pad;
    if (w < p->crop || h < p->crop)
        return cz_fail(CZ_ERR_ARG, "augment: %dx%d image padded by %d is smaller than the crop "
                       "%d, expected crop <= side + 2 * pad", img->width, img->height, a->pad,
                       p->crop);
    int left, top;
    random_offsets(rng, (int)w, (int)h, p->crop, &left, &top);
    window_to_tensor(img, left - a->pad, top - a->pad, p->crop, p->crop, dst);
    return CZ_OK;
}

/* dst = the crop of a->crop as ToTensor gives it, x / 255. */
static cz_status crop_tensor(const cz_preprocess *p, const cz_augment *a, const cz_image *img,
                             cz_rng *rng, float *dst)
{
    switch (a->crop) {
    case CZ_CROP_CENTER: {
        /* cz_preprocess_image normalising by mean 0, std 1 is ToTensor
         * exactly: (x / 255 - 0) / 1 rounds to x / 255. */
        cz_preprocess q = *p;
        for (int c = 0; c < 3; c++) {
            q.mean[c] = 0.0f;
            q.std[c] = 1.0f;
        }
        return cz_preprocess_image(&q, img, dst);
    }
    case CZ_CROP_RANDOM_RESIZED:
        return random_resized_crop(p, a, img, rng, dst);
    case CZ_CROP_RANDOM:
        return resize_random_crop(p, img, rng, dst);
    case CZ_CROP_PAD_RANDOM:
        return pad_random_crop(p, a, img, rng, dst);
    }
    return cz_fail(CZ_ERR_ARG, "augment: crop mode %d, expected a cz_crop_mode", (int)a->crop);
}

/* ------------------------------------------------------------ colour */

static float clamp01(float v)
{
    return v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
}

/* torchvision's rgb_to_grayscale: float32 products summed left to right
 * (its weights are 0.2989, 0.587, 0.114). */
static float grey(float r, float g, float b)
{
    return 0.2989f * r + 0.587f * g + 0.114f * b;
}

/* torchvision's _blend(img, other, f) = clamp(f * img + (1 - f) * other):
 * 1 - f is taken in double (Python) before torch rounds it to float. */
static float blend(float x, float other, float f)
{
    return clamp01(f * x + (float)(1.0 - (double)f) * other);
}

void cz_adjust_brightness(float *chw, int c, int h, int w, float f)
{
    /* blend with zeros: f * x + (1 - f) * 0 adds a signed zero only. */
    size_t n = (size_t)c * (size_t)h * (size_t)w;
    for (size_t i = 0; i < n; i++)
        chw[i] = clamp01(f * chw[i]);
}

void cz_adjust_contrast(float *chw, int c, int h, int w, float f)
{
    size_t plane = (size_t)h * (size_t)w, n = (size_t)c * plane;
    double sum = 0.0; /* torch sums in float; double differs by an ulp or so */
    if (c == 3)
        for (size_t i = 0; i < plane; i++)
            sum += grey(chw[i], chw[plane + i], chw[2 * plane + i]);
    else
        for (size_t i = 0; i < n; i++)
            sum += chw[i];
    float mean = (float)(sum / (double)(c == 3 ? plane : n));
    for (size_t i = 0; i < n; i++)
        chw[i] = blend(chw[i], mean, f);
}

void cz_adjust_saturation(float *chw, int c, int h, int w, float f)
{
    if (c != 3)
        return; /* torchvision: grey images are left alone, as PIL does */
    size_t plane = (size_t)h * (size_t)w;
    for (size_t i = 0; i < plane; i++) {
        float g = grey(chw[i], chw[plane + i], chw[2 * plane + i]);
        for (int ch = 0; ch < 3; ch++)
            chw[ch * plane + i] = blend(chw[ch * plane + i], g, f);
    }
}

/* ColorJitter: a random order of the enabled ops, then each enabled
 * factor uniform in [max(0, 1 - v), 1 + v], as torchvision draws them
 * (it permutes four ops, hue included; we offer no hue). */
static void color_jitter(const cz_augment *a, cz_rng *rng, float *chw, int c, int n)
{
    static void (*const adjust[3])(float *, int, int, int, float) = {
        cz_adjust_brightness, cz_adjust_contrast, cz_adjust_saturation};
    const float amount[3] = {a->brightness, a->contrast, a->saturation};
    if (!(amount[0] > 0.0f || amount[1] > 0.0f || amount[2] > 0.0f))
        return;
    int order[3] = {0, 1, 2};
    cz_rng_shuffle(rng, order, 3);
    float factor[3];
    for (int i = 0; i < 3; i++)
        if (amount[i] > 0.0f)
            factor[i] = (float)uniform(rng, fmax(0.0, 1.0 - amount[i]), 1.0 + amount[i]);
    for (int k = 0; k < 3; k++)
        if (amount[order[k]] > 0.0f)
            adjust[order[k]](chw, c, n, n, factor[order[k]]);
}

/* ImageNet's RGB eigen-decomposition, from fb.resnet.torch's
 * transforms.lua (AlexNet section 4.1): rows R, G, B. */
static const double pca_eigval[3] = {0.2175, 0.0188, 0.0045};
static const double pca_eigvec[3][3] = {
    {-0.5675, 0.7192, 0.4009},
    {-0.5808, -0.0045, -0.8140},
    {-0.5836, -0.6948, 0.4203},
};

void cz_lighting(float *chw, int h, int w, const float alpha[3])
{
    size_t plane = (size_t)h * (size_t)w;
    for (int c = 0; c < 3; c++) {
        double offset = 0.0;
        for (int j = 0; j < 3; j++)
            offset += pca_eigvec[c][j] * alpha[j] * pca_eigval[j];
        for (size_t i = 0; i < plane; i++)
            chw[c * plane + i] += (float)offset;
    }
}

/* ------------------------------------------------------------ pipeline */

static cz_status check_recipe(const cz_preprocess *p, const cz_augment *a, const cz_image *img)
{
    if (img->channels != p->channels)
        return cz_fail(CZ_ERR_ARG, "augment: image has %d channels, the model expects %d",
                       img->channels, p->channels);
    if (p->crop <= 0 || p->resize <= 0)
        return cz_fail(CZ_ERR_ARG, "augment: resize %d and crop %d, expected positive sizes",
                       p->resize, p->crop);
    if (a->crop == CZ_CROP_RANDOM_RESIZED &&
        !(a->scale_min >= 0.0f && a->scale_min <= a->scale_max && a->ratio_min > 0.0f &&
          a->ratio_min <= a->ratio_max))
        return cz_fail(CZ_ERR_ARG, "augment: scale %g..%g and ratio %g..%g, expected "
                       "0 <= scale_min <= scale_max and 0 < ratio_min <= ratio_max",
                       a->scale_min, a->scale_max, a->ratio_min, a->ratio_max);
    if (a->pad < 0)
        return cz_fail(CZ_ERR_ARG, "augment: pad %d, expected >= 0", a->pad);
    if (!(a->brightness >= 0.0f && a->contrast >= 0.0f && a->saturation >= 0.0f &&
          a->lighting >= 0.0f))
        return cz_fail(CZ_ERR_ARG, "augment: jitter %g/%g/%g and lighting %g, expected >= 0",
                       a->brightness, a->contrast, a->saturation, a->lighting);
    if (a->lighting > 0.0f && p->channels != 3)
        return cz_fail(CZ_ERR_ARG, "augment: PCA lighting on %d channels, expected 3 (RGB)",
                       p->channels);
    return CZ_OK;
}

/* Mirrors every row of a c x n x n tensor: HorizontalFlip before ToTensor
 * moves the same values. */
static void flip_rows(float *chw, int c, int n)
{
    for (size_t row = 0; row < (size_t)c * (size_t)n; row++) {
        float *r = chw + row * (size_t)n;
        for (int x = 0; x < n / 2; x++) {
            float t = r[x];
            r[x] = r[n - 1 - x];
            r[n - 1 - x] = t;
        }
    }
}

cz_status cz_augment_image(const cz_preprocess *p, const cz_augment *a, const cz_image *img,
                           cz_rng *rng, float *dst)
{
    cz_status st = check_recipe(p, a, img);
    if (st == CZ_OK)
        st = crop_tensor(p, a, img, rng, dst);
    if (st != CZ_OK)
        return st;
    int c = p->channels, n = p->crop;
    /* Draws in a fixed order (crop, flip, jitter, lighting) so that a
     * seed fixes the sample. */
    if (a->flip && cz_rng_uniform(rng) < 0.5)
        flip_rows(dst, c, n);
    color_jitter(a, rng, dst, c, n);
    if (a->lighting > 0.0f) {
        float alpha[3];
        for (int j = 0; j < 3; j++)
            alpha[j] = (float)(a->lighting * cz_rng_normal(rng));
        cz_lighting(dst, n, n, alpha);
    }
    size_t plane = (size_t)n * (size_t)n;
    for (int ch = 0; ch < c; ch++)
        for (size_t i = 0; i < plane; i++)
            dst[ch * plane + i] = (dst[ch * plane + i] - p->mean[ch]) / p->std[ch];
    return CZ_OK;
}
