/*
 * convert.c - `cnnzoo convert IN.pth OUT.safetensors`: a PyTorch
 * state_dict (zip or legacy .pth, or a checkpoint holding one) to
 * safetensors, cnnzoo's native format. Floating tensors become F32 and
 * integer ones I64 (num_batches_tracked); names are kept.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "io/io.h"
#include "io/pth.h"

static bool is_integer(cz_st_dtype dtype)
{
    switch (dtype) {
    case CZ_ST_BOOL:
    case CZ_ST_U8:
    case CZ_ST_I8:
    case CZ_ST_I16:
    case CZ_ST_U16:
    case CZ_ST_I32:
    case CZ_ST_U32:
    case CZ_ST_I64:
    case CZ_ST_U64:
        return true;
    default:
        return false;
    }
}

/* Converts every tensor of f into out[i] (data malloc'd). */
static cz_status gather(cz_pth_file *f, cz_st_tensor *out, int n)
{
    for (int i = 0; i < n; i++) {
        const cz_pth_tensor *t = cz_pth_at(f, i);
        bool integer = is_integer(t->dtype);
        /* The size the .pth reader checked against the ceiling: 4 bytes
         * per float, 8 per integer. */
        size_t element = integer ? sizeof(int64_t) : sizeof(float);
        void *data = malloc((t->numel ? t->numel : 1) * element);
        if (!data)
            return cz_fail(CZ_ERR_NOMEM, "%s: no memory for '%s' (%llu elements)", cz_pth_name(f),
                           t->name, (unsigned long long)t->numel);
        out[i] = (cz_st_tensor){.name = t->name, .dtype = integer ? CZ_ST_I64 : CZ_ST_F32,
                                .ndim = t->ndim, .numel = t->numel, .data = data};
        for (int d = 0; d < t->ndim; d++)
            out[i].shape[d] = t->shape[d];
        cz_status s = integer ? cz_pth_to_i64(f, t, data) : cz_pth_to_f32(f, t, data);
        if (s != CZ_OK)
            return s;
    }
    return CZ_OK;
}

int cz_cmd_convert(int argc, char **argv)
{
    const cz_cmd cmd = {"convert", "IN.pth OUT.safetensors", 2, 2,
                        "Converts a PyTorch state_dict (.pth) to safetensors.", NULL, 0};
    const char *pos[2];
    int n_pos, rc = cz_args_parse(&cmd, argc, argv, pos, &n_pos);
    if (rc >= 0)
        return rc;
    cz_pth_file *f;
    if (cz_pth_open(&f, pos[0]) != CZ_OK) {
        cz_cli_error("%s", cz_last_error());
        return CZ_EXIT_FAIL;
    }
    int n = cz_pth_count(f);
    cz_st_tensor *tensors = calloc((size_t)(n ? n : 1), sizeof *tensors);
    const char *meta[] = {"source", pos[0], "format", cz_pth_format(f)};
    cz_status s = tensors ? gather(f, tensors, n) : cz_fail(CZ_ERR_NOMEM, "out of memory");
    if (s == CZ_OK)
        s = cz_st_write(pos[1], tensors, n, meta, 2);
    if (s == CZ_OK) {
        printf("wrote %s: %d tensors from %s (%s format)\n", pos[1], n, pos[0], cz_pth_format(f));
    } else {
        cz_cli_error("%s", cz_last_error());
        rc = CZ_EXIT_FAIL;
    }
    for (int i = 0; tensors && i < n; i++)
        free((void *)tensors[i].data);
    free(tensors);
    cz_pth_close(f);
    return rc < 0 ? CZ_EXIT_OK : rc;
}
