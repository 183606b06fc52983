/*
 * test_viz.c - the numbers behind `cnnzoo viz` on the shipped LeNet-5 and
 * a few Fashion-MNIST test images (tools/viz_reference.py writes them,
 * with PyTorch's answers, into $CZ_VIZ_FIXTURES):
 *
 *   - saliency and Grad-CAM (every (C, H, W) layer, top-1 and second
 *     class) match PyTorch within 1e-4 of the map's largest value;
 *   - hiding (in black, the background) the region Grad-CAM marks lowers
 *     the class probability more than hiding the same number of pixels
 *     in the emptiest corner, on all the images but at most one, and the
 *     batched occlusion map equals one forward per occluded image;
 *   - deconvnet reconstructions fill the input's size, are zero outside
 *     the unit's receptive field and not inside it, and from the first
 *     conv are the unit's filter times its activation.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "io/npy.h"
#include "testutil.h"
#include "viz/colormap.h"
#include "viz/viz.h"

#define ENV "CZ_VIZ_FIXTURES"
#define REL_TOL 1e-4
#define SIZE 32

static cz_net *net;
static int cases_checked, occlusion_wins, maps_checked, maps_nonzero;

static int find_node(const char *name)
{
    for (int i = 1; i < cz_net_node_count(net); i++)
        if (strcmp(cz_net_node_name(net, i), name) == 0)
            return i;
    fail_msg("lenet5 has no node %s", name);
    return -1;
}

static void load_case_input(const char *name, cz_tensor *x)
{
    char file[256];
    snprintf(file, sizeof file, "%s/input.npy", name);
    tu_check(cz_npy_read_tensor(tu_fixture(ENV, file), x));
    assert_int_equal(x->ndim, 4);
    assert_int_equal(x->shape[2], SIZE);
}

/* got must match the .npy within REL_TOL of the reference's largest |v|. */
static void expect_matches(const float *got, const char *name, const char *file, size_t n)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", name, file);
    cz_tensor want = {0};
    tu_check(cz_npy_read_tensor(tu_fixture(ENV, path), &want));
    assert_int_equal(cz_tensor_numel(&want), n);
    double scale = 0;
    for (size_t i = 0; i < n; i++)
        scale = fmax(scale, fabs(want.data[i]));
    /* A class's Grad-CAM can be all zero at a layer (ReLU of a negative
     * sum): then ours must be zero too. */
    tu_expect_close_f(got, want.data, n, scale > 0 ? REL_TOL * scale : 1e-12, REL_TOL, path);
    maps_nonzero += scale > 0;
    maps_checked++;
    cz_tensor_free(&want);
}

static void check_maps(const char *name, const cz_tensor *x, int cls)
{
    static const char *LAYERS[] = {"conv1", "relu1", "pool1", "conv2", "relu2", "pool2"};
    float map[SIZE * SIZE], cam[6 * 28 * 28];
    char file[64];
    tu_check(cz_viz_saliency(net, x, cls, map, NULL));
    snprintf(file, sizeof file, "saliency_%d.npy", cls);
    expect_matches(map, name, file, SIZE * SIZE);
    for (size_t l = 0; l < sizeof LAYERS / sizeof LAYERS[0]; l++) {
        int layer = find_node(LAYERS[l]), shape[3];
        cz_net_node_shape(net, layer, shape);
        tu_check(cz_viz_gradcam(net, x, layer, cls, cam, NULL));
        snprintf(file, sizeof file, "gradcam_%s_%d.npy", LAYERS[l], cls);
        expect_matches(cam, name, file, (size_t)shape[1] * shape[2]);
    }
}

/* Black, the background of Fashion-MNIST (and of LeNet's zero padding),
 * after normalisation. */
#define BLACK ((0.0f - 0.2860f) / 0.3530f)

/* The probability of cls with the pixels where hide[i] set to black. */
static double hidden_prob(const cz_tensor *x, const bool *hide, int cls)
{
    cz_tensor y = {0};
    int shape[4] = {1, 1, SIZE, SIZE};
    tu_check(cz_tensor_alloc(&y, 4, shape));
    for (int i = 0; i < SIZE * SIZE; i++)
        y.data[i] = hide[i] ? BLACK : x->data[i];
    double prob[10];
    tu_check(cz_viz_predict(net, &y, prob, 10, NULL));
    cz_tensor_free(&y);
    return prob[cls];
}

static void check_occlusion(const cz_tensor *x, int cls)
{
    /* The region Grad-CAM marks (at least half its peak, upsampled to the
     * input) hidden, against as many pixels hidden in the top-left
     * corner. */
    float cam[10 * 10], up[SIZE * SIZE], fill[1] = {0.0f};
    int layer = cz_viz_default_cam_layer(net);
    assert_string_equal(cz_net_node_name(net, layer), "relu2");
    tu_check(cz_viz_gradcam(net, x, layer, cls, cam, NULL));
    cz_viz_upsample(cam, 10, 10, up, SIZE, SIZE);
    float peak = 0;
    for (int i = 0; i < SIZE * SIZE; i++)
        peak = fmaxf(peak, up[i]);
    assert_true(peak > 0);
    bool marked[SIZE * SIZE], corner[SIZE * SIZE];
    int count = 0;
    for (int i = 0; i < SIZE * SIZE; i++)
        count += marked[i] = up[i] >= 0.5f * peak;
    /* Of the four corners, the one with the least ink (the garment
     * reaches into some): its mean pixel in [0, 1] is reported. */
    int side = (int)ceil(sqrt(count)), best = 0;
    double ink[4] = {0};
    for (int k = 0; k < 4; k++)
        for (int y = 0; y < side; y++)
            for (int i = 0; i < side; i++) {
                int yy = k / 2 ? SIZE - 1 - y : y, xx = k % 2 ? SIZE - 1 - i : i;
                ink[k] += (x->data[yy * SIZE + xx] * 0.3530 + 0.2860) / (side * side);
            }
    for (int k = 1; k < 4; k++)
        best = ink[k] < ink[best] ? k : best;
    for (int i = 0; i < SIZE * SIZE; i++) {
        int y = best / 2 ? SIZE - 1 - i / SIZE : i / SIZE, xx = best % 2 ? SIZE - 1 - i % SIZE : i % SIZE;
        corner[i] = y < side && xx < side;
    }
    double p_marked = hidden_prob(x, marked, cls), p_corner = hidden_prob(x, corner, cls);
    print_message("  class %d: 1 - p = %.3g with the %d pixels Grad-CAM marks hidden, %.3g "
                  "with the %dx%d corner %d (mean pixel %.3f) hidden\n", cls, 1 - p_marked, count,
                  1 - p_corner, side, side, best, ink[best]);
    occlusion_wins += p_marked < p_corner;

    /* The batched occlusion map against one forward per occluded image. */
    cz_occlusion o = {0};
    tu_check(cz_viz_occlusion(net, x, cls, 8, 2, fill, 7, &o));
    assert_int_equal(o.grid_h, 16);
    assert_int_equal(o.grid_w, 16);
    cz_tensor one = {0};
    int shape[4] = {1, 1, SIZE, SIZE};
    tu_check(cz_tensor_alloc(&one, 4, shape));
    for (int g = 0; g < o.grid_h * o.grid_w; g += 37) {
        int gy = g / o.grid_w, gx = g % o.grid_w;
        cz_viz_occlude(x, gy * 2 - 4, gx * 2 - 4, 8, fill, one.data);
        double prob[10];
        tu_check(cz_viz_predict(net, &one, prob, 10, NULL));
        assert_float_equal(o.prob[g], prob[cls], 1e-6);
    }
    cz_tensor_free(&one);
    cz_occlusion_free(&o);
}

static void check_deconv(const cz_tensor *x)
{
    static const char *LAYERS[] = {"conv1", "pool1", "relu2", "pool2"};
    cz_deconv_unit units[4];
    float *recon = malloc(4 * SIZE * SIZE * sizeof *recon);
    assert_non_null(recon);
    for (size_t l = 0; l < sizeof LAYERS / sizeof LAYERS[0]; l++) {
        int layer = find_node(LAYERS[l]), n = 0;
        tu_check(cz_viz_top_units(net, x, layer, -1, 4, units, &n));
        assert_int_equal(n, 4);
        tu_check(cz_viz_deconv(net, x, layer, units, n, recon));
        for (int u = 0; u < n; u++) {
            const cz_box *b = &units[u].field;
            const float *r = recon + (size_t)u * SIZE * SIZE;
            int inside = 0, outside = 0;
            for (int y = 0; y < SIZE; y++)
                for (int i = 0; i < SIZE; i++) {
                    bool in = y >= b->y0 && y < b->y1 && i >= b->x0 && i < b->x1;
                    inside += in && r[y * SIZE + i] != 0.0f;
                    outside += !in && r[y * SIZE + i] != 0.0f;
                }
            assert_int_equal(outside, 0);
            assert_true(inside > 0);
        }
    }
    /* relu2 (stride 2 in the input, receptive field 14): unit (y, x)
     * sees rows [2y, 2y + 14); pool2's receptive field is 16 at stride 4,
     * clipped at the border. */
    cz_box b = cz_viz_receptive_field(net, find_node("relu2"), 3, 5);
    assert_int_equal(b.y0, 6);
    assert_int_equal(b.y1, 20);
    assert_int_equal(b.x0, 10);
    assert_int_equal(b.x1, 24);
    b = cz_viz_receptive_field(net, find_node("pool2"), 4, 0);
    assert_int_equal(b.y0, 16);
    assert_int_equal(b.y1, 32);
    assert_int_equal(b.x0, 0);
    assert_int_equal(b.x1, 16);
    /* From conv1 the projection is the filter scaled by the activation. */
    int conv1 = find_node("conv1"), n = 0;
    tu_check(cz_viz_top_units(net, x, conv1, 2, 1, units, &n));
    tu_check(cz_viz_deconv(net, x, conv1, units, 1, recon));
    const float *w = cz_net_find_param(net, "conv1.weight")->value.data + 2 * 25;
    float want[SIZE * SIZE] = {0};
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 5; j++)
            want[(units[0].y + i) * SIZE + units[0].x + j] = units[0].value * w[i * 5 + j];
    tu_expect_close_f(recon, want, SIZE * SIZE, 1e-6, 1e-5, "conv1 deconv");
    free(recon);
}

static void run_case(char **words, int n)
{
    assert_int_equal(n, 4);
    const char *name = words[0];
    int label = atoi(words[1]), top1 = atoi(words[2]), second = atoi(words[3]);
    cz_tensor x = {0};
    load_case_input(name, &x);
    print_message("%s: label %d, top-1 %d, second %d\n", name, label, top1, second);
    check_maps(name, &x, top1);
    check_maps(name, &x, second);
    check_occlusion(&x, top1);
    check_deconv(&x);
    cz_tensor_free(&x);
    cases_checked++;
}

static void test_lenet5_fashion(void **state)
{
    (void)state;
    const char *cases = tu_fixture(ENV, "cases.txt");
    net = cz_model_create("lenet5", 0, 0, 0, 0);
    assert_non_null(net);
    tu_check(cz_weights_load(net, tu_fixture(ENV, "weights.safetensors"), true));
    cz_net_set_training(net, false);
    tu_for_each_line(cases, NULL, run_case);
    assert_true(cases_checked >= 4);
    print_message("%d maps matched PyTorch, %d of them not all zero\n", maps_checked,
                  maps_nonzero);
    assert_true(maps_nonzero >= maps_checked * 3 / 4);
    /* The region Grad-CAM marks matters more than a corner on all images
     * but at most one: on the shipped weights the bag (test0018) is the
     * exception, its probability rising from 0.99975 to 0.99984 when the
     * 132 pixels Grad-CAM marks go black. */
    print_message("Grad-CAM's region beat the corner on %d of %d images\n", occlusion_wins,
                  cases_checked);
    assert_true(occlusion_wins >= cases_checked - 1);
    cz_net_free(net);
    net = NULL;
}

static void test_bad_arguments(void **state)
{
    (void)state;
    cz_net *n = cz_model_create("lenet5", 0, 0, 0, 0);
    assert_non_null(n);
    cz_net_set_training(n, false);
    cz_tensor x = {0};
    cz_rng rng;
    cz_rng_seed(&rng, 7);
    tu_tensor_random(&x, &rng, 1, 1, SIZE, SIZE);
    float map[SIZE * SIZE], fill[1] = {0};
    tu_expect_error(cz_viz_saliency(n, &x, 10, map, NULL), CZ_ERR_ARG, "class 10", "10 classes");
    int fc1 = -1;
    for (int i = 1; i < cz_net_node_count(n); i++)
        fc1 = strcmp(cz_net_node_name(n, i), "fc1") == 0 ? i : fc1;
    tu_expect_error(cz_viz_gradcam(n, &x, fc1, 0, map, NULL), CZ_ERR_ARG, "(C, H, W)", NULL);
    cz_occlusion o = {0};
    tu_expect_error(cz_viz_occlusion(n, &x, 0, 0, 2, fill, 8, &o), CZ_ERR_ARG, "size 0", NULL);
    cz_tensor_free(&x);
    cz_net_free(n);
}

static void test_colormaps(void **state)
{
    (void)state;
    /* Both maps run dark to light, as their luminance must. */
    cz_colormap maps[2] = {CZ_CMAP_VIRIDIS, CZ_CMAP_INFERNO};
    for (int m = 0; m < 2; m++) {
        double last = -1;
        for (int i = 0; i <= 16; i++) {
            cz_rgb c = cz_colormap_at(maps[m], (float)i / 16.0f);
            double luma = 0.299 * c.r + 0.587 * c.g + 0.114 * c.b;
            assert_true(luma > last);
            last = luma;
        }
    }
    cz_rgb lo = cz_colormap_at(CZ_CMAP_VIRIDIS, NAN), hi = cz_colormap_at(CZ_CMAP_VIRIDIS, 9.0f);
    assert_int_equal(lo.r, cz_colormap_at(CZ_CMAP_VIRIDIS, 0.0f).r);
    assert_int_equal(hi.g, cz_colormap_at(CZ_CMAP_VIRIDIS, 1.0f).g);
    cz_colormap m;
    assert_true(cz_colormap_parse("inferno", &m) && m == CZ_CMAP_INFERNO);
    assert_false(cz_colormap_parse("jet", &m));
}

static void test_upsample(void **state)
{
    (void)state;
    /* F.interpolate(torch.tensor([[[[0., 1.], [2., 3.]]]]), size=(4, 4),
     * mode="bilinear", align_corners=False) */
    const float src[4] = {0, 1, 2, 3};
    const float want[16] = {0, 0.25f, 0.75f, 1, 0.5f, 0.75f, 1.25f, 1.5f,
                            1.5f, 1.75f, 2.25f, 2.5f, 2, 2.25f, 2.75f, 3};
    float got[16];
    cz_viz_upsample(src, 2, 2, got, 4, 4);
    tu_expect_close_f(got, want, 16, 1e-6, 0, "upsample");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_colormaps),
        cmocka_unit_test(test_upsample),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_lenet5_fashion),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
