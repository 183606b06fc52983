/*
 * cnnzoo.h - the one public header of cnnzoo, a C11 library of the classic
 * convolutional networks (LeNet-5 ... EfficientNet) with training, inference
 * and PyTorch-compatible weights.
 *
 * Conventions
 *   - Every function that can fail returns cz_status; on failure a message
 *     naming the file, key, shape or argument is readable with
 *     cz_last_error() (per thread).
 *   - Tensors are float32, row-major, at most 4 dims; at the API boundary
 *     activations are N C H W.
 *   - A net is a DAG built by builder calls in topological order. Builders
 *     return the new node's id (>= 0) or -1; the first error sticks to the
 *     net (like cairo's) and is reported by cz_net_status(), so a model can
 *     be written as straight-line code and checked once at the end.
 *   - Parameters and buffers are named by dotted scopes exactly as the
 *     torchvision state_dict names them ("layer1.0.conv1.weight").
 */
#ifndef CNNZOO_H
#define CNNZOO_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- errors */

typedef enum cz_status {
    CZ_OK = 0,
    CZ_ERR_ARG,     /* a bad argument from the caller */
    CZ_ERR_SHAPE,   /* shapes that do not fit together */
    CZ_ERR_IO,      /* a file could not be opened, read or written */
    CZ_ERR_FORMAT,  /* a file's contents are malformed */
    CZ_ERR_NOMEM,   /* an allocation failed or exceeded the size limit */
    CZ_ERR_NUMERIC, /* NaN or Inf where a finite number was needed */
} cz_status;

/* The message of the last failure on this thread ("" if none). */
const char *cz_last_error(void);
/* Sets the message (printf format) and returns `status`, for one-line
 * error returns: `return cz_fail(CZ_ERR_IO, "%s: %s", path, strerror(e));`
 * The message may include the previous one (an argument cz_last_error()). */
cz_status cz_fail(cz_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void cz_clear_error(void);

/* ---------------------------------------------------------------- tensors */

#define CZ_MAX_DIMS 4

typedef struct cz_tensor {
    float *data;
    int ndim;
    int shape[CZ_MAX_DIMS];
} cz_tensor;

/* Number of elements (1 for a 0-dim tensor). */
size_t cz_tensor_numel(const cz_tensor *t);
/* Allocates zeroed storage for the given shape; frees what t held. */
cz_status cz_tensor_alloc(cz_tensor *t, int ndim, const int *shape);
void cz_tensor_free(cz_tensor *t);
/* Writes "[64, 3, 7, 7]" into buf. */
const char *cz_shape_str(const cz_tensor *t, char *buf, size_t size);

/* ---------------------------------------------------------------- rng */

/* xoshiro256** seeded through splitmix64: fast, and its whole state is four
 * words, so it can be saved in a checkpoint and resumed exactly. */
typedef struct cz_rng {
    uint64_t s[4];
} cz_rng;

void cz_rng_seed(cz_rng *rng, uint64_t seed);
uint64_t cz_rng_next(cz_rng *rng);
/* Uniform in [0, 1). */
double cz_rng_uniform(cz_rng *rng);
/* Standard normal (Box-Muller). */
double cz_rng_normal(cz_rng *rng);
/* Uniform integer in [0, n). */
uint64_t cz_rng_below(cz_rng *rng, uint64_t n);
/* Fisher-Yates shuffle of an index array. */
void cz_rng_shuffle(cz_rng *rng, int *idx, size_t n);

/* ---------------------------------------------------------------- threads */

/* Threads used by kernels (OpenMP); 0 means all cores. Results are
 * repeatable bit for bit for a fixed thread count. */
void cz_set_threads(int threads);
int cz_get_threads(void);

/* ---------------------------------------------------------------- nets */

typedef struct cz_net cz_net;

typedef enum cz_param_kind {
    CZ_PARAM_WEIGHT, /* learned, has a gradient */
    CZ_PARAM_BUFFER, /* state such as BN running statistics, no gradient */
} cz_param_kind;

typedef enum cz_dtype {
    CZ_F32,
    CZ_I64, /* only BN's num_batches_tracked, kept in `count` */
} cz_dtype;

/* One entry of the parameter/buffer table. */
typedef struct cz_param {
    char *name;       /* full state_dict key */
    cz_param_kind kind;
    cz_dtype dtype;
    cz_tensor value;  /* CZ_F32 entries */
    cz_tensor grad;   /* same shape as value; weights only */
    int64_t count;    /* CZ_I64 entries (0-dim) */
} cz_param;

/* A net whose input is one image of channels x height x width per sample.
 * `seed` drives parameter initialisation and dropout. */
cz_net *cz_net_create(int channels, int height, int width, uint64_t seed);
void cz_net_free(cz_net *net);
/* CZ_OK, or the first error any builder call met. */
cz_status cz_net_status(const cz_net *net);

/* Name scopes: every parameter declared inside gets "scope." prepended. */
void cz_scope_push(cz_net *net, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void cz_scope_pop(cz_net *net);

/* The input node's id. */
#define CZ_INPUT 0

/* Builder arguments. Zero means "the default" where a zero would be
 * meaningless: stride 0 -> 1, dilation 0 -> 1, groups 0 -> 1. A square
 * value (kernel, stride, padding) is used where the _h/_w pair is 0. */
typedef struct cz_conv_args {
    int out_channels;
    int kernel, kernel_h, kernel_w;
    int stride, stride_h, stride_w;
    int padding, padding_h, padding_w;
    int dilation;
    int groups;
    bool bias;
} cz_conv_args;

typedef struct cz_pool_args {
    int kernel, kernel_h, kernel_w;
    int stride, stride_h, stride_w; /* 0 -> kernel, as in PyTorch */
    int padding, padding_h, padding_w;
    bool ceil_mode;
    bool count_include_pad; /* avg pool; PyTorch's default is true, so set it */
} cz_pool_args;

typedef enum cz_act {
    CZ_ACT_RELU,
    CZ_ACT_RELU6,
    CZ_ACT_SIGMOID,
    CZ_ACT_TANH,
    CZ_ACT_SILU,
    CZ_ACT_HARDSWISH,
    CZ_ACT_HARDSIGMOID,
} cz_act;

/* Each builder: (net, input node[s], module name, arguments). The name is
 * the torchvision module name within the current scope ("conv1",
 * "features.0"); ops without parameters may pass NULL. */
int cz_conv2d(cz_net *net, int x, const char *name, cz_conv_args args);
int cz_linear(cz_net *net, int x, const char *name, int out_features, bool bias);
int cz_batchnorm(cz_net *net, int x, const char *name, float eps, float momentum);
int cz_maxpool(cz_net *net, int x, const char *name, cz_pool_args args);
int cz_avgpool(cz_net *net, int x, const char *name, cz_pool_args args);
int cz_adaptive_avgpool(cz_net *net, int x, const char *name, int out_h, int out_w);
int cz_activation(cz_net *net, int x, const char *name, cz_act act);
int cz_relu(cz_net *net, int x, const char *name);
int cz_dropout(cz_net *net, int x, const char *name, float p);
/* Stochastic depth ("row" mode, Huang et al. 2016): in training each
 * sample's x is dropped with probability p and otherwise scaled by
 * 1 / (1 - p); put before a residual add. Off with cz_net_set_dropout. */
int cz_stochastic_depth(cz_net *net, int x, const char *name, float p);
int cz_lrn(cz_net *net, int x, const char *name, int size, float alpha, float beta, float k);
int cz_flatten(cz_net *net, int x, const char *name);
int cz_concat(cz_net *net, const int *xs, int n, const char *name);
int cz_add(cz_net *net, int a, int b, const char *name);
/* x (N,C,H,W) times s (N,C,1,1) or (N,C) features, per channel:
 * squeeze-and-excitation. */
int cz_channel_mul(cz_net *net, int x, int scale, const char *name);
int cz_channel_shuffle(cz_net *net, int x, const char *name, int groups);
int cz_softmax(cz_net *net, int x, const char *name);
/* Channels [start, end) of x (C, H, W) or features [start, end) of a 1-D
 * input: torch.split / chunk (ShuffleNet-v2, Res2Net). */
int cz_slice(cz_net *net, int x, const char *name, int start, int end);
/* x * factor (Inception-ResNet's residual scaling). */
int cz_scale(cz_net *net, int x, const char *name, float factor);
/* Adaptive max pooling to out_h x out_w (CBAM's channel attention). */
int cz_adaptive_maxpool(cz_net *net, int x, const char *name, int out_h, int out_w);
/* (C, H, W) -> (2, H, W): the max and the mean over channels, in that
 * order (CBAM's spatial attention input). */
int cz_channel_pool(cz_net *net, int x, const char *name);
/* x (C, H, W) times s (1, H, W) at every channel (CBAM). */
int cz_spatial_mul(cz_net *net, int x, int s, const char *name);
/* ResNeSt's radix softmax: x (radix*C) features or (radix*C, 1, 1), seen as
 * (groups, radix, C/groups), softmax over radix; sigmoid when radix == 1. */
int cz_rsoftmax(cz_net *net, int x, const char *name, int radix, int groups);
/* x (splits*C, H, W) -> (C, H, W): the sum of its `splits` channel chunks. */
int cz_split_sum(cz_net *net, int x, const char *name, int splits);

/* Parameter sharing: while on, a builder whose parameter's full name is
 * already declared uses that parameter (same shape and kind, else an error)
 * instead of failing, so one module runs on several inputs: CBAM's channel
 * MLP on both the average- and the max-pooled vector. Gradients of all
 * uses add up, as autograd's do. Off by default. */
void cz_net_share_params(cz_net *net, bool on);

/* Auxiliary classifiers (GoogLeNet, Inception-v3): nodes built between
 * begin and end run only in training mode; `output` is the branch's
 * logits. Their parameters are part of the table, as in torchvision. */
#define CZ_MAX_AUX 4 /* auxiliary classifiers per net */
void cz_net_begin_aux(cz_net *net);
void cz_net_end_aux(cz_net *net, int output);
int cz_net_aux_count(const cz_net *net);
int cz_net_aux_output(const cz_net *net, int i);
/* Marks the main output; by default it is the last node built. */
void cz_net_set_output(cz_net *net, int node);

/* Number of nodes and the main output node. */
int cz_net_node_count(const cz_net *net);
int cz_net_output(const cz_net *net);
/* Per-sample output shape of a node (C[,H,W]); returns ndim. */
int cz_net_node_shape(const cz_net *net, int node, int shape[3]);
const char *cz_net_node_name(const cz_net *net, int node);
const char *cz_net_node_op(const cz_net *net, int node);
/* Multiply-accumulates of one node, and of the net's inference (auxiliary
 * branches excluded), for one sample: conv and linear only, the convention
 * of published GMACs. */
int64_t cz_net_node_macs(const cz_net *net, int node);
/* Learned scalars a node owns (BN buffers excluded, as PyTorch counts). */
int64_t cz_net_node_weight_numel(const cz_net *net, int node);
/* Whether a node belongs to an auxiliary (training-only) branch. */
bool cz_net_node_is_aux(const cz_net *net, int node);
int64_t cz_net_macs(const cz_net *net);

/* The parameter/buffer table in declaration order (the state_dict order). */
int cz_net_param_count(const cz_net *net);
/* Both count as a possible write: the caches derived from the weights
 * (packed for the GEMM, in inference and in training, and
 * Winograd-transformed) are rebuilt at the next forward. A pointer kept
 * and written later needs cz_net_params_changed before the next forward. */
cz_param *cz_net_param(cz_net *net, int i);
cz_param *cz_net_find_param(cz_net *net, const char *name);
void cz_net_params_changed(cz_net *net);
/* False for a shapes-only net (cz_model_describe), which holds no values. */
bool cz_net_has_weights(const cz_net *net);
/* Number of learned scalars (weights only, as torchvision counts them). */
int64_t cz_net_weight_numel(const cz_net *net);

/* Training mode: BN uses batch statistics and updates running ones,
 * dropout is active, and forward keeps what backward needs. */
void cz_net_set_training(cz_net *net, bool training);
bool cz_net_training(const cz_net *net);
cz_rng *cz_net_rng(cz_net *net);
/* Dropout is active in training mode unless switched off here (to compare
 * a training step with another framework's, whose random masks differ). */
void cz_net_set_dropout(cz_net *net, bool enabled);
/* Sets every BatchNorm layer's momentum, PyTorch's convention: the weight
 * of the new batch in the running statistics (0.1 by default; TensorFlow's
 * decay 0.99, which EfficientNet trained with, is 0.01 here). */
cz_status cz_net_set_bn_momentum(cz_net *net, float momentum);

/* Runs the net on input (N, C, H, W) matching the net's input shape.
 * *output (the main output) points into the net and stays valid until the
 * next forward. In training mode auxiliary branches run too; read them
 * with cz_net_node_output(net, cz_net_aux_output(net, i)). */
cz_status cz_net_forward(cz_net *net, const cz_tensor *input, const cz_tensor **output);
/* The output of any node after a forward (for features, Grad-CAM...). */
const cz_tensor *cz_net_node_output(const cz_net *net, int node);
/* Backpropagates d(loss)/d(main output) from the last forward; accumulates
 * into the parameters' grad tensors (zero them with cz_net_zero_grad). */
cz_status cz_net_backward(cz_net *net, const cz_tensor *doutput);
/* The same, also seeding each auxiliary output i (cz_net_aux_output) with
 * daux[i] after a training-mode forward: GoogLeNet's and Inception-v3's
 * auxiliary losses. */
cz_status cz_net_backward_aux(cz_net *net, const cz_tensor *doutput,
                              const cz_tensor *const *daux);
/* Data-parallel hooks. A sum over every process that trains a replica of
 * this net (MPI_Allreduce of n doubles, in place): with one set, BatchNorm
 * in training mode normalises with the statistics of the global batch and
 * backpropagates through them (PyTorch's SyncBatchNorm). NULL: per replica. */
typedef cz_status (*cz_sum_fn)(void *ctx, double *values, int n);
void cz_net_set_sync_stats(cz_net *net, cz_sum_fn sum, void *ctx);
/* Called as backward leaves each node, from the last node down to 1 (also
 * for nodes the gradient does not reach): once it leaves node i, the
 * gradients of parameters used only by nodes >= i are final, so their
 * reduction can start while backward goes on. */
typedef void (*cz_grad_ready_fn)(void *ctx, cz_net *net, int node);
void cz_net_set_grad_ready(cz_net *net, cz_grad_ready_fn fn, void *ctx);
/* The smallest node index that uses parameter i (its gradient is final once
 * backward has left that node), or -1 if none does. */
int cz_net_param_first_user(const cz_net *net, int param);

/* Profiling: with seconds (cz_net_node_count entries) set, every forward
 * adds each node's wall time to seconds[node]; NULL stops it. */
void cz_net_set_profile(cz_net *net, double *seconds);
/* The plans: with fusion on, a forward that no backward follows (eval
 * mode, no input gradient) folds each BatchNorm that reads a conv into the
 * conv, and the residual add and activation after it, into one pass over
 * the conv's output: the same arithmetic, bit for bit, without the extra
 * passes over memory. Node outputs that are never needed at the same time
 * share memory (at a batch of one, all but the pools'), so only the net's
 * output is kept after the forward:
 * cz_net_node_output of an inner node is then stale, or NULL for the
 * fused-away ones. At a batch over one the layers up to the classifier
 * run one sample at a time, each thread taking whole samples (the same
 * bits), so their maps stay in the caches. In training, each BatchNorm and the add and activation
 * after it run as one pass, forward and backward, with the same bits: the
 * maps between them and their gradients are not kept (NULL). Leave fusion
 * off (the default) to read intermediate feature maps and gradients. */
void cz_net_set_fusion(cz_net *net, bool on);
/* The kernel a node's last forward ran ("gemm-avx512", "winograd"...), or
 * its op's name when the op has a single kernel. */
const char *cz_net_node_kernel(const cz_net *net, int node);

/* Asks backward to compute d(loss)/d(input) too (saliency maps); off by
 * default since training never needs it. */
void cz_net_set_input_grad(cz_net *net, bool on);
/* d(loss)/d(input) of the last backward (NULL unless asked for). */
const cz_tensor *cz_net_input_grad(const cz_net *net);
/* d(loss)/d(output of node) of the last backward (N, shape...), for
 * Grad-CAM's gradient at a feature map; NULL for a node that backward
 * did not give a gradient buffer (the input without input_grad, an
 * auxiliary node outside training, or no backward yet). */
const cz_tensor *cz_net_node_grad(const cz_net *net, int node);
void cz_net_zero_grad(cz_net *net);

/* ---------------------------------------------------------------- loss */

/* Mean cross-entropy of logits (N, K) against integer labels, with label
 * smoothing eps as PyTorch's CrossEntropyLoss(label_smoothing=eps).
 * dlogits (may be NULL; else {0} or a tensor) is (re)allocated to (N, K)
 * unless it has that shape, and overwritten with d(loss)/d(logits). */
cz_status cz_cross_entropy(const cz_tensor *logits, const int *labels, float smoothing,
                           double *loss, cz_tensor *dlogits);

/* ---------------------------------------------------------------- io */

/* The ceiling on one allocation whose size comes from a file: a tensor
 * materialised from a .pth, an inflated zip entry, a decoded image, an
 * .npy array, a dataset's images, a piped file read whole. A header that
 * claims more fails with CZ_ERR_NOMEM naming the file, the key, the bytes
 * and the limit, before anything is allocated, so a corrupt or hostile
 * file cannot make cnnzoo ask for absurd memory. The default, 16 GiB, is
 * 30 times torchvision's VGG-19 checkpoint (548 MB, whose largest tensor
 * is 411 MB) and 300 times Fashion-MNIST's training images (47 MB), while
 * a product of dims or a zero-stride view from a corrupt file can claim
 * exabytes. One setting for the whole process (set it before loading);
 * 0 restores the default. The CLI takes it from CNNZOO_MAX_ALLOC (bytes,
 * or with K, M, G, T). */
#define CZ_MAX_ALLOC_DEFAULT ((size_t)16 << 30)
void cz_set_max_alloc(size_t bytes);
size_t cz_max_alloc(void);

/* safetensors: writes every entry of the net's table (F32, and I64 for
 * num_batches_tracked) with optional string metadata (pairs of key, value,
 * n_meta pairs). The write is atomic: temporary file, fsync, rename. */
cz_status cz_safetensors_save(cz_net *net, const char *path, const char *const *meta, int n_meta);
/* Loads a safetensors file into the net by name. Strict: missing,
 * unexpected and mis-shaped keys are an error listing them (PyTorch's
 * load_state_dict message). Non-strict skips missing and unexpected keys
 * but, like PyTorch, still refuses a shape mismatch. A failed load changes
 * nothing. A missing num_batches_tracked is accepted (old checkpoints);
 * F16, BF16, F64 and integer weights are converted to float. */
cz_status cz_safetensors_load(cz_net *net, const char *path, bool strict);

/* Loads a PyTorch .pth state_dict (torch.save's zip format, or the legacy
 * pre-1.6 format of torchvision's oldest downloads; a checkpoint dict
 * holding it under "state_dict"/"model" works too, and a "module." prefix
 * is dropped) by name, with cz_safetensors_load's checks. The unpickler
 * accepts only what a state_dict needs and never runs anything. Old
 * DenseNet keys ("norm.1") are matched as torchvision renames them. */
cz_status cz_pth_load(cz_net *net, const char *path, bool strict);
/* Loads weights in whichever format the file's first bytes say: a zip or
 * legacy .pth, else safetensors. */
cz_status cz_weights_load(cz_net *net, const char *path, bool strict);

/* IDX (MNIST / Fashion-MNIST), plain or gzip-compressed. */
typedef struct cz_idx {
    uint8_t *data;
    int ndim;
    int dims[4];
    size_t count; /* dims[0] */
} cz_idx;
cz_status cz_idx_read(const char *path, cz_idx *out);
void cz_idx_free(cz_idx *idx);

/* ---------------------------------------------------------------- models */

typedef struct cz_model_info {
    const char *name;
    const char *description;
    int channels, height, width; /* default input */
    int classes;                 /* default class count */
    cz_net *(*build)(int classes, int channels, int height, int width, uint64_t seed);
} cz_model_info;

int cz_model_count(void);
const cz_model_info *cz_model_at(int i);
const cz_model_info *cz_model_find(const char *name);
/* Builds a model by name; classes/height/width 0 take the defaults. NULL on
 * error (unknown name, input too small...), with cz_last_error() set. */
cz_net *cz_model_create(const char *name, int classes, int height, int width, uint64_t seed);
/* The same net with parameter shapes but no weights (nothing allocated or
 * initialised): for layers, parameter counts and MACs (`list`, `summary`).
 * It cannot run: cz_net_forward refuses it. */
cz_net *cz_model_describe(const char *name, int classes, int height, int width);

#ifdef __cplusplus
}
#endif
#endif
