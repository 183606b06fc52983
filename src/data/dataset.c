/*
 * dataset.c - what every dataset shares: freeing, and drawing one sample
 * through the evaluation or training transforms.
 */
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"

static void free_strings(char **s, int n)
{
    if (!s)
        return;
    for (int i = 0; i < n; i++)
        free(s[i]);
    free(s);
}

void cz_dataset_free(cz_dataset *ds)
{
    free(ds->labels);
    free_strings(ds->class_names, ds->classes);
    free(ds->pixels);
    free(ds->floats);
    free_strings(ds->paths, ds->count);
    memset(ds, 0, sizeof *ds);
}

size_t cz_dataset_sample_size(const cz_dataset *ds)
{
    return (size_t)ds->pipe.channels * (size_t)ds->pipe.crop * (size_t)ds->pipe.crop;
}

static cz_status transform(const cz_dataset *ds, const cz_image *img, cz_rng *rng, bool ten_crop,
                           float *dst)
{
    if (ten_crop)
        return cz_preprocess_ten_crops(&ds->pipe, img, dst);
    if (rng)
        return cz_augment_image(&ds->pipe, &ds->aug, img, rng, dst);
    return cz_preprocess_image(&ds->pipe, img, dst);
}

cz_status cz_dataset_sample(const cz_dataset *ds, int i, cz_rng *rng, bool ten_crop, float *dst)
{
    if (i < 0 || i >= ds->count)
        return cz_fail(CZ_ERR_ARG, "%s: sample %d of %d", ds->source, i, ds->count);
    if (ds->floats) {
        if (ten_crop || (rng && (ds->aug.crop != CZ_CROP_CENTER || ds->aug.flip)))
            return cz_fail(CZ_ERR_ARG, "%s: arrays are used as they are: no ten crops or "
                           "augmentation", ds->source);
        size_t size = cz_dataset_sample_size(ds);
        memcpy(dst, ds->floats + size * (size_t)i, sizeof(float) * size);
        return CZ_OK;
    }
    if (ds->pixels) {
        size_t size = (size_t)ds->height * (size_t)ds->width * (size_t)ds->channels;
        cz_image view = {ds->width, ds->height, ds->channels, ds->pixels + size * (size_t)i};
        return transform(ds, &view, rng, ten_crop, dst);
    }
    cz_image img;
    cz_status s = cz_image_load(ds->paths[i], ds->pipe.channels, &img);
    if (s != CZ_OK)
        return s;
    s = transform(ds, &img, rng, ten_crop, dst);
    cz_image_free(&img);
    return s;
}
