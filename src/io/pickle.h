/*
 * pickle.h - a minimal, safe unpickler: the subset of Python's pickle
 * (protocols 2 to 5) that torch.save writes for state_dicts and training
 * checkpoints, as a stack machine that builds plain data objects.
 *
 * Nothing in a pickle is ever executed. GLOBAL / STACK_GLOBAL may only name
 * entries of the caller's allow-list (anything else is an error naming the
 * global), and REDUCE / BINPERSID are handed to the caller's hooks, which
 * decide what an allowed callable or a persistent id builds. Stack depth,
 * mark depth, memo keys and the number of objects are bounded, every read
 * is bounds-checked, and no walk over objects recurses (cycles built
 * through the memo are harmless).
 */
#ifndef CZ_PICKLE_H
#define CZ_PICKLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cnnzoo.h"

/* Limits far above any real checkpoint, low enough to bound memory. */
#define PK_MAX_STACK ((size_t)1 << 20)
#define PK_MAX_MARKS ((size_t)1 << 16)
#define PK_MAX_MEMO ((uint64_t)1 << 22)
#define PK_MAX_OBJECTS ((size_t)1 << 24)

typedef enum pk_kind {
    PK_NONE,
    PK_BOOL,
    PK_INT,    /* fits int64 */
    PK_BIGINT, /* a LONG1/LONG4 wider than int64: kept, value unusable */
    PK_FLOAT,
    PK_STR,    /* unicode, UTF-8 bytes as stored */
    PK_BYTES,
    PK_TUPLE,
    PK_LIST,
    PK_DICT,   /* dict or OrderedDict, insertion order kept */
    PK_GLOBAL, /* an allow-listed global: `global` indexes the list */
    PK_EXT,    /* built by a hook: `ext` and `index` are the hook's */
} pk_kind;

typedef struct pk_obj pk_obj;
struct pk_obj {
    pk_kind kind;
    pk_obj *next_alloc; /* the arena's list of every object */
    union {
        bool b;
        int64_t i;
        double f;
        struct {
            char *s; /* NUL-terminated copy (the data may hold NULs too) */
            size_t len;
        } str;
        struct {
            pk_obj **items; /* tuple, list; dict: key, value, key, value... */
            size_t n, cap;  /* n counts items, so a dict holds n / 2 pairs */
        } seq;
        int global;
        struct {
            int ext;
            int64_t index;
        } ext;
    } u;
};

/* Owns every object one or more loads create; freed at once. */
typedef struct pk_arena {
    pk_obj *all;
    size_t count;
    cz_status failure; /* why the last pk_new returned NULL */
} pk_arena;

void pk_arena_free(pk_arena *a);
/* A new object of `kind` (zeroed), or NULL with cz_fail set. */
pk_obj *pk_new(pk_arena *a, pk_kind kind, const char *where);

typedef struct pk_hooks {
    /* Allowed globals as "module.name"; NULL-terminated. */
    const char *const *globals;
    void *ctx;
    /* REDUCE of allow-listed global `global` with `args` (a tuple): sets
     * *out to the result, or fails (cz_fail). `where` names the pickle for
     * messages. NULL hook: nothing may be called. */
    cz_status (*reduce)(void *ctx, pk_arena *a, const char *where, int global, pk_obj *args,
                        pk_obj **out);
    /* BINPERSID: sets *out to the object a persistent id stands for, or
     * fails. NULL hook: persistent ids are an error. */
    cz_status (*persistent_load)(void *ctx, pk_arena *a, const char *where, pk_obj *pid,
                                 pk_obj **out);
} pk_hooks;

/* Runs one pickle from data[0..size) up to and including its STOP.
 * `where` names it in messages ("model.pth: archive/data.pkl"). On
 * success *result is the pickled object and *consumed the bytes read. */
cz_status pk_load(pk_arena *a, const char *where, const uint8_t *data, size_t size,
                  const pk_hooks *hooks, pk_obj **result, size_t *consumed);

/* "an int", "a dict"... for messages. */
const char *pk_kind_name(const pk_obj *o);
/* Number of key/value pairs of a dict. */
static inline size_t pk_dict_size(const pk_obj *d) { return d->u.seq.n / 2; }
/* The value under string key `key` of dict d (the last one, as Python
 * keeps), or NULL. */
pk_obj *pk_dict_get(const pk_obj *d, const char *key);
/* Whether o is a string equal to s. */
bool pk_is_str(const pk_obj *o, const char *s);

#endif
