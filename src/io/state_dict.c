/*
 * state_dict.c - load_state_dict for every weight format (see
 * state_dict.h): match by name, check shapes and dtypes, list every
 * problem in one bounded line, copy only when all is well.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/state_dict.h"

/* A list of problems for the load_state_dict-style message. */
typedef struct problems {
    char **items;
    int n, cap;
} problems;

static bool problems_add(problems *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static bool problems_add(problems *p, const char *fmt, ...)
{
    if (p->n == p->cap) {
        int cap = p->cap ? p->cap * 2 : 16;
        char **items = realloc(p->items, (size_t)cap * sizeof *items);
        if (!items)
            return false;
        p->items = items;
        p->cap = cap;
    }
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (!(p->items[p->n] = strdup(buf)))
        return false;
    p->n++;
    return true;
}

static void problems_free(problems *p)
{
    for (int i = 0; i < p->n; i++)
        free(p->items[i]);
    free(p->items);
}

/* Appends "<title>a<sep>b<sep>c (and 5 more)<end>" using at most budget
 * bytes of msg: cz_last_error() holds about 1 KB, and a ResNet-152 loaded
 * from the wrong file can miss hundreds of keys. */
static void append_list(char *msg, size_t cap, size_t budget, const char *title, const char *sep,
                        const char *end, const problems *p)
{
    size_t len = strlen(msg);
    size_t limit = len + budget < cap ? len + budget : cap;
    int written = 0;
    len += (size_t)snprintf(msg + len, cap - len, "%s", title);
    for (int i = 0; i < p->n && len < limit; i++) {
        size_t need = strlen(p->items[i]) + strlen(i ? sep : "") + 24;
        if (len + need > limit)
            break;
        len += (size_t)snprintf(msg + len, cap - len, "%s%s", i ? sep : "", p->items[i]);
        written++;
    }
    if (written < p->n && len < cap)
        len += (size_t)snprintf(msg + len, cap - len, "%s(and %d more)", written ? " " : "",
                                p->n - written);
    if (len < cap)
        snprintf(msg + len, cap - len, "%s", end);
}

/* "[3, 4]" for messages. */
static const char *shape_str(const int64_t *shape, int ndim, char *buf, size_t size)
{
    size_t used = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < ndim && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%lld", i ? ", " : "",
                                 (long long)shape[i]);
    if (used < size)
        snprintf(buf + used, size - used, "]");
    return buf;
}

/* The shape of p as a file stores it (a counter is 0-dim). */
static int param_shape(const cz_param *p, int64_t *shape)
{
    if (p->dtype == CZ_I64)
        return 0;
    for (int d = 0; d < p->value.ndim; d++)
        shape[d] = p->value.shape[d];
    return p->value.ndim;
}

static bool same_shape(const cz_sd_tensor *t, const int64_t *shape, int ndim)
{
    if (t->ndim != ndim)
        return false;
    for (int d = 0; d < ndim; d++)
        if (t->shape[d] != shape[d])
            return false;
    return true;
}

/* The one-line strict/mismatch message. */
static cz_status report(const char *path, bool strict, const problems *missing,
                        const problems *unexpected, const problems *mismatched)
{
    char msg[1000];
    snprintf(msg, sizeof msg, "%s: ", path);
    const problems *lists[3] = {strict ? missing : NULL, strict ? unexpected : NULL, mismatched};
    int lists_used = 0;
    for (int k = 0; k < 3; k++)
        lists_used += lists[k] && lists[k]->n > 0;
    size_t budget = (sizeof msg - strlen(msg) - 1) / (size_t)lists_used;
    if (strict && missing->n)
        append_list(msg, sizeof msg, budget, "Missing key(s): ", ", ", ". ", missing);
    if (strict && unexpected->n)
        append_list(msg, sizeof msg, budget, "Unexpected key(s): ", ", ", ". ", unexpected);
    if (mismatched->n)
        append_list(msg, sizeof msg, budget, "", ". ", ".", mismatched);
    size_t len = strlen(msg);
    while (len && msg[len - 1] == ' ')
        msg[--len] = '\0';
    return cz_fail(CZ_ERR_FORMAT, "%s", msg);
}

/* torchvision's oldest DenseNet checkpoints (densenet121-a639ec97.pth...)
 * name a dense layer's modules "norm.1", "relu.1", "conv.2"; torchvision
 * renames them to "norm1"... on load (its regex:
 * ^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|
 * running_mean|running_var))$). We do the same, in both directions:
 * `dotted` 1 turns "denselayer3.norm1.weight" into "denselayer3.norm.1.weight",
 * 0 does the reverse. Returns false when the key has no such part. */
static bool densenet_alias(const char *key, bool dotted, char *buf, size_t size)
{
    const char *layer = strstr(key, "denselayer");
    if (!layer)
        return false;
    const char *p = layer + strlen("denselayer");
    if (*p < '0' || *p > '9')
        return false;
    while (*p >= '0' && *p <= '9')
        p++;
    if (*p++ != '.')
        return false;
    if (strncmp(p, "norm", 4) && strncmp(p, "relu", 4) && strncmp(p, "conv", 4))
        return false;
    size_t word = 4;
    const char *digit = p + word + (dotted ? 0 : 1);
    if ((!dotted && p[word] != '.') || (*digit != '1' && *digit != '2') || digit[1] != '.')
        return false;
    const char *suffix = digit + 2;
    if (strcmp(suffix, "weight") && strcmp(suffix, "bias") && strcmp(suffix, "running_mean") &&
        strcmp(suffix, "running_var"))
        return false;
    int n = snprintf(buf, size, "%.*s%s%c.%s", (int)(p + word - key), key, dotted ? "." : "",
                     *digit, suffix);
    return n > 0 && (size_t)n < size;
}

/* The file's index for a parameter: by its name, else by its legacy alias. */
static int find_source(const cz_sd_source *src, const char *name)
{
    int k = src->find(src->ctx, name);
    char alias[512];
    if (k < 0 && densenet_alias(name, true, alias, sizeof alias))
        k = src->find(src->ctx, alias);
    return k;
}

/* Whether a file key names a parameter of the net (possibly by alias). */
static bool known_key(cz_net *net, const char *key)
{
    char modern[512];
    return cz_net_find_param(net, key) ||
           (densenet_alias(key, false, modern, sizeof modern) && cz_net_find_param(net, modern));
}

cz_status cz_state_dict_load(cz_net *net, const cz_sd_source *src, bool strict)
{
    if (!net || !src)
        return cz_fail(CZ_ERR_ARG, "state_dict load: NULL %s", net ? "source" : "net");
    if (cz_net_status(net) != CZ_OK)
        return cz_net_status(net);
    if (!cz_net_has_weights(net))
        return cz_fail(CZ_ERR_ARG, "%s: cannot load into a net built for its shapes only",
                       src->path);
    int n = cz_net_param_count(net);
    /* Per parameter: the file's tensor index (-1 when absent or skipped)
     * and, for int64 counters, the converted value. Validation fills these
     * and only a clean validation copies, so a failed load changes
     * nothing. */
    int *source = malloc(((size_t)n + 1) * sizeof *source);
    int64_t *counts = calloc((size_t)n + 1, sizeof *counts);
    problems missing = {0}, unexpected = {0}, mismatched = {0};
    bool ok = source && counts;
    for (int i = 0; ok && i < n; i++) {
        cz_param *p = cz_net_param(net, i);
        source[i] = -1;
        int k = find_source(src, p->name);
        if (k < 0) {
            /* Checkpoints saved before BatchNorm had num_batches_tracked
             * lack it; PyTorch accepts them, and so do we (the counter
             * keeps its value). */
            if (p->dtype != CZ_I64)
                ok = problems_add(&missing, "%s", p->name);
            continue;
        }
        cz_sd_tensor t;
        src->at(src->ctx, k, &t);
        int64_t shape[CZ_MAX_DIMS];
        int ndim = param_shape(p, shape);
        /* A 0-dim entry saved as [1] is accepted, as PyTorch does for
         * checkpoints from before 0-dim tensors existed. */
        bool fits = same_shape(&t, shape, ndim) || (ndim == 0 && t.ndim == 1 && t.shape[0] == 1);
        if (!fits) {
            char file_shape[256], model_shape[256];
            ok = problems_add(&mismatched, "size mismatch for %s: file has %s, model has %s",
                              p->name, shape_str(t.shape, t.ndim, file_shape, sizeof file_shape),
                              shape_str(shape, ndim, model_shape, sizeof model_shape));
            continue;
        }
        /* Weights must be stored as floating point: an integer tensor
         * where a weight belongs is a wrong file, not a conversion. */
        if (!t.convertible || (p->dtype == CZ_F32 && !t.floating)) {
            ok = problems_add(&mismatched, "dtype mismatch for %s: file has %s, model needs %s",
                              p->name, t.dtype,
                              p->dtype == CZ_I64 ? "an integer" : "floating point (F32, F16, BF16, F64)");
            continue;
        }
        if (p->dtype == CZ_I64 && src->to_i64(src->ctx, k, &counts[i]) != CZ_OK) {
            ok = problems_add(&mismatched, "bad value for %s: %s is not a whole number", p->name,
                              t.dtype);
            continue;
        }
        source[i] = k;
    }
    for (int k = 0; ok && k < src->count; k++) {
        cz_sd_tensor t;
        src->at(src->ctx, k, &t);
        if (!known_key(net, t.name))
            ok = problems_add(&unexpected, "%s", t.name);
    }

    cz_status st = CZ_OK;
    if (!ok) {
        st = cz_fail(CZ_ERR_NOMEM, "%s: out of memory while loading", src->path);
    } else if (mismatched.n || (strict && (missing.n || unexpected.n))) {
        st = report(src->path, strict, &missing, &unexpected, &mismatched);
    } else {
        for (int i = 0; i < n && st == CZ_OK; i++) {
            cz_param *p = cz_net_param(net, i);
            if (source[i] < 0)
                continue;
            if (p->dtype == CZ_I64)
                p->count = counts[i];
            else
                st = src->to_f32(src->ctx, source[i], p->value.data); /* checked above */
        }
    }
    problems_free(&missing);
    problems_free(&unexpected);
    problems_free(&mismatched);
    free(source);
    free(counts);
    return st;
}
