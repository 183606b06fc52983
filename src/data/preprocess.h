/*
 * preprocess.h - torchvision's evaluation transforms, reproduced on 8-bit
 * images: Resize(shorter side) with PIL's antialiased resampling,
 * CenterCrop (or the AlexNet paper's ten crops), ToTensor, Normalize.
 */
#ifndef CZ_PREPROCESS_H
#define CZ_PREPROCESS_H

#include "io/image.h"

typedef enum cz_resample {
    CZ_RESAMPLE_BILINEAR, /* PIL's Image.BILINEAR (torchvision's default) */
    CZ_RESAMPLE_BICUBIC,  /* PIL's Image.BICUBIC (EfficientNet) */
} cz_resample;

/* One model's evaluation pipeline. */
typedef struct cz_preprocess {
    int channels;         /* 3, or 1 for lenet5 */
    int resize;           /* shorter side after Resize, e.g. 256 */
    int crop;             /* square centre crop, e.g. 224 */
    cz_resample resample;
    float mean[3], std[3];
} cz_preprocess;

/* The pipeline torchvision's weights for `model` were evaluated with
 * (224 from 256 bilinear for most; 299 from 342 for inception_v3/v4 and
 * xception; EfficientNet's own sizes and bicubic; lenet5 grey 32x32). */
cz_status cz_preprocess_for_model(const char *model, cz_preprocess *out);

/* PIL's Image.resize(size, resample) on 8-bit pixels, exactly: separable
 * antialiased filter with its support scaled by the reduction, fixed-point
 * coefficients and rounding as PIL's Resample.c. */
cz_status cz_image_resize(const cz_image *in, int width, int height, cz_resample resample,
                          cz_image *out);

/* Resize + centre crop + ToTensor + Normalize into dst (channels x crop x
 * crop floats). */
cz_status cz_preprocess_image(const cz_preprocess *p, const cz_image *img, float *dst);

/* The AlexNet paper's ten crops (torchvision's TenCrop order: the 4
 * corners and the centre, then the same of the mirrored image) after the
 * resize, each normalised, into dst (10 x channels x crop x crop). */
cz_status cz_preprocess_ten_crops(const cz_preprocess *p, const cz_image *img, float *dst);

/* Whether torchvision's builder for `model` has transform_input
 * (googlenet, inception_v3), which its pretrained weights switch on. */
bool cz_has_transform_input(const char *model);

/* torchvision's transform_input, in place on a batch normalised by p: the
 * network was trained on inputs normalised with mean = std = 0.5, so x_c
 * becomes x_c * std_c / 0.5 + (mean_c - 0.5) / 0.5. */
void cz_transform_input(const cz_preprocess *p, cz_tensor *x);

#endif
