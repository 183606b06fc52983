/*
 * pth.h - PyTorch checkpoints (torch.save) read without Python: the zip
 * format (PyTorch >= 1.6) and the legacy format before it, through a safe
 * unpickler that executes nothing.
 *
 * What is found in a file: its state_dict, i.e. the top-level dict when
 * all its values are tensors, otherwise the dict under 'state_dict',
 * 'model_state_dict', 'model' or 'net' (training checkpoints). When every
 * key starts with 'module.' (nn.DataParallel) the prefix is dropped.
 * Tensors may be views sharing a storage, with any offset and any
 * non-negative strides; each is checked against its storage's size when
 * the file is opened, so the conversions below cannot read out of bounds,
 * and its size as float (int64 for integer types) against cz_max_alloc(),
 * so a small storage seen through zero strides cannot demand absurd memory.
 *
 * Limits: little-endian files only; zip entries stored or deflated; the
 * pickle must only use the globals a state_dict needs (OrderedDict, the
 * torch._utils rebuild functions and the typed storage classes) - a
 * checkpoint holding other objects (numpy scalars, argparse.Namespace, a
 * whole pickled nn.Module) is refused, naming the global, like torch.load's
 * weights_only=True. The pre-0.4 tar format is not supported.
 */
#ifndef CZ_PTH_H
#define CZ_PTH_H

#include "cnnzoo.h"
#include "io/io.h"

#define CZ_PTH_MAX_DIMS 8

/* One tensor of the state_dict. Element types reuse the safetensors enum:
 * FloatStorage is F32, LongStorage I64, HalfStorage F16 and so on. */
typedef struct cz_pth_tensor {
    const char *name; /* the state_dict key, 'module.' dropped */
    cz_st_dtype dtype;
    int ndim;
    int64_t shape[CZ_PTH_MAX_DIMS];
    int64_t stride[CZ_PTH_MAX_DIMS]; /* in elements */
    int64_t storage_offset;          /* in elements */
    uint64_t numel;                  /* product of shape; 1 for a 0-dim scalar */
    bool contiguous;                 /* C order: the elements are one run */
    const char *storage;             /* the storage's key ("0", "1"... in zip files) */
    const void *storage_data;        /* its bytes (unaligned, little-endian) */
    uint64_t storage_numel;          /* its size in elements */
} cz_pth_tensor;

typedef struct cz_pth_file cz_pth_file;

/* Opens and validates a whole .pth file: container, pickle, every tensor
 * against its storage. Errors name the file, the entry or key, and what
 * was expected. */
cz_status cz_pth_open(cz_pth_file **out, const char *path);
/* The same from bytes in memory (fuzzers, tests); the bytes are borrowed
 * and must outlive the file. `name` is used in messages. */
cz_status cz_pth_open_memory(cz_pth_file **out, const char *name, const void *data, size_t size);
void cz_pth_close(cz_pth_file *f);

const char *cz_pth_name(const cz_pth_file *f);
/* "zip" or "legacy". */
const char *cz_pth_format(const cz_pth_file *f);
/* Where the state_dict was: NULL for the top level, else its key
 * ("state_dict", "model"...). */
const char *cz_pth_dict_key(const cz_pth_file *f);
/* Whether a 'module.' prefix was dropped from every key. */
bool cz_pth_prefix_stripped(const cz_pth_file *f);

/* Tensors in the state_dict's order. */
int cz_pth_count(const cz_pth_file *f);
const cz_pth_tensor *cz_pth_at(const cz_pth_file *f, int i);
/* The tensor called name, or NULL. */
const cz_pth_tensor *cz_pth_find(const cz_pth_file *f, const char *name);

/* Gathers t's numel elements in C order (following its offset and
 * strides) into dst as float: F32, F16, BF16, F64, integers and BOOL
 * (rounded to nearest, as PyTorch's copy_ does). */
cz_status cz_pth_to_f32(const cz_pth_file *f, const cz_pth_tensor *t, float *dst);
/* The same as int64: integers and BOOL, and float types whose values are
 * whole numbers in range. */
cz_status cz_pth_to_i64(const cz_pth_file *f, const cz_pth_tensor *t, int64_t *dst);

/* cz_pth_load and cz_weights_load are public: see cnnzoo.h. */

#endif
