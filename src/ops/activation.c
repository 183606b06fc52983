/*
 * activation.c - pointwise activations with PyTorch's formulas and
 * PyTorch's gradients at the kinks:
 *   relu        max(x, 0)                  grad 1 for x > 0, else 0
 *   relu6       min(max(x, 0), 6)          grad 1 on (0, 6), else 0
 *   sigmoid     1 / (1 + exp(-x))
 *   tanh        tanh(x)
 *   silu        x sigmoid(x)
 *   hardswish   x relu6(x + 3) / 6         grad 0 for x < -3, x / 3 + 1/2
 *                                          for -3 <= x <= 3, 1 above
 *   hardsigmoid relu6(x + 3) / 6           grad 1/6 on (-3, 3), else 0
 * Backward reads the op's input, which the executor keeps.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "graph/net.h"
#include "kernels/kernels.h"

#ifdef CZ_HAVE_X86
#include "kernels/x86/act_avx512.h"
#endif

static const char *act_name(cz_act act)
{
    switch (act) {
    case CZ_ACT_RELU: return "relu";
    case CZ_ACT_RELU6: return "relu6";
    case CZ_ACT_SIGMOID: return "sigmoid";
    case CZ_ACT_TANH: return "tanh";
    case CZ_ACT_SILU: return "silu";
    case CZ_ACT_HARDSWISH: return "hardswish";
    case CZ_ACT_HARDSIGMOID: return "hardsigmoid";
    }
    return NULL;
}

int cz_activation(cz_net *net, int x, const char *name, cz_act act)
{
    cz_attrs attr = {.act = {.act = act}};
    return cz_net_add_node(net, &cz_op_activation, name, &x, 1, &attr);
}

int cz_relu(cz_net *net, int x, const char *name)
{
    return cz_activation(net, x, name, CZ_ACT_RELU);
}

static cz_status activation_infer(cz_net *net, cz_node *node)
{
    const cz_node *in = cz_node_in(net, node, 0);
    if (!act_name(node->attr.act.act))
        return cz_node_fail(node, CZ_ERR_ARG, "unknown activation kind %d",
                            (int)node->attr.act.act);
    node->ndim = in->ndim;
    for (int i = 0; i < in->ndim; i++)
        node->shape[i] = in->shape[i];
    return CZ_OK;
}

/* exp(x) for the sigmoid, in arithmetic a loop vectorises (expf stays a
 * libm call per element, which made SiLU networks spend most of their
 * time in it): x = n ln2 + r with |r| <= ln2 / 2, e^r by Cephes' degree-6
 * polynomial, 2^n built in the exponent bits. Within 2 ulp of expf on
 * [-87.3, 88.3]; x is clamped there (the sigmoid only needs it finite),
 * and a NaN stays NaN. */
static inline float exp_clamped(float x)
{
    /* Clamped, and a NaN replaced by 0 (converting it to int is undefined)
     * until the end. */
    float c = x < -87.3f ? -87.3f : x > 88.3f ? 88.3f : x == x ? x : 0.0f;
    float n = (c * 1.44269504089f + 12582912.0f) - 12582912.0f; /* round to nearest */
    float r = c - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    uint32_t bits = (uint32_t)((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return x == x ? p * scale : x;
}

static inline float sigmoid(float x) { return 1.0f / (1.0f + exp_clamped(-x)); }

/* With libm's expf: training's forward and backward. Two training steps
 * of EfficientNet are chaotic enough that the approximation's extra ulp
 * moves the weights as far from float64 as PyTorch's own float32 noise
 * (tests/conformance/test_train_step_torch.c measures against that
 * noise), and training is not where the sigmoid's time matters most. */
static inline float sigmoid_libm(float x) { return 1.0f / (1.0f + expf(-x)); }

/* The sigmoid-based activations with libm's expf, scalar. */
static void act_map_libm(cz_act act, const float *x, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = act == CZ_ACT_SIGMOID ? sigmoid_libm(x[i]) : x[i] * sigmoid_libm(x[i]);
}
/* Comparisons, not fminf/fmaxf: those stay libm calls unless the compiler
 * may ignore NaN, and then nothing vectorises. A NaN passes through. */
static inline float relu6(float x) { return x < 0.0f ? 0.0f : x > 6.0f ? 6.0f : x; }

/* Hardswish and hardsigmoid multiply by 1/6 where PyTorch divides by 6
 * (at most an ulp apart): without the division the AVX-512 sweep maps
 * 20.1 floats/ns, not 17.4 (ReLU's: 26.5). */
#define SIXTH (1.0f / 6.0f)

/* The switch sits outside the loops so that each loop vectorises. NaN
 * passes through ReLU and ReLU6, as in PyTorch. */
CZ_ELEMENTWISE static void act_map_c(cz_act act, const float *x, float *y, size_t n)
{
    switch (act) {
    case CZ_ACT_RELU:
        for (size_t i = 0; i < n; i++)
            y[i] = x[i] > 0.0f ? x[i] : (x[i] != x[i] ? x[i] : 0.0f);
        break;
    case CZ_ACT_RELU6:
        for (size_t i = 0; i < n; i++)
            y[i] = relu6(x[i]);
        break;
    case CZ_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++)
            y[i] = sigmoid(x[i]);
        break;
    case CZ_ACT_TANH:
        for (size_t i = 0; i < n; i++)
            y[i] = tanhf(x[i]);
        break;
    case CZ_ACT_SILU:
        for (size_t i = 0; i < n; i++)
            y[i] = x[i] * sigmoid(x[i]);
        break;
    case CZ_ACT_HARDSWISH:
        for (size_t i = 0; i < n; i++)
            y[i] = x[i] * relu6(x[i] + 3.0f) * SIXTH;
        break;
    case CZ_ACT_HARDSIGMOID:
        for (size_t i = 0; i < n; i++)
            y[i] = relu6(x[i] + 3.0f) * SIXTH;
        break;
    }
}

#ifdef CZ_HAVE_X86
/* On the AVX-512 path, in zmm registers (act_avx512.h): the sigmoid and
 * SiLU with FMAs and one vector division instead of libm's expf and a
 * scalar division (efficientnet_b0 b1 t1 13.3 -> 11.8 ms, later 1.46x
 * faster still). A conv's fused epilogue calls
 * cz_act_map too, so fused and separate ops agree bit for bit on each
 * path. */
__attribute__((target("avx512f"), always_inline)) static inline void
act_sweep(const int act, const float *x, float *y, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i, cz_act16(act, _mm512_loadu_ps(x + i)));
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1u);
        _mm512_mask_storeu_ps(y + i, m, cz_act16(act, _mm512_maskz_loadu_ps(m, x + i)));
    }
}

__attribute__((target("avx512f"))) static void act_map_avx512(cz_act act, const float *x,
                                                               float *y, size_t n)
{
#define SWEEP(A) act_sweep(A, x, y, n)
    CZ_ACT16_SWITCH((int)act, SWEEP)
#undef SWEEP
}
#endif

void cz_act_map(cz_act act, const float *x, float *y, size_t n)
{
#ifdef CZ_HAVE_X86
    if (cz_kernels_current() == CZ_KPATH_AVX512 && cz_act16_has((int)act)) {
        act_map_avx512(act, x, y, n);
        return;
    }
#endif
    act_map_c(act, x, y, n);
}

void cz_act_forward(const cz_net *net, cz_act act, const float *x, float *y, size_t n)
{
    if (net->training && (act == CZ_ACT_SIGMOID || act == CZ_ACT_SILU))
        act_map_libm(act, x, y, n);
    else
        cz_act_map(act, x, y, n);
}

/* x (N, ...) -> y (N, ...), in chunks over the threads. */
static cz_status activation_forward(cz_net *net, cz_node *node)
{
    enum { CHUNK = 4096 };
    const float *x = cz_node_in(net, node, 0)->out.data;
    float *y = node->out.data;
    size_t n = cz_node_numel(node) * (size_t)net->batch;
    long chunks = (long)((n + CHUNK - 1) / CHUNK);
    /* One chunk (an SE block's 1x1 maps) on this thread: a fork and join
     * costs more than the chunk. */
#pragma omp parallel for schedule(static) if (chunks > 1)
    for (long c = 0; c < chunks; c++) {
        size_t lo = (size_t)c * CHUNK, len = n - lo < CHUNK ? n - lo : CHUNK;
        cz_act_forward(net, node->attr.act.act, x + lo, y + lo, len);
    }
    return CZ_OK;
}

/* dx = base + dy f'(x) over n elements (base is dx itself to add to it);
 * the switch outside the loops, as in cz_act_map, so that the piecewise
 * ones vectorise (inside, ReLU's backward took 13x its forward's time in
 * a resnet50 training step). The sigmoid-based ones use libm's expf, as
 * training's forward does. */
CZ_ELEMENTWISE static void act_grad_add(cz_act act, const float *x, const float *dy,
                                        const float *base, float *dx, size_t n)
{
    switch (act) {
    case CZ_ACT_RELU:
        for (size_t i = 0; i < n; i++)
            dx[i] = base[i] + dy[i] * (x[i] > 0.0f ? 1.0f : 0.0f);
        break;
    case CZ_ACT_RELU6:
        for (size_t i = 0; i < n; i++)
            dx[i] = base[i] + dy[i] * (x[i] > 0.0f && x[i] < 6.0f ? 1.0f : 0.0f);
        break;
    case CZ_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++) {
            float s = sigmoid_libm(x[i]);
            dx[i] = base[i] + dy[i] * (s * (1.0f - s));
        }
        break;
    case CZ_ACT_TANH:
        for (size_t i = 0; i < n; i++) {
            float t = tanhf(x[i]);
            dx[i] = base[i] + dy[i] * (1.0f - t * t);
        }
        break;
    case CZ_ACT_SILU:
        for (size_t i = 0; i < n; i++) {
            float s = sigmoid_libm(x[i]);
            dx[i] = base[i] + dy[i] * (s * (1.0f + x[i] * (1.0f - s)));
        }
        break;
    case CZ_ACT_HARDSWISH:
        for (size_t i = 0; i < n; i++) {
            float v = x[i];
            dx[i] = base[i] + dy[i] * (v < -3.0f ? 0.0f : v <= 3.0f ? v / 3.0f + 0.5f : 1.0f);
        }
        break;
    case CZ_ACT_HARDSIGMOID:
        for (size_t i = 0; i < n; i++)
            dx[i] = base[i] + dy[i] * (x[i] > -3.0f && x[i] < 3.0f ? 1.0f / 6.0f : 0.0f);
        break;
    }
}

/* What a fresh gradient adds to: storing 0 + g rather than clearing dx
 * first and adding saves a write and a read of it (the clearing memsets
 * were 2-3% of a resnet50 training step), with the same bits. */
static const float zeros[CZ_ACT_CHUNK];

void cz_act_grad(cz_act act, const float *x, const float *dy, float *dx, bool fresh, size_t n)
{
    act_grad_add(act, x, dy, fresh ? zeros : dx, dx, n);
}

/* dy (N, ...) -> dx (N, ...) += dy f'(x), in chunks over the threads. */
static void activation_backward(cz_net *net, cz_node *node)
{
    cz_node *in = cz_node_in(net, node, 0);
    if (!cz_wants_grad(net, in))
        return;
    const float *x = in->out.data, *dy = node->dout.data;
    float *dx = in->dout.data;
    size_t n = cz_node_numel(node) * (size_t)net->batch;
    long chunks = (long)((n + CZ_ACT_CHUNK - 1) / CZ_ACT_CHUNK);
    bool fresh = cz_grad_take_fresh(in);
#pragma omp parallel for schedule(static)
    for (long c = 0; c < chunks; c++) {
        size_t lo = (size_t)c * CZ_ACT_CHUNK, len = n - lo < CZ_ACT_CHUNK ? n - lo : CZ_ACT_CHUNK;
        cz_act_grad(node->attr.act.act, x + lo, dy + lo, dx + lo, fresh, len);
    }
}

const cz_op cz_op_activation = {
    .name = "activation",
    .infer = activation_infer,
    .forward = activation_forward,
    .backward = activation_backward,
    .clears_grads = true,
};
