/*
 * net.h - the inside of cz_net: nodes, the op interface, and the helpers an
 * op file uses to reach its inputs, output, parameters and saved state.
 *
 * Adding an op = one file in src/ops/ defining a `const cz_op cz_op_<name>`
 * plus one builder function; nothing else changes.
 */
#ifndef CZ_NET_H
#define CZ_NET_H

#include "cnnzoo.h"

#define CZ_MAX_INPUTS 64 /* DenseNet-201 concatenates 49 feature maps at once */
#define CZ_MAX_PARAMS 6
#define CZ_NAME_MAX 128
#define CZ_SCOPE_DEPTH 16

typedef struct cz_node cz_node;

/* The op interface. Every function receives the net and its own node.
 *   infer:    validate attributes and input shapes, set node->ndim/shape
 *             (per sample), declare parameters. Returns a status with a
 *             message naming the node.
 *   forward:  read inputs, write node->out (allocated by the executor to
 *             N x shape). In training, keep what backward needs. Fails
 *             only when its saved state cannot be allocated.
 *             Scratch that backward needs is allocated here (when
 *             net->training), so backward itself cannot fail.
 *   backward: read node->dout, ACCUMULATE (+=) into the inputs' dout and
 *             the parameters' grad. Skip an input's dout when
 *             cz_wants_grad() says nobody needs it (the image itself).
 *             NULL for ops that are never trained through. An op with
 *             clears_grads finds an input's dout uncleared when it is
 *             its first writer (cz_grad_take_fresh says so) and clears
 *             each part where it writes it, while in cache, or stores
 *             instead of adding: a separate clearing pass cost resnet50's
 *             batch-8 step a write of 1.1 GB.
 *   cost:     multiply-accumulates for one sample, counted as published
 *             GMACs count them: conv and linear only. Ops without
 *             weights leave it NULL (their cost is memory traffic). */
typedef struct cz_op {
    const char *name;
    cz_status (*infer)(cz_net *net, cz_node *node);
    cz_status (*forward)(cz_net *net, cz_node *node);
    void (*backward)(cz_net *net, cz_node *node);
    int64_t (*cost)(const cz_net *net, const cz_node *node);
    bool clears_grads;
} cz_op;

/* Attributes, one struct per op family. */
typedef struct cz_conv_attr {
    int out_channels, kernel_h, kernel_w, stride_h, stride_w;
    int pad_h, pad_w, dilation, groups;
    bool bias;
} cz_conv_attr;

typedef struct cz_pool_attr {
    int kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w;
    bool ceil_mode, count_include_pad;
} cz_pool_attr;

typedef union cz_attrs {
    cz_conv_attr conv;
    cz_pool_attr pool;
    struct { int out_h, out_w; } adaptive;
    struct { int out_features; bool bias; } linear;
    struct { float eps, momentum; } bn;
    struct { cz_act act; } act;
    struct { float p; } dropout;
    struct { int size; float alpha, beta, k; } lrn;
    struct { int groups; } shuffle;
    struct { int start, end; } slice;
    struct { float factor; } scale;
    struct { int radix, groups; } rsoftmax;
    struct { int splits; } split_sum;
} cz_attrs;

struct cz_node {
    const cz_op *op;
    char name[CZ_NAME_MAX]; /* full dotted module name, e.g. "layer1.0.conv1" */
    int id;
    int inputs[CZ_MAX_INPUTS];
    int n_inputs;
    cz_attrs attr;
    int ndim;     /* per-sample dims: 1 (features) or 3 (C, H, W) */
    int shape[3];
    int params[CZ_MAX_PARAMS]; /* indices into the net's table */
    int n_params;
    bool train_only; /* an auxiliary branch: skipped in eval mode */
    /* run time, batch N */
    cz_tensor out;  /* (N, shape...) */
    cz_tensor dout; /* same shape as out, during backward */
    bool dout_fresh; /* dout not cleared yet: for its first writer (cz_grad_take_fresh) */
    void *saved;    /* op-owned state kept for backward (argmax, masks...) */
    size_t saved_size;
    const char *kernel; /* the kernel its last forward ran (NULL: the op's own) */
    /* Data an op derives from its parameters and keeps across calls (the
     * Winograd-transformed or GEMM-packed weights), valid while cache_key
     * matches: a key includes net->param_version. */
    void *cache;
    size_t cache_size;
    uint64_t cache_key;
    /* The plan (cz_net_set_fusion), set by each forward: a conv (in
     * inference) or a BatchNorm (also in training) applies the BatchNorm
     * fuse_bn, the residual add fuse_add (of node fuse_res's output) and
     * the activation fuse_act (-1: none) too, and writes into node
     * fuse_dst's output; those nodes are `fused` and skipped, and backward
     * reads fuse_dst's gradient and writes fuse_res's. `inner`: the plan
     * neither writes this node's output nor keeps its gradient (a chain's
     * first node and all but its last). */
    int fuse_bn, fuse_add, fuse_res, fuse_act, fuse_dst;
    /* A conv in the inference plan also writes the global average pool
     * fuse_mean (-1: none) of its output, each plane's mean taken while
     * the plane is in cache; that pool is `fused` and skipped. */
    int fuse_mean;
    /* A 1x1 conv in the inference plan applies node fuse_pre (-1: none):
     * a BatchNorm chain (the BatchNorm and its activation) or an SE gate
     * (channel_mul) to its input as the GEMM packs it, and reads that
     * node's inputs; the node is `fused` and writes nothing. */
    int fuse_pre;
    bool fused, inner;
    /* The plan's shared buffers: this node's output starts arena_at floats
     * per sample into net->arena (CZ_NO_BUFFER: it has none, being fused
     * away); `borrowed` while out.data points there rather than owning. */
    size_t arena_at;
    bool borrowed;
};

#define CZ_NO_BUFFER ((size_t)-1)

struct cz_net {
    cz_node *nodes;
    int n_nodes, cap_nodes;
    cz_param *params;
    int n_params, cap_params;
    char scope[CZ_SCOPE_DEPTH][CZ_NAME_MAX];
    int scope_depth;
    int output;        /* the main output node (-1: the last node) */
    int aux[CZ_MAX_AUX]; /* outputs of auxiliary classifiers (training only) */
    int n_aux;
    bool in_aux;       /* building an auxiliary branch */
    cz_status status;  /* first builder error */
    char error[512];   /* its message, re-raised by cz_net_status */
    bool training;
    int batch;         /* N of the last forward */
    cz_rng rng;        /* initialisation, dropout */
    bool dropout_off;  /* dropout inactive even in training (cz_net_set_dropout) */
    bool input_grad;   /* whether backward computes d(loss)/d(input) */
    bool share_params; /* builders reuse parameters already declared */
    bool grad_ready;   /* the last forward kept what backward needs */
    bool shapes_only;  /* parameters have shapes but no storage (list, summary) */
    void *scratch;     /* shared by ops for transient work (im2col...) */
    size_t scratch_size;
    cz_sum_fn sync_sum; /* non-NULL: BN sums its statistics over replicas */
    void *sync_ctx;
    cz_grad_ready_fn grad_ready_fn; /* called as backward leaves each node */
    void *grad_ready_ctx;
    double *profile;   /* non-NULL: forward adds each node's seconds here */
    bool fusion;       /* forwards fuse BN, adds and activations (cz_net_set_fusion) */
    int planned;       /* the plan in place (net.c's PLAN_*), -1 none yet */
    int planned_below; /* its concats share buffers among nodes below this (see net.c) */
    bool planned_one;  /* made for a batch of one on the whole net: pools own their buffers */
    float *arena;      /* the plan's node outputs, by liveness (cz_node.arena_at) */
    size_t arena_cap;  /* floats allocated there */
    size_t arena_per_sample; /* floats the plan needs per sample */
    uint64_t param_version; /* bumped whenever parameters may change (see cz_node.cache) */
    /* The inference plan at a batch over one runs the trunk sample by
     * sample, a lane per thread (lanes.c). lanes_key: the weights'
     * version and kernel path the nodes' caches were last made for in
     * eval (0: unknown), so that lanes find them made and only read them. */
    struct cz_lane *lanes;
    int n_lanes;
    uint64_t lanes_key;
    bool lanes_off; /* run every node on the whole batch (tests compare) */
};

/* Runs node i's forward for net->batch samples under the plan in place
 * (the forward's step; the lanes' too). */
cz_status cz_net_run_node(cz_net *net, int i);

/* Lanes (lanes.c). cz_lanes_split: the first node that runs on the whole
 * batch after the trunk (the classifier's first fully connected layer,
 * or the node count), or 0 when the net has no trunk to run by samples
 * (no conv, or a fully connected layer before the last conv).
 * cz_lanes_forward: the input node and nodes 1 .. split - 1, one sample
 * at a time, leaving in the net's own outputs what later nodes read. */
int cz_lanes_split(const cz_net *net);
cz_status cz_lanes_forward(cz_net *net, const cz_tensor *input, int split);
void cz_lanes_free(cz_net *net);

/* Appends a node for `op` with the given inputs and attributes, runs its
 * infer, and returns its id (or -1, recording the error in the net). */
int cz_net_add_node(cz_net *net, const cz_op *op, const char *name, const int *inputs,
                    int n_inputs, const cz_attrs *attr);

/* For infer: declares a parameter "<node name>.<suffix>" of the given shape
 * and kind, appends it to node->params, returns its table index or -1. */
int cz_node_declare(cz_net *net, cz_node *node, const char *suffix, cz_param_kind kind,
                    int ndim, const int *shape);
/* For infer: declares BN's int64 num_batches_tracked. */
int cz_node_declare_count(cz_net *net, cz_node *node, const char *suffix);
/* For infer: records an error naming the node and returns its status. */
cz_status cz_node_fail(const cz_node *node, cz_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline cz_node *cz_node_in(cz_net *net, const cz_node *node, int i)
{
    return &net->nodes[node->inputs[i]];
}
static inline cz_param *cz_node_param(cz_net *net, const cz_node *node, int k)
{
    return &net->params[node->params[k]];
}
/* Whether backward must fill `in`'s dout: always, except for the net's
 * input when nobody asked for d(loss)/d(image). */
static inline bool cz_wants_grad(const cz_net *net, const cz_node *in)
{
    return in->id != CZ_INPUT || net->input_grad;
}
/* For a clears_grads backward about to write in's dout: true once if it
 * holds no sum yet (not even zeros), so the backward must clear or store;
 * false when it must add. */
static inline bool cz_grad_take_fresh(cz_node *in)
{
    bool fresh = in->dout_fresh;
    in->dout_fresh = false;
    return fresh;
}
/* Per-sample element count of a node's output. */
static inline size_t cz_node_numel(const cz_node *node)
{
    size_t n = 1;
    for (int i = 0; i < node->ndim; i++)
        n *= (size_t)node->shape[i];
    return n;
}
/* Gives the node `bytes` of saved state, growing it only when needed (so a
 * steady batch size allocates once; bytes it adds start at zero). Returns
 * NULL when out of memory, which the executor reports after the op
 * returns. */
void *cz_node_saved(cz_node *node, size_t bytes);

/* While on (per thread), cz_net_create makes shapes-only nets: builders
 * declare parameters without allocating or initialising them, so a model's
 * layers, parameter counts and MACs cost no memory (see cz_model_describe). */
void cz_net_set_shapes_only(bool on);

/* Gives the node `bytes` of cache (see cz_node.cache), 64-byte aligned,
 * keeping the old contents when big enough; NULL when out of memory. */
void *cz_node_cache(cz_node *node, size_t bytes);

/* An eval-mode BatchNorm folded as y = x scale[c] + shift[c], with
 * the numbers its own forward uses (C floats each). `made` records what
 * they were made from (zeroed before the first call): they are made again
 * only when the parameters may have changed or a training forward has
 * moved the running statistics since (a square root per channel on every
 * forward was 1% of mobilenet_v3's). */
typedef struct cz_bn_made {
    uint64_t version; /* 1 + net->param_version; 0: never made */
    int64_t batches;  /* the BatchNorm's num_batches_tracked */
} cz_bn_made;
void cz_batchnorm_eval_affine(cz_net *net, const cz_node *bn, float *scale, float *shift,
                              cz_bn_made *made);
/* Whether a conv can take a BatchNorm chain or an SE gate before it as
 * its prologue (fuse_pre): a 1x1, stride-1, unpadded conv of one group, which always
 * runs as a GEMM whose B is its input. */
bool cz_conv2d_takes_prologue(const cz_node *conv);

/* Elementwise loops built for AVX-512, AVX2 and baseline x86-64, the
 * best one chosen when the program loads (GCC's target_clones). The
 * clones do the same IEEE operations per element (C11 mode: no FMA
 * contraction), so every CPU gets the same bits. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define CZ_ELEMENTWISE __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CZ_ELEMENTWISE
#endif

/* The mean of a plane of n floats, as global average pooling takes it
 * (adaptive_avgpool.c): a conv that the plan gave a fuse_mean calls it. */
float cz_plane_mean(const float *x, size_t n);
/* mean[p] = the mean of plane p of `planes` planes of n floats, over the
 * threads: global average pooling, or a conv's fuse_mean pass. */
void cz_planes_mean(const float *x, size_t n, int planes, float *mean);
/* Applies an activation to n floats (in place when x == y). */
void cz_act_map(cz_act act, const float *x, float *y, size_t n);
/* The same as the activation op's forward: in training, the sigmoid-based
 * ones through libm's expf (what their backward differentiates). */
void cz_act_forward(const cz_net *net, cz_act act, const float *x, float *y, size_t n);
/* The activation op's backward over n <= CZ_ACT_CHUNK floats: dx = dy
 * f'(x), stored when fresh (as 0 + dy f'(x)), else added to dx; in place
 * when x == dx. */
enum { CZ_ACT_CHUNK = 4096 };
void cz_act_grad(cz_act act, const float *x, const float *dy, float *dx, bool fresh, size_t n);

/* Scratch memory shared by all nodes for work that does not outlive one
 * op call (forward, or backward, of one node at a time): grown only when a
 * node needs more, so a net holds one buffer the size of its largest need
 * rather than one per node. 64-byte aligned; NULL when out of memory. */
void *cz_net_scratch(cz_net *net, size_t bytes);

/* Whether this forward must prepare for a backward: in training, or when
 * the input's gradient was asked for (saliency, Grad-CAM). */
static inline bool cz_net_wants_backward(const cz_net *net)
{
    return net->training || net->input_grad;
}

/* The builder's ops (defined in src/ops/). */
extern const cz_op cz_op_input, cz_op_conv2d, cz_op_linear, cz_op_batchnorm, cz_op_maxpool,
    cz_op_avgpool, cz_op_adaptive_avgpool, cz_op_activation, cz_op_dropout, cz_op_lrn,
    cz_op_flatten, cz_op_concat, cz_op_add, cz_op_channel_mul, cz_op_channel_shuffle,
    cz_op_softmax, cz_op_slice, cz_op_scale, cz_op_adaptive_maxpool, cz_op_channel_pool,
    cz_op_spatial_mul, cz_op_rsoftmax, cz_op_split_sum, cz_op_stochastic_depth;

#endif
