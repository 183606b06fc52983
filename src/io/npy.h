/*
 * npy.h - numpy's .npy files in and out: inputs, outputs and labels for
 * the PyTorch conformance tests, feature maps for users' own scripts.
 *
 * Reading accepts format versions 1.0, 2.0 and 3.0, C order only, and the
 * little-endian dtypes '<f4', '<f8', '<i4', '<i8' and '|u1', converted on
 * the way in to float32 or int64. The header (a Python dict literal) is
 * parsed strictly: exactly the keys descr, fortran_order and shape, every
 * size checked for overflow, and the data must be exactly as long as the
 * shape says. Writing produces the same bytes as numpy's np.save (1.24),
 * atomically.
 */
#ifndef CZ_NPY_H
#define CZ_NPY_H

#include "cnnzoo.h"

#define CZ_NPY_MAX_DIMS 8

typedef enum cz_npy_dtype {
    CZ_NPY_F32, /* '<f4' */
    CZ_NPY_F64, /* '<f8' */
    CZ_NPY_I32, /* '<i4' */
    CZ_NPY_I64, /* '<i8' */
    CZ_NPY_U8,  /* '|u1' */
} cz_npy_dtype;

/* The numpy name ("<f4") and element size of a dtype. */
const char *cz_npy_dtype_name(cz_npy_dtype dtype);
size_t cz_npy_dtype_size(cz_npy_dtype dtype);

/* An array read from a file. */
typedef struct cz_npy_array {
    cz_npy_dtype file_dtype; /* as stored */
    cz_npy_dtype dtype;      /* of data: CZ_NPY_F32 or CZ_NPY_I64, as asked */
    int ndim;
    int64_t shape[CZ_NPY_MAX_DIMS];
    size_t numel;            /* 1 for a 0-dim array */
    void *data;              /* malloc'd float[numel] or int64_t[numel], never NULL */
} cz_npy_array;

/* Reads a whole .npy converted to `as` (CZ_NPY_F32 or CZ_NPY_I64).
 * To int64, float values must be whole numbers in range. */
cz_status cz_npy_read(const char *path, cz_npy_dtype as, cz_npy_array *out);
/* The same from bytes in memory; `name` is used in messages. */
cz_status cz_npy_read_memory(const char *name, const void *data, size_t size, cz_npy_dtype as,
                             cz_npy_array *out);
void cz_npy_free(cz_npy_array *a);

/* Reads a float array of at most CZ_MAX_DIMS dims into t (allocated here;
 * what t held is freed). */
cz_status cz_npy_read_tensor(const char *path, cz_tensor *t);

/* Writes numel(shape) elements of `dtype` from data (host little-endian)
 * as a C-order .npy, atomically. ndim 0..CZ_NPY_MAX_DIMS. */
cz_status cz_npy_write(const char *path, cz_npy_dtype dtype, const void *data, int ndim,
                       const int64_t *shape);
/* Writes a float32 tensor with its shape, e.g. (N, C, H, W). */
cz_status cz_npy_write_tensor(const char *path, const cz_tensor *t);

#endif
