/*
 * preprocess.c - `cnnzoo preprocess MODEL IMAGE... --output x.npy
 * [--tencrop]`: decodes JPEG/PNG files and writes the (N, C, H, W) float32
 * batch the model sees after its evaluation transforms (10N crops with
 * --tencrop, ten consecutive per image), ready for `cnnzoo forward` or
 * for comparing with torchvision in Python.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "data/preprocess.h"
#include "io/npy.h"

/* More files than this belong in a dataset, not on a command line. */
#define MAX_IMAGES 4096

/* Decodes and transforms every image into batch, which holds
 * views x C x crop x crop floats per image. */
static cz_status fill_batch(const cz_preprocess *p, const char **paths, int n, bool tencrop,
                            float *batch)
{
    size_t per_image = (size_t)(tencrop ? 10 : 1) * (size_t)p->channels * (size_t)p->crop *
                       (size_t)p->crop;
    for (int i = 0; i < n; i++) {
        cz_image img;
        cz_status st = cz_image_load(paths[i], p->channels, &img);
        if (st != CZ_OK)
            return st;
        float *dst = batch + (size_t)i * per_image;
        st = tencrop ? cz_preprocess_ten_crops(p, &img, dst) : cz_preprocess_image(p, &img, dst);
        cz_image_free(&img);
        if (st != CZ_OK)
            return cz_fail(st, "%s: %s", paths[i], cz_last_error());
    }
    return CZ_OK;
}

int cz_cmd_preprocess(int argc, char **argv)
{
    const char *output = NULL;
    bool tencrop = false;
    const cz_opt opts[] = {
        {"output", CZ_OPT_STRING, &output, "X.npy", "where to write the batch (N, C, H, W)", 0, 0},
        {"tencrop", CZ_OPT_FLAG, &tencrop, NULL,
         "ten crops per image (corners, centre, mirrored), as TenCrop", 0, 0},
    };
    const cz_cmd cmd = {"preprocess", "MODEL IMAGE...", 2, MAX_IMAGES + 1,
                        "Writes the float32 batch MODEL sees for JPEG/PNG images "
                        "(its resize, centre crop, normalisation).",
                        opts, (int)(sizeof opts / sizeof opts[0])};
    static const char *pos[MAX_IMAGES + 1];
    int n_pos, rc = cz_args_parse(&cmd, argc, argv, pos, &n_pos);
    if (rc >= 0)
        return rc;
    if (!output) {
        cz_cli_error("preprocess: --output is required");
        return CZ_EXIT_USAGE;
    }
    cz_preprocess p;
    if (cz_preprocess_for_model(pos[0], &p) != CZ_OK) {
        cz_cli_error("%s", cz_last_error());
        return CZ_EXIT_USAGE;
    }
    int n = n_pos - 1, views = tencrop ? 10 : 1;
    cz_tensor batch = {0};
    int shape[4] = {n * views, p.channels, p.crop, p.crop};
    cz_status st = cz_tensor_alloc(&batch, 4, shape);
    if (st == CZ_OK)
        st = fill_batch(&p, pos + 1, n, tencrop, batch.data);
    if (st == CZ_OK)
        st = cz_npy_write_tensor(output, &batch);
    if (st != CZ_OK) {
        cz_cli_error("%s", cz_last_error());
        rc = CZ_EXIT_FAIL;
    } else {
        char text[64];
        printf("wrote %s %s\n", output, cz_shape_str(&batch, text, sizeof text));
        rc = CZ_EXIT_OK;
    }
    cz_tensor_free(&batch);
    return rc;
}
