/*
 * lenet.c - LeNet-5 (LeCun et al. 1998) as the survey lists it, with ReLU
 * and max pooling in place of the paper's scaled tanh and subsampling:
 *
 *   C1 conv 6@5x5 -> S2 maxpool 2 -> C3 conv 16@5x5 -> S4 maxpool 2
 *   -> C5 linear 120 -> F6 linear 84 -> output linear `classes`
 *
 * On its 1x32x32 input (28x28 digits zero-padded) C3 leaves 16x5x5 = 400
 * features for C5. Names follow the usual PyTorch module: conv1, conv2,
 * fc1, fc2, fc3.
 */
#include "models.h"

static cz_net *lenet5(int classes, int channels, int height, int width, uint64_t seed)
{
    cz_net *net = cz_net_create(channels, height, width, seed);
    if (!net)
        return NULL;
    int x = cz_conv2d(net, CZ_INPUT, "conv1", (cz_conv_args){.out_channels = 6, .kernel = 5, .bias = true});
    x = cz_relu(net, x, "relu1");
    x = cz_maxpool(net, x, "pool1", (cz_pool_args){.kernel = 2});
    x = cz_conv2d(net, x, "conv2", (cz_conv_args){.out_channels = 16, .kernel = 5, .bias = true});
    x = cz_relu(net, x, "relu2");
    x = cz_maxpool(net, x, "pool2", (cz_pool_args){.kernel = 2});
    x = cz_flatten(net, x, "flatten");
    x = cz_linear(net, x, "fc1", 120, true);
    x = cz_relu(net, x, "relu3");
    x = cz_linear(net, x, "fc2", 84, true);
    x = cz_relu(net, x, "relu4");
    cz_linear(net, x, "fc3", classes, true);
    if (cz_net_status(net) != CZ_OK) {
        cz_net_free(net);
        return NULL;
    }
    return net;
}

static const cz_model_info models[] = {
    {"lenet5", "LeNet-5 (1998): two 5x5 convs, two max pools, three linear layers", 1, 32, 32,
     10, lenet5},
};

const cz_family cz_family_lenet = CZ_FAMILY(models);
