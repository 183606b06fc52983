/*
 * adaptive_avgpool.c - PyTorch's AdaptiveAvgPool2d to any output size:
 * output row i averages input rows floor(i H / OH) .. ceil((i + 1) H / OH)
 * - 1 (windows may overlap when H is not a multiple of OH, and repeat rows
 * when OH > H); columns likewise.
 */
#include "graph/net.h"
#include "ops/pool.h"

int cz_adaptive_avgpool(cz_net *net, int x, const char *name, int out_h, int out_w)
{
    cz_attrs attr = {.adaptive = {.out_h = out_h, .out_w = out_w}};
    return cz_net_add_node(net, &cz_op_adaptive_avgpool, name, &x, 1, &attr);
}

static cz_status adaptive_avgpool_infer(cz_net *net, cz_node *node)
{
    return cz_adaptive_infer(net, node);
}

/* The mean of a plane of n floats: 16 interleaved partial sums in double,
 * added pairwise at the end. The order is the code's and the lanes
 * vectorise (a single running sum is one add per 4 cycles: global
 * pooling, the SE blocks' squeeze, took 9% of efficientnet_b0's time on
 * one thread); double keeps the one rounding at the end (float lanes put
 * efficientnet_b0's two SGD steps past test_train_step_torch's bound). */
CZ_ELEMENTWISE float cz_plane_mean(const float *x, size_t n)
{
    enum { LANES = 16 };
    double part[LANES] = {0};
    size_t full = n / LANES * LANES;
    for (size_t i = 0; i < full; i += LANES)
        for (int l = 0; l < LANES; l++)
            part[l] += x[i + l];
    for (size_t i = full; i < n; i++)
        part[i - full] += x[i];
    for (int w = LANES / 2; w >= 1; w /= 2)
        for (int l = 0; l < w; l++)
            part[l] += part[l + w];
    return (float)(part[0] / (double)n);
}

void cz_planes_mean(const float *x, size_t n, int planes, float *mean)
{
#pragma omp parallel for schedule(static)
    for (int p = 0; p < planes; p++)
        mean[p] = cz_plane_mean(x + (size_t)p * n, n);
}

/* x (N, C, H, W) -> y (N, C, OH, OW) */
static cz_status adaptive_avgpool_forward(cz_net *net, cz_node *node)
{
    const cz_node *in = cz_node_in(net, node, 0);
    int H = in->shape[1], W = in->shape[2], OH = node->shape[1], OW = node->shape[2];
    int planes = net->batch * in->shape[0];

    if (OH == 1 && OW == 1) {
        cz_planes_mean(in->out.data, (size_t)H * W, planes, node->out.data);
        return CZ_OK;
    }
    if (OH == H && OW == W) {
        /* Windows of one element (alexnet's and vgg16's pool at 224):
         * sum / 1 is 0 + x, kept as the same addition (-0 becomes +0)
         * without the window search, which took 0.37 ms at batch 8; one
         * thread below 64K floats, where a fork and join cost more. */
        size_t n = (size_t)planes * H * W;
        const float *x = in->out.data;
        float *y = node->out.data;
#pragma omp parallel for schedule(static) if (n >= 65536)
        for (size_t i = 0; i < n; i++)
            y[i] = 0.0f + x[i];
        return CZ_OK;
    }
#pragma omp parallel for schedule(static)
    for (int p = 0; p < planes; p++) {
        const float *x = in->out.data + (size_t)p * H * W;
        float *y = node->out.data + (size_t)p * OH * OW;
        for (int oh = 0; oh < OH; oh++) {
            int h0 = cz_adaptive_start(oh, H, OH), h1 = cz_adaptive_end(oh, H, OH);
            for (int ow = 0; ow < OW; ow++) {
                int w0 = cz_adaptive_start(ow, W, OW), w1 = cz_adaptive_end(ow, W, OW);
                float sum = 0.0f;
                for (int h = h0; h < h1; h++)
                    for (int w = w0; w < w1; w++)
                        sum += x[h * W + w];
                y[oh * OW + ow] = sum / (float)((h1 - h0) * (w1 - w0));
            }
        }
    }
    return CZ_OK;
}

/* dy (N, C, OH, OW) -> dx (N, C, H, W) += dy / window size over each window */
static void adaptive_avgpool_backward(cz_net *net, cz_node *node)
{
    cz_node *in = cz_node_in(net, node, 0);
    if (!cz_wants_grad(net, in))
        return;
    int H = in->shape[1], W = in->shape[2], OH = node->shape[1], OW = node->shape[2];
    int planes = net->batch * in->shape[0];

#pragma omp parallel for schedule(static)
    for (int p = 0; p < planes; p++) {
        const float *dy = node->dout.data + (size_t)p * OH * OW;
        float *dx = in->dout.data + (size_t)p * H * W;
        for (int oh = 0; oh < OH; oh++) {
            int h0 = cz_adaptive_start(oh, H, OH), h1 = cz_adaptive_end(oh, H, OH);
            for (int ow = 0; ow < OW; ow++) {
                int w0 = cz_adaptive_start(ow, W, OW), w1 = cz_adaptive_end(ow, W, OW);
                float g = dy[oh * OW + ow] / (float)((h1 - h0) * (w1 - w0));
                for (int h = h0; h < h1; h++)
                    for (int w = w0; w < w1; w++)
                        dx[h * W + w] += g;
            }
        }
    }
}

const cz_op cz_op_adaptive_avgpool = {
    .name = "adaptive_avgpool",
    .infer = adaptive_avgpool_infer,
    .forward = adaptive_avgpool_forward,
    .backward = adaptive_avgpool_backward,
};
