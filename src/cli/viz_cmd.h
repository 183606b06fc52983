/*
 * viz_cmd.h - what the parts of `cnnzoo viz` share (viz.c parses the
 * command and prepares the net and the image; viz_attrib.c draws
 * saliency, Grad-CAM and occlusion; viz_layers.c filters, features and
 * the deconvnet). Private to src/cli/.
 */
#ifndef CZ_CLI_VIZ_CMD_H
#define CZ_CLI_VIZ_CMD_H

#include "cli/cli.h"
#include "data/preprocess.h"
#include "io/io.h"
#include "viz/colormap.h"
#include "viz/panel.h"
#include "viz/viz.h"

/* Panel sides aim at this many pixels (a 32x32 input is drawn 7x). */
#define VIZ_PANEL_PX 224
#define VIZ_MAX_CLASSES 100000

typedef struct viz_run {
    const char *kind, *model, *image, *weights, *output;
    cz_net *net;
    cz_preprocess pp;
    bool transform;        /* torchvision's transform_input */
    cz_tensor x;           /* the image as the net sees it (1, C, H, W) */
    float *display;        /* the same, denormalised to [0, 1] (C x H x W) */
    int C, H, W;
    int layer;             /* node id of --layer, or the kind's default */
    int channel;           /* --channel (deconv), -1 for none */
    int units;             /* deconv: how many activations */
    int size, stride, batch; /* occlusion */
    float fill;            /* occlusion: the square's pixel value, or NAN: the mean */
    cz_colormap cmap;
    int K;                 /* the net's classes */
    double *prob;          /* K probabilities of the clean image */
    int *targets;          /* the classes to explain, n_targets of them */
    int n_targets;
    char **names;          /* K class names, or NULL */
    char *names_text;
    cz_atomic_file *json;  /* --json, or NULL */
} viz_run;

/* The name of class k ("class k" without a labels list); buf holds 32. */
const char *viz_class_name(const viz_run *run, int k, char *buf);
/* Writes s as a JSON string, and n floats / ints as a JSON array. */
void viz_json_string(cz_atomic_file *f, const char *s);
void viz_json_floats(cz_atomic_file *f, const float *v, size_t n);
void viz_json_ints(cz_atomic_file *f, const int *v, size_t n);
/* The "kind", "model", "image", "input" and "top" members every dump
 * starts with (after the opening brace). */
void viz_json_header(const viz_run *run);
/* Saves the canvas to --output and prints "wrote PATH (WxH)"; an exit code. */
int viz_save(const viz_run *run, const cz_canvas *c);
/* The margin around every picture, in pixels. */
#define VIZ_MARGIN 16
/* A white width x height page with the picture's title and the line
 * under it, as every picture starts; -1, or an exit code when the canvas
 * cannot be allocated (reported). */
int viz_page(cz_canvas *c, int width, int height, const char *title, const char *subtitle);

int viz_saliency(viz_run *run);
int viz_gradcam(viz_run *run);
int viz_occlusion(viz_run *run);
int viz_filters(viz_run *run);
int viz_features(viz_run *run);
int viz_deconv(viz_run *run);

#endif
