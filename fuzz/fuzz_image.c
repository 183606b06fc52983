/*
 * fuzz_image.c - JPEG (libjpeg-turbo) and PNG (libpng) decoding as cnnzoo
 * drives them: the bomb guard, error recovery, palette, grey, alpha and
 * 16-bit conversions, to 1 and to 3 channels; images that decode are also
 * resized and cropped as a model's preprocessing does.
 */
#include "data/preprocess.h"
#include "fuzz.h"
#include "io/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int channels = 1; channels <= 3; channels += 2) {
        cz_image img;
        if (cz_image_decode("fuzz.img", data, size, channels, &img) != CZ_OK)
            continue;
        if ((size_t)img.width * img.height <= 512 * 512) {
            cz_image small;
            if (cz_image_resize(&img, 7, 5, CZ_RESAMPLE_BILINEAR, &small) == CZ_OK)
                cz_image_free(&small);
        }
        cz_image_free(&img);
    }
    return 0;
}
