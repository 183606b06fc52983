/* tensor.c - float32 row-major tensors of up to 4 dims. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnnzoo.h"

size_t cz_tensor_numel(const cz_tensor *t)
{
    size_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        n *= (size_t)t->shape[i];
    return n;
}

cz_status cz_tensor_alloc(cz_tensor *t, int ndim, const int *shape)
{
    if (ndim < 0 || ndim > CZ_MAX_DIMS)
        return cz_fail(CZ_ERR_ARG, "tensor: %d dims, expected 0..%d", ndim, CZ_MAX_DIMS);
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return cz_fail(CZ_ERR_ARG, "tensor: negative dimension %d", shape[i]);
        if (shape[i] && n > SIZE_MAX / sizeof(float) / (size_t)shape[i])
            return cz_fail(CZ_ERR_NOMEM, "tensor: size overflows");
        n *= (size_t)shape[i];
    }
    cz_tensor_free(t);
    t->data = calloc(n ? n : 1, sizeof(float));
    if (!t->data)
        return cz_fail(CZ_ERR_NOMEM, "tensor: cannot allocate %zu floats", n);
    t->ndim = ndim;
    memcpy(t->shape, shape, sizeof(int) * (size_t)ndim);
    return CZ_OK;
}

void cz_tensor_free(cz_tensor *t)
{
    free(t->data);
    t->data = NULL;
    t->ndim = 0;
}

const char *cz_shape_str(const cz_tensor *t, char *buf, size_t size)
{
    size_t used = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < t->ndim && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%d", i ? ", " : "", t->shape[i]);
    if (used < size)
        snprintf(buf + used, size - used, "]");
    return buf;
}
