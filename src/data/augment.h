/*
 * augment.h - the random training transforms of the survey's recipes,
 * applied to one 8-bit image and producing the normalised float tensor the
 * network takes: torchvision's RandomResizedCrop (Inception), AlexNet's
 * random crop of a resized image, CIFAR's RandomCrop(padding=4),
 * RandomHorizontalFlip, ColorJitter (brightness, contrast, saturation) and
 * AlexNet's PCA lighting noise. Every random draw comes from the caller's
 * generator, so a seed fixes the sample.
 */
#ifndef CZ_AUGMENT_H
#define CZ_AUGMENT_H

#include "data/preprocess.h"

typedef enum cz_crop_mode {
    CZ_CROP_CENTER,         /* Resize(p->resize) + CenterCrop(p->crop): evaluation */
    CZ_CROP_RANDOM_RESIZED, /* RandomResizedCrop(p->crop, scale, ratio, p->resample) */
    CZ_CROP_RANDOM,         /* Resize(p->resize) + RandomCrop(p->crop): AlexNet */
    CZ_CROP_PAD_RANDOM,     /* RandomCrop(p->crop, padding=pad), no resize: CIFAR */
} cz_crop_mode;

typedef struct cz_augment {
    cz_crop_mode crop;
    float scale_min, scale_max; /* RandomResizedCrop area fraction, 0.08..1 */
    float ratio_min, ratio_max; /* and aspect ratio, 3/4..4/3 */
    int pad;                    /* CZ_CROP_PAD_RANDOM: zero pixels each side, 4 */
    bool flip;                  /* horizontal flip with probability 1/2 */
    /* ColorJitter: each factor uniform in [max(0, 1 - v), 1 + v], applied
     * in a random order as torchvision does; 0 leaves it out. */
    float brightness, contrast, saturation;
    float lighting; /* AlexNet PCA noise: alpha ~ N(0, lighting); 0.1 in the paper; 0 off */
} cz_augment;

/* The recipe for a crop mode with the papers' defaults: scale 0.08..1,
 * ratio 3/4..4/3, pad 4, flip on for every mode but CZ_CROP_CENTER, no
 * jitter, no lighting. */
cz_augment cz_augment_default(cz_crop_mode crop);

/* Crops img to the box (left, top, width, height), then resizes it to
 * out_w x out_h with PIL's resampling: torchvision's F.resized_crop on a
 * PIL image (the box may reach outside the image; outside is zero). */
cz_status cz_image_resized_crop(const cz_image *img, int left, int top, int width, int height,
                                int out_w, int out_h, cz_resample resample, cz_image *out);

/* torchvision's RandomResizedCrop.get_params: up to 10 draws of an area
 * fraction and a log-uniform aspect ratio; if none fits, the centre crop
 * with the ratio clamped to [ratio_min, ratio_max]. */
void cz_random_resized_box(cz_rng *rng, int width, int height, const cz_augment *a, int *left,
                           int *top, int *box_w, int *box_h);

/* ColorJitter's ops as torchvision's tensor functions, in place on floats
 * in [0, 1] (c = 1 or 3 planes of h x w), each result clamped to [0, 1]:
 * brightness scales by f; contrast blends with the whole image's mean grey
 * level (the mean value on one channel); saturation blends each pixel with
 * its grey (nothing on one channel); grey = 0.2989 R + 0.587 G + 0.114 B,
 * blend(x, other) = f x + (1 - f) other. */
void cz_adjust_brightness(float *chw, int c, int h, int w, float f);
void cz_adjust_contrast(float *chw, int c, int h, int w, float f);
void cz_adjust_saturation(float *chw, int c, int h, int w, float f);

/* AlexNet's PCA lighting, in place on a 3 x h x w float image: adds
 * eigvec[c] . (alpha * eigval) to channel c, with ImageNet's RGB
 * eigenvalues and eigenvectors from fb.resnet.torch; not clamped. */
void cz_lighting(float *chw, int h, int w, const float alpha[3]);

/* The whole transform: crop per a->crop, flip, ToTensor, jitter, lighting,
 * Normalize(p->mean, p->std), into dst (p->channels x p->crop x p->crop).
 * With CZ_CROP_CENTER and nothing else enabled it equals
 * cz_preprocess_image. */
cz_status cz_augment_image(const cz_preprocess *p, const cz_augment *a, const cz_image *img,
                           cz_rng *rng, float *dst);

#endif
