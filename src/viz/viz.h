/*
 * viz.h - what a trained net "sees", as numbers that `cnnzoo viz` draws:
 *
 *   saliency   Simonyan et al. 2014: |d score_c / d pixel|, max over the
 *              colour channels.
 *   Grad-CAM   Selvaraju et al. 2017: ReLU(sum_k alpha_k A^k) at a layer,
 *              alpha_k = the spatial mean of d score_c / d A^k.
 *   occlusion  Zeiler & Fergus 2014 (fig. 7): the class probability while
 *              a grey square covers each part of the image, batched.
 *   deconvnet  Zeiler & Fergus 2014: one activation projected back to the
 *              pixels through unpooling with the max-pool switches, ReLU
 *              and the transposed convolutions.
 *
 * Every function takes a net in eval mode with weights and one image x
 * (1, C, H, W), already normalised as the net expects; the "score" of a
 * class is its logit, the net's main output (N, K). They run forward (and
 * backward) passes, so node outputs and gradients read earlier are
 * overwritten; the net's parameter gradients are left zeroed.
 */
#ifndef CZ_VIZ_H
#define CZ_VIZ_H

#include "cnnzoo.h"

/* Softmax of the net's logits for x (1, C, H, W) into prob (K entries,
 * double); *classes (may be NULL) receives K. */
cz_status cz_viz_predict(cz_net *net, const cz_tensor *x, double *prob, int max_classes,
                         int *classes);

/* The class count K of the net's output, or -1 (error set) when the
 * output is not one logit vector per sample. */
int cz_viz_classes(const cz_net *net);

/* Saliency: map (H x W) = max over channels of |d logit_cls / d x|; grad
 * (C x H x W, may be NULL) receives the signed gradient itself. */
cz_status cz_viz_saliency(cz_net *net, const cz_tensor *x, int cls, float *map, float *grad);

/* Grad-CAM at `layer` (a node with a (C, h, w) output): cam (h x w) and
 * alpha (C entries, may be NULL) as the paper defines them. */
cz_status cz_viz_gradcam(cz_net *net, const cz_tensor *x, int layer, int cls, float *cam,
                         float *alpha);

/* The default Grad-CAM layer, "the last conv block": the last node before
 * the classifier with a (C, h, w) output of more than one pixel that is
 * not a pooling node (pooling only thins the map out). -1 if none. */
int cz_viz_default_cam_layer(const cz_net *net);

/* PyTorch's F.interpolate(mode="bilinear", align_corners=False) of one
 * plane src (h x w) to dst (H x W). */
void cz_viz_upsample(const float *src, int h, int w, float *dst, int H, int W);

/* Occlusion: squares of size x size pixels set to `fill` (per channel,
 * in the normalised space: 0 is the dataset's mean, a neutral grey),
 * centred at (i * stride, j * stride) for every i < ceil(H / stride),
 * j < ceil(W / stride) and clipped to the image; the occluded images run
 * `batch` at a time. prob (grid_h x grid_w) is the probability of class
 * cls with each square in place, top1 the top-1 class there; pixel
 * (H x W) the mean of prob over the squares covering each pixel. */
typedef struct cz_occlusion {
    int size, stride;
    int grid_h, grid_w;
    float *prob;
    int *top1;
    float *pixel;
} cz_occlusion;
cz_status cz_viz_occlusion(cz_net *net, const cz_tensor *x, int cls, int size, int stride,
                           const float *fill, int batch, cz_occlusion *out);
void cz_occlusion_free(cz_occlusion *o);
/* x with one square (top-left y0, x0, clipped) set to fill, into dst. */
void cz_viz_occlude(const cz_tensor *x, int y0, int x0, int size, const float *fill, float *dst);

/* A box of input pixels [y0, y1) x [x0, x1). */
typedef struct cz_box {
    int y0, y1, x0, x1;
} cz_box;

/* The receptive field of output pixel (y, x) of `layer` in the input,
 * clipped to the image: followed back through convs and pools (kernel,
 * stride, padding, dilation); nodes that keep the spatial size pass it
 * through, anything else (global pooling, a flatten) widens it to the
 * whole image. */
cz_box cz_viz_receptive_field(const cz_net *net, int layer, int y, int x);

/* One activation to project: channel c at (y, x) of the layer. */
typedef struct cz_deconv_unit {
    int channel, y, x;
    float value;
    cz_box field; /* its receptive field */
} cz_deconv_unit;

/* The k strongest activations of `layer` (a (C, h, w) output) for x:
 * with channel < 0 the strongest of each of the k channels whose maxima
 * are largest, else the k strongest positions of that channel; largest
 * first. Returns how many were found (<= k) in *found. */
cz_status cz_viz_top_units(cz_net *net, const cz_tensor *x, int layer, int channel, int k,
                           cz_deconv_unit *units, int *found);

/* Zeiler & Fergus's deconvnet: each unit's activation alone, all else
 * zero, projected back to pixel space, in one batched pass: recon
 * (n x C x H x W). Walking the nodes from `layer` down, a ReLU applies
 * ReLU to the signal, a max pool unpools it to the switches its forward
 * recorded, a convolution applies its transposed convolution (the same
 * filters, no bias), any other op its gradient. Fails naming a node
 * with no backward. */
cz_status cz_viz_deconv(cz_net *net, const cz_tensor *x, int layer, const cz_deconv_unit *units,
                        int n, float *recon);

#endif
