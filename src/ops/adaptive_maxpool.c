/*
 * adaptive_maxpool.c - PyTorch's AdaptiveMaxPool2d to any output size, with
 * the windows of adaptive average pooling: output row i covers input rows
 * floor(i H / OH) .. ceil((i + 1) H / OH) - 1 (windows overlap when H is
 * not a multiple of OH and repeat rows when OH > H); columns likewise.
 * CBAM's channel attention uses it as a global max pool (1 x 1).
 *
 * As in maxpool.c: training forward keeps each maximum's in-plane index for
 * backward, a backward after an eval forward searches the window again,
 * ties go to the first maximum in row-major order and a NaN wins.
 */
#include <stdint.h>

#include "graph/net.h"
#include "ops/pool.h"

int cz_adaptive_maxpool(cz_net *net, int x, const char *name, int out_h, int out_w)
{
    cz_attrs attr = {.adaptive = {.out_h = out_h, .out_w = out_w}};
    return cz_net_add_node(net, &cz_op_adaptive_maxpool, name, &x, 1, &attr);
}

static cz_status adaptive_maxpool_infer(cz_net *net, cz_node *node)
{
    return cz_adaptive_infer(net, node);
}

/* AdaptiveMaxPool2d's window of output (oh, ow). */
static cz_window adaptive_window(const cz_node *node, int H, int W, int oh, int ow)
{
    int OH = node->shape[1], OW = node->shape[2];
    return (cz_window){.h0 = cz_adaptive_start(oh, H, OH), .h1 = cz_adaptive_end(oh, H, OH),
                       .w0 = cz_adaptive_start(ow, W, OW), .w1 = cz_adaptive_end(ow, W, OW)};
}

static cz_status adaptive_maxpool_forward(cz_net *net, cz_node *node)
{
    return cz_max_window_forward(net, node, adaptive_window);
}

static void adaptive_maxpool_backward(cz_net *net, cz_node *node)
{
    cz_max_window_backward(net, node, adaptive_window);
}

const cz_op cz_op_adaptive_maxpool = {
    .name = "adaptive_maxpool",
    .infer = adaptive_maxpool_infer,
    .forward = adaptive_maxpool_forward,
    .backward = adaptive_maxpool_backward,
    .clears_grads = true, /* cz_max_window_backward */
};
