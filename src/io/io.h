/*
 * io.h - internal file access for src/io and the code that reads or writes
 * model files: the crash-safe writer, whole-file reading/mapping with size
 * checks, and the low-level safetensors reader and writer.
 *
 * Every function here reports failures as a cz_status with a one-line
 * cz_last_error() message that names the file. Nothing here aborts on bad
 * input: sizes from files are checked before anything is allocated or read.
 */
#ifndef CZ_IO_H
#define CZ_IO_H

#include <stdio.h>

#include "cnnzoo.h"

/* ------------------------------------------------------------ atomic writer */

/* A file written to "<path>.tmpXXXXXX" in the same folder and renamed over
 * `path` on commit, so a crash, a full disk or a failed write leaves either
 * the old file or the new one, never half of one. */
typedef struct cz_atomic_file {
    FILE *fp;       /* NULL once committed, aborted or failed */
    char *path;     /* the final name */
    char *tmp_path; /* the temporary name */
    /* The first failure (errno and what failed), repeated by every later
     * write and by commit, so a caller may check only commit's status. */
    int error;
    const char *failed;
} cz_atomic_file;

/* Creates the temporary file (mode 0666 minus the umask, like fopen). */
cz_status cz_atomic_open(cz_atomic_file *f, const char *path);
/* Appends size bytes. On failure the temporary file is already removed;
 * later writes and commit fail with the same message (naming the file),
 * and abort is still needed to free the writer. */
cz_status cz_atomic_write(cz_atomic_file *f, const void *data, size_t size);
/* printf into the file, for text outputs (CSV logs, JSON). */
cz_status cz_atomic_printf(cz_atomic_file *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Flushes, fsyncs and closes the file, renames it over path and fsyncs the
 * folder. On failure the temporary file is removed and path is untouched. */
cz_status cz_atomic_commit(cz_atomic_file *f);
/* Closes and removes the temporary file; path is untouched. Safe to call
 * after a failure, after commit, or twice. */
void cz_atomic_abort(cz_atomic_file *f);

/* ------------------------------------------------------------ reading */

/* A whole file in memory: mapped read-only when it is a regular file (so a
 * 500 MB checkpoint costs no copy), read into a buffer otherwise. A file
 * truncated by someone else while it is mapped may still raise SIGBUS; cnnzoo
 * itself never truncates a file in place (it renames). */
typedef struct cz_mapped_file {
    const uint8_t *data; /* NULL when size is 0 */
    size_t size;
    bool mapped; /* munmap (true) or free (false) on release */
} cz_mapped_file;

cz_status cz_map_file(cz_mapped_file *m, const char *path);
void cz_unmap_file(cz_mapped_file *m);

/* Reads a whole small file into a NUL-terminated malloc'd buffer (*size
 * excludes the NUL). Files larger than max_size are an error, so a wrong
 * path (a 4 GB dataset given as a config) fails fast. */
cz_status cz_read_file(const char *path, size_t max_size, char **data, size_t *size);

/* ------------------------------------------------------------ allocation ceiling */

/* The one check before allocating memory whose size comes from a file:
 * count elements of elem_size bytes, without overflow, within
 * cz_max_alloc(). Sets *bytes to the product. Otherwise CZ_ERR_NOMEM with
 * "<file>: <what> needs N bytes (X GiB), over the M-byte (Y GiB) limit on
 * one allocation; ...how to raise it", where `what` (printf format) names
 * the key: "tensor 'fc.weight'", "zip entry 'archive/data/0'". Every
 * reader in src/io and src/data that allocates what a file sizes calls it
 * (safetensors maps its tensors in place and allocates none). */
cz_status cz_alloc_check(size_t *bytes, uint64_t count, uint64_t elem_size, const char *file,
                         const char *what, ...) __attribute__((format(printf, 5, 6)));

/* ------------------------------------------------------------ safetensors */

/* Element types of the safetensors format. */
typedef enum cz_st_dtype {
    CZ_ST_BOOL,
    CZ_ST_U8,
    CZ_ST_I8,
    CZ_ST_F8_E5M2,
    CZ_ST_F8_E4M3,
    CZ_ST_I16,
    CZ_ST_U16,
    CZ_ST_F16,
    CZ_ST_BF16,
    CZ_ST_I32,
    CZ_ST_U32,
    CZ_ST_F32,
    CZ_ST_F64,
    CZ_ST_I64,
    CZ_ST_U64,
    CZ_ST_DTYPE_COUNT
} cz_st_dtype;

/* "F32", "I64"... and the element size in bytes. */
const char *cz_st_dtype_name(cz_st_dtype dtype);
/* One element of `dtype` at p (unaligned, little-endian): integers exactly
 * in *iv (with *is_int set), floats and U64 values above INT64_MAX in *v;
 * false for types with no conversion (F8). Shared by every reader of
 * PyTorch's dtypes. */
bool cz_st_element(cz_st_dtype dtype, const void *p, double *v, int64_t *iv, bool *is_int);
/* F16, BF16, F32 or F64: the types a weight may be stored in. */
bool cz_st_dtype_is_float(cz_st_dtype dtype);
size_t cz_st_dtype_size(cz_st_dtype dtype);

/* safetensors itself has no rank limit; real tensors stay far below this. */
#define CZ_ST_MAX_DIMS 8
/* The reference parser's limit on the JSON header ("prevent DOS attacks"). */
#define CZ_ST_MAX_HEADER ((uint64_t)100000000)

/* One tensor. The reader fills every field; `data` points into the file's
 * data section and is NOT aligned (the header length need not be a multiple
 * of 8), so read it with memcpy or the cz_st_to_* converters. The writer
 * reads name, dtype, ndim, shape and data (numel * element size bytes,
 * little-endian) and ignores size. */
typedef struct cz_st_tensor {
    const char *name;
    cz_st_dtype dtype;
    int ndim;
    int64_t shape[CZ_ST_MAX_DIMS];
    uint64_t numel; /* product of shape; 1 for a 0-dim scalar */
    const void *data;
    size_t size;    /* bytes: numel * cz_st_dtype_size(dtype) */
} cz_st_tensor;

typedef struct cz_st_file cz_st_file;

/* Opens and validates a whole safetensors file: header length, JSON,
 * dtypes, shapes, offsets (in range, sized to the shape, tiling the data
 * section without overlap), no duplicate names, string-only metadata. */
cz_status cz_st_open(cz_st_file **out, const char *path);
/* The same from bytes in memory (fuzzers, embedded data). The bytes are
 * borrowed and must outlive the file; `name` is used in messages. */
cz_status cz_st_open_memory(cz_st_file **out, const char *name, const void *data, size_t size);
void cz_st_close(cz_st_file *f);

/* The path (or name) given to open, for messages. */
const char *cz_st_name(const cz_st_file *f);
/* Tensors in header order. */
int cz_st_count(const cz_st_file *f);
const cz_st_tensor *cz_st_at(const cz_st_file *f, int i);
/* The tensor called name, or NULL. */
const cz_st_tensor *cz_st_find(const cz_st_file *f, const char *name);
/* The "__metadata__" value for key, or NULL. */
const char *cz_st_meta(const cz_st_file *f, const char *key);
int cz_st_meta_count(const cz_st_file *f);
/* The i-th metadata pair in header order. */
void cz_st_meta_at(const cz_st_file *f, int i, const char **key, const char **value);

/* Converts t's numel elements to float into dst: F32, F16, BF16, F64, the
 * integer types and BOOL (rounded to nearest, as PyTorch's copy_ does).
 * F8 types are an error. */
cz_status cz_st_to_f32(const cz_st_file *f, const cz_st_tensor *t, float *dst);
/* Converts t's numel elements to int64 into dst: the integer types and
 * BOOL, and float types whose values are whole numbers in range. */
cz_status cz_st_to_i64(const cz_st_file *f, const cz_st_tensor *t, int64_t *dst);

/* The writer's view of one entry of a net's table (F32, or a 0-dim I64). */
void cz_st_from_param(const cz_param *p, cz_st_tensor *t);

/* Loads f's tensors into the net by name with the shared state_dict checks,
 * passing over those whose names start with skip (NULL: none). */
cz_status cz_st_load_net(cz_net *net, const cz_st_file *f, const char *skip, bool strict);

/* Writes a safetensors file atomically: tensors in the given order with
 * offsets tiling the data section, the header padded with spaces to a
 * multiple of 8 so every tensor starts 8-byte aligned in the file. meta is
 * n_meta (key, value) pairs: meta[2*i], meta[2*i+1]. Duplicate names, a
 * tensor called "__metadata__" and negative dims are CZ_ERR_ARG. */
cz_status cz_st_write(const char *path, const cz_st_tensor *tensors, int n,
                      const char *const *meta, int n_meta);

#endif
