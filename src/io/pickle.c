/*
 * pickle.c - the safe unpickler behind the .pth reader (see pickle.h).
 *
 * Python's Unpickler keeps a "metastack": MARK saves the current stack and
 * starts an empty one. Here the stack is one flat array and `marks` holds
 * where each MARK was; an opcode may only pop items above the last MARK,
 * which gives the same underflow errors as Python.
 *
 * Supported: PROTO, FRAME, STOP, MARK, POP, POP_MARK, NONE, NEWTRUE,
 * NEWFALSE, BININT, BININT1, BININT2, LONG1, LONG4, BINFLOAT, BINUNICODE,
 * SHORT_BINUNICODE, BINUNICODE8, BINBYTES, SHORT_BINBYTES, BINBYTES8,
 * EMPTY_TUPLE, TUPLE, TUPLE1-3, EMPTY_LIST, LIST, APPEND, APPENDS,
 * EMPTY_DICT, DICT, SETITEM, SETITEMS, GLOBAL, STACK_GLOBAL, REDUCE, BUILD,
 * BINPERSID, BINPUT, LONG_BINPUT, MEMOIZE, BINGET, LONG_BINGET. Everything
 * else (the text opcodes of protocol 0, NEWOBJ, INST, OBJ, EXT*, sets,
 * out-of-band buffers) is refused by name: torch.save never writes them
 * for a state_dict.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/pickle.h"

/* ------------------------------------------------------------ objects */

void pk_arena_free(pk_arena *a)
{
    pk_obj *o = a->all;
    while (o) {
        pk_obj *next = o->next_alloc;
        if (o->kind == PK_STR || o->kind == PK_BYTES)
            free(o->u.str.s);
        else if (o->kind == PK_TUPLE || o->kind == PK_LIST || o->kind == PK_DICT)
            free(o->u.seq.items);
        free(o);
        o = next;
    }
    a->all = NULL;
    a->count = 0;
}

pk_obj *pk_new(pk_arena *a, pk_kind kind, const char *where)
{
    if (a->count >= PK_MAX_OBJECTS) {
        a->failure = cz_fail(CZ_ERR_FORMAT, "%s: pickle creates more than %zu objects (limit)",
                             where, PK_MAX_OBJECTS);
        return NULL;
    }
    pk_obj *o = calloc(1, sizeof *o);
    if (!o) {
        a->failure = cz_fail(CZ_ERR_NOMEM, "%s: out of memory after %zu pickle objects", where,
                             a->count);
        return NULL;
    }
    o->kind = kind;
    o->next_alloc = a->all;
    a->all = o;
    a->count++;
    return o;
}

const char *pk_kind_name(const pk_obj *o)
{
    static const char *const names[] = {
        [PK_NONE] = "None",    [PK_BOOL] = "a bool",  [PK_INT] = "an int",
        [PK_BIGINT] = "an int", [PK_FLOAT] = "a float", [PK_STR] = "a str",
        [PK_BYTES] = "bytes",  [PK_TUPLE] = "a tuple", [PK_LIST] = "a list",
        [PK_DICT] = "a dict",  [PK_GLOBAL] = "a class or function", [PK_EXT] = "an object",
    };
    return o && (unsigned)o->kind < sizeof names / sizeof names[0] ? names[o->kind] : "nothing";
}

bool pk_is_str(const pk_obj *o, const char *s)
{
    return o && o->kind == PK_STR && o->u.str.len == strlen(s) &&
           memcmp(o->u.str.s, s, o->u.str.len) == 0;
}

pk_obj *pk_dict_get(const pk_obj *d, const char *key)
{
    for (size_t i = pk_dict_size(d); i-- > 0;)
        if (pk_is_str(d->u.seq.items[2 * i], key))
            return d->u.seq.items[2 * i + 1];
    return NULL;
}

/* Appends to a tuple, list or dict's item array. */
static bool seq_push(pk_obj *o, pk_obj *item)
{
    if (o->u.seq.n == o->u.seq.cap) {
        size_t cap = o->u.seq.cap ? o->u.seq.cap * 2 : 4;
        pk_obj **items = realloc(o->u.seq.items, cap * sizeof *items);
        if (!items)
            return false;
        o->u.seq.items = items;
        o->u.seq.cap = cap;
    }
    o->u.seq.items[o->u.seq.n++] = item;
    return true;
}

/* ------------------------------------------------------------ opcodes */

enum {
    OP_MARK = '(', OP_STOP = '.', OP_POP = '0', OP_POP_MARK = '1', OP_DUP = '2',
    OP_FLOAT = 'F', OP_INT = 'I', OP_BININT = 'J', OP_BININT1 = 'K', OP_LONG = 'L',
    OP_BININT2 = 'M', OP_NONE = 'N', OP_PERSID = 'P', OP_BINPERSID = 'Q', OP_REDUCE = 'R',
    OP_STRING = 'S', OP_BINSTRING = 'T', OP_SHORT_BINSTRING = 'U', OP_UNICODE = 'V',
    OP_BINUNICODE = 'X', OP_APPEND = 'a', OP_BUILD = 'b', OP_GLOBAL = 'c', OP_DICT = 'd',
    OP_EMPTY_DICT = '}', OP_APPENDS = 'e', OP_GET = 'g', OP_BINGET = 'h', OP_INST = 'i',
    OP_LONG_BINGET = 'j', OP_LIST = 'l', OP_EMPTY_LIST = ']', OP_OBJ = 'o', OP_PUT = 'p',
    OP_BINPUT = 'q', OP_LONG_BINPUT = 'r', OP_SETITEM = 's', OP_TUPLE = 't',
    OP_EMPTY_TUPLE = ')', OP_SETITEMS = 'u', OP_BINFLOAT = 'G', OP_BINBYTES = 'B',
    OP_SHORT_BINBYTES = 'C',
    OP_PROTO = 0x80, OP_NEWOBJ, OP_EXT1, OP_EXT2, OP_EXT4, OP_TUPLE1, OP_TUPLE2, OP_TUPLE3,
    OP_NEWTRUE, OP_NEWFALSE, OP_LONG1, OP_LONG4, OP_SHORT_BINUNICODE, OP_BINUNICODE8,
    OP_BINBYTES8, OP_EMPTY_SET, OP_ADDITEMS, OP_FROZENSET, OP_NEWOBJ_EX, OP_STACK_GLOBAL,
    OP_MEMOIZE, OP_FRAME, OP_BYTEARRAY8, OP_NEXT_BUFFER, OP_READONLY_BUFFER,
};

/* Names of every opcode Python defines (pickletools), for messages. */
static const char *op_name(int op)
{
    static const char *const names[256] = {
        [OP_MARK] = "MARK", [OP_STOP] = "STOP", [OP_POP] = "POP", [OP_POP_MARK] = "POP_MARK",
        [OP_DUP] = "DUP", [OP_FLOAT] = "FLOAT", [OP_INT] = "INT", [OP_BININT] = "BININT",
        [OP_BININT1] = "BININT1", [OP_LONG] = "LONG", [OP_BININT2] = "BININT2",
        [OP_NONE] = "NONE", [OP_PERSID] = "PERSID", [OP_BINPERSID] = "BINPERSID",
        [OP_REDUCE] = "REDUCE", [OP_STRING] = "STRING", [OP_BINSTRING] = "BINSTRING",
        [OP_SHORT_BINSTRING] = "SHORT_BINSTRING", [OP_UNICODE] = "UNICODE",
        [OP_BINUNICODE] = "BINUNICODE", [OP_APPEND] = "APPEND", [OP_BUILD] = "BUILD",
        [OP_GLOBAL] = "GLOBAL", [OP_DICT] = "DICT", [OP_EMPTY_DICT] = "EMPTY_DICT",
        [OP_APPENDS] = "APPENDS", [OP_GET] = "GET", [OP_BINGET] = "BINGET", [OP_INST] = "INST",
        [OP_LONG_BINGET] = "LONG_BINGET", [OP_LIST] = "LIST", [OP_EMPTY_LIST] = "EMPTY_LIST",
        [OP_OBJ] = "OBJ", [OP_PUT] = "PUT", [OP_BINPUT] = "BINPUT",
        [OP_LONG_BINPUT] = "LONG_BINPUT", [OP_SETITEM] = "SETITEM", [OP_TUPLE] = "TUPLE",
        [OP_EMPTY_TUPLE] = "EMPTY_TUPLE", [OP_SETITEMS] = "SETITEMS", [OP_BINFLOAT] = "BINFLOAT",
        [OP_BINBYTES] = "BINBYTES", [OP_SHORT_BINBYTES] = "SHORT_BINBYTES", [OP_PROTO] = "PROTO",
        [OP_NEWOBJ] = "NEWOBJ", [OP_EXT1] = "EXT1", [OP_EXT2] = "EXT2", [OP_EXT4] = "EXT4",
        [OP_TUPLE1] = "TUPLE1", [OP_TUPLE2] = "TUPLE2", [OP_TUPLE3] = "TUPLE3",
        [OP_NEWTRUE] = "NEWTRUE", [OP_NEWFALSE] = "NEWFALSE", [OP_LONG1] = "LONG1",
        [OP_LONG4] = "LONG4", [OP_SHORT_BINUNICODE] = "SHORT_BINUNICODE",
        [OP_BINUNICODE8] = "BINUNICODE8", [OP_BINBYTES8] = "BINBYTES8",
        [OP_EMPTY_SET] = "EMPTY_SET", [OP_ADDITEMS] = "ADDITEMS", [OP_FROZENSET] = "FROZENSET",
        [OP_NEWOBJ_EX] = "NEWOBJ_EX", [OP_STACK_GLOBAL] = "STACK_GLOBAL",
        [OP_MEMOIZE] = "MEMOIZE", [OP_FRAME] = "FRAME", [OP_BYTEARRAY8] = "BYTEARRAY8",
        [OP_NEXT_BUFFER] = "NEXT_BUFFER", [OP_READONLY_BUFFER] = "READONLY_BUFFER",
    };
    return op >= 0 && op < 256 ? names[op] : NULL;
}

/* ------------------------------------------------------------ the machine */

typedef struct machine {
    pk_arena *a;
    const char *where;
    const pk_hooks *hooks;
    const uint8_t *data;
    size_t size, pos;
    size_t op_at; /* offset of the opcode being run, for messages */
    int op;
    pk_obj **stack;
    size_t n, cap;
    size_t *marks;
    size_t n_marks, cap_marks;
    pk_obj **memo; /* indexed by key; NULL where never stored */
    size_t memo_cap, memo_count;
} machine;

/* Fails with "<where>: <OPCODE> at byte N: <message>". */
static cz_status bad(machine *m, cz_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static cz_status bad(machine *m, cz_status status, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cz_fail(status, "%s: pickle %s at byte %zu: %s", m->where, op_name(m->op), m->op_at,
                   msg);
}

static cz_status truncated(machine *m, size_t need)
{
    return bad(m, CZ_ERR_FORMAT, "needs %zu more bytes, only %zu left (truncated or corrupt)",
               need, m->size - m->pos);
}

/* Reads an n-byte little-endian unsigned argument (n <= 8). */
static cz_status arg_le(machine *m, size_t n, uint64_t *out)
{
    if (m->size - m->pos < n)
        return truncated(m, n);
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;)
        v = v << 8 | m->data[m->pos + i];
    m->pos += n;
    *out = v;
    return CZ_OK;
}

/* Items on the stack above the last MARK: all an opcode may pop. */
static size_t avail(const machine *m)
{
    return m->n - (m->n_marks ? m->marks[m->n_marks - 1] : 0);
}

static cz_status need_items(machine *m, size_t k)
{
    if (avail(m) < k)
        return bad(m, CZ_ERR_FORMAT,
                   "stack underflow: needs %zu item%s above the last MARK, has %zu", k,
                   k == 1 ? "" : "s", avail(m));
    return CZ_OK;
}

static cz_status push(machine *m, pk_obj *o)
{
    if (!o)
        return m->a->failure; /* pk_new or collect already set the message */
    if (m->n == m->cap) {
        if (m->cap >= PK_MAX_STACK)
            return bad(m, CZ_ERR_FORMAT, "stack deeper than %zu items (limit)", PK_MAX_STACK);
        size_t cap = m->cap ? m->cap * 2 : 64;
        pk_obj **s = realloc(m->stack, cap * sizeof *s);
        if (!s)
            return bad(m, CZ_ERR_NOMEM, "out of memory for the stack");
        m->stack = s;
        m->cap = cap;
    }
    m->stack[m->n++] = o;
    return CZ_OK;
}

static pk_obj *new_obj(machine *m, pk_kind kind)
{
    return pk_new(m->a, kind, m->where);
}

/* Pops everything above the last MARK, and the MARK: *first is where the
 * items start on the stack (still readable until the next push). */
static cz_status pop_mark(machine *m, size_t *first)
{
    if (m->n_marks == 0)
        return bad(m, CZ_ERR_FORMAT, "no MARK to pop to");
    *first = m->marks[--m->n_marks];
    m->n = *first;
    return CZ_OK;
}

/* A new tuple/list/dict of the items stack[first .. first+k). */
static pk_obj *collect(machine *m, pk_kind kind, size_t first, size_t k)
{
    pk_obj *o = new_obj(m, kind);
    for (size_t i = 0; o && i < k; i++)
        if (!seq_push(o, m->stack[first + i])) {
            m->a->failure = bad(m, CZ_ERR_NOMEM, "out of memory for a %zu-item container", k);
            return NULL;
        }
    return o;
}

static cz_status memo_put(machine *m, uint64_t key)
{
    cz_status st = need_items(m, 1);
    if (st != CZ_OK)
        return st;
    if (key >= PK_MAX_MEMO)
        return bad(m, CZ_ERR_FORMAT, "memo key %llu exceeds the limit of %llu",
                   (unsigned long long)key, (unsigned long long)PK_MAX_MEMO);
    if (key >= m->memo_cap) {
        size_t cap = m->memo_cap ? m->memo_cap : 64;
        while (cap <= key)
            cap *= 2;
        pk_obj **memo = realloc(m->memo, cap * sizeof *memo);
        if (!memo)
            return bad(m, CZ_ERR_NOMEM, "out of memory for memo key %llu",
                       (unsigned long long)key);
        memset(memo + m->memo_cap, 0, (cap - m->memo_cap) * sizeof *memo);
        m->memo = memo;
        m->memo_cap = cap;
    }
    if (!m->memo[key])
        m->memo_count++;
    m->memo[key] = m->stack[m->n - 1];
    return CZ_OK;
}

static cz_status memo_get(machine *m, uint64_t key)
{
    if (key >= m->memo_cap || !m->memo[key])
        return bad(m, CZ_ERR_FORMAT, "memo key %llu was never stored", (unsigned long long)key);
    return push(m, m->memo[key]);
}

/* A string or bytes argument of n bytes. */
static cz_status read_str(machine *m, pk_kind kind, uint64_t n)
{
    if (n > m->size - m->pos)
        return bad(m, CZ_ERR_FORMAT,
                   "declares %llu bytes of text, only %zu left (truncated or corrupt)",
                   (unsigned long long)n, m->size - m->pos);
    pk_obj *o = new_obj(m, kind);
    if (!o)
        return m->a->failure;
    if (!(o->u.str.s = malloc((size_t)n + 1)))
        return bad(m, CZ_ERR_NOMEM, "out of memory for a %llu-byte string",
                   (unsigned long long)n);
    memcpy(o->u.str.s, m->data + m->pos, (size_t)n);
    o->u.str.s[n] = '\0';
    o->u.str.len = (size_t)n;
    m->pos += (size_t)n;
    return push(m, o);
}

/* LONG1/LONG4: n bytes of little-endian two's complement. */
static cz_status read_long(machine *m, uint64_t n)
{
    if (n > m->size - m->pos)
        return bad(m, CZ_ERR_FORMAT, "declares a %llu-byte integer, only %zu bytes left",
                   (unsigned long long)n, m->size - m->pos);
    const uint8_t *b = m->data + m->pos;
    m->pos += (size_t)n;
    uint64_t v = 0;
    for (size_t i = n < 8 ? (size_t)n : 8; i-- > 0;)
        v = v << 8 | b[i];
    bool negative = n > 0 && (b[n - 1] & 0x80);
    if (n > 0 && n < 8 && negative)
        v |= ~(uint64_t)0 << (8 * n); /* sign-extend */
    /* Wider encodings still fit when the extra bytes only repeat the sign. */
    bool fits = true;
    for (uint64_t i = 8; i < n; i++)
        fits = fits && b[i] == (negative ? 0xff : 0x00);
    if (n > 8)
        fits = fits && ((v >> 63) != 0) == negative;
    pk_obj *o = new_obj(m, fits ? PK_INT : PK_BIGINT);
    if (o)
        o->u.i = fits ? (int64_t)v : 0;
    return push(m, o);
}

/* One "\n"-terminated line of a GLOBAL argument, at most 255 bytes. */
static cz_status read_line(machine *m, const char **line, size_t *len)
{
    const uint8_t *start = m->data + m->pos;
    size_t left = m->size - m->pos, max = left < 256 ? left : 256;
    const uint8_t *nl = memchr(start, '\n', max);
    if (!nl)
        return bad(m, CZ_ERR_FORMAT, "no newline within %zu bytes (corrupt)", max);
    *line = (const char *)start;
    *len = (size_t)(nl - start);
    m->pos += *len + 1;
    return CZ_OK;
}

/* Resolves "module.name" against the allow-list and pushes it. */
static cz_status push_global(machine *m, const char *module, size_t mlen, const char *name,
                             size_t nlen)
{
    char full[520];
    snprintf(full, sizeof full, "%.*s.%.*s", (int)mlen, module, (int)nlen, name);
    bool clean = memchr(module, '\0', mlen) == NULL && memchr(name, '\0', nlen) == NULL;
    for (int i = 0; clean && m->hooks->globals && m->hooks->globals[i]; i++)
        if (strcmp(m->hooks->globals[i], full) == 0) {
            pk_obj *o = new_obj(m, PK_GLOBAL);
            if (o)
                o->u.global = i;
            return push(m, o);
        }
    for (char *p = full; *p; p++)
        if (*p < ' ' || *p > '~')
            *p = '?'; /* the message stays one printable line */
    return cz_fail(CZ_ERR_FORMAT,
                   "%s: pickle refers to global '%.200s' (byte %zu), which a state_dict never "
                   "needs; refusing to load",
                   m->where, full, m->op_at);
}

/* Runs one opcode. Sets *stop when it was STOP. */
static cz_status step(machine *m, bool *stop)
{
    m->op_at = m->pos;
    m->op = m->data[m->pos++];
    uint64_t v = 0;
    cz_status st = CZ_OK;
    size_t first = 0;
    pk_obj *o;
    switch (m->op) {
    case OP_PROTO:
        if ((st = arg_le(m, 1, &v)) == CZ_OK && v > 5)
            st = bad(m, CZ_ERR_FORMAT, "protocol %llu is newer than this reader (2 to 5)",
                     (unsigned long long)v);
        return st;
    case OP_FRAME:
        /* Frames only group opcodes for buffered reading; the bytes are
         * already all here, so only the declared length is checked. */
        if ((st = arg_le(m, 8, &v)) == CZ_OK && v > m->size - m->pos)
            st = bad(m, CZ_ERR_FORMAT, "frame of %llu bytes, only %zu left",
                     (unsigned long long)v, m->size - m->pos);
        return st;
    case OP_STOP:
        if ((st = need_items(m, 1)) == CZ_OK)
            *stop = true;
        return st;
    case OP_MARK:
        if (m->n_marks == m->cap_marks) {
            if (m->cap_marks >= PK_MAX_MARKS)
                return bad(m, CZ_ERR_FORMAT, "more than %zu nested MARKs (limit)", PK_MAX_MARKS);
            size_t cap = m->cap_marks ? m->cap_marks * 2 : 16;
            size_t *marks = realloc(m->marks, cap * sizeof *marks);
            if (!marks)
                return bad(m, CZ_ERR_NOMEM, "out of memory for marks");
            m->marks = marks;
            m->cap_marks = cap;
        }
        m->marks[m->n_marks++] = m->n;
        return CZ_OK;
    case OP_POP:
        if ((st = need_items(m, 1)) == CZ_OK)
            m->n--;
        return st;
    case OP_POP_MARK:
        return pop_mark(m, &first);
    case OP_NONE:
        return push(m, new_obj(m, PK_NONE));
    case OP_NEWTRUE:
    case OP_NEWFALSE:
        if ((o = new_obj(m, PK_BOOL)))
            o->u.b = m->op == OP_NEWTRUE;
        return push(m, o);
    case OP_BININT:
    case OP_BININT1:
    case OP_BININT2:
        if ((st = arg_le(m, m->op == OP_BININT ? 4 : m->op == OP_BININT1 ? 1 : 2, &v)) != CZ_OK)
            return st;
        if ((o = new_obj(m, PK_INT)))
            o->u.i = m->op == OP_BININT ? (int64_t)(int32_t)(uint32_t)v : (int64_t)v;
        return push(m, o);
    case OP_LONG1:
    case OP_LONG4:
        if ((st = arg_le(m, m->op == OP_LONG1 ? 1 : 4, &v)) != CZ_OK)
            return st;
        if (m->op == OP_LONG4 && (int32_t)(uint32_t)v < 0)
            return bad(m, CZ_ERR_FORMAT, "negative byte count %d", (int32_t)(uint32_t)v);
        return read_long(m, v);
    case OP_BINFLOAT: {
        if (m->size - m->pos < 8)
            return truncated(m, 8);
        uint64_t bits = 0;
        for (int i = 0; i < 8; i++) /* big-endian, unlike every other argument */
            bits = bits << 8 | m->data[m->pos + i];
        m->pos += 8;
        if ((o = new_obj(m, PK_FLOAT)))
            memcpy(&o->u.f, &bits, sizeof o->u.f);
        return push(m, o);
    }
    case OP_BINUNICODE:
    case OP_SHORT_BINUNICODE:
    case OP_BINUNICODE8:
    case OP_BINBYTES:
    case OP_SHORT_BINBYTES:
    case OP_BINBYTES8: {
        bool text = m->op == OP_BINUNICODE || m->op == OP_SHORT_BINUNICODE ||
                    m->op == OP_BINUNICODE8;
        size_t width = m->op == OP_SHORT_BINUNICODE || m->op == OP_SHORT_BINBYTES ? 1
                       : m->op == OP_BINUNICODE8 || m->op == OP_BINBYTES8    ? 8
                                                                             : 4;
        if ((st = arg_le(m, width, &v)) != CZ_OK)
            return st;
        return read_str(m, text ? PK_STR : PK_BYTES, v);
    }
    case OP_EMPTY_TUPLE:
        return push(m, new_obj(m, PK_TUPLE));
    case OP_EMPTY_LIST:
        return push(m, new_obj(m, PK_LIST));
    case OP_EMPTY_DICT:
        return push(m, new_obj(m, PK_DICT));
    case OP_TUPLE1:
    case OP_TUPLE2:
    case OP_TUPLE3: {
        size_t k = (size_t)(m->op - OP_TUPLE1 + 1);
        if ((st = need_items(m, k)) != CZ_OK)
            return st;
        m->n -= k;
        return push(m, collect(m, PK_TUPLE, m->n, k));
    }
    case OP_TUPLE:
    case OP_LIST:
    case OP_DICT: {
        size_t top = m->n;
        if ((st = pop_mark(m, &first)) != CZ_OK)
            return st;
        if (m->op == OP_DICT && (top - first) % 2)
            return bad(m, CZ_ERR_FORMAT, "odd number of items (%zu) for key/value pairs",
                       top - first);
        pk_kind kind = m->op == OP_TUPLE ? PK_TUPLE : m->op == OP_LIST ? PK_LIST : PK_DICT;
        return push(m, collect(m, kind, first, top - first));
    }
    case OP_APPEND:
    case OP_SETITEM:
    case OP_APPENDS:
    case OP_SETITEMS: {
        bool one = m->op == OP_APPEND || m->op == OP_SETITEM;
        bool dict = m->op == OP_SETITEM || m->op == OP_SETITEMS;
        size_t top = m->n, k = one ? (dict ? 2 : 1) : 0;
        if (one) {
            if ((st = need_items(m, k + 1)) != CZ_OK)
                return st;
            first = m->n -= k;
        } else {
            if ((st = pop_mark(m, &first)) != CZ_OK || (st = need_items(m, 1)) != CZ_OK)
                return st;
            k = top - first;
        }
        pk_obj *target = m->stack[first - 1];
        if (target->kind != (dict ? PK_DICT : PK_LIST))
            return bad(m, CZ_ERR_FORMAT, "target is %s, expected %s", pk_kind_name(target),
                       dict ? "a dict" : "a list");
        if (dict && k % 2)
            return bad(m, CZ_ERR_FORMAT, "odd number of items (%zu) for key/value pairs", k);
        for (size_t i = 0; i < k; i++)
            if (!seq_push(target, m->stack[first + i]))
                return bad(m, CZ_ERR_NOMEM, "out of memory");
        return CZ_OK;
    }
    case OP_GLOBAL: {
        const char *module = NULL, *name = NULL;
        size_t mlen = 0, nlen = 0;
        if ((st = read_line(m, &module, &mlen)) != CZ_OK ||
            (st = read_line(m, &name, &nlen)) != CZ_OK)
            return st;
        return push_global(m, module, mlen, name, nlen);
    }
    case OP_STACK_GLOBAL: {
        if ((st = need_items(m, 2)) != CZ_OK)
            return st;
        pk_obj *module = m->stack[m->n - 2], *name = m->stack[m->n - 1];
        if (module->kind != PK_STR || name->kind != PK_STR)
            return bad(m, CZ_ERR_FORMAT, "module and name are %s and %s, expected strings",
                       pk_kind_name(module), pk_kind_name(name));
        m->n -= 2;
        return push_global(m, module->u.str.s, module->u.str.len, name->u.str.s,
                           name->u.str.len);
    }
    case OP_REDUCE: {
        if ((st = need_items(m, 2)) != CZ_OK)
            return st;
        pk_obj *fn = m->stack[m->n - 2], *args = m->stack[m->n - 1];
        if (fn->kind != PK_GLOBAL)
            return bad(m, CZ_ERR_FORMAT, "calls %s, expected an allowed class or function",
                       pk_kind_name(fn));
        if (args->kind != PK_TUPLE)
            return bad(m, CZ_ERR_FORMAT, "arguments are %s, expected a tuple",
                       pk_kind_name(args));
        m->n -= 2;
        if (!m->hooks->reduce)
            return bad(m, CZ_ERR_FORMAT, "'%s' cannot be called here",
                       m->hooks->globals[fn->u.global]);
        if ((st = m->hooks->reduce(m->hooks->ctx, m->a, m->where, fn->u.global, args, &o)) !=
            CZ_OK)
            return st;
        return push(m, o);
    }
    case OP_BUILD:
        /* Sets an object's state (the OrderedDict's _metadata): nothing a
         * state_dict's values depend on, so the state is dropped. */
        if ((st = need_items(m, 2)) == CZ_OK)
            m->n--;
        return st;
    case OP_BINPERSID: {
        if ((st = need_items(m, 1)) != CZ_OK)
            return st;
        pk_obj *pid = m->stack[--m->n];
        if (!m->hooks->persistent_load)
            return bad(m, CZ_ERR_FORMAT, "persistent id in a pickle that should have none");
        if ((st = m->hooks->persistent_load(m->hooks->ctx, m->a, m->where, pid, &o)) != CZ_OK)
            return st;
        return push(m, o);
    }
    case OP_BINPUT:
    case OP_LONG_BINPUT:
        if ((st = arg_le(m, m->op == OP_BINPUT ? 1 : 4, &v)) != CZ_OK)
            return st;
        return memo_put(m, v);
    case OP_MEMOIZE:
        return memo_put(m, m->memo_count);
    case OP_BINGET:
    case OP_LONG_BINGET:
        if ((st = arg_le(m, m->op == OP_BINGET ? 1 : 4, &v)) != CZ_OK)
            return st;
        return memo_get(m, v);
    default:
        if (op_name(m->op))
            return bad(m, CZ_ERR_FORMAT, "opcode 0x%02x is not supported: torch.save never "
                                         "writes it for a state_dict",
                       m->op);
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: unknown pickle opcode 0x%02x at byte %zu (corrupt, or not a "
                       "pickle)",
                       m->where, m->op, m->op_at);
    }
}

cz_status pk_load(pk_arena *a, const char *where, const uint8_t *data, size_t size,
                  const pk_hooks *hooks, pk_obj **result, size_t *consumed)
{
    machine m = {.a = a, .where = where, .hooks = hooks, .data = data, .size = size};
    *result = NULL;
    *consumed = 0;
    cz_status st = CZ_OK;
    bool stop = false;
    while (st == CZ_OK && !stop) {
        if (m.pos >= m.size)
            st = cz_fail(CZ_ERR_FORMAT, "%s: pickle ends at byte %zu without STOP (truncated)",
                         where, m.pos);
        else
            st = step(&m, &stop);
    }
    if (st == CZ_OK) {
        *result = m.stack[m.n - 1];
        *consumed = m.pos;
    }
    free(m.stack);
    free(m.marks);
    free(m.memo);
    return st;
}
