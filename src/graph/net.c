/*
 * net.c - the net graph: builder with name scopes, the parameter/buffer
 * table, and forward/backward execution in node order.
 *
 * Every node keeps its output (and, in backward, its gradient) for the
 * whole batch: that is what training needs. The inference plan instead
 * fuses convs with what follows them and lets node outputs whose
 * lifetimes do not overlap share memory (plan_fusion, plan_buffers).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net.h"

static cz_status grow(void **items, int *cap, int need, size_t item_size)
{
    if (need <= *cap)
        return CZ_OK;
    int new_cap = *cap ? *cap * 2 : 32;
    while (new_cap < need)
        new_cap *= 2;
    void *p = realloc(*items, (size_t)new_cap * item_size);
    if (!p)
        return cz_fail(CZ_ERR_NOMEM, "net: out of memory growing a table to %d entries", new_cap);
    memset((char *)p + (size_t)*cap * item_size, 0, (size_t)(new_cap - *cap) * item_size);
    *items = p;
    *cap = new_cap;
    return CZ_OK;
}

static _Thread_local bool create_shapes_only;

void cz_net_set_shapes_only(bool on) { create_shapes_only = on; }

cz_net *cz_net_create(int channels, int height, int width, uint64_t seed)
{
    if (channels <= 0 || height <= 0 || width <= 0) {
        cz_fail(CZ_ERR_ARG, "net: input %dx%dx%d must be positive", channels, height, width);
        return NULL;
    }
    cz_net *net = calloc(1, sizeof *net);
    if (!net) {
        cz_fail(CZ_ERR_NOMEM, "net: out of memory");
        return NULL;
    }
    cz_rng_seed(&net->rng, seed);
    if (grow((void **)&net->nodes, &net->cap_nodes, 1, sizeof(cz_node)) != CZ_OK) {
        free(net);
        return NULL;
    }
    cz_node *in = &net->nodes[0];
    in->op = &cz_op_input;
    snprintf(in->name, sizeof in->name, "input");
    in->ndim = 3;
    in->shape[0] = channels;
    in->shape[1] = height;
    in->shape[2] = width;
    net->n_nodes = 1;
    net->output = -1;
    net->shapes_only = create_shapes_only;
    net->param_version = 1;
    net->planned = -1;
    return net;
}

void cz_net_free(cz_net *net)
{
    if (!net)
        return;
    for (int i = 0; i < net->n_nodes; i++) {
        if (!net->nodes[i].borrowed)
            cz_tensor_free(&net->nodes[i].out);
        cz_tensor_free(&net->nodes[i].dout);
        free(net->nodes[i].saved);
        free(net->nodes[i].cache);
    }
    for (int i = 0; i < net->n_params; i++) {
        free(net->params[i].name);
        cz_tensor_free(&net->params[i].value);
        cz_tensor_free(&net->params[i].grad);
    }
    free(net->nodes);
    free(net->params);
    free(net->scratch);
    free(net->arena);
    cz_lanes_free(net);
    free(net);
}

cz_status cz_net_status(const cz_net *net)
{
    if (net->status != CZ_OK)
        cz_fail(net->status, "%s", net->error);
    return net->status;
}

void cz_scope_push(cz_net *net, const char *fmt, ...)
{
    if (net->scope_depth >= CZ_SCOPE_DEPTH) {
        if (net->status == CZ_OK) {
            net->status = CZ_ERR_ARG;
            snprintf(net->error, sizeof net->error, "net: scopes nested deeper than %d",
                     CZ_SCOPE_DEPTH);
        }
        net->scope_depth++; /* keep push/pop balanced */
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(net->scope[net->scope_depth], CZ_NAME_MAX, fmt, ap);
    va_end(ap);
    net->scope_depth++;
}

void cz_scope_pop(cz_net *net)
{
    if (net->scope_depth > 0)
        net->scope_depth--;
}

/* "scope0.scope1.name" into buf. */
static void scoped_name(const cz_net *net, const char *name, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    int depth = net->scope_depth < CZ_SCOPE_DEPTH ? net->scope_depth : CZ_SCOPE_DEPTH;
    for (int i = 0; i < depth && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", used ? "." : "", net->scope[i]);
    if (name && used < size)
        snprintf(buf + used, size - used, "%s%s", used ? "." : "", name);
}

cz_status cz_node_fail(const cz_node *node, cz_status status, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cz_fail(status, "%s (%s): %s", node->name, node->op->name, msg);
}

int cz_net_add_node(cz_net *net, const cz_op *op, const char *name, const int *inputs,
                    int n_inputs, const cz_attrs *attr)
{
    if (net->status != CZ_OK)
        return -1;
    cz_status st = CZ_OK;
    if (n_inputs < 1 || n_inputs > CZ_MAX_INPUTS)
        st = cz_fail(CZ_ERR_ARG, "%s: %d inputs, expected 1..%d", op->name, n_inputs,
                     CZ_MAX_INPUTS);
    for (int i = 0; st == CZ_OK && i < n_inputs; i++)
        if (inputs[i] < 0 || inputs[i] >= net->n_nodes)
            st = cz_fail(CZ_ERR_ARG, "%s: input node %d does not exist (net has %d nodes)",
                         op->name, inputs[i], net->n_nodes);
        else if (net->nodes[inputs[i]].train_only && !net->in_aux)
            st = cz_fail(CZ_ERR_ARG, "%s: input %s belongs to an auxiliary branch, which "
                         "does not run in eval mode", op->name, net->nodes[inputs[i]].name);
    if (st == CZ_OK)
        st = grow((void **)&net->nodes, &net->cap_nodes, net->n_nodes + 1, sizeof(cz_node));
    if (st == CZ_OK) {
        cz_node *node = &net->nodes[net->n_nodes];
        memset(node, 0, sizeof *node);
        node->op = op;
        node->id = net->n_nodes;
        if (name)
            scoped_name(net, name, node->name, sizeof node->name);
        else {
            char auto_name[48];
            snprintf(auto_name, sizeof auto_name, "%s_%d", op->name, node->id);
            scoped_name(net, auto_name, node->name, sizeof node->name);
        }
        memcpy(node->inputs, inputs, sizeof(int) * (size_t)n_inputs);
        node->n_inputs = n_inputs;
        node->train_only = net->in_aux;
        node->fuse_bn = node->fuse_add = node->fuse_res = node->fuse_act = node->fuse_dst = -1;
        node->fuse_mean = node->fuse_pre = -1;
        net->planned = -1; /* a new node: the inference plan is made again */
        if (attr)
            node->attr = *attr;
        st = op->infer(net, node);
        if (st == CZ_OK) {
            net->n_nodes++;
            return node->id;
        }
    }
    net->status = st;
    snprintf(net->error, sizeof net->error, "%s", cz_last_error());
    return -1;
}

/* Gives the node the already declared parameter `old` (sharing). */
static int share(cz_net *net, cz_node *node, const cz_param *old, cz_param_kind kind,
                 cz_dtype dtype, int ndim, const int *shape)
{
    bool same = old->kind == kind && old->dtype == dtype &&
                (dtype != CZ_F32 || old->value.ndim == ndim);
    for (int i = 0; same && dtype == CZ_F32 && i < ndim; i++)
        same = old->value.shape[i] == shape[i];
    if (!same) {
        cz_node_fail(node, CZ_ERR_SHAPE, "cannot share parameter %s: declared with another "
                     "shape or kind", old->name);
        return -1;
    }
    int index = (int)(old - net->params);
    node->params[node->n_params++] = index;
    return index;
}

static int declare(cz_net *net, cz_node *node, const char *suffix, cz_param_kind kind,
                   cz_dtype dtype, int ndim, const int *shape)
{
    if (node->n_params >= CZ_MAX_PARAMS) {
        cz_node_fail(node, CZ_ERR_ARG, "more than %d parameters", CZ_MAX_PARAMS);
        return -1;
    }
    char full[CZ_NAME_MAX + 32];
    snprintf(full, sizeof full, "%s.%s", node->name, suffix);
    cz_param *old = cz_net_find_param(net, full);
    if (old && net->share_params)
        return share(net, node, old, kind, dtype, ndim, shape);
    if (old) {
        cz_node_fail(node, CZ_ERR_ARG, "parameter %s declared twice", full);
        return -1;
    }
    if (grow((void **)&net->params, &net->cap_params, net->n_params + 1, sizeof(cz_param)))
        return -1;
    cz_param *p = &net->params[net->n_params];
    memset(p, 0, sizeof *p);
    p->name = strdup(full);
    p->kind = kind;
    p->dtype = dtype;
    if (!p->name) {
        cz_fail(CZ_ERR_NOMEM, "net: out of memory");
        return -1;
    }
    if (dtype == CZ_F32 && net->shapes_only) {
        p->value.ndim = ndim;
        memcpy(p->value.shape, shape, sizeof(int) * (size_t)ndim);
    } else if (dtype == CZ_F32 && (cz_tensor_alloc(&p->value, ndim, shape) != CZ_OK ||
                            (kind == CZ_PARAM_WEIGHT &&
                             cz_tensor_alloc(&p->grad, ndim, shape) != CZ_OK))) {
        free(p->name);
        cz_tensor_free(&p->value);
        return -1;
    }
    node->params[node->n_params++] = net->n_params;
    return net->n_params++;
}

int cz_node_declare(cz_net *net, cz_node *node, const char *suffix, cz_param_kind kind,
                    int ndim, const int *shape)
{
    return declare(net, node, suffix, kind, CZ_F32, ndim, shape);
}

int cz_node_declare_count(cz_net *net, cz_node *node, const char *suffix)
{
    return declare(net, node, suffix, CZ_PARAM_BUFFER, CZ_I64, 0, NULL);
}

void *cz_net_scratch(cz_net *net, size_t bytes)
{
    if (bytes > net->scratch_size) {
        /* free + malloc, not realloc: the old contents are dead. */
        free(net->scratch);
        /* on a cache line: threads' parts of it must not share one */
        size_t size = (bytes + 63) & ~(size_t)63;
        net->scratch = size >= bytes ? aligned_alloc(64, size) : NULL;
        net->scratch_size = net->scratch ? size : 0;
        if (!net->scratch) {
            cz_fail(CZ_ERR_NOMEM, "net: cannot allocate %zu bytes of scratch", bytes);
            return NULL;
        }
    }
    return net->scratch;
}

void *cz_node_cache(cz_node *node, size_t bytes)
{
    if (node->cache_size >= bytes)
        return node->cache;
    /* On cache lines: the direct conv's filter vectors are whole 64-byte
     * loads (a split load costs two). The old contents are dead. */
    size_t size = (bytes + 63) / 64 * 64;
    void *p = size >= bytes ? aligned_alloc(64, size) : NULL;
    if (!p)
        return NULL;
    free(node->cache);
    node->cache = p;
    node->cache_size = size;
    node->cache_key = 0;
    return p;
}

void *cz_node_saved(cz_node *node, size_t bytes)
{
    if (bytes > node->saved_size) {
        void *p = realloc(node->saved, bytes);
        if (!p) {
            cz_fail(CZ_ERR_NOMEM, "%s: cannot allocate %zu bytes of saved state", node->name,
                    bytes);
            return NULL;
        }
        memset((char *)p + node->saved_size, 0, bytes - node->saved_size);
        node->saved = p;
        node->saved_size = bytes;
    }
    return node->saved;
}

/* ------------------------------------------------------------ queries */

int cz_net_node_count(const cz_net *net) { return net->n_nodes; }
int cz_net_output(const cz_net *net) { return net->output >= 0 ? net->output : net->n_nodes - 1; }

static void builder_error(cz_net *net, const char *fmt, const char *what)
{
    if (net->status != CZ_OK)
        return;
    net->status = CZ_ERR_ARG;
    snprintf(net->error, sizeof net->error, fmt, what);
}

void cz_net_share_params(cz_net *net, bool on) { net->share_params = on; }

void cz_net_set_output(cz_net *net, int node)
{
    if (node < 0 || node >= net->n_nodes || net->nodes[node].train_only)
        builder_error(net, "net: %s is not a node of the main branch", "the output");
    else {
        net->output = node;
        net->planned = -1; /* the plan never fuses away the output */
    }
}

void cz_net_begin_aux(cz_net *net)
{
    if (net->in_aux)
        builder_error(net, "net: %s already open", "an auxiliary branch is");
    net->in_aux = true;
}

void cz_net_end_aux(cz_net *net, int output)
{
    if (!net->in_aux)
        builder_error(net, "net: %s", "cz_net_end_aux without cz_net_begin_aux");
    else if (net->n_aux >= CZ_MAX_AUX)
        builder_error(net, "net: %s", "too many auxiliary classifiers");
    else if (output >= 0 && output < net->n_nodes && net->nodes[output].train_only)
        net->aux[net->n_aux++] = output;
    else if (output >= 0)
        builder_error(net, "net: %s", "an auxiliary output must be built inside its branch");
    net->in_aux = false;
}

int cz_net_aux_count(const cz_net *net) { return net->n_aux; }
int cz_net_aux_output(const cz_net *net, int i) { return net->aux[i]; }

int cz_net_node_shape(const cz_net *net, int node, int shape[3])
{
    const cz_node *n = &net->nodes[node];
    memcpy(shape, n->shape, sizeof n->shape);
    return n->ndim;
}

const char *cz_net_node_name(const cz_net *net, int node) { return net->nodes[node].name; }
const char *cz_net_node_op(const cz_net *net, int node) { return net->nodes[node].op->name; }

int64_t cz_net_node_macs(const cz_net *net, int node)
{
    const cz_node *n = &net->nodes[node];
    return n->op->cost ? n->op->cost(net, n) : 0;
}

int64_t cz_net_node_weight_numel(const cz_net *net, int node)
{
    const cz_node *n = &net->nodes[node];
    int64_t total = 0;
    for (int k = 0; k < n->n_params; k++) {
        const cz_param *p = &net->params[n->params[k]];
        if (p->kind == CZ_PARAM_WEIGHT)
            total += (int64_t)cz_tensor_numel(&p->value);
    }
    return total;
}

bool cz_net_node_is_aux(const cz_net *net, int node) { return net->nodes[node].train_only; }

int64_t cz_net_macs(const cz_net *net)
{
    int64_t total = 0;
    for (int i = 0; i < net->n_nodes; i++)
        if (!net->nodes[i].train_only)
            total += cz_net_node_macs(net, i);
    return total;
}

int cz_net_param_count(const cz_net *net) { return net->n_params; }
/* Handing out a parameter may mean it gets written: caches derived from
 * parameters (cz_node.cache) are rebuilt at the next forward. */
void cz_net_params_changed(cz_net *net) { net->param_version++; }

cz_param *cz_net_param(cz_net *net, int i)
{
    cz_net_params_changed(net);
    return &net->params[i];
}

cz_param *cz_net_find_param(cz_net *net, const char *name)
{
    cz_net_params_changed(net);
    for (int i = 0; i < net->n_params; i++)
        if (strcmp(net->params[i].name, name) == 0)
            return &net->params[i];
    return NULL;
}

bool cz_net_has_weights(const cz_net *net) { return !net->shapes_only; }

int64_t cz_net_weight_numel(const cz_net *net)
{
    int64_t n = 0;
    for (int i = 0; i < net->n_params; i++)
        if (net->params[i].kind == CZ_PARAM_WEIGHT)
            n += (int64_t)cz_tensor_numel(&net->params[i].value);
    return n;
}

void cz_net_set_training(cz_net *net, bool training) { net->training = training; }
bool cz_net_training(const cz_net *net) { return net->training; }
cz_rng *cz_net_rng(cz_net *net) { return &net->rng; }
void cz_net_set_input_grad(cz_net *net, bool on) { net->input_grad = on; }

const cz_tensor *cz_net_node_output(const cz_net *net, int node)
{
    if (node < 0 || node >= net->n_nodes || !net->nodes[node].out.data)
        return NULL;
    return &net->nodes[node].out;
}

const cz_tensor *cz_net_input_grad(const cz_net *net)
{
    return net->input_grad && net->nodes[0].dout.data ? &net->nodes[0].dout : NULL;
}

const cz_tensor *cz_net_node_grad(const cz_net *net, int node)
{
    if (node < 0 || node >= net->n_nodes || !net->nodes[node].dout.data)
        return NULL;
    return &net->nodes[node].dout;
}

void cz_net_zero_grad(cz_net *net)
{
    for (int i = 0; i < net->n_params; i++)
        if (net->params[i].grad.data)
            memset(net->params[i].grad.data, 0,
                   cz_tensor_numel(&net->params[i].grad) * sizeof(float));
}

/* ------------------------------------------------------------ execution */

/* (Re)allocates t as (batch, node shape) when its size differs. */
static cz_status batch_tensor(cz_tensor *t, const cz_node *node, int batch)
{
    int shape[4] = {batch, node->shape[0], node->shape[1], node->shape[2]};
    if (t->data && t->ndim == node->ndim + 1 && t->shape[0] == batch)
        return CZ_OK;
    cz_status st = cz_tensor_alloc(t, node->ndim + 1, shape);
    if (st != CZ_OK)
        return cz_fail(st, "%s: cannot allocate its output for batch %d", node->name, batch);
    return CZ_OK;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void cz_net_set_fusion(cz_net *net, bool on) { net->fusion = on; }

/* The only node reading node i's output, or -1 (none, several, or i is
 * an output of the net). readers[i] counts node i's readers, reader[i] is
 * one of them. */
static int sole_reader(const cz_net *net, const int *readers, const int *reader, int i)
{
    if (readers[i] != 1 || i == cz_net_output(net))
        return -1;
    int j = reader[i];
    return net->nodes[j].train_only && !net->training ? -1 : j;
}

/* ------------------------------------------------------- shared buffers */

/* A node output's lifetime under the plan: written at step `birth` (the
 * conv that writes it, when fused), last read at step `death`. */
typedef struct lifetime {
    int node, birth, death;
    size_t size, at; /* floats per sample, rounded to 64 bytes; offset */
} lifetime;

static int larger_first(const void *a, const void *b)
{
    const lifetime *x = a, *y = b;
    if (x->size != y->size)
        return x->size > y->size ? -1 : 1;
    return x->node - y->node;
}

static int by_offset(const void *a, const void *b)
{
    const lifetime *x = *(const lifetime *const *)a, *y = *(const lifetime *const *)b;
    return x->at < y->at ? -1 : x->at > y->at;
}

/* Places each output that overlaps others in time below or between them,
 * largest first, at the lowest offset that fits (greedy by size: within a
 * few percent of the best packing on these graphs). Per sample: a batch of
 * N scales every offset and size by N, which keeps them disjoint. */
static void place_lifetimes(lifetime *v, int n, lifetime **near, size_t *peak)
{
    qsort(v, (size_t)n, sizeof *v, larger_first);
    *peak = 0;
    for (int i = 0; i < n; i++) {
        int k = 0;
        for (int j = 0; j < i; j++)
            if (v[j].birth <= v[i].death && v[i].birth <= v[j].death)
                near[k++] = &v[j];
        qsort(near, (size_t)k, sizeof *near, by_offset);
        size_t at = 0;
        for (int j = 0; j < k && near[j]->at < at + v[i].size; j++)
            if (near[j]->at + near[j]->size > at)
                at = near[j]->at + near[j]->size;
        v[i].at = at;
        if (at + v[i].size > *peak)
            *peak = at + v[i].size;
    }
}

/* Whether x may lie in another node's buffer: it has one of its own in
 * the plan (it is not the input, which lanes read where the caller put
 * it) and only nodes below `below` read it. */
static bool may_share(const cz_net *net, const int *birth, const int *death, int below, int x)
{
    return x > 0 && birth[x] >= 0 && death[x] < below && x != cz_net_output(net);
}

/* Whether concat y's inputs lie one after another in root r's buffer from
 * off[y's first input] on. */
static bool inputs_in_place(const cz_net *net, const int *root, const size_t *off, int y, int r)
{
    const cz_node *cat = &net->nodes[y];
    size_t plane = (size_t)cat->shape[1] * cat->shape[2], at = off[cat->inputs[0]];
    for (int k = 0; k < cat->n_inputs; k++) {
        int x = cat->inputs[k];
        if (root[x] != r || off[x] != at)
            return false;
        at += (size_t)net->nodes[x].shape[0] * plane;
    }
    return true;
}

/* Concats done in place: each input of a concat is placed at its
 * channels' offset in the concat's buffer, so that its writer (the conv
 * ending an Inception branch, a DenseNet layer's new feature maps) puts
 * it where the concat wants it and the concat copies nothing for it
 * (concat.c skips inputs already in place). Concats from the last back:
 * a DenseNet block's last concat takes the block's input and every
 * layer's new maps, and each earlier concat of the block, whose inputs
 * are a prefix of those, becomes that prefix of its buffer. Sets root[x]
 * (the node whose buffer x lies in) and off[x] (floats per sample into
 * it), -1 and 0 for the rest. Only for nodes below `below`, which run one
 * sample at a time (a batch of one, or the lanes): in a batch of N in one
 * tensor sample n of x lies at n times x's size, not n times the
 * concat's. An input joins only on a 64-byte line (as every buffer
 * starts) and written after the input before it, so the buffer fills in
 * order. */
static void plan_in_place(const cz_net *net, const int *birth, const int *death, int below,
                          int *root, size_t *off)
{
    for (int i = 0; i < net->n_nodes; i++)
        root[i] = -1, off[i] = 0;
    for (int y = below - 1; y > 0; y--) {
        const cz_node *cat = &net->nodes[y];
        if (cat->op != &cz_op_concat || cat->ndim != 3 || birth[y] < 0)
            continue;
        int first = cat->inputs[0];
        if (root[y] < 0 && root[first] >= 0 && may_share(net, birth, death, below, y) &&
            inputs_in_place(net, root, off, y, root[first])) {
            root[y] = root[first]; /* a prefix of a later concat */
            off[y] = off[first];
            continue;
        }
        int r = root[y] >= 0 ? root[y] : y; /* y's buffer may lie in a later concat's */
        size_t plane = (size_t)cat->shape[1] * cat->shape[2], at = off[y];
        for (int k = 0; k < cat->n_inputs; k++) {
            int x = cat->inputs[k];
            bool in_order = k == 0 || birth[x] > birth[cat->inputs[k - 1]];
            if (root[x] < 0 && may_share(net, birth, death, below, x) && in_order && at % 16 == 0)
                root[x] = r, off[x] = at;
            at += (size_t)net->nodes[x].shape[0] * plane;
        }
    }
}

/* Whether node keeps a buffer of its own in a plan for a batch of one
 * (its lifetime the whole forward): the pools. On two threads a pool's
 * stores went to lines that the other core had last written, for
 * another node sharing the memory, and each such line crossed between
 * the cores first; the pools then took longer on two threads than on one
 * (inception_v3's thirteen 1.62 ms against 1.45). Their own buffers, which
 * only they write, each thread the same part every forward: 0.93 ms, the
 * model 0.977-0.987x the time (paired forwards), googlenet 0.982-0.995,
 * resnet50 0.990-1.002, resnet18 0.997, densenet121 0.996, on one thread
 * 1.003; inception_v3's peak RSS 247 -> 257 MiB. Every node with its own
 * buffer made resnet50 and mobilenet_v2 1.07x slower (their maps no
 * longer fit the caches). At a larger batch each lane runs on one
 * thread, and the larger arenas made inception_v3 1.02x and googlenet
 * 1.06x slower, so only at a batch of one. */
static bool owns_buffer(const cz_node *node)
{
    return node->op == &cz_op_maxpool || node->op == &cz_op_avgpool;
}

/* The plan's memory: a node output lives from the step that writes it to
 * the last step that reads it (the net's output, to the end); outputs that
 * are never alive together share memory. Fused nodes other than a chain's
 * last have no output at all. Per sample, densenet121's 187 MiB of
 * feature maps (one buffer per node) become 8 MiB, resnet50's 144 MiB
 * 6.9 MiB, vgg16's 110 MiB 24.5 MiB. */
static cz_status plan_buffers(cz_net *net, int below, bool one)
{
    int n = net->n_nodes;
    size_t slots = (size_t)(n > 0 ? n : 1);
    lifetime *v = malloc(sizeof *v * slots);
    lifetime **near = malloc(sizeof *near * slots);
    int *birth = malloc(sizeof *birth * 3 * slots), *death = birth + n, *root = death + n;
    size_t *off = malloc(sizeof *off * slots);
    if (!v || !near || !birth || !off) {
        free(v), free(near), free(birth), free(off);
        return cz_fail(CZ_ERR_NOMEM, "forward: no memory for the inference plan");
    }
    for (int i = 0; i < n; i++)
        birth[i] = death[i] = -1;
    for (int i = 0; i < n; i++) {
        const cz_node *node = &net->nodes[i];
        if (node->train_only && !net->training)
            continue;
        if (node->fuse_dst >= 0)
            birth[node->fuse_dst] = i;
        else if (!node->fused)
            birth[i] = i;
        if (node->fuse_mean >= 0)
            birth[node->fuse_mean] = i;
        for (int k = 0; k < node->n_inputs; k++)
            if (death[node->inputs[k]] < i)
                death[node->inputs[k]] = i;
        for (int k = 0; node->fuse_pre >= 0 && k < net->nodes[node->fuse_pre].n_inputs; k++)
            death[net->nodes[node->fuse_pre].inputs[k]] = i; /* the conv reads them, last */
    }
    death[cz_net_output(net)] = n;
    plan_in_place(net, birth, death, below, root, off);
    for (int i = 0; i < n; i++) /* a shared buffer lives while any of its parts does */
        if (root[i] >= 0) {
            int r = root[i];
            birth[r] = birth[i] < birth[r] ? birth[i] : birth[r];
            death[r] = death[i] > death[r] ? death[i] : death[r];
        }
    int live = 0;
    for (int i = 0; i < n; i++) {
        net->nodes[i].arena_at = CZ_NO_BUFFER;
        if (birth[i] < 0 || root[i] >= 0)
            continue;
        size_t size = (cz_node_numel(&net->nodes[i]) + 15) / 16 * 16;
        int from = birth[i], to = death[i] > birth[i] ? death[i] : birth[i];
        if (one && owns_buffer(&net->nodes[i]))
            from = 0, to = n;
        v[live++] = (lifetime){i, from, to, size, 0};
    }
    place_lifetimes(v, live, near, &net->arena_per_sample);
    for (int i = 0; i < live; i++)
        net->nodes[v[i].node].arena_at = v[i].at;
    for (int i = 0; i < n; i++)
        if (root[i] >= 0)
            net->nodes[i].arena_at = net->nodes[root[i]].arena_at + off[i];
    free(v), free(near), free(birth), free(off);
    return CZ_OK;
}

/* Every node back to running on its own, as without a plan. */
static void clear_fusion(cz_net *net)
{
    for (int i = 0; i < net->n_nodes; i++) {
        cz_node *node = &net->nodes[i];
        node->fuse_bn = node->fuse_add = node->fuse_res = node->fuse_act = node->fuse_dst = -1;
        node->fuse_mean = node->fuse_pre = -1;
        node->fused = node->inner = false;
    }
}

/* Outputs that pointed into the arena get their own storage at the next
 * forward (batch_tensor). */
static void unbind_outputs(cz_net *net)
{
    for (int i = 0; i < net->n_nodes; i++)
        if (net->nodes[i].borrowed)
            net->nodes[i].out = (cz_tensor){0}, net->nodes[i].borrowed = false;
}

/* Ends the chain that starts at node h (a conv, or a BatchNorm) and whose
 * output so far is node last's: a residual add, then an activation, each
 * taken when it is the only reader of the chain's output. The add's other
 * operand must come from an earlier node, so that it is ready when the
 * chain runs (ResNet's identity shortcut), and must not be h's own input,
 * whose gradient a training chain writes already. */
static void end_chain(cz_net *net, const int *readers, const int *reader, int h, int last)
{
    cz_node *head = &net->nodes[h];
    int next = sole_reader(net, readers, reader, last);
    if (next >= 0 && net->nodes[next].op == &cz_op_add && !net->nodes[next].fused) {
        const cz_node *add = &net->nodes[next];
        int other = add->inputs[0] == last ? add->inputs[1] : add->inputs[0];
        if (other < h && other != last && other != head->inputs[0]) {
            head->fuse_add = last = next;
            head->fuse_res = other;
            next = sole_reader(net, readers, reader, next);
        } else {
            next = -1;
        }
    }
    if (next >= 0 && net->nodes[next].op == &cz_op_activation)
        head->fuse_act = last = next;
    if (last == h)
        return;
    head->fuse_dst = last;
    head->inner = true;
    int members[3] = {head->fuse_bn, head->fuse_add, head->fuse_act};
    for (int k = 0; k < 3; k++)
        if (members[k] >= 0) {
            net->nodes[members[k]].fused = true;
            net->nodes[members[k]].inner = members[k] != last;
        }
}

/* A global average pool (node i) of a conv's output goes to that conv
 * (fuse_mean), which takes each plane's mean while the plane is in cache:
 * the SE blocks' squeeze reads the depthwise conv's output again from
 * memory otherwise. The conv writes the output itself or, as a chain's
 * head, as its fuse_dst. */
static void take_mean(cz_net *net, int i)
{
    cz_node *pool = &net->nodes[i];
    if (pool->op != &cz_op_adaptive_avgpool || pool->shape[1] != 1 || pool->shape[2] != 1 ||
        pool->train_only)
        return;
    int x = pool->inputs[0];
    for (int c = x; c >= 0; c--) {
        cz_node *conv = &net->nodes[c];
        bool writes = c == x ? conv->fuse_dst < 0 && !conv->fused : conv->fuse_dst == x;
        if (conv->op != &cz_op_conv2d || !writes)
            continue;
        if (conv->fuse_mean < 0 && !conv->train_only) {
            conv->fuse_mean = i;
            pool->fused = true;
        }
        return;
    }
}

/* A BatchNorm chain (node i: BatchNorm, then maybe an activation, no add)
 * or an SE gate (channel_mul) whose only reader is a conv that takes
 * prologues goes into that conv (fuse_pre), which applies it to each
 * sliver of its input as the GEMM packs it and reads the node's input:
 * DenseNet's BN-ReLU-conv, whose BN-ReLU output is written and read again
 * otherwise (1.8 of densenet121's 29 ms on one thread), and EfficientNet's
 * gate before each projection. The node (its chain) then writes nothing. */
static void take_prologue(cz_net *net, const int *readers, const int *reader, int i)
{
    cz_node *pre = &net->nodes[i];
    bool bn = pre->op == &cz_op_batchnorm && pre->fuse_add < 0;
    if (!(bn || pre->op == &cz_op_channel_mul) || pre->fused || pre->ndim != 3 || pre->train_only)
        return;
    int c = sole_reader(net, readers, reader, bn && pre->fuse_dst >= 0 ? pre->fuse_dst : i);
    if (c < 0 || net->nodes[c].op != &cz_op_conv2d || net->nodes[c].train_only ||
        !cz_conv2d_takes_prologue(&net->nodes[c]))
        return;
    net->nodes[c].fuse_pre = i;
    pre->fused = true;
    pre->inner = false;
    pre->fuse_dst = -1;
    if (bn && pre->fuse_act >= 0)
        net->nodes[pre->fuse_act].inner = false;
}

/* The plans (cz_net_set_fusion), by what the forward is for. */
enum { PLAN_NONE, PLAN_INFERENCE, PLAN_TRAINING };

/* The inference plan: conv -> BatchNorm -> residual add -> activation
 * chains (each part optional), where each link is the previous one's only
 * reader, become one conv whose epilogue applies the rest (see conv2d.c);
 * a BatchNorm that no conv took becomes one BatchNorm pass with the add
 * and activation after it, or the prologue of a 1x1 conv that alone reads
 * it (take_prologue), as an SE gate can be. Only when no backward follows: the fused
 * nodes' own outputs are not written.
 *
 * The training plan has the BatchNorm chains alone: their backward
 * recomputes the add's and the activation's inputs from the BatchNorm's,
 * so their maps and gradients are neither written nor kept, and a
 * training step makes 9 passes over a BN -> ReLU chain's maps rather than
 * 14. The convs' epilogues stay off: the GEMM's output must be kept for
 * BatchNorm's backward anyway.
 *
 * A plan depends on the graph, on which nodes run one sample at a time
 * (the concats in place) and on whether the batch is one (owns_buffer),
 * so a forward makes it only when one of those changes (net->planned,
 * net->planned_below, net->planned_one). */
static cz_status plan_fusion(cz_net *net)
{
    int want = !net->fusion                  ? PLAN_NONE
               : !cz_net_wants_backward(net) ? PLAN_INFERENCE
               : net->training               ? PLAN_TRAINING
                                             : PLAN_NONE;
    /* Nodes that run one sample at a time (plan_in_place): the lanes'
     * trunk, or all of them at a batch of one without lanes. */
    int split = cz_lanes_split(net);
    int below = want != PLAN_INFERENCE ? 0 : split > 0 ? split : net->batch == 1 ? net->n_nodes : 0;
    bool one = want == PLAN_INFERENCE && net->batch == 1; /* owns_buffer's plan */
    if (net->planned == want && net->planned_below == below && net->planned_one == one)
        return CZ_OK;
    clear_fusion(net);
    net->planned = PLAN_NONE;
    if (want == PLAN_NONE)
        return CZ_OK;
    size_t n = (size_t)(net->n_nodes > 0 ? net->n_nodes : 1);
    int *readers = calloc(2 * n, sizeof *readers), *reader = readers + n;
    if (!readers)
        return cz_fail(CZ_ERR_NOMEM, "forward: no memory for the fusion plan");
    for (int j = 0; j < net->n_nodes; j++)
        for (int k = 0; k < net->nodes[j].n_inputs; k++) {
            readers[net->nodes[j].inputs[k]]++;
            reader[net->nodes[j].inputs[k]] = j;
        }
    for (int i = 0; want == PLAN_INFERENCE && i < net->n_nodes; i++) {
        cz_node *conv = &net->nodes[i];
        if (conv->op != &cz_op_conv2d || (conv->train_only && !net->training))
            continue;
        int last = i, next = sole_reader(net, readers, reader, i);
        if (next >= 0 && net->nodes[next].op == &cz_op_batchnorm)
            conv->fuse_bn = last = next;
        end_chain(net, readers, reader, i, last);
    }
    for (int i = 0; i < net->n_nodes; i++) {
        cz_node *bn = &net->nodes[i];
        if (bn->op == &cz_op_batchnorm && !bn->fused && !(bn->train_only && !net->training))
            end_chain(net, readers, reader, i, i);
    }
    for (int i = 0; want == PLAN_INFERENCE && i < net->n_nodes; i++)
        take_prologue(net, readers, reader, i);
    for (int i = 0; want == PLAN_INFERENCE && i < net->n_nodes; i++)
        take_mean(net, i);
    free(readers);
    cz_status st = want == PLAN_INFERENCE ? plan_buffers(net, below, one) : CZ_OK;
    if (st != CZ_OK) {
        clear_fusion(net); /* no half plan: a later forward starts afresh */
        net->planned = -1;
        return st;
    }
    net->planned = want;
    net->planned_below = below;
    net->planned_one = one;
    return CZ_OK;
}

/* Points every node's output at its place in the arena (planned) or gives
 * each its own storage again (plain), for a batch of `batch`. */
static cz_status bind_outputs(cz_net *net, int batch)
{
    if (net->planned != PLAN_INFERENCE) {
        unbind_outputs(net);
        free(net->arena);
        net->arena = NULL, net->arena_cap = 0;
        return CZ_OK;
    }
    size_t need = net->arena_per_sample * (size_t)batch;
    if (need > net->arena_cap) {
        free(net->arena); /* free + alloc, not realloc: the old contents are dead */
        /* Lines of 64 bytes: every output then starts a line (sizes are
         * whole lines), so the vector loads of a row never straddle two and
         * two threads writing the two halves of a row share none. */
        net->arena = need > SIZE_MAX / sizeof(float) - 16
                         ? NULL
                         : aligned_alloc(64, (need + 15) / 16 * 16 * sizeof(float));
        net->arena_cap = net->arena ? need : 0;
        if (!net->arena) {
            unbind_outputs(net); /* no views into the freed arena */
            return cz_fail(CZ_ERR_NOMEM, "forward: cannot allocate %zu floats of feature maps",
                           need);
        }
    }
    for (int i = 0; i < net->n_nodes; i++) {
        cz_node *node = &net->nodes[i];
        if (!node->borrowed)
            cz_tensor_free(&node->out);
        node->borrowed = true;
        node->out.data = node->arena_at == CZ_NO_BUFFER
                             ? NULL
                             : net->arena + node->arena_at * (size_t)batch;
        node->out.ndim = node->ndim + 1;
        node->out.shape[0] = batch;
        memcpy(node->out.shape + 1, node->shape, sizeof(int) * (size_t)node->ndim);
    }
    return CZ_OK;
}

/* Storage for the node's output, unless the plan placed it in the arena
 * or never writes it; a chain's first node gets its last one's, which it
 * writes. */
static cz_status own_output(cz_net *net, cz_node *node, int batch)
{
    if (node->borrowed)
        return CZ_OK;
    if (!node->inner)
        return batch_tensor(&node->out, node, batch);
    cz_tensor_free(&node->out);
    cz_node *dst = node->fuse_dst >= 0 ? &net->nodes[node->fuse_dst] : NULL;
    return dst ? batch_tensor(&dst->out, dst, batch) : CZ_OK;
}

cz_status cz_net_run_node(cz_net *net, int i)
{
    cz_node *node = &net->nodes[i];
    if (node->train_only && !net->training)
        return CZ_OK;
    cz_status st = own_output(net, node, net->batch);
    if (st != CZ_OK)
        return st;
    if (node->fused) {
        node->kernel = "fused";
        return CZ_OK;
    }
    if (!net->profile)
        return node->op->forward(net, node);
    double t0 = now_seconds();
    st = node->op->forward(net, node);
    net->profile[i] += now_seconds() - t0;
    return st;
}

cz_status cz_net_forward(cz_net *net, const cz_tensor *input, const cz_tensor **output)
{
    if (cz_net_status(net) != CZ_OK)
        return net->status;
    if (net->shapes_only)
        return cz_fail(CZ_ERR_ARG, "forward: this net was built for its shapes only "
                       "(cz_model_describe) and has no weights");
    const cz_node *in = &net->nodes[0];
    if (input->ndim != 4 || input->shape[0] < 1 || input->shape[1] != in->shape[0] ||
        input->shape[2] != in->shape[1] || input->shape[3] != in->shape[2]) {
        char got[64];
        return cz_fail(CZ_ERR_SHAPE, "forward: input %s, expected [N, %d, %d, %d]",
                       cz_shape_str(input, got, sizeof got), in->shape[0], in->shape[1],
                       in->shape[2]);
    }
    int batch = input->shape[0];
    net->batch = batch;
    net->grad_ready = false;
    if (cz_net_wants_backward(net))
        net->lanes_key = 0; /* its forward may pack the weights for training */
    cz_status st = plan_fusion(net);
    if (st == CZ_OK)
        st = bind_outputs(net, batch);
    if (st != CZ_OK)
        return st;
    /* The inference plan at a batch over one: the trunk one sample at a
     * time (lanes.c), then the classifier on the whole batch. */
    int from = net->planned == PLAN_INFERENCE && batch > 1 ? cz_lanes_split(net) : 0;
    if (from > 0)
        st = cz_lanes_forward(net, input, from);
    else if ((st = own_output(net, &net->nodes[0], batch)) == CZ_OK)
        memcpy(net->nodes[0].out.data, input->data, cz_tensor_numel(input) * sizeof(float));
    for (int i = from > 0 ? from : 1; st == CZ_OK && i < net->n_nodes; i++)
        st = cz_net_run_node(net, i);
    if (st != CZ_OK)
        return st;
    net->grad_ready = cz_net_wants_backward(net);
    if (output)
        *output = &net->nodes[cz_net_output(net)].out;
    return CZ_OK;
}

/* Checks that g fits node's output for the batch of the last forward. */
static cz_status check_seed(const cz_net *net, int node, const cz_tensor *g)
{
    const cz_tensor *out = &net->nodes[node].out;
    if (cz_tensor_numel(g) != cz_tensor_numel(out) || g->shape[0] != net->batch) {
        char got[64], want[64];
        return cz_fail(CZ_ERR_SHAPE, "backward: gradient %s does not match the output %s of %s",
                       cz_shape_str(g, got, sizeof got), cz_shape_str(out, want, sizeof want),
                       net->nodes[node].name);
    }
    return CZ_OK;
}

/* Gives every node's output gradient that backward may write its storage
 * (cleared later, by propagate, just before its first use). */
static cz_status alloc_douts(cz_net *net, int last)
{
    for (int i = 0; i <= last; i++) {
        cz_node *node = &net->nodes[i];
        if ((i == 0 && !net->input_grad) || (node->train_only && !net->training))
            continue;
        if (node->inner) { /* its chain's backward does without */
            cz_tensor_free(&node->dout);
            continue;
        }
        cz_status st = batch_tensor(&node->dout, node, net->batch);
        if (st != CZ_OK)
            return st;
    }
    return CZ_OK;
}

/* memset on every thread: a resnet50 batch-8 step clears 1.1 GB. */
static void zero_dout(cz_node *node)
{
    enum { CHUNK = 1 << 16 };
    float *d = node->dout.data;
    size_t n = cz_tensor_numel(&node->dout);
    long chunks = (long)((n + CHUNK - 1) / CHUNK);
#pragma omp parallel for schedule(static) if (chunks > 1)
    for (long c = 0; c < chunks; c++) {
        size_t lo = (size_t)c * CHUNK;
        memset(d + lo, 0, sizeof(float) * (n - lo < CHUNK ? n - lo : CHUNK));
    }
}

/* The nodes whose gradients node's backward writes: its inputs and, for a
 * fused chain, the residual (ins holds CZ_MAX_INPUTS + 1). */
static int grad_inputs(const cz_node *node, int *ins)
{
    int n = node->n_inputs;
    memcpy(ins, node->inputs, sizeof(int) * (size_t)n);
    if (node->fuse_res >= 0)
        ins[n++] = node->fuse_res;
    return n;
}

/* Runs backward from `last` down over the nodes the seeds reach. A fused
 * chain runs as its first node, reached when its last one is. */
static cz_status propagate(cz_net *net, int last, bool *reached)
{
    for (int i = last; i > 0; i--) {
        cz_node *node = &net->nodes[i];
        if (node->fuse_dst >= 0 && reached[node->fuse_dst])
            reached[i] = true;
        if (!reached[i] || node->fused) {
            if (net->grad_ready_fn)
                net->grad_ready_fn(net->grad_ready_ctx, net, i);
            continue;
        }
        if (!node->op->backward)
            return cz_fail(CZ_ERR_ARG, "backward: %s (%s) has no backward pass", node->name,
                           node->op->name);
        int ins[CZ_MAX_INPUTS + 1], n_ins = grad_inputs(node, ins);
        /* An input's gradient is cleared by its first (highest) reader:
         * by the op itself where it writes it (clears_grads), else just
         * before. */
        for (int k = 0; k < n_ins; k++) {
            cz_node *in = &net->nodes[ins[k]];
            if (!reached[ins[k]] && in->dout.data) {
                in->dout_fresh = node->op->clears_grads;
                if (!in->dout_fresh)
                    zero_dout(in);
            }
        }
        node->op->backward(net, node);
        for (int k = 0; k < n_ins; k++) {
            cz_node *in = &net->nodes[ins[k]];
            if (in->dout_fresh) { /* not written (not wanted): later readers add */
                zero_dout(in);
                in->dout_fresh = false;
            }
            reached[ins[k]] = true;
        }
        if (net->grad_ready_fn)
            net->grad_ready_fn(net->grad_ready_ctx, net, i);
    }
    /* Gradients no seed reaches are zero (cz_net_node_grad reads them). */
    for (int i = 0; i <= last; i++)
        if (!reached[i] && net->nodes[i].dout.data)
            zero_dout(&net->nodes[i]);
    return CZ_OK;
}

cz_status cz_net_backward_aux(cz_net *net, const cz_tensor *doutput,
                              const cz_tensor *const *daux)
{
    int last = cz_net_output(net);
    if (!net->nodes[last].out.data || net->batch < 1)
        return cz_fail(CZ_ERR_ARG, "backward: no forward pass to differentiate");
    if (!net->grad_ready)
        return cz_fail(CZ_ERR_ARG, "backward: the last forward ran for inference only; run it in "
                       "training mode or after cz_net_set_input_grad(net, true)");
    if (daux && cz_net_aux_count(net) > 0 && !net->training)
        return cz_fail(CZ_ERR_ARG, "backward: auxiliary gradients need a training-mode forward");
    cz_status st = check_seed(net, last, doutput);
    for (int i = 0; daux && st == CZ_OK && i < cz_net_aux_count(net); i++)
        st = check_seed(net, cz_net_aux_output(net, i), daux[i]);
    bool *reached = st == CZ_OK ? calloc((size_t)net->n_nodes, sizeof *reached) : NULL;
    if (st == CZ_OK && !reached)
        st = cz_fail(CZ_ERR_NOMEM, "backward: out of memory");
    if (st == CZ_OK)
        st = alloc_douts(net, last);
    if (st == CZ_OK) {
        /* Only nodes that a seeded gradient reaches run backward. */
        memcpy(net->nodes[last].dout.data, doutput->data, cz_tensor_numel(doutput) * sizeof(float));
        reached[last] = true;
        for (int i = 0; daux && i < cz_net_aux_count(net); i++) {
            int a = cz_net_aux_output(net, i);
            memcpy(net->nodes[a].dout.data, daux[i]->data, cz_tensor_numel(daux[i]) * sizeof(float));
            reached[a] = true;
        }
        st = propagate(net, last, reached);
    }
    free(reached);
    return st;
}

cz_status cz_net_backward(cz_net *net, const cz_tensor *doutput)
{
    return cz_net_backward_aux(net, doutput, NULL);
}

void cz_net_set_sync_stats(cz_net *net, cz_sum_fn sum, void *ctx)
{
    net->sync_sum = sum;
    net->sync_ctx = ctx;
}

void cz_net_set_grad_ready(cz_net *net, cz_grad_ready_fn fn, void *ctx)
{
    net->grad_ready_fn = fn;
    net->grad_ready_ctx = ctx;
}

int cz_net_param_first_user(const cz_net *net, int param)
{
    for (int i = 0; i < net->n_nodes; i++)
        for (int k = 0; k < net->nodes[i].n_params; k++)
            if (net->nodes[i].params[k] == param)
                return i;
    return -1;
}

void cz_net_set_profile(cz_net *net, double *seconds)
{
    net->profile = seconds;
}

const char *cz_net_node_kernel(const cz_net *net, int node)
{
    const cz_node *n = &net->nodes[node];
    return n->kernel ? n->kernel : n->op->name;
}

cz_status cz_net_set_bn_momentum(cz_net *net, float momentum)
{
    if (!(momentum >= 0.0f && momentum <= 1.0f))
        return cz_fail(CZ_ERR_ARG, "BatchNorm momentum %g must lie in [0, 1]", momentum);
    for (int i = 0; i < net->n_nodes; i++)
        if (net->nodes[i].op == &cz_op_batchnorm)
            net->nodes[i].attr.bn.momentum = momentum;
    return CZ_OK;
}

void cz_net_set_dropout(cz_net *net, bool enabled)
{
    net->dropout_off = !enabled;
}
