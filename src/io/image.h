/*
 * image.h - decoding JPEG (libjpeg-turbo) and PNG (libpng) into 8-bit
 * pixels, with guards against decompression bombs and files that claim
 * sizes they do not hold.
 */
#ifndef CZ_IMAGE_H
#define CZ_IMAGE_H

#include "cnnzoo.h"

/* PIL's Image.MAX_IMAGE_PIXELS: larger images are refused before any
 * pixel memory is allocated. */
#define CZ_IMAGE_MAX_PIXELS 89478485u

/* Row-major, interleaved: pixels[(y * width + x) * channels + c]. */
typedef struct cz_image {
    int width, height;
    int channels; /* 1 (grey) or 3 (RGB) */
    uint8_t *pixels;
} cz_image;

/* Decodes a JPEG or PNG file (chosen by its first bytes, not its name) to
 * `channels` 1 or 3, converting as PIL's convert("L") / convert("RGB")
 * does: palette expanded, alpha dropped, 16-bit reduced to 8. Anything
 * else is an error naming the file. */
cz_status cz_image_load(const char *path, int channels, cz_image *out);
/* The same from bytes in memory; `name` is used in messages. */
cz_status cz_image_decode(const char *name, const void *data, size_t size, int channels,
                          cz_image *out);
void cz_image_free(cz_image *img);

#endif
