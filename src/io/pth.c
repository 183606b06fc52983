/*
 * pth.c - PyTorch .pth files (see pth.h): the zip container, the legacy
 * container, the torch side of unpickling (storages, tensor rebuilds),
 * finding the state_dict, strided conversion, and loading into a net.
 *
 * Zip (PyTorch >= 1.6): "<root>/data.pkl" and one "<root>/data/<key>" entry
 * per storage, read through zip.c.
 *
 * Legacy (before 1.6): five pickles back to back - magic number, protocol
 * version, sys_info, the object, the sorted storage keys - then per key an
 * int64 element count and the raw bytes.
 *
 * Every offset and size read from a file is checked against the file (or
 * the storage) before use, with overflow-safe arithmetic. Assumes a
 * little-endian host, like the files.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/pickle.h"
#include "io/pth.h"
#include "io/state_dict.h"
#include "io/zip.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               ".pth data is little-endian and is read as host memory");

/* ------------------------------------------------------------ types */

/* The globals a state_dict pickle may name; storages last, in the order of
 * storage_dtypes. Everything else is refused by the unpickler. */
enum {
    G_ORDERED_DICT,
    G_REBUILD_TENSOR_V2,
    G_REBUILD_TENSOR,
    G_REBUILD_PARAMETER,
    G_REBUILD_PARAMETER_WITH_STATE,
    G_STORAGE_FIRST,
};
static const char *const allowed_globals[] = {
    "collections.OrderedDict",
    "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_tensor",
    "torch._utils._rebuild_parameter",
    "torch._utils._rebuild_parameter_with_state",
    "torch.FloatStorage",
    "torch.DoubleStorage",
    "torch.HalfStorage",
    "torch.BFloat16Storage",
    "torch.LongStorage",
    "torch.IntStorage",
    "torch.ShortStorage",
    "torch.CharStorage",
    "torch.ByteStorage",
    "torch.BoolStorage",
    NULL,
};
static const cz_st_dtype storage_dtypes[] = {
    CZ_ST_F32, CZ_ST_F64, CZ_ST_F16, CZ_ST_BF16, CZ_ST_I64,
    CZ_ST_I32, CZ_ST_I16, CZ_ST_I8,  CZ_ST_U8,   CZ_ST_BOOL,
};

/* A tensor's element count stays below 2^60, so that a reader can
 * multiply it by any element size (8 at most) without overflow. */
#define MAX_NUMEL (UINT64_C(1) << 60)

/* The hooks' own object kinds (pk_obj.u.ext.ext). */
enum { EXT_STORAGE = 1, EXT_TENSOR = 2 };

static bool is_tensor(const pk_obj *o)
{
    return o->kind == PK_EXT && o->u.ext.ext == EXT_TENSOR;
}

/* The first bytes of each container. */
static const uint8_t zip_magic[4] = {'P', 'K', 3, 4};
static const uint8_t legacy_start[4] = {0x80, 0x02, 0x8a, 0x0a};

typedef struct storage {
    char *key;
    cz_st_dtype dtype;
    uint64_t numel;
    const uint8_t *data; /* NULL until located */
    uint8_t *owned;      /* inflated bytes, when the entry was deflated */
    int root;            /* legacy view: the storage it is a slice of; else -1 */
    uint64_t root_offset; /* legacy view: its first element in the root */
} storage;

/* A _rebuild_tensor call's arguments, checked numerically only once the
 * tensor's state_dict key is known, so messages can name it. */
typedef struct built_tensor {
    int storage;
    int ndim;
    int64_t offset;
    int64_t shape[CZ_PTH_MAX_DIMS], stride[CZ_PTH_MAX_DIMS];
} built_tensor;

struct cz_pth_file {
    char *name;
    cz_mapped_file map;
    const uint8_t *bytes;
    size_t size;
    bool legacy;
    cz_zip zip;
    char *root;         /* "archive" in "archive/data.pkl" */
    char where[600];    /* "<file>: <root>/data.pkl", for pickle messages */
    /* what the object pickle built */
    storage *storages;
    int n_storages, cap_storages;
    int *storage_slots; /* hash of storage keys: index + 1, 0 when empty */
    size_t n_slots;
    built_tensor *built;
    int n_built, cap_built;
    /* the state_dict */
    cz_pth_tensor *tensors;
    int n_tensors;
    int *by_name;
    char *dict_key;
    bool stripped;
};

static uint64_t le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

/* A name from the file that is safe to use and to print in a one-line
 * message: no NUL and no control characters (UTF-8 is fine). */
static bool plain_name(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

/* "[3, 4]" for messages. */
static const char *dims_str(const int64_t *v, int n, char *buf, size_t size)
{
    size_t used = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < n && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%lld", i ? ", " : "", (long long)v[i]);
    if (used < size)
        snprintf(buf + used, size - used, "]");
    return buf;
}

/* ------------------------------------------------------------ storages */

static uint64_t hash_key(const char *s)
{
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211u;
    return h;
}

static int storage_find(const cz_pth_file *f, const char *key)
{
    if (!f->n_slots)
        return -1;
    for (size_t i = hash_key(key) & (f->n_slots - 1);; i = (i + 1) & (f->n_slots - 1)) {
        int s = f->storage_slots[i];
        if (s == 0)
            return -1;
        if (strcmp(f->storages[s - 1].key, key) == 0)
            return s - 1;
    }
}

/* Appends a storage and indexes its key (kept at most half full). */
static cz_status storage_add(cz_pth_file *f, const char *key, cz_st_dtype dtype, uint64_t numel,
                             int *index)
{
    if (f->n_storages == f->cap_storages) {
        if (f->cap_storages >= (1 << 24))
            return cz_fail(CZ_ERR_FORMAT, "%s: more than %d storages (limit)", f->name, 1 << 24);
        int cap = f->cap_storages ? f->cap_storages * 2 : 16;
        storage *s = realloc(f->storages, (size_t)cap * sizeof *s);
        if (!s)
            return cz_fail(CZ_ERR_NOMEM, "%s: out of memory for storages", f->name);
        f->storages = s;
        f->cap_storages = cap;
    }
    if ((size_t)f->n_storages + 1 > f->n_slots / 2) {
        size_t n = f->n_slots ? f->n_slots * 2 : 64;
        int *slots = calloc(n, sizeof *slots);
        if (!slots)
            return cz_fail(CZ_ERR_NOMEM, "%s: out of memory for storages", f->name);
        for (int s = 0; s < f->n_storages; s++) {
            size_t i = hash_key(f->storages[s].key) & (n - 1);
            while (slots[i])
                i = (i + 1) & (n - 1);
            slots[i] = s + 1;
        }
        free(f->storage_slots);
        f->storage_slots = slots;
        f->n_slots = n;
    }
    storage *s = &f->storages[f->n_storages];
    memset(s, 0, sizeof *s);
    if (!(s->key = strdup(key)))
        return cz_fail(CZ_ERR_NOMEM, "%s: out of memory", f->name);
    s->dtype = dtype;
    s->numel = numel;
    s->root = -1;
    size_t i = hash_key(key) & (f->n_slots - 1);
    while (f->storage_slots[i])
        i = (i + 1) & (f->n_slots - 1);
    f->storage_slots[i] = ++f->n_storages;
    *index = f->n_storages - 1;
    return CZ_OK;
}

static const char *storage_type_name(cz_st_dtype dtype)
{
    for (int i = 0; i < (int)(sizeof storage_dtypes / sizeof storage_dtypes[0]); i++)
        if (storage_dtypes[i] == dtype)
            return allowed_globals[G_STORAGE_FIRST + i] + strlen("torch.");
    return "?";
}

/* The storage called key, created on first sight. A key seen again must
 * agree on type and size. For zip files its data entry is located now. */
static cz_status storage_get(cz_pth_file *f, const char *where, const char *key,
                             cz_st_dtype dtype, uint64_t numel, int *index)
{
    int s = storage_find(f, key);
    if (s >= 0) {
        const storage *old = &f->storages[s];
        if (old->dtype != dtype || old->numel != numel)
            return cz_fail(CZ_ERR_FORMAT,
                           "%s: storage '%s' appears as %s of %llu elements and as %s of %llu",
                           where, key, storage_type_name(old->dtype),
                           (unsigned long long)old->numel, storage_type_name(dtype),
                           (unsigned long long)numel);
        *index = s;
        return CZ_OK;
    }
    cz_status st = storage_add(f, key, dtype, numel, index);
    if (st != CZ_OK || f->legacy)
        return st;
    storage *sto = &f->storages[*index];
    char entry_name[600];
    snprintf(entry_name, sizeof entry_name, "%s/data/%s", f->root, key);
    const cz_zip_entry *e = cz_zip_find(&f->zip, entry_name);
    if (!e)
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: persistent id refers to storage '%s', but the archive has no entry "
                       "'%s'",
                       where, key, entry_name);
    uint64_t bytes = numel * cz_st_dtype_size(dtype); /* numel was bounded by the caller */
    if (e->size < bytes)
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: zip entry '%s' holds %llu bytes, but %s '%s' of %llu elements needs "
                       "%llu",
                       f->name, entry_name, (unsigned long long)e->size, storage_type_name(dtype),
                       key, (unsigned long long)numel, (unsigned long long)bytes);
    return cz_zip_entry_data(&f->zip, e, &sto->data, &sto->owned);
}

/* ------------------------------------------------------------ unpickling hooks */

/* ('storage', <storage type>, key, location, numel) in zip files, with a
 * sixth item in legacy ones: None, or (view key, offset, size) for a slice
 * of the storage (files from before PyTorch 0.4). */
static cz_status persistent_load(void *ctx, pk_arena *a, const char *where, pk_obj *pid,
                                 pk_obj **out)
{
    cz_pth_file *f = ctx;
    size_t want = f->legacy ? 6 : 5;
    pk_obj **it = pid->kind == PK_TUPLE ? pid->u.seq.items : NULL;
    if (!it || pid->u.seq.n != want || !pk_is_str(it[0], "storage") ||
        it[1]->kind != PK_GLOBAL || it[1]->u.global < G_STORAGE_FIRST || it[2]->kind != PK_STR ||
        it[3]->kind != PK_STR || it[4]->kind != PK_INT)
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: persistent id is %s%s, expected ('storage', storage type, key, "
                       "location, numel%s)",
                       where, pk_kind_name(pid),
                       pid->kind == PK_TUPLE && pid->u.seq.n != want ? " of another length" : "",
                       f->legacy ? ", view" : "");
    cz_st_dtype dtype = storage_dtypes[it[1]->u.global - G_STORAGE_FIRST];
    const char *key = it[2]->u.str.s;
    int64_t numel = it[4]->u.i;
    if (!plain_name(key, it[2]->u.str.len) || it[2]->u.str.len > 256)
        return cz_fail(CZ_ERR_FORMAT, "%s: storage key of %zu bytes is not a plain name", where,
                       it[2]->u.str.len);
    if (numel < 0 || (uint64_t)numel > (UINT64_C(1) << 62) / cz_st_dtype_size(dtype))
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: storage '%s' claims %lld elements of %s, expected 0 to %llu",
                       where, key, (long long)numel, storage_type_name(dtype),
                       (unsigned long long)((UINT64_C(1) << 62) / cz_st_dtype_size(dtype)));
    int index;
    cz_status st = storage_get(f, where, key, dtype, (uint64_t)numel, &index);
    if (st != CZ_OK)
        return st;
    if (want == 6 && it[5]->kind != PK_NONE) {
        pk_obj *v = it[5];
        if (v->kind != PK_TUPLE || v->u.seq.n != 3 || v->u.seq.items[0]->kind != PK_STR ||
            v->u.seq.items[1]->kind != PK_INT || v->u.seq.items[2]->kind != PK_INT)
            return cz_fail(CZ_ERR_FORMAT,
                           "%s: storage '%s': view metadata is %s, expected None or (key, "
                           "offset, size)",
                           where, key, pk_kind_name(v));
        const char *view_key = v->u.seq.items[0]->u.str.s;
        if (!plain_name(view_key, v->u.seq.items[0]->u.str.len) ||
            v->u.seq.items[0]->u.str.len > 256)
            return cz_fail(CZ_ERR_FORMAT, "%s: storage '%s': view key is not a plain name",
                           where, key);
        int64_t off = v->u.seq.items[1]->u.i, size = v->u.seq.items[2]->u.i;
        if (off < 0 || size < 0 || (uint64_t)off > (uint64_t)numel ||
            (uint64_t)size > (uint64_t)numel - (uint64_t)off)
            return cz_fail(CZ_ERR_FORMAT,
                           "%s: storage view '%s' [%lld, +%lld) lies outside storage '%s' of "
                           "%lld elements",
                           where, view_key, (long long)off, (long long)size, key,
                           (long long)numel);
        int root = index;
        if ((st = storage_get(f, where, view_key, dtype, (uint64_t)size, &index)) != CZ_OK)
            return st;
        if (f->storages[index].root < 0 && index != root) {
            f->storages[index].root = root;
            f->storages[index].root_offset = (uint64_t)off;
        }
    }
    if (!(*out = pk_new(a, PK_EXT, where)))
        return a->failure;
    (*out)->u.ext.ext = EXT_STORAGE;
    (*out)->u.ext.index = index;
    return CZ_OK;
}

/* A tuple (or list) of ints, as a tensor's size or stride. */
static cz_status int_tuple(const char *where, const char *what, const pk_obj *o, int64_t *v,
                           int *n)
{
    if (o->kind != PK_TUPLE && o->kind != PK_LIST)
        return cz_fail(CZ_ERR_FORMAT, "%s: _rebuild_tensor: %s is %s, expected a tuple of ints",
                       where, what, pk_kind_name(o));
    if (o->u.seq.n > CZ_PTH_MAX_DIMS)
        return cz_fail(CZ_ERR_FORMAT, "%s: _rebuild_tensor: %s has %zu dims, at most %d supported",
                       where, what, o->u.seq.n, CZ_PTH_MAX_DIMS);
    for (size_t i = 0; i < o->u.seq.n; i++) {
        if (o->u.seq.items[i]->kind != PK_INT)
            return cz_fail(CZ_ERR_FORMAT, "%s: _rebuild_tensor: %s[%zu] is %s, expected an int",
                           where, what, i, pk_kind_name(o->u.seq.items[i]));
        v[i] = o->u.seq.items[i]->u.i;
    }
    *n = (int)o->u.seq.n;
    return CZ_OK;
}

/* _rebuild_tensor_v2(storage, offset, size, stride, requires_grad,
 * backward_hooks[, metadata]) and the older _rebuild_tensor(storage,
 * offset, size, stride). Only the types are checked here. */
static cz_status rebuild_tensor(cz_pth_file *f, pk_arena *a, const char *where, bool v2,
                                pk_obj *args, pk_obj **out)
{
    size_t n = args->u.seq.n;
    if (v2 ? n != 6 && n != 7 : n != 4)
        return cz_fail(CZ_ERR_FORMAT, "%s: %s called with %zu arguments, expected %s", where,
                       v2 ? "_rebuild_tensor_v2" : "_rebuild_tensor", n, v2 ? "6 or 7" : "4");
    pk_obj **it = args->u.seq.items;
    if (it[0]->kind != PK_EXT || it[0]->u.ext.ext != EXT_STORAGE)
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: _rebuild_tensor: storage is %s, expected a storage (persistent id)",
                       where, pk_kind_name(it[0]));
    if (it[1]->kind != PK_INT)
        return cz_fail(CZ_ERR_FORMAT, "%s: _rebuild_tensor: storage_offset is %s, expected an int",
                       where, pk_kind_name(it[1]));
    if (f->n_built == f->cap_built) {
        int cap = f->cap_built ? f->cap_built * 2 : 64;
        built_tensor *b = realloc(f->built, (size_t)cap * sizeof *b);
        if (!b)
            return cz_fail(CZ_ERR_NOMEM, "%s: out of memory for tensors", f->name);
        f->built = b;
        f->cap_built = cap;
    }
    built_tensor *t = &f->built[f->n_built];
    memset(t, 0, sizeof *t);
    t->storage = (int)it[0]->u.ext.index;
    t->offset = it[1]->u.i;
    int nstride;
    cz_status st = int_tuple(where, "size", it[2], t->shape, &t->ndim);
    if (st == CZ_OK)
        st = int_tuple(where, "stride", it[3], t->stride, &nstride);
    if (st == CZ_OK && nstride != t->ndim)
        st = cz_fail(CZ_ERR_FORMAT, "%s: _rebuild_tensor: size has %d dims but stride has %d",
                     where, t->ndim, nstride);
    if (st != CZ_OK)
        return st;
    if (!(*out = pk_new(a, PK_EXT, where)))
        return a->failure;
    (*out)->u.ext.ext = EXT_TENSOR;
    (*out)->u.ext.index = f->n_built++;
    return CZ_OK;
}

static cz_status reduce(void *ctx, pk_arena *a, const char *where, int global, pk_obj *args,
                        pk_obj **out)
{
    cz_pth_file *f = ctx;
    size_t n = args->u.seq.n;
    switch (global) {
    case G_ORDERED_DICT:
        /* Protocol 2 pickles an OrderedDict as OrderedDict() then SETITEMS. */
        if (n != 0)
            return cz_fail(CZ_ERR_FORMAT, "%s: OrderedDict called with %zu arguments, expected 0",
                           where, n);
        if (!(*out = pk_new(a, PK_DICT, where)))
            return a->failure;
        return CZ_OK;
    case G_REBUILD_TENSOR_V2:
    case G_REBUILD_TENSOR:
        return rebuild_tensor(f, a, where, global == G_REBUILD_TENSOR_V2, args, out);
    case G_REBUILD_PARAMETER:
    case G_REBUILD_PARAMETER_WITH_STATE:
        /* A Parameter is its data tensor plus flags we do not need. */
        if (n != (global == G_REBUILD_PARAMETER ? 3u : 4u) || !is_tensor(args->u.seq.items[0]))
            return cz_fail(CZ_ERR_FORMAT,
                           "%s: %s called with %zu arguments (first: %s), expected a tensor and "
                           "flags",
                           where, allowed_globals[global] + strlen("torch._utils."), n,
                           n ? pk_kind_name(args->u.seq.items[0]) : "none");
        *out = args->u.seq.items[0];
        return CZ_OK;
    default:
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: pickle calls '%s', which only names a storage type; refusing to load",
                       where, allowed_globals[global]);
    }
}

/* ------------------------------------------------------------ containers */

static pk_hooks torch_hooks(cz_pth_file *f)
{
    return (pk_hooks){.globals = allowed_globals,
                      .ctx = f,
                      .reduce = reduce,
                      .persistent_load = persistent_load};
}

static cz_status read_zip(cz_pth_file *f, pk_arena *arena, pk_obj **result)
{
    cz_status st = cz_zip_open(&f->zip, f->name, f->bytes, f->size);
    if (st != CZ_OK)
        return st;
    /* The root folder is taken from the first entry, as torch does. */
    const char *slash = strchr(f->zip.first, '/');
    if (!slash)
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: first zip entry '%s' is not inside a folder, expected "
                       "<root>/data.pkl (not a torch.save file)",
                       f->name, f->zip.first);
    if (!(f->root = strndup(f->zip.first, (size_t)(slash - f->zip.first))))
        return cz_fail(CZ_ERR_NOMEM, "%s: out of memory", f->name);
    char name[600];
    snprintf(name, sizeof name, "%s/byteorder", f->root);
    const cz_zip_entry *e = cz_zip_find(&f->zip, name);
    if (e) {
        const uint8_t *data;
        uint8_t *owned;
        if ((st = cz_zip_entry_data(&f->zip, e, &data, &owned)) != CZ_OK)
            return st;
        bool big = e->size >= 3 && memcmp(data, "big", 3) == 0;
        free(owned);
        if (big)
            return cz_fail(CZ_ERR_FORMAT, "%s: saved on a big-endian machine ('%s' says big); "
                                          "only little-endian files are supported",
                           f->name, name);
    }
    snprintf(name, sizeof name, "%s/data.pkl", f->root);
    if (!(e = cz_zip_find(&f->zip, name)))
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: zip archive has no '%s' (not a torch.save file, e.g. a TorchScript "
                       "archive or another zip)",
                       f->name, name);
    const uint8_t *data;
    uint8_t *owned;
    if ((st = cz_zip_entry_data(&f->zip, e, &data, &owned)) != CZ_OK)
        return st;
    snprintf(f->where, sizeof f->where, "%.300s: %.280s", f->name, name);
    pk_hooks hooks = torch_hooks(f);
    size_t used;
    st = pk_load(arena, f->where, data, (size_t)e->size, &hooks, result, &used);
    free(owned);
    return st;
}

/* The first 15 bytes of every legacy file: the pickled magic number
 * 0x1950a86a20f9469cfc6c. */
static const uint8_t legacy_magic[15] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46,
                                         0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e};

/* One of the small header pickles, which need no globals. */
static cz_status legacy_pickle(cz_pth_file *f, pk_arena *arena, const char *what, size_t *pos,
                               const pk_hooks *hooks, pk_obj **result)
{
    snprintf(f->where, sizeof f->where, "%s: legacy %s pickle", f->name, what);
    size_t used;
    cz_status st = pk_load(arena, f->where, f->bytes + *pos, f->size - *pos, hooks, result, &used);
    *pos += used;
    return st;
}

static cz_status read_legacy(cz_pth_file *f, pk_arena *arena, pk_obj **result)
{
    size_t same = 0;
    while (same < sizeof legacy_magic && same < f->size && f->bytes[same] == legacy_magic[same])
        same++;
    if (same < sizeof legacy_magic && same == f->size)
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: %zu bytes, cut short inside the 15-byte magic number of a legacy "
                       "PyTorch file (truncated)",
                       f->name, f->size);
    if (same < sizeof legacy_magic)
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: starts like a legacy PyTorch file but lacks its magic number: byte "
                       "%zu is 0x%02x, expected 0x%02x (corrupt)",
                       f->name, same, f->bytes[same], legacy_magic[same]);
    size_t pos = sizeof legacy_magic;
    pk_hooks plain = {.globals = NULL};
    pk_obj *o;
    cz_status st = legacy_pickle(f, arena, "protocol", &pos, &plain, &o);
    if (st == CZ_OK && (o->kind != PK_INT || o->u.i != 1001))
        st = cz_fail(CZ_ERR_FORMAT, "%s: legacy protocol version is %s%s, expected 1001",
                     f->name, pk_kind_name(o), o->kind == PK_INT ? " other than 1001" : "");
    if (st == CZ_OK)
        st = legacy_pickle(f, arena, "sys_info", &pos, &plain, &o);
    if (st != CZ_OK)
        return st;
    pk_obj *little = o->kind == PK_DICT ? pk_dict_get(o, "little_endian") : NULL;
    if (!little || little->kind != PK_BOOL)
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: legacy sys_info is %s without a little_endian flag, expected a dict",
                       f->name, pk_kind_name(o));
    if (!little->u.b)
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: saved on a big-endian machine (sys_info's little_endian is False); "
                       "only little-endian files are supported",
                       f->name);
    pk_hooks hooks = torch_hooks(f);
    if ((st = legacy_pickle(f, arena, "object", &pos, &hooks, result)) != CZ_OK ||
        (st = legacy_pickle(f, arena, "storage keys", &pos, &plain, &o)) != CZ_OK)
        return st;
    if (o->kind != PK_LIST && o->kind != PK_TUPLE)
        return cz_fail(CZ_ERR_FORMAT, "%s: legacy storage key list is %s, expected a list",
                       f->name, pk_kind_name(o));
    /* Each listed storage: int64 element count, then its raw bytes. */
    for (size_t i = 0; i < o->u.seq.n; i++) {
        pk_obj *k = o->u.seq.items[i];
        bool plain = k->kind == PK_STR && plain_name(k->u.str.s, k->u.str.len);
        int s = plain ? storage_find(f, k->u.str.s) : -1;
        if (s < 0)
            return cz_fail(CZ_ERR_FORMAT,
                           "%s: legacy storage key #%zu (%.100s) was never referenced by a tensor",
                           f->name, i, plain ? k->u.str.s : pk_kind_name(k));
        storage *sto = &f->storages[s];
        if (sto->data || sto->root >= 0)
            return cz_fail(CZ_ERR_FORMAT, "%s: legacy storage '%s' is listed twice or is a view",
                           f->name, sto->key);
        if (f->size - pos < 8)
            return cz_fail(CZ_ERR_FORMAT,
                           "%s: legacy storage '%s': file ends at byte %zu before its element "
                           "count (truncated)",
                           f->name, sto->key, f->size);
        uint64_t numel = le(f->bytes + pos, 8);
        pos += 8;
        if (numel != sto->numel)
            return cz_fail(CZ_ERR_FORMAT,
                           "%s: legacy storage '%s' has %llu elements in the file, but its "
                           "persistent id says %llu",
                           f->name, sto->key, (unsigned long long)numel,
                           (unsigned long long)sto->numel);
        uint64_t bytes = numel * cz_st_dtype_size(sto->dtype); /* bounded in persistent_load */
        if (bytes > f->size - pos)
            return cz_fail(CZ_ERR_FORMAT,
                           "%s: legacy storage '%s' needs %llu bytes at offset %zu, only %zu left "
                           "(truncated)",
                           f->name, sto->key, (unsigned long long)bytes, pos, f->size - pos);
        sto->data = f->bytes + pos;
        pos += (size_t)bytes;
    }
    for (int s = 0; s < f->n_storages; s++) {
        storage *sto = &f->storages[s];
        if (sto->root >= 0) {
            const storage *root = &f->storages[sto->root];
            if (root->data)
                sto->data = root->data + sto->root_offset * cz_st_dtype_size(sto->dtype);
        }
        if (!sto->data)
            return cz_fail(CZ_ERR_FORMAT,
                           "%s: legacy storage '%s' is used by a tensor but has no data in the "
                           "file (truncated key list)",
                           f->name, sto->key);
    }
    return CZ_OK;
}

/* ------------------------------------------------------------ the state_dict */

/* A dict whose values are all tensors (an empty dict counts). */
static bool tensor_dict(const pk_obj *o)
{
    if (o->kind != PK_DICT)
        return false;
    for (size_t i = 0; i < pk_dict_size(o); i++)
        if (!is_tensor(o->u.seq.items[2 * i + 1]))
            return false;
    return true;
}

/* The dict holding the state_dict: the top level, or the value of one of
 * the keys training scripts use. */
static cz_status find_state_dict(cz_pth_file *f, const pk_obj *top, const pk_obj **dict)
{
    static const char *const keys[] = {"state_dict", "model_state_dict", "model", "net"};
    if (top->kind != PK_DICT)
        return cz_fail(CZ_ERR_FORMAT, "%s: the file holds %s, expected a dict of tensors (a "
                                      "state_dict)",
                       f->name, pk_kind_name(top));
    if (tensor_dict(top)) {
        *dict = top;
        return CZ_OK;
    }
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        const pk_obj *v = pk_dict_get(top, keys[k]);
        if (v && v->kind == PK_DICT) {
            if (!(f->dict_key = strdup(keys[k])))
                return cz_fail(CZ_ERR_NOMEM, "%s: out of memory", f->name);
            *dict = v;
            return CZ_OK;
        }
    }
    /* Name what is there, so the user sees why nothing matched. */
    char seen[300] = "";
    size_t used = 0;
    for (size_t i = 0; i < pk_dict_size(top) && i < 8 && used < sizeof seen; i++) {
        const pk_obj *k = top->u.seq.items[2 * i];
        bool plain = k->kind == PK_STR && plain_name(k->u.str.s, k->u.str.len);
        used += (size_t)snprintf(seen + used, sizeof seen - used, "%s'%.40s'", i ? ", " : "",
                                 plain ? k->u.str.s : "?");
    }
    return cz_fail(CZ_ERR_FORMAT,
                   "%s: the top-level dict (keys %s%s) is not a state_dict and has no "
                   "'state_dict', 'model_state_dict', 'model' or 'net' dict",
                   f->name, seen, pk_dict_size(top) > 8 ? ", ..." : "");
}

/* Checks a rebuilt tensor against its storage and fills t. */
static cz_status check_tensor(cz_pth_file *f, const built_tensor *b, cz_pth_tensor *t)
{
    const storage *s = &f->storages[b->storage];
    char size_buf[200], stride_buf[200];
    t->dtype = s->dtype;
    t->ndim = b->ndim;
    t->storage_offset = b->offset;
    t->storage = s->key;
    t->storage_data = s->data;
    t->storage_numel = s->numel;
    memcpy(t->shape, b->shape, sizeof t->shape);
    memcpy(t->stride, b->stride, sizeof t->stride);
    if (b->offset < 0)
        return cz_fail(CZ_ERR_FORMAT, "%s: tensor '%s': storage offset %lld is negative", f->name,
                       t->name, (long long)b->offset);
    uint64_t numel = 1;
    bool empty = false;
    for (int d = 0; d < b->ndim; d++) {
        if (b->shape[d] < 0 || b->stride[d] < 0)
            return cz_fail(CZ_ERR_FORMAT,
                           "%s: tensor '%s': size %s, stride %s: negative %s (PyTorch never saves "
                           "one)",
                           f->name, t->name, dims_str(b->shape, b->ndim, size_buf, sizeof size_buf),
                           dims_str(b->stride, b->ndim, stride_buf, sizeof stride_buf),
                           b->shape[d] < 0 ? "size" : "stride");
        if (b->shape[d] == 0)
            empty = true;
        else if (__builtin_mul_overflow(numel, (uint64_t)b->shape[d], &numel) ||
                 numel > MAX_NUMEL)
            return cz_fail(CZ_ERR_FORMAT,
                           "%s: tensor '%s': size %s has more than 2^60 elements (overflow)",
                           f->name, t->name,
                           dims_str(b->shape, b->ndim, size_buf, sizeof size_buf));
    }
    t->numel = empty ? 0 : numel;
    /* Strides may repeat elements (an expanded view), so a tiny storage can
     * stand for a huge tensor: what a reader allocates is the tensor as it
     * materialises it, float or int64. */
    size_t bytes;
    cz_status st = cz_alloc_check(&bytes, t->numel, cz_st_dtype_is_float(t->dtype) ? 4 : 8,
                                  f->name, "tensor '%s' (size %s, %s)", t->name,
                                  dims_str(b->shape, b->ndim, size_buf, sizeof size_buf),
                                  cz_st_dtype_name(t->dtype));
    if (st != CZ_OK)
        return st;
    /* The last element read is offset + sum((size - 1) * stride); it must
     * lie inside the storage. An empty tensor reads nothing. */
    uint64_t last = (uint64_t)b->offset;
    bool overflow = false;
    for (int d = 0; d < b->ndim && !empty; d++) {
        uint64_t step;
        overflow = overflow ||
                   __builtin_mul_overflow((uint64_t)(b->shape[d] - 1), (uint64_t)b->stride[d],
                                          &step) ||
                   __builtin_add_overflow(last, step, &last);
    }
    if (!empty && (overflow || last >= s->numel))
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: tensor '%s': size %s, stride %s at offset %lld reaches element %s%llu, "
                       "but storage '%s' has %llu elements",
                       f->name, t->name, dims_str(b->shape, b->ndim, size_buf, sizeof size_buf),
                       dims_str(b->stride, b->ndim, stride_buf, sizeof stride_buf),
                       (long long)b->offset, overflow ? "beyond " : "",
                       (unsigned long long)(overflow ? UINT64_MAX : last), s->key,
                       (unsigned long long)s->numel);
    /* C order: each dim's stride is the product of the sizes after it
     * (dims of size 1 may carry any stride). */
    int64_t expected = 1;
    t->contiguous = true;
    for (int d = b->ndim - 1; d >= 0 && !empty; d--) {
        if (b->shape[d] != 1 && b->stride[d] != expected)
            t->contiguous = false;
        expected *= b->shape[d];
    }
    return CZ_OK;
}

typedef struct name_index {
    const char *name;
    int index;
} name_index;

static int name_index_cmp(const void *a, const void *b)
{
    return strcmp(((const name_index *)a)->name, ((const name_index *)b)->name);
}

static cz_status collect_tensors(cz_pth_file *f, const pk_obj *top)
{
    const pk_obj *dict = NULL;
    cz_status st = find_state_dict(f, top, &dict);
    if (st != CZ_OK)
        return st;
    size_t n = pk_dict_size(dict);
    const char *where = f->dict_key ? f->dict_key : "state_dict";
    if (n > INT32_MAX / 2)
        return cz_fail(CZ_ERR_FORMAT, "%s: %zu tensors (limit)", f->name, n);
    /* DataParallel saves every key as "module.<key>". */
    static const char prefix[] = "module.";
    size_t plen = strlen(prefix);
    bool strip = n > 0;
    for (size_t i = 0; i < n; i++) {
        const pk_obj *k = dict->u.seq.items[2 * i], *v = dict->u.seq.items[2 * i + 1];
        if (k->kind != PK_STR || !plain_name(k->u.str.s, k->u.str.len) || k->u.str.len == 0)
            return cz_fail(CZ_ERR_FORMAT, "%s: %s key #%zu is %s, expected a non-empty name",
                           f->name, where, i,
                           k->kind == PK_STR ? "not a plain name" : pk_kind_name(k));
        if (!is_tensor(v))
            return cz_fail(CZ_ERR_FORMAT, "%s: %s['%.200s'] is %s, expected a tensor", f->name,
                           where, k->u.str.s, pk_kind_name(v));
        strip = strip && k->u.str.len > plen && strncmp(k->u.str.s, prefix, plen) == 0;
    }
    f->stripped = strip;
    f->tensors = calloc(n + 1, sizeof *f->tensors);
    f->by_name = calloc(n + 1, sizeof *f->by_name);
    name_index *order = calloc(n + 1, sizeof *order);
    if (!f->tensors || !f->by_name || !order) {
        free(order);
        return cz_fail(CZ_ERR_NOMEM, "%s: out of memory for %zu tensors", f->name, n);
    }
    for (size_t i = 0; i < n && st == CZ_OK; i++) {
        const pk_obj *k = dict->u.seq.items[2 * i], *v = dict->u.seq.items[2 * i + 1];
        cz_pth_tensor *t = &f->tensors[i];
        if (!(t->name = strdup(k->u.str.s + (strip ? plen : 0)))) {
            st = cz_fail(CZ_ERR_NOMEM, "%s: out of memory", f->name);
            break;
        }
        f->n_tensors++;
        st = check_tensor(f, &f->built[v->u.ext.index], t);
        order[i] = (name_index){t->name, (int)i};
    }
    if (st == CZ_OK) {
        qsort(order, n, sizeof *order, name_index_cmp);
        for (size_t i = 0; i < n; i++)
            f->by_name[i] = order[i].index;
        for (size_t i = 1; i < n && st == CZ_OK; i++)
            if (strcmp(order[i - 1].name, order[i].name) == 0)
                st = cz_fail(CZ_ERR_FORMAT, "%s: tensor '%s' appears twice in the %s", f->name,
                             order[i].name, where);
    }
    free(order);
    return st;
}

/* ------------------------------------------------------------ open / close */

static cz_status parse(cz_pth_file *f)
{
    if (f->size < 4)
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: %zu bytes, too short for a PyTorch file (truncated or empty)", f->name,
                       f->size);
    if (memcmp(f->bytes, legacy_start, 4) == 0)
        f->legacy = true;
    else if (memcmp(f->bytes, zip_magic, 4) != 0)
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: starts with %02x %02x %02x %02x, expected a zip (50 4b 03 04) or a "
                       "legacy pickle (80 02 8a 0a): not a torch.save file",
                       f->name, f->bytes[0], f->bytes[1], f->bytes[2], f->bytes[3]);
    pk_arena arena = {0};
    pk_obj *top = NULL;
    cz_status st = f->legacy ? read_legacy(f, &arena, &top) : read_zip(f, &arena, &top);
    if (st == CZ_OK)
        st = collect_tensors(f, top);
    /* Names were copied and storages located: the objects can go. */
    pk_arena_free(&arena);
    free(f->built);
    f->built = NULL;
    f->n_built = f->cap_built = 0;
    return st;
}

static cz_status open_common(cz_pth_file **out, const char *name, const char *path,
                             const void *data, size_t size)
{
    *out = NULL;
    cz_pth_file *f = calloc(1, sizeof *f);
    if (!f || !(f->name = strdup(name))) {
        free(f);
        return cz_fail(CZ_ERR_NOMEM, "%s: out of memory", name);
    }
    cz_status st = CZ_OK;
    if (path) {
        st = cz_map_file(&f->map, path);
        data = f->map.data;
        size = f->map.size;
    }
    f->bytes = data;
    f->size = size;
    if (st == CZ_OK)
        st = parse(f);
    if (st != CZ_OK) {
        cz_pth_close(f);
        return st;
    }
    *out = f;
    return CZ_OK;
}

cz_status cz_pth_open(cz_pth_file **out, const char *path)
{
    if (!out || !path)
        return cz_fail(CZ_ERR_ARG, "pth open: NULL %s", out ? "path" : "output");
    return open_common(out, path, path, NULL, 0);
}

cz_status cz_pth_open_memory(cz_pth_file **out, const char *name, const void *data, size_t size)
{
    if (!out || !name || (!data && size))
        return cz_fail(CZ_ERR_ARG, "pth open: bad arguments");
    return open_common(out, name, NULL, data, size);
}

void cz_pth_close(cz_pth_file *f)
{
    if (!f)
        return;
    cz_zip_close(&f->zip);
    for (int i = 0; i < f->n_storages; i++) {
        free(f->storages[i].key);
        free(f->storages[i].owned);
    }
    free(f->storages);
    free(f->storage_slots);
    free(f->built);
    for (int i = 0; i < f->n_tensors; i++)
        free((char *)f->tensors[i].name);
    free(f->tensors);
    free(f->by_name);
    free(f->dict_key);
    free(f->root);
    cz_unmap_file(&f->map);
    free(f->name);
    free(f);
}

const char *cz_pth_name(const cz_pth_file *f) { return f->name; }
const char *cz_pth_format(const cz_pth_file *f) { return f->legacy ? "legacy" : "zip"; }
const char *cz_pth_dict_key(const cz_pth_file *f) { return f->dict_key; }
bool cz_pth_prefix_stripped(const cz_pth_file *f) { return f->stripped; }
int cz_pth_count(const cz_pth_file *f) { return f->n_tensors; }

const cz_pth_tensor *cz_pth_at(const cz_pth_file *f, int i)
{
    return i >= 0 && i < f->n_tensors ? &f->tensors[i] : NULL;
}

static int find_index(const cz_pth_file *f, const char *name)
{
    int lo = 0, hi = f->n_tensors;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(f->tensors[f->by_name[mid]].name, name);
        if (c == 0)
            return f->by_name[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

const cz_pth_tensor *cz_pth_find(const cz_pth_file *f, const char *name)
{
    int i = find_index(f, name);
    return i >= 0 ? &f->tensors[i] : NULL;
}

/* ------------------------------------------------------------ conversion */

/* Walks t's elements in C order, converting into df (float) or di (int64). */
static cz_status convert(const cz_pth_file *f, const cz_pth_tensor *t, float *df, int64_t *di)
{
    if (!f || !t || (!df && !di))
        return cz_fail(CZ_ERR_ARG, "pth convert: NULL argument");
    size_t esz = cz_st_dtype_size(t->dtype);
    const uint8_t *base = t->storage_data;
    if (t->numel == 0)
        return CZ_OK;
    if (t->contiguous && ((df && t->dtype == CZ_ST_F32) || (di && t->dtype == CZ_ST_I64))) {
        memcpy(df ? (void *)df : (void *)di, base + (size_t)t->storage_offset * esz,
               (size_t)t->numel * esz);
        return CZ_OK;
    }
    int64_t idx[CZ_PTH_MAX_DIMS] = {0};
    uint64_t off = (uint64_t)t->storage_offset;
    for (uint64_t i = 0; i < t->numel; i++) {
        double v = 0;
        int64_t iv = 0;
        bool is_int = false;
        cz_st_element(t->dtype, base + off * esz, &v, &iv, &is_int);
        if (df) {
            df[i] = (float)v; /* rounds like PyTorch's copy_ across dtypes */
        } else {
            if (!is_int) {
                /* 2^63 is exact as a double; whole numbers below it fit. */
                if (!(v >= -0x1p63 && v < 0x1p63) || v != (double)(int64_t)v)
                    return cz_fail(CZ_ERR_FORMAT,
                                   "%s: tensor '%s': element %llu (%.17g) is not a whole number "
                                   "that fits int64",
                                   f->name, t->name, (unsigned long long)i, v);
                iv = (int64_t)v;
            }
            di[i] = iv;
        }
        /* Next index in C order: bump the last dim, carrying leftwards. */
        for (int d = t->ndim - 1; d >= 0; d--) {
            off += (uint64_t)t->stride[d];
            if (++idx[d] < t->shape[d])
                break;
            off -= (uint64_t)t->stride[d] * (uint64_t)t->shape[d]; /* wraps back exactly */
            idx[d] = 0;
        }
    }
    return CZ_OK;
}

cz_status cz_pth_to_f32(const cz_pth_file *f, const cz_pth_tensor *t, float *dst)
{
    return convert(f, t, dst, NULL);
}

cz_status cz_pth_to_i64(const cz_pth_file *f, const cz_pth_tensor *t, int64_t *dst)
{
    return convert(f, t, NULL, dst);
}

/* ------------------------------------------------------------ nets */

static void source_at(const void *ctx, int i, cz_sd_tensor *out)
{
    const cz_pth_tensor *t = cz_pth_at(ctx, i);
    *out = (cz_sd_tensor){.name = t->name,
                          .dtype = cz_st_dtype_name(t->dtype),
                          .ndim = t->ndim,
                          .shape = t->shape,
                          .convertible = true,
                          .floating = cz_st_dtype_is_float(t->dtype)};
}

static int source_find(const void *ctx, const char *name) { return find_index(ctx, name); }

static cz_status source_f32(const void *ctx, int i, float *dst)
{
    return cz_pth_to_f32(ctx, cz_pth_at(ctx, i), dst);
}

static cz_status source_i64(const void *ctx, int i, int64_t *dst)
{
    return cz_pth_to_i64(ctx, cz_pth_at(ctx, i), dst);
}

cz_status cz_pth_load(cz_net *net, const char *path, bool strict)
{
    if (!net || !path)
        return cz_fail(CZ_ERR_ARG, "pth load: NULL %s", net ? "path" : "net");
    if (cz_net_status(net) != CZ_OK)
        return cz_net_status(net);
    cz_pth_file *f;
    cz_status st = cz_pth_open(&f, path);
    if (st != CZ_OK)
        return st;
    cz_sd_source src = {.path = path,
                        .count = cz_pth_count(f),
                        .ctx = f,
                        .at = source_at,
                        .find = source_find,
                        .to_f32 = source_f32,
                        .to_i64 = source_i64};
    st = cz_state_dict_load(net, &src, strict);
    cz_pth_close(f);
    return st;
}

cz_status cz_weights_load(cz_net *net, const char *path, bool strict)
{
    if (!net || !path)
        return cz_fail(CZ_ERR_ARG, "weights load: NULL %s", net ? "path" : "net");
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return cz_fail(CZ_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    uint8_t head[264] = {0};
    size_t got = fread(head, 1, sizeof head, fp);
    fclose(fp);
    if (got >= 4 && (memcmp(head, zip_magic, 4) == 0 || memcmp(head, legacy_start, 4) == 0))
        return cz_pth_load(net, path, strict);
    if (got >= 6 && memcmp(head, "\x93NUMPY", 6) == 0)
        return cz_fail(CZ_ERR_FORMAT, "%s: is a .npy array, not a weights file (expected .pth or "
                                      ".safetensors)",
                       path);
    if (got >= 262 && memcmp(head + 257, "ustar", 5) == 0)
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: is a tar archive, the PyTorch < 0.4 format, which is not supported; "
                       "re-save it with torch.save from a newer PyTorch",
                       path);
    return cz_safetensors_load(net, path, strict);
}
