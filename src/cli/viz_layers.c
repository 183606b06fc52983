/*
 * viz_layers.c - `cnnzoo viz filters|features|deconv`: a layer's weights,
 * its activations for an image, and Zeiler & Fergus's deconvnet
 * projections of its strongest activations, as grids of labelled tiles
 * scaled up by nearest neighbour.
 *
 * Limits: filters draws at most 32 x 32 kernel tiles and features at most
 * 128 channels (the JSON dump holds them all).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/viz_cmd.h"

#define MARGIN VIZ_MARGIN
#define GAP 10
#define HEAD 56
#define LABEL 14 /* a tile's label line */
#define MAX_FILTER_TILES 32
#define MAX_FEATURE_TILES 128

static const cz_rgb INK = {30, 30, 30};

static int max_i(int a, int b) { return a > b ? a : b; }

/* v scaled so that 0 is mid grey and the largest |v| of n reaches 0 or 1. */
static void centre_scale(const float *v, size_t n, float *dst)
{
    float m = 0.0f;
    for (size_t i = 0; i < n; i++)
        m = fmaxf(m, fabsf(v[i]));
    for (size_t i = 0; i < n; i++)
        dst[i] = m > 0.0f ? 0.5f + 0.5f * v[i] / m : 0.5f;
}

/* ---------------------------------------------------------------- filters */

int viz_filters(viz_run *run)
{
    const char *layer = cz_net_node_name(run->net, run->layer);
    char key[160];
    snprintf(key, sizeof key, "%s.weight", layer);
    cz_param *w = cz_net_find_param(run->net, key);
    if (!w || w->value.ndim != 4) {
        cz_cli_error("viz filters: %s has no 4-D weight '%s'", layer, key);
        return CZ_EXIT_FAIL;
    }
    int OC = w->value.shape[0], IC = w->value.shape[1], KH = w->value.shape[2],
        KW = w->value.shape[3];
    size_t kernel = (size_t)KH * KW, filter = (size_t)IC * kernel;
    if (run->json) {
        cz_atomic_printf(run->json, ",\n  \"shape\": [%d, %d, %d, %d],\n  \"weight\": ", OC, IC,
                         KH, KW);
        viz_json_floats(run->json, w->value.data, (size_t)OC * filter);
    }
    /* Colour tiles for RGB filters, else one grey tile per (out, in) pair
     * (one row of tiles when there is a single input channel). */
    bool colour = IC == 3, single = IC == 1 || colour;
    int rows, cols, shown_oc = OC, shown_ic = IC;
    if (single) {
        shown_oc = OC < MAX_FILTER_TILES * MAX_FILTER_TILES / 4 ? OC
                                                              : MAX_FILTER_TILES * MAX_FILTER_TILES / 4;
        cols = shown_oc < 16 ? shown_oc : 16;
        rows = (shown_oc + cols - 1) / cols;
    } else {
        shown_oc = OC < MAX_FILTER_TILES ? OC : MAX_FILTER_TILES;
        shown_ic = IC < MAX_FILTER_TILES ? IC : MAX_FILTER_TILES;
        rows = shown_oc;
        cols = shown_ic;
    }
    int scale = cz_panel_scale(max_i(KH, KW), single ? 60 : 30);
    int tw = KW * scale, th = KH * scale, gap = single ? GAP : 4;
    int left = single ? 0 : 40, top = single ? LABEL : LABEL;
    char title[300], sub[600];
    snprintf(title, sizeof title, "Filters of %s", layer);
    snprintf(sub, sizeof sub, "%s %s [%d, %d, %d, %d]%s; each filter scaled to its largest |w|: "
             "mid grey = 0, light = positive, dark = negative", run->model, key, OC, IC, KH, KW,
             single ? "" : "; rows: output channels, columns: input channels");
    int width = max_i(2 * MARGIN + left + cols * (tw + gap),
                      max_i(2 * MARGIN + cz_canvas_text_width(sub, 1),
                            2 * MARGIN + cz_canvas_text_width(title, 2)));
    int height = MARGIN + HEAD + top + rows * (th + (single ? LABEL : 0) + gap) + MARGIN;
    cz_canvas c = {0};
    int rc = viz_page(&c, width, height, title, sub);
    float *tile = malloc(filter * sizeof *tile);
    if (rc < 0 && !tile) {
        cz_cli_error("viz: out of memory");
        rc = CZ_EXIT_FAIL;
    }
    if (rc >= 0) {
        cz_canvas_free(&c);
        free(tile);
        return rc;
    }
    int y0 = MARGIN + HEAD;
    char text[32];
    for (int o = 0; o < shown_oc; o++) {
        centre_scale(w->value.data + (size_t)o * filter, filter, tile);
        if (single) {
            int x = MARGIN + (o % cols) * (tw + gap);
            int y = y0 + (o / cols) * (th + LABEL + gap);
            snprintf(text, sizeof text, "%d", o);
            cz_canvas_text(&c, x, y, text, 1, INK);
            cz_panel_image(&c, x, y + LABEL, tile, colour ? 3 : 1, KH, KW, scale);
            continue;
        }
        int y = y0 + top + o * (th + gap);
        snprintf(text, sizeof text, "%d", o);
        cz_canvas_text(&c, MARGIN, y + th / 2 - 4, text, 1, INK);
        for (int i = 0; i < shown_ic; i++) {
            int x = MARGIN + left + i * (tw + gap);
            if (o == 0) {
                snprintf(text, sizeof text, "%d", i);
                cz_canvas_text(&c, x, y0, text, 1, INK);
            }
            cz_panel_image(&c, x, y, tile + (size_t)i * kernel, 1, KH, KW, scale);
        }
    }
    rc = viz_save(run, &c);
    cz_canvas_free(&c);
    free(tile);
    return rc;
}

/* ---------------------------------------------------------------- features */

int viz_features(viz_run *run)
{
    const char *layer = cz_net_node_name(run->net, run->layer);
    int shape[3];
    cz_net_node_shape(run->net, run->layer, shape);
    int C = shape[0], h = shape[1], w = shape[2];
    /* choose_targets' forward ran on this image: the output is current. */
    const cz_tensor *a = cz_net_node_output(run->net, run->layer);
    size_t plane = (size_t)h * w, n = (size_t)C * plane;
    float lo, hi;
    cz_panel_range(a->data, n, &lo, &hi);
    if (run->json) {
        cz_atomic_printf(run->json, ",\n  \"shape\": [%d, %d, %d],\n  \"min\": %.9g,\n"
                         "  \"max\": %.9g,\n  \"values\": ", C, h, w, (double)lo, (double)hi);
        viz_json_floats(run->json, a->data, n);
    }
    int shown = C < MAX_FEATURE_TILES ? C : MAX_FEATURE_TILES;
    int cols = shown <= 8 ? shown : shown <= 32 ? 8 : 16;
    int rows = (shown + cols - 1) / cols;
    int scale = cz_panel_scale(max_i(h, w), shown <= 8 ? 112 : 72);
    int tw = w * scale, th = h * scale;
    int iscale = cz_panel_scale(max_i(run->H, run->W), VIZ_PANEL_PX / 2 * 3 / 2);
    int iw = run->W * iscale, ih = run->H * iscale;
    char title[300], sub[600];
    snprintf(title, sizeof title, "Feature maps of %s", layer);
    snprintf(sub, sizeof sub, "%s, layer %s [%d, %d, %d]%s; one colour scale for all channels",
             run->model, layer, C, h, w, shown < C ? " (the first 128 channels)" : "");
    int grid_x = MARGIN + iw + 2 * GAP + 8;
    int width = max_i(grid_x + cols * (tw + GAP) + 100, 2 * MARGIN + cz_canvas_text_width(sub, 1));
    int grid_h = rows * (th + LABEL + GAP);
    int height = MARGIN + HEAD + max_i(grid_h, ih + LABEL + 20) + MARGIN;
    cz_canvas c = {0};
    int rc = viz_page(&c, width, height, title, sub);
    if (rc >= 0)
        return rc;
    int y0 = MARGIN + HEAD;
    cz_canvas_text(&c, MARGIN, y0, "input", 1, INK);
    cz_panel_image(&c, MARGIN, y0 + LABEL, run->display, run->C, run->H, run->W, iscale);
    char text[64], buf[32];
    snprintf(text, sizeof text, "%s %.3f", viz_class_name(run, run->targets[0], buf),
             run->prob[run->targets[0]]);
    cz_canvas_text(&c, MARGIN, y0 + LABEL + ih + 6, text, 1, INK);
    for (int k = 0; k < shown; k++) {
        int x = grid_x + (k % cols) * (tw + GAP), y = y0 + (k / cols) * (th + LABEL + GAP);
        float m = -INFINITY;
        for (size_t i = 0; i < plane; i++)
            m = fmaxf(m, a->data[(size_t)k * plane + i]);
        snprintf(text, sizeof text, "%d max %.2g", k, (double)m);
        cz_canvas_text(&c, x, y, text, 1, INK);
        cz_panel_map(&c, x, y + LABEL, a->data + (size_t)k * plane, h, w, scale, lo, hi,
                     run->cmap, NULL, 0, 0.0f);
    }
    cz_panel_colorbar(&c, grid_x + cols * (tw + GAP) + 4, y0 + LABEL, 14,
                      max_i(th, 120), run->cmap, lo, hi, NULL);
    rc = viz_save(run, &c);
    cz_canvas_free(&c);
    return rc;
}

/* ---------------------------------------------------------------- deconv */

/* Crops plane-major img (C x H x W) to box b into dst (C x bh x bw). */
static void crop(const float *img, int C, int H, int W, cz_box b, float *dst)
{
    int bh = b.y1 - b.y0, bw = b.x1 - b.x0;
    for (int c = 0; c < C; c++)
        for (int y = 0; y < bh; y++)
            for (int x = 0; x < bw; x++)
                dst[((size_t)c * bh + y) * bw + x] = img[((size_t)c * H + b.y0 + y) * W + b.x0 + x];
}

static void json_units(const viz_run *run, const cz_deconv_unit *u, int n, const float *recon)
{
    size_t sample = (size_t)run->C * run->H * run->W;
    cz_atomic_printf(run->json, ",\n  \"units\": [");
    for (int i = 0; i < n; i++) {
        cz_atomic_printf(run->json, "%s\n    {\"channel\": %d, \"y\": %d, \"x\": %d, "
                         "\"activation\": %.9g, \"field\": [%d, %d, %d, %d], "
                         "\"reconstruction\": ", i ? "," : "", u[i].channel, u[i].y, u[i].x,
                         (double)u[i].value, u[i].field.y0, u[i].field.y1, u[i].field.x0,
                         u[i].field.x1);
        viz_json_floats(run->json, recon + (size_t)i * sample, sample);
        cz_atomic_printf(run->json, "}");
    }
    cz_atomic_printf(run->json, "\n  ]");
}

static int draw_deconv(const viz_run *run, const cz_deconv_unit *u, int n, const float *recon,
                       float *patch, float *shown)
{
    const char *layer = cz_net_node_name(run->net, run->layer);
    size_t sample = (size_t)run->C * run->H * run->W;
    int side = 1;
    for (int i = 0; i < n; i++)
        side = max_i(side, max_i(u[i].field.y1 - u[i].field.y0, u[i].field.x1 - u[i].field.x0));
    int scale = cz_panel_scale(side, 96), ts = side * scale;
    int iscale = cz_panel_scale(max_i(run->H, run->W), VIZ_PANEL_PX);
    int iw = run->W * iscale, ih = run->H * iscale;
    int cols = n < 3 ? n : 3, rows = (n + cols - 1) / cols;
    int pair_w = 2 * ts + 6, cell_h = LABEL + ts + 2 * GAP;
    int grid_x = MARGIN + iw + 3 * GAP;
    char title[300], sub[600];
    snprintf(title, sizeof title, "Deconvnet projections from %s", layer);
    snprintf(sub, sizeof sub, "%s: the %d strongest activations %s, projected to pixels "
             "(Zeiler & Fergus 2014); left: projection, right: the patch it sees", run->model, n,
             run->channel >= 0 ? "of one channel" : "of different channels");
    int width = max_i(grid_x + cols * (pair_w + 2 * GAP), 2 * MARGIN + cz_canvas_text_width(sub, 1));
    int height = MARGIN + HEAD + max_i(rows * cell_h, ih + LABEL + 20) + MARGIN;
    cz_canvas c = {0};
    int rc = viz_page(&c, width, height, title, sub);
    if (rc >= 0)
        return rc;
    int y0 = MARGIN + HEAD;
    cz_canvas_text(&c, MARGIN, y0, "input, with each unit's receptive field", 1, INK);
    cz_panel_image(&c, MARGIN, y0 + LABEL, run->display, run->C, run->H, run->W, iscale);
    static const cz_rgb BOX = {230, 60, 30};
    char text[96];
    for (int i = 0; i < n; i++) {
        const cz_box *b = &u[i].field;
        int bh = b->y1 - b->y0, bw = b->x1 - b->x0;
        cz_canvas_rect(&c, MARGIN + b->x0 * iscale, y0 + LABEL + b->y0 * iscale, bw * iscale,
                       bh * iscale, BOX);
        snprintf(text, sizeof text, "%d", i + 1);
        cz_canvas_text(&c, MARGIN + b->x0 * iscale + 2, y0 + LABEL + b->y0 * iscale + 2, text, 1,
                       BOX);
        int x = grid_x + (i % cols) * (pair_w + 2 * GAP), y = y0 + (i / cols) * cell_h;
        snprintf(text, sizeof text, "%d: ch %d at (%d,%d) = %.3g", i + 1, u[i].channel, u[i].y,
                 u[i].x, (double)u[i].value);
        cz_canvas_text(&c, x, y, text, 1, INK);
        crop(recon + (size_t)i * sample, run->C, run->H, run->W, *b, patch);
        centre_scale(patch, (size_t)run->C * bh * bw, shown);
        cz_panel_image(&c, x, y + LABEL, shown, run->C, bh, bw, scale);
        crop(run->display, run->C, run->H, run->W, *b, patch);
        cz_panel_image(&c, x + ts + 6, y + LABEL, patch, run->C, bh, bw, scale);
    }
    rc = viz_save(run, &c);
    cz_canvas_free(&c);
    return rc;
}

int viz_deconv(viz_run *run)
{
    size_t sample = (size_t)run->C * run->H * run->W;
    cz_deconv_unit *units = calloc((size_t)run->units, sizeof *units);
    float *recon = malloc((size_t)run->units * sample * sizeof *recon);
    float *patch = malloc(sample * sizeof *patch), *shown = malloc(sample * sizeof *shown);
    int n = 0, rc = units && recon && patch && shown ? -1 : CZ_EXIT_FAIL;
    if (rc >= 0)
        cz_cli_error("viz: out of memory");
    if (rc < 0 && cz_viz_top_units(run->net, &run->x, run->layer, run->channel, run->units, units,
                                   &n) != CZ_OK) {
        cz_cli_error("viz deconv: %s", cz_last_error());
        rc = CZ_EXIT_FAIL;
    }
    if (rc < 0 && cz_viz_deconv(run->net, &run->x, run->layer, units, n, recon) != CZ_OK) {
        cz_cli_error("viz deconv: %s", cz_last_error());
        rc = CZ_EXIT_FAIL;
    }
    if (rc < 0 && run->json)
        json_units(run, units, n, recon);
    if (rc < 0)
        rc = draw_deconv(run, units, n, recon, patch, shown);
    free(units);
    free(recon);
    free(patch);
    free(shown);
    return rc;
}
