/*
 * viz.c - `cnnzoo viz KIND MODEL --weights FILE [IMAGE] --output OUT.png`:
 * pictures of what a trained net sees (src/viz/viz.h has the methods):
 *
 *   filters    a conv layer's kernels as tiles (the first conv by default)
 *   features   a layer's activations for the image, one tile per channel
 *   deconv     Zeiler & Fergus's deconvnet projections of a layer's
 *              strongest activations, beside the image patches they see
 *   occlusion  the class probability as a grey square slides over the
 *              image (ZFNet's figure 7), with the top-1 class per position
 *   gradcam    Grad-CAM at a layer (the last conv block by default)
 *   saliency   |d score / d pixel|, max over the channels
 *
 * The image is preprocessed exactly as `classify` does (an image of the
 * wrong size is resized and cropped, or padded, the same way), and the
 * pictures show the net's own input, denormalised, under the maps. The
 * classes explained are the top-1 (--topk K: the top K) or --class C.
 * --json FILE writes the numbers behind the picture.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/viz_cmd.h"

static const struct {
    const char *name;
    int (*run)(viz_run *run);
    bool image;     /* needs IMAGE */
    bool layer;     /* takes --layer */
} KINDS[] = {
    {"filters", viz_filters, false, true},     {"features", viz_features, true, true},
    {"deconv", viz_deconv, true, true},        {"occlusion", viz_occlusion, true, false},
    {"gradcam", viz_gradcam, true, true},      {"saliency", viz_saliency, true, false},
};
#define N_KINDS (int)(sizeof KINDS / sizeof KINDS[0])

static const char *data_dir(void)
{
    const char *env = getenv("CNNZOO_DATA");
    return env && *env ? env : CZ_DATA_DIR;
}

const char *viz_class_name(const viz_run *run, int k, char *buf)
{
    if (run->names)
        return run->names[k];
    snprintf(buf, 32, "class %d", k);
    return buf;
}

/* The shipped class names for 1000-class nets and lenet5's 10; others go
 * without (a wrong list would mislabel every picture). -1, or an exit code. */
static int load_names(viz_run *run)
{
    const char *file = run->K == 1000 ? "imagenet_classes.txt"
                       : strcmp(run->model, "lenet5") == 0 && run->K == 10
                           ? "fashion_mnist_classes.txt"
                           : NULL;
    if (!file)
        return -1;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", data_dir(), file);
    size_t size = 0;
    if (cz_read_file(path, 64u << 20, &run->names_text, &size) != CZ_OK) {
        cz_cli_error("%s", cz_last_error());
        return CZ_EXIT_FAIL;
    }
    run->names = calloc((size_t)run->K, sizeof *run->names);
    if (!run->names) {
        cz_cli_error("viz: out of memory for %d class names", run->K);
        return CZ_EXIT_FAIL;
    }
    char *p = run->names_text;
    for (int k = 0; k < run->K; k++) {
        char *nl = strchr(p, '\n');
        if (!nl && k + 1 < run->K) {
            cz_cli_error("%s: fewer than %d class names", path, run->K);
            return CZ_EXIT_FAIL;
        }
        if (nl)
            *nl = '\0';
        size_t len = strlen(p);
        if (len && p[len - 1] == '\r')
            p[len - 1] = '\0';
        run->names[k] = p;
        p = nl ? nl + 1 : p + len;
    }
    return -1;
}

/* Whether node i can be --layer for this kind. */
static bool layer_fits(const viz_run *run, int i)
{
    int shape[3];
    if (i <= 0 || cz_net_node_is_aux(run->net, i) || !*cz_net_node_name(run->net, i))
        return false;
    if (strcmp(run->kind, "filters") == 0)
        return strcmp(cz_net_node_op(run->net, i), "conv2d") == 0;
    return cz_net_node_shape(run->net, i, shape) == 3;
}

/* Finds --layer by name, or the kind's default. -1, or an exit code
 * after printing the error (a wrong name lists the valid ones). */
static int resolve_layer(viz_run *run, const char *name)
{
    int n = cz_net_node_count(run->net);
    run->layer = -1;
    for (int i = 1; i < n && name && run->layer < 0; i++)
        if (strcmp(cz_net_node_name(run->net, i), name) == 0 && layer_fits(run, i))
            run->layer = i;
    if (!name && strcmp(run->kind, "filters") == 0)
        for (int i = 1; i < n && run->layer < 0; i++)
            run->layer = layer_fits(run, i) ? i : -1;
    else if (!name && (strcmp(run->kind, "features") == 0))
        for (int i = 1; i < n && run->layer < 0; i++)
            run->layer = strcmp(cz_net_node_op(run->net, i), "conv2d") == 0 ? i : -1;
    else if (!name)
        run->layer = cz_viz_default_cam_layer(run->net);
    if (run->layer >= 0)
        return -1;
    bool filters = strcmp(run->kind, "filters") == 0;
    size_t cap = 256;
    for (int i = 1; i < n; i++)
        cap += strlen(cz_net_node_name(run->net, i)) + 2;
    char *list = malloc(cap);
    if (!list) {
        cz_cli_error("viz: out of memory");
        return CZ_EXIT_FAIL;
    }
    list[0] = '\0';
    for (int i = 1; i < n; i++)
        if (layer_fits(run, i)) {
            if (list[0])
                strcat(list, ", ");
            strcat(list, cz_net_node_name(run->net, i));
        }
    if (name)
        cz_cli_error("viz %s: %s has no layer '%s'%s; valid layers: %s", run->kind, run->model,
                     name, filters ? " that is a convolution" : " with a (C, H, W) output",
                     list[0] ? list : "none");
    else
        cz_cli_error("viz %s: %s has no %s layer", run->kind, run->model,
                     filters ? "convolution" : "(C, H, W)");
    free(list);
    return name ? CZ_EXIT_USAGE : CZ_EXIT_FAIL;
}

/* Decodes and preprocesses IMAGE into run->x and run->display. */
static int load_image(viz_run *run)
{
    int shape[4] = {1, run->pp.channels, run->pp.crop, run->pp.crop};
    run->C = shape[1];
    run->H = run->W = shape[2];
    cz_image img = {0};
    cz_status st = cz_tensor_alloc(&run->x, 4, shape);
    if (st == CZ_OK)
        st = cz_image_load(run->image, run->pp.channels, &img);
    if (st == CZ_OK)
        st = cz_preprocess_image(&run->pp, &img, run->x.data);
    cz_image_free(&img);
    size_t plane = (size_t)run->H * run->W;
    run->display = st == CZ_OK ? malloc((size_t)run->C * plane * sizeof *run->display) : NULL;
    if (st == CZ_OK && !run->display)
        st = cz_fail(CZ_ERR_NOMEM, "viz: out of memory");
    if (st != CZ_OK) {
        const char *msg = cz_last_error();
        if (strstr(msg, run->image))
            cz_cli_error("%s", msg);
        else
            cz_cli_error("%s: %s", run->image, msg);
        return CZ_EXIT_FAIL;
    }
    for (int c = 0; c < run->C; c++)
        for (size_t i = 0; i < plane; i++)
            run->display[c * plane + i] = run->x.data[c * plane + i] * run->pp.std[c] + run->pp.mean[c];
    if (run->transform)
        cz_transform_input(&run->pp, &run->x);
    return -1;
}

/* The clean prediction, and the classes to explain. */
static int choose_targets(viz_run *run, int cls, int topk)
{
    run->prob = malloc((size_t)run->K * sizeof *run->prob);
    run->targets = malloc((size_t)(topk > 0 ? topk : 1) * sizeof *run->targets);
    if (!run->prob || !run->targets) {
        cz_cli_error("viz: out of memory");
        return CZ_EXIT_FAIL;
    }
    if (cz_viz_predict(run->net, &run->x, run->prob, run->K, NULL) != CZ_OK) {
        cz_cli_error("%s", cz_last_error());
        return CZ_EXIT_FAIL;
    }
    if (cls >= 0) {
        run->targets[0] = cls;
        run->n_targets = 1;
        return -1;
    }
    for (int r = 0; r < topk; r++) {
        int best = -1;
        for (int k = 0; k < run->K; k++) {
            bool taken = false;
            for (int q = 0; q < r && !taken; q++)
                taken = run->targets[q] == k;
            if (!taken && (best < 0 || run->prob[k] > run->prob[best]))
                best = k;
        }
        run->targets[r] = best;
    }
    run->n_targets = topk;
    return -1;
}

void viz_json_string(cz_atomic_file *f, const char *s)
{
    cz_atomic_printf(f, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            cz_atomic_printf(f, "\\%c", *p);
        else if (*p < 0x20)
            cz_atomic_printf(f, "\\u%04x", *p);
        else
            cz_atomic_printf(f, "%c", *p);
    }
    cz_atomic_printf(f, "\"");
}

void viz_json_floats(cz_atomic_file *f, const float *v, size_t n)
{
    cz_atomic_printf(f, "[");
    for (size_t i = 0; i < n; i++) {
        /* JSON has no NaN: a pixel no square covered is null. */
        if (v[i] != v[i])
            cz_atomic_printf(f, "%snull", i ? ", " : "");
        else
            cz_atomic_printf(f, "%s%.9g", i ? ", " : "", (double)v[i]);
    }
    cz_atomic_printf(f, "]");
}

void viz_json_ints(cz_atomic_file *f, const int *v, size_t n)
{
    cz_atomic_printf(f, "[");
    for (size_t i = 0; i < n; i++)
        cz_atomic_printf(f, "%s%d", i ? ", " : "", v[i]);
    cz_atomic_printf(f, "]");
}

void viz_json_header(const viz_run *run)
{
    cz_atomic_file *f = run->json;
    cz_atomic_printf(f, "\n  \"kind\": \"%s\",\n  \"model\": ", run->kind);
    viz_json_string(f, run->model);
    cz_atomic_printf(f, ",\n  \"weights\": ");
    viz_json_string(f, run->weights);
    if (run->image) {
        cz_atomic_printf(f, ",\n  \"image\": ");
        viz_json_string(f, run->image);
        cz_atomic_printf(f, ",\n  \"input\": [%d, %d, %d],\n  \"top\": [", run->C, run->H, run->W);
        for (int r = 0; r < run->n_targets; r++) {
            char buf[32];
            int k = run->targets[r];
            cz_atomic_printf(f, "%s{\"class\": %d, \"name\": ", r ? ", " : "", k);
            viz_json_string(f, viz_class_name(run, k, buf));
            cz_atomic_printf(f, ", \"probability\": %.9g}", run->prob[k]);
        }
        cz_atomic_printf(f, "]");
    }
    if (run->layer > 0) {
        cz_atomic_printf(f, ",\n  \"layer\": ");
        viz_json_string(f, cz_net_node_name(run->net, run->layer));
    }
}

int viz_save(const viz_run *run, const cz_canvas *c)
{
    if (cz_canvas_save_png(c, run->output) != CZ_OK) {
        cz_cli_error("%s", cz_last_error());
        return CZ_EXIT_FAIL;
    }
    printf("wrote %s (%dx%d)\n", run->output, c->width, c->height);
    return CZ_EXIT_OK;
}

int viz_page(cz_canvas *c, int width, int height, const char *title, const char *subtitle)
{
    if (cz_canvas_init(c, width, height, (cz_rgb){255, 255, 255}) != CZ_OK) {
        cz_cli_error("%s", cz_last_error());
        return CZ_EXIT_FAIL;
    }
    cz_canvas_text(c, VIZ_MARGIN, VIZ_MARGIN, title, 2, (cz_rgb){30, 30, 30});
    cz_canvas_text(c, VIZ_MARGIN, VIZ_MARGIN + 26, subtitle, 1, (cz_rgb){90, 90, 90});
    return -1;
}

static void run_free(viz_run *run)
{
    cz_net_free(run->net);
    cz_tensor_free(&run->x);
    free(run->display);
    free(run->prob);
    free(run->targets);
    free(run->names);
    free(run->names_text);
}

/* Checks the arguments that need no model. -1, or an exit code. */
static int check_args(const viz_run *run, int n_pos, const char *layer, int cls, int topk,
                      const char *cmap, cz_colormap *map, int *kind)
{
    *kind = -1;
    for (int k = 0; k < N_KINDS && n_pos; k++)
        if (strcmp(run->kind, KINDS[k].name) == 0)
            *kind = k;
    if (*kind < 0) {
        cz_cli_error("viz: unknown kind '%s' (filters, features, deconv, occlusion, gradcam, "
                     "saliency)", run->kind);
        return CZ_EXIT_USAGE;
    }
    if (!run->weights || !run->output) {
        cz_cli_error("viz: --%s is required", run->weights ? "output" : "weights");
        return CZ_EXIT_USAGE;
    }
    if (KINDS[*kind].image != (n_pos == 3)) {
        cz_cli_error("viz %s: %s", run->kind,
                     KINDS[*kind].image ? "IMAGE is required" : "takes no IMAGE");
        return CZ_EXIT_USAGE;
    }
    if (layer && !KINDS[*kind].layer) {
        cz_cli_error("viz %s: --layer does not apply", run->kind);
        return CZ_EXIT_USAGE;
    }
    if (cls >= 0 && topk > 0) {
        cz_cli_error("viz: give --class or --topk, not both");
        return CZ_EXIT_USAGE;
    }
    if (!cz_colormap_parse(cmap, map)) {
        cz_cli_error("viz: unknown colour map '%s' (viridis, inferno, grey)", cmap);
        return CZ_EXIT_USAGE;
    }
    if (strcmp(run->kind, "occlusion") == 0 && run->stride > run->size) {
        cz_cli_error("viz occlusion: --stride %d exceeds --size %d: the squares would leave "
                     "pixels never covered", run->stride, run->size);
        return CZ_EXIT_USAGE;
    }
    if (run->channel >= 0 && strcmp(run->kind, "deconv") != 0) {
        cz_cli_error("viz %s: --channel applies to deconv only", run->kind);
        return CZ_EXIT_USAGE;
    }
    if (!cz_model_find(run->model)) {
        cz_cli_error("unknown model '%s' (`cnnzoo list` shows them all)", run->model);
        return CZ_EXIT_USAGE;
    }
    return -1;
}

/* --fill: "mean" (or absent) is NAN, else a pixel value in [0, 1]. */
static int parse_fill(viz_run *run, const char *text)
{
    run->fill = NAN;
    if (!text || strcmp(text, "mean") == 0)
        return -1;
    char *end = NULL;
    double v = strtod(text, &end);
    if (strcmp(run->kind, "occlusion") != 0) {
        cz_cli_error("viz %s: --fill applies to occlusion only", run->kind);
        return CZ_EXIT_USAGE;
    }
    if (end == text || *end || !(v >= 0 && v <= 1)) {
        cz_cli_error("viz occlusion: --fill '%s' is not a pixel value in [0, 1] or 'mean'", text);
        return CZ_EXIT_USAGE;
    }
    run->fill = (float)v;
    return -1;
}

/* Builds the net, loads weights, names, the image and the targets. */
static int prepare(viz_run *run, const char *layer, int cls, int topk, bool non_strict,
                   const char *transform, bool image)
{
    int rc = cz_cli_transform_input("viz", run->model, transform, &run->transform);
    if (rc < 0 && cz_preprocess_for_model(run->model, &run->pp) != CZ_OK) {
        cz_cli_error("%s", cz_last_error());
        rc = CZ_EXIT_USAGE;
    }
    if (rc < 0) {
        run->net = cz_cli_model_sized(run->model, 0, run->pp.crop, run->pp.crop);
        rc = run->net ? -1 : CZ_EXIT_FAIL;
    }
    if (rc < 0) {
        cz_net_set_training(run->net, false);
        run->K = cz_viz_classes(run->net);
        if (run->K < 0) {
            cz_cli_error("viz: %s", cz_last_error());
            rc = CZ_EXIT_FAIL;
        }
    }
    if (rc < 0 && cls >= run->K) {
        cz_cli_error("viz: --class %d is outside %s's %d classes [0, %d)", cls, run->model,
                     run->K, run->K);
        rc = CZ_EXIT_USAGE;
    }
    if (rc < 0 && topk > run->K) {
        cz_cli_error("viz: --topk %d exceeds %s's %d classes", topk, run->model, run->K);
        rc = CZ_EXIT_USAGE;
    }
    if (rc < 0)
        rc = resolve_layer(run, layer);
    int shape[3];
    if (rc < 0 && run->channel >= 0 && cz_net_node_shape(run->net, run->layer, shape) == 3 &&
        run->channel >= shape[0]) {
        cz_cli_error("viz deconv: --channel %d is outside %s's %d channels", run->channel,
                     cz_net_node_name(run->net, run->layer), shape[0]);
        rc = CZ_EXIT_USAGE;
    }
    if (rc < 0 && cz_cli_load_weights(run->net, run->weights, !non_strict) != CZ_EXIT_OK)
        rc = CZ_EXIT_FAIL;
    if (rc < 0)
        rc = load_names(run);
    if (rc < 0 && image)
        rc = load_image(run);
    if (rc < 0 && image)
        rc = choose_targets(run, cls, topk > 0 ? topk : 1);
    return rc;
}

/* Runs the kind with the JSON dump open, committing it on success. */
static int run_kind(viz_run *run, int kind, const char *json)
{
    cz_atomic_file file = {0};
    if (json && cz_atomic_open(&file, json) != CZ_OK) {
        cz_cli_error("%s", cz_last_error());
        return CZ_EXIT_FAIL;
    }
    run->json = json ? &file : NULL;
    if (json) {
        cz_atomic_printf(&file, "{");
        viz_json_header(run);
    }
    int rc = KINDS[kind].run(run);
    if (json && rc == CZ_EXIT_OK) {
        cz_atomic_printf(&file, "\n}\n");
        if (cz_atomic_commit(&file) != CZ_OK) {
            cz_cli_error("%s", cz_last_error());
            rc = CZ_EXIT_FAIL;
        } else {
            printf("wrote %s\n", json);
        }
    }
    if (json)
        cz_atomic_abort(&file);
    return rc;
}

int cz_cmd_viz(int argc, char **argv)
{
    const char *layer = NULL, *json = NULL, *cmap = "viridis", *transform = NULL, *fill = NULL;
    int cls = -1, topk = 0, threads = 0;
    bool non_strict = false;
    viz_run run = {.channel = -1, .units = 9, .size = 8, .stride = 2, .batch = 64};
    const cz_opt opts[] = {
        {"weights", CZ_OPT_STRING, &run.weights, "FILE", ".pth or .safetensors weights", 0, 0},
        {"output", CZ_OPT_STRING, &run.output, "OUT.png", "the picture to write", 0, 0},
        {"layer", CZ_OPT_STRING, &layer, "NAME",
         "layer by name, as `cnnzoo summary` lists them (default: the first conv for filters "
         "and features, the last conv block for gradcam and deconv)", 0, 0},
        {"class", CZ_OPT_INT, &cls, "C", "explain class C (default: the top-1)", 0, 1e6},
        {"topk", CZ_OPT_INT, &topk, "K", "explain the top K classes, one row each", 1, 20},
        {"json", CZ_OPT_STRING, &json, "FILE", "also write the numbers behind the picture", 0, 0},
        {"channel", CZ_OPT_INT, &run.channel, "C",
         "deconv: the strongest activations of channel C (default: the strongest channels)", 0,
         1e6},
        {"units", CZ_OPT_INT, &run.units, "N", "deconv: activations projected", 1, 64},
        {"size", CZ_OPT_INT, &run.size, "PX", "occlusion: side of the grey square", 1,
         4096},
        {"stride", CZ_OPT_INT, &run.stride, "PX", "occlusion: step between squares",
         1, 4096},
        {"fill", CZ_OPT_STRING, &fill, "V|mean",
         "occlusion: the square's pixel value in [0, 1] (default: the dataset's mean, grey)", 0,
         0},
        {"batch", CZ_OPT_INT, &run.batch, "N", "occlusion: occluded images per forward pass", 1,
         4096},
        {"colormap", CZ_OPT_STRING, &cmap, "NAME", "viridis, inferno or grey", 0, 0},
        {"threads", CZ_OPT_INT, &threads, "T", "threads (0: all cores)", 0, 1024},
        {"transform-input", CZ_OPT_STRING, &transform, "on|off",
         "torchvision's transform_input (default on for googlenet, inception_v3)", 0, 0},
        {"non-strict", CZ_OPT_FLAG, &non_strict, NULL, "ignore missing and unexpected keys", 0, 0},
    };
    const cz_cmd cmd = {"viz", "KIND MODEL [IMAGE]", 2, 3,
                        "Draws what MODEL sees as a PNG. KIND: filters, features, deconv, "
                        "occlusion, gradcam, saliency.",
                        opts, (int)(sizeof opts / sizeof opts[0])};
    const char *pos[3] = {NULL, NULL, NULL};
    int n_pos = 0, kind = -1;
    int rc = cz_args_parse(&cmd, argc, argv, pos, &n_pos);
    run.kind = pos[0];
    run.model = pos[1];
    run.image = pos[2];
    cz_colormap map = CZ_CMAP_VIRIDIS;
    if (rc < 0)
        rc = check_args(&run, n_pos, layer, cls, topk, cmap, &map, &kind);
    if (rc < 0)
        rc = parse_fill(&run, fill);
    run.cmap = map;
    cz_set_threads(threads);
    if (rc < 0)
        rc = prepare(&run, layer, cls, topk, non_strict, transform, KINDS[kind].image);
    if (rc < 0)
        rc = run_kind(&run, kind, json);
    run_free(&run);
    return rc;
}
