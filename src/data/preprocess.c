/*
 * preprocess.c - the evaluation transforms each model's weights expect,
 * reproduced byte for byte where torchvision works on bytes: Resize is
 * PIL 9.4's Image.resize (libImaging/Resample.c: separable convolution,
 * horizontal pass then vertical, each rounded to uint8 through 22-bit
 * fixed-point coefficients), CenterCrop and TenCrop use torchvision's
 * offsets, ToTensor and Normalize its float32 arithmetic.
 *
 * The per-model table follows torchvision 0.14's IMAGENET1K_V1 weights
 * transforms, and for timm's models timm's eval transform: Resize to
 * floor(input / crop_pct) with the model's interpolation, then a centre
 * crop of the input size.
 */
#include "data/preprocess.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ the table */

#define IMAGENET_MEAN {0.485f, 0.456f, 0.406f}
#define IMAGENET_STD {0.229f, 0.224f, 0.225f}
#define INCEPTION_MEAN {0.5f, 0.5f, 0.5f} /* timm's IMAGENET_INCEPTION_MEAN/STD */
#define CIFAR_MEAN {0.4914f, 0.4822f, 0.4465f}
#define CIFAR_STD {0.2470f, 0.2435f, 0.2616f}
#define BILINEAR CZ_RESAMPLE_BILINEAR
#define BICUBIC CZ_RESAMPLE_BICUBIC

typedef struct pipeline_row {
    const char *model; /* exact name, or a prefix ending in '*' */
    cz_preprocess p;
} pipeline_row;

/* First match wins, so exact names precede the prefixes they share. */
static const pipeline_row pipelines[] = {
    /* As the trainer feeds Fashion-MNIST: 28x28, zero-padded by 2 to
     * 32x32 (CenterCrop pads when the crop is larger), its statistics. */
    {"lenet5", {1, 28, 32, BILINEAR, {0.2860f}, {0.3530f}}},
    /* CIFAR-10 nets: the usual per-channel statistics at 32x32. */
    {"nin_cifar10", {3, 32, 32, BILINEAR, CIFAR_MEAN, CIFAR_STD}},
    {"wrn28_10", {3, 32, 32, BILINEAR, CIFAR_MEAN, CIFAR_STD}},
    {"alexnet_paper", {3, 256, 227, BILINEAR, IMAGENET_MEAN, IMAGENET_STD}},
    /* torchvision inception.py: crop 299, resize 342. */
    {"inception_v3", {3, 342, 299, BILINEAR, IMAGENET_MEAN, IMAGENET_STD}},
    /* timm: 299 / 0.875 = 341; 299 / 0.8975 = 333; bicubic, mean 0.5. */
    {"inception_v4", {3, 341, 299, BICUBIC, INCEPTION_MEAN, INCEPTION_MEAN}},
    {"inception_resnet_v2", {3, 333, 299, BICUBIC, INCEPTION_MEAN, INCEPTION_MEAN}},
    {"xception", {3, 333, 299, BICUBIC, INCEPTION_MEAN, INCEPTION_MEAN}},
    /* timm resnetv2_*.a1h_in1k: crop_pct 0.95 -> 235, bicubic, mean 0.5. */
    {"resnetv2_*", {3, 235, 224, BICUBIC, INCEPTION_MEAN, INCEPTION_MEAN}},
    /* timm seresnet50.ra2 / seresnext50_32x4d.racm: bicubic. */
    {"seresnet50", {3, 256, 224, BICUBIC, IMAGENET_MEAN, IMAGENET_STD}},
    {"seresnext50_32x4d", {3, 256, 224, BICUBIC, IMAGENET_MEAN, IMAGENET_STD}},
    /* timm mobilenetv1_100.ra4: bicubic, mean 0.5. */
    {"mobilenet_v1", {3, 256, 224, BICUBIC, INCEPTION_MEAN, INCEPTION_MEAN}},
    /* torchvision efficientnet.py, IMAGENET1K_V1 weights. */
    {"efficientnet_b0", {3, 256, 224, BICUBIC, IMAGENET_MEAN, IMAGENET_STD}},
    {"efficientnet_b1", {3, 256, 240, BICUBIC, IMAGENET_MEAN, IMAGENET_STD}},
    {"efficientnet_b2", {3, 288, 288, BICUBIC, IMAGENET_MEAN, IMAGENET_STD}},
    {"efficientnet_b3", {3, 320, 300, BICUBIC, IMAGENET_MEAN, IMAGENET_STD}},
    {"efficientnet_b4", {3, 384, 380, BICUBIC, IMAGENET_MEAN, IMAGENET_STD}},
    {"efficientnet_b5", {3, 456, 456, BICUBIC, IMAGENET_MEAN, IMAGENET_STD}},
    {"efficientnet_b6", {3, 528, 528, BICUBIC, IMAGENET_MEAN, IMAGENET_STD}},
    {"efficientnet_b7", {3, 600, 600, BICUBIC, IMAGENET_MEAN, IMAGENET_STD}},
    /* Everything else: torchvision's ImageClassification defaults (and
     * timm's for senet154, resnest50d, res2net: bilinear, 0.875). */
    {"*", {3, 256, 224, BILINEAR, IMAGENET_MEAN, IMAGENET_STD}},
};

static bool row_matches(const char *pattern, const char *model)
{
    size_t n = strlen(pattern);
    if (n > 0 && pattern[n - 1] == '*')
        return strncmp(pattern, model, n - 1) == 0;
    return strcmp(pattern, model) == 0;
}

cz_status cz_preprocess_for_model(const char *model, cz_preprocess *out)
{
    if (!cz_model_find(model))
        return cz_fail(CZ_ERR_ARG, "unknown model '%s' (`cnnzoo list` shows them all)", model);
    for (size_t i = 0; i < sizeof pipelines / sizeof pipelines[0]; i++) {
        if (row_matches(pipelines[i].model, model)) {
            *out = pipelines[i].p;
            return CZ_OK;
        }
    }
    return cz_fail(CZ_ERR_ARG, "%s: no preprocessing known", model);
}

/* ------------------------------------------------------------ PIL resample */

/* Coefficients are doubles rounded to this many fractional bits, leaving
 * 8 bits for the sample and 2 for the sum's headroom in an int32. */
#define PRECISION_BITS 22

static double bilinear_filter(double x)
{
    x = fabs(x);
    return x < 1.0 ? 1.0 - x : 0.0;
}

/* Keys' cubic with a = -0.5. */
static double bicubic_filter(double x)
{
    const double a = -0.5;
    x = fabs(x);
    if (x < 1.0)
        return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
    if (x < 2.0)
        return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
    return 0.0;
}

/* For each output position: the first input index, how many inputs, and
 * ksize fixed-point weights. */
typedef struct resample_axis {
    int ksize;
    int *first, *count;
    int32_t *weights; /* out_size x ksize */
} resample_axis;

static void axis_free(resample_axis *a)
{
    free(a->first);
    free(a->count);
    free(a->weights);
}

/* One output position's taps: the filter centred on the input coordinate
 * of the output pixel's centre, stretched by the reduction so that
 * downscaling averages (antialiasing), normalised to sum 1, then rounded
 * half away from zero to fixed point. */
static void axis_taps(resample_axis *a, int xx, int in_size, double scale, double filter_scale,
                      double support, cz_resample resample, double *w)
{
    double (*filter)(double) = resample == CZ_RESAMPLE_BICUBIC ? bicubic_filter : bilinear_filter;
    double center = (xx + 0.5) * scale;
    int xmin = (int)(center - support + 0.5);
    int xmax = (int)(center + support + 0.5);
    if (xmin < 0)
        xmin = 0;
    if (xmax > in_size)
        xmax = in_size;
    int n = xmax - xmin;
    double total = 0.0;
    for (int x = 0; x < n; x++) {
        w[x] = filter((x + xmin - center + 0.5) / filter_scale);
        total += w[x];
    }
    int32_t *k = a->weights + (size_t)xx * (size_t)a->ksize;
    for (int x = 0; x < a->ksize; x++) {
        double v = x < n && total != 0.0 ? w[x] / total : 0.0;
        v *= (double)(1 << PRECISION_BITS);
        k[x] = (int32_t)(v < 0 ? v - 0.5 : v + 0.5);
    }
    a->first[xx] = xmin;
    a->count[xx] = n;
}

static cz_status axis_plan(resample_axis *a, int in_size, int out_size, cz_resample resample)
{
    double support = resample == CZ_RESAMPLE_BICUBIC ? 2.0 : 1.0;
    double scale = (double)in_size / out_size;
    double filter_scale = scale < 1.0 ? 1.0 : scale;
    support *= filter_scale;
    memset(a, 0, sizeof *a);
    a->ksize = (int)ceil(support) * 2 + 1;
    a->first = malloc((size_t)out_size * sizeof *a->first);
    a->count = malloc((size_t)out_size * sizeof *a->count);
    a->weights = malloc((size_t)out_size * (size_t)a->ksize * sizeof *a->weights);
    double *w = malloc((size_t)a->ksize * sizeof *w);
    if (!a->first || !a->count || !a->weights || !w) {
        free(w);
        axis_free(a);
        return cz_fail(CZ_ERR_NOMEM, "resize: out of memory for %d -> %d", in_size, out_size);
    }
    for (int xx = 0; xx < out_size; xx++)
        axis_taps(a, xx, in_size, scale, filter_scale, support, resample, w);
    free(w);
    return CZ_OK;
}

/* The fixed-point sum back to a byte: the sum started at one half, so the
 * shift rounds; out-of-range overshoot of the cubic is clipped. */
static uint8_t clip8(int64_t v)
{
    if (v <= 0)
        return 0;
    if (v >= (int64_t)255 << PRECISION_BITS)
        return 255;
    return (uint8_t)(v >> PRECISION_BITS);
}

/* Resamples along x: (h, in_w, c) -> (h, out_w, c). */
static void resample_rows(const cz_image *in, const resample_axis *a, cz_image *out)
{
    int c = in->channels;
    for (int y = 0; y < in->height; y++) {
        const uint8_t *src = in->pixels + (size_t)y * (size_t)in->width * (size_t)c;
        uint8_t *dst = out->pixels + (size_t)y * (size_t)out->width * (size_t)c;
        for (int xx = 0; xx < out->width; xx++) {
            const int32_t *k = a->weights + (size_t)xx * (size_t)a->ksize;
            const uint8_t *s = src + (size_t)a->first[xx] * (size_t)c;
            for (int ch = 0; ch < c; ch++) {
                int64_t sum = 1 << (PRECISION_BITS - 1);
                for (int x = 0; x < a->count[xx]; x++)
                    sum += (int64_t)s[x * c + ch] * k[x];
                dst[xx * c + ch] = clip8(sum);
            }
        }
    }
}

/* Resamples along y: (in_h, w, c) -> (out_h, w, c). */
static void resample_columns(const cz_image *in, const resample_axis *a, cz_image *out)
{
    size_t row = (size_t)in->width * (size_t)in->channels;
    for (int yy = 0; yy < out->height; yy++) {
        const int32_t *k = a->weights + (size_t)yy * (size_t)a->ksize;
        const uint8_t *src = in->pixels + (size_t)a->first[yy] * row;
        uint8_t *dst = out->pixels + (size_t)yy * row;
        for (size_t i = 0; i < row; i++) {
            int64_t sum = 1 << (PRECISION_BITS - 1);
            for (int y = 0; y < a->count[yy]; y++)
                sum += (int64_t)src[(size_t)y * row + i] * k[y];
            dst[i] = clip8(sum);
        }
    }
}

static cz_status image_new(cz_image *img, int width, int height, int channels)
{
    img->pixels = malloc((size_t)width * (size_t)height * (size_t)channels);
    if (!img->pixels)
        return cz_fail(CZ_ERR_NOMEM, "resize: out of memory for %dx%d", width, height);
    img->width = width;
    img->height = height;
    img->channels = channels;
    return CZ_OK;
}

/* One pass along one axis, or a copy when that axis keeps its size (PIL
 * skips the pass then). */
static cz_status resample_pass(const cz_image *in, int width, int height, cz_resample resample,
                               cz_image *out)
{
    bool along_x = width != in->width;
    resample_axis a;
    cz_status st = image_new(out, width, height, in->channels);
    if (st == CZ_OK)
        st = along_x ? axis_plan(&a, in->width, width, resample)
                     : axis_plan(&a, in->height, height, resample);
    if (st != CZ_OK) {
        cz_image_free(out);
        return st;
    }
    if (along_x)
        resample_rows(in, &a, out);
    else
        resample_columns(in, &a, out);
    axis_free(&a);
    return CZ_OK;
}

cz_status cz_image_resize(const cz_image *in, int width, int height, cz_resample resample,
                          cz_image *out)
{
    memset(out, 0, sizeof *out);
    if (width <= 0 || height <= 0 || (uint64_t)width * (uint64_t)height > CZ_IMAGE_MAX_PIXELS)
        return cz_fail(CZ_ERR_ARG, "resize: output %dx%d, expected 1 to %u pixels", width, height,
                       CZ_IMAGE_MAX_PIXELS);
    if (resample != CZ_RESAMPLE_BILINEAR && resample != CZ_RESAMPLE_BICUBIC)
        return cz_fail(CZ_ERR_ARG, "resize: unknown resampling filter %d", (int)resample);
    cz_image tmp = *in; /* borrowed: freed only if a pass made it */
    bool own = false;
    if (width != in->width) {
        cz_status st = resample_pass(in, width, in->height, resample, &tmp);
        if (st != CZ_OK)
            return st;
        own = true;
    }
    cz_status st = CZ_OK;
    if (height != in->height) {
        st = resample_pass(&tmp, width, height, resample, out);
    } else {
        st = image_new(out, width, height, in->channels);
        if (st == CZ_OK)
            memcpy(out->pixels, tmp.pixels, (size_t)width * (size_t)height * (size_t)in->channels);
    }
    if (own)
        cz_image_free(&tmp);
    return st;
}

/* ------------------------------------------------------------ pipeline */

/* torchvision's Resize(int): the shorter side to `size`, the longer to
 * int(size * long / short) (true division then truncation). */
static void resized_size(int w, int h, int size, int *out_w, int *out_h)
{
    int short_side = w <= h ? w : h, long_side = w <= h ? h : w;
    int new_long = (int)((double)((int64_t)size * long_side) / short_side);
    *out_w = w <= h ? size : new_long;
    *out_h = w <= h ? new_long : size;
}

/* torchvision's CenterCrop offset: int(round((size - crop) / 2.0)) with
 * Python's round, halves to even; a crop larger than the image pads it
 * with zeros, (crop - size) // 2 before, which is a negative offset. */
static int centre_offset(int size, int crop)
{
    if (crop > size)
        return -((crop - size) / 2);
    int d = size - crop;
    if (d % 2 == 0)
        return d / 2;
    int lo = d / 2; /* d / 2 = lo + 0.5 */
    return lo % 2 == 0 ? lo : lo + 1;
}

/* ToTensor then Normalize on a crop of the resized image, in float32 as
 * torch does it: (byte / 255 - mean) / std. Pixels outside the image
 * (CenterCrop's zero padding) are 0. */
static void crop_to_tensor(const cz_preprocess *p, const cz_image *img, int top, int left,
                           bool mirror, float *dst)
{
    int c = img->channels, n = p->crop;
    for (int ch = 0; ch < c; ch++) {
        float *plane = dst + (size_t)ch * (size_t)n * (size_t)n;
        for (int y = 0; y < n; y++) {
            int sy = top + y;
            for (int x = 0; x < n; x++) {
                int sx = mirror ? img->width - 1 - (left + x) : left + x;
                uint8_t b = 0;
                if (sy >= 0 && sy < img->height && sx >= 0 && sx < img->width)
                    b = img->pixels[((size_t)sy * (size_t)img->width + (size_t)sx) * (size_t)c +
                                    (size_t)ch];
                float v = (float)b / 255.0f;
                plane[y * n + x] = (v - p->mean[ch]) / p->std[ch];
            }
        }
    }
}

static cz_status resize_for(const cz_preprocess *p, const cz_image *img, cz_image *resized)
{
    memset(resized, 0, sizeof *resized);
    if (img->channels != p->channels)
        return cz_fail(CZ_ERR_ARG, "preprocess: image has %d channels, the model expects %d",
                       img->channels, p->channels);
    if (p->crop <= 0 || p->resize <= 0)
        return cz_fail(CZ_ERR_ARG, "preprocess: resize %d and crop %d, expected positive sizes",
                       p->resize, p->crop);
    int w, h;
    resized_size(img->width, img->height, p->resize, &w, &h);
    return cz_image_resize(img, w, h, p->resample, resized);
}

cz_status cz_preprocess_image(const cz_preprocess *p, const cz_image *img, float *dst)
{
    cz_image r;
    cz_status st = resize_for(p, img, &r);
    if (st != CZ_OK)
        return st;
    crop_to_tensor(p, &r, centre_offset(r.height, p->crop), centre_offset(r.width, p->crop),
                   false, dst);
    cz_image_free(&r);
    return CZ_OK;
}

cz_status cz_preprocess_ten_crops(const cz_preprocess *p, const cz_image *img, float *dst)
{
    cz_image r;
    cz_status st = resize_for(p, img, &r);
    if (st != CZ_OK)
        return st;
    int n = p->crop, bottom = r.height - n, right = r.width - n;
    if (bottom < 0 || right < 0) {
        st = cz_fail(CZ_ERR_ARG, "preprocess: ten crops of %d from a %dx%d image, expected "
                     "the crop to fit", n, r.width, r.height);
        cz_image_free(&r); /* after the message, which reads its size */
        return st;
    }
    /* FiveCrop's order: top-left, top-right, bottom-left, bottom-right,
     * centre; then the same on the mirrored image, whose left offsets are
     * measured in mirrored coordinates. */
    const int top[5] = {0, 0, bottom, bottom, centre_offset(r.height, n)};
    const int left[5] = {0, right, 0, right, centre_offset(r.width, n)};
    size_t one = (size_t)p->channels * (size_t)n * (size_t)n;
    for (int i = 0; i < 10; i++)
        crop_to_tensor(p, &r, top[i % 5], left[i % 5], i >= 5, dst + (size_t)i * one);
    cz_image_free(&r);
    return CZ_OK;
}

bool cz_has_transform_input(const char *model)
{
    return strcmp(model, "googlenet") == 0 || strcmp(model, "inception_v3") == 0;
}

void cz_transform_input(const cz_preprocess *p, cz_tensor *x)
{
    size_t plane = (size_t)x->shape[2] * (size_t)x->shape[3];
    for (int n = 0; n < x->shape[0]; n++)
        for (int c = 0; c < x->shape[1]; c++) {
            float scale = p->std[c] / 0.5f, shift = (p->mean[c] - 0.5f) / 0.5f;
            float *v = x->data + ((size_t)n * (size_t)x->shape[1] + (size_t)c) * plane;
            for (size_t i = 0; i < plane; i++)
                v[i] = v[i] * scale + shift;
        }
}
