/*
 * viz_attrib.c - `cnnzoo viz saliency|gradcam|occlusion`: one row per
 * explained class, each the net's input, the map, and the map blended
 * over the input (occlusion adds the top-1 class at each square's
 * position), with a colour bar giving the map's values.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/viz_cmd.h"

#define MARGIN VIZ_MARGIN
#define GAP 16
#define HEAD 56      /* title and subtitle */
#define ROW_LABEL 28 /* the class line above a row of panels */
#define CAPTION 18   /* the caption line under each panel */
#define BAR_W 14
#define BAR_SPACE 90 /* the colour bar and its numbers */
#define LEGEND_LINE 14

static const cz_rgb INK = {30, 30, 30}, SOFT = {90, 90, 90};

/* Ten distinct colours for the top-1 class map (class k uses k mod 10). */
static const cz_rgb CLASS_COLORS[10] = {
    {31, 119, 180}, {255, 127, 14}, {44, 160, 44}, {214, 39, 40}, {148, 103, 189},
    {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207},
};

/* One row: a class and its map at the input's resolution. */
typedef struct attrib_row {
    int cls;
    float *map; /* H x W */
    float lo, hi;
    const int *top1; /* occlusion: grid of top-1 classes, or NULL */
    int grid_h, grid_w, stride;
} attrib_row;

/* The top-1 class map: each pixel shows the square centred nearest it. */
static void draw_top1(cz_canvas *c, int x, int y, const viz_run *run, const attrib_row *row,
                      int scale)
{
    for (int r = 0; r < run->H; r++)
        for (int q = 0; q < run->W; q++) {
            int gy = (r + row->stride / 2) / row->stride, gx = (q + row->stride / 2) / row->stride;
            gy = gy < row->grid_h ? gy : row->grid_h - 1;
            gx = gx < row->grid_w ? gx : row->grid_w - 1;
            int k = row->top1[gy * row->grid_w + gx];
            cz_canvas_fill_rect(c, x + q * scale, y + r * scale, scale, scale,
                                CLASS_COLORS[k % 10]);
        }
}

/* The classes the top-1 map shows, as a legend under it; returns lines. */
static int draw_legend(cz_canvas *c, int x, int y, const viz_run *run, const attrib_row *row,
                       bool draw)
{
    int lines = 0;
    for (int k = 0; k < run->K && lines < 10; k++) {
        bool seen = false;
        for (int g = 0; g < row->grid_h * row->grid_w && !seen; g++)
            seen = row->top1[g] == k;
        if (!seen)
            continue;
        if (draw) {
            char buf[32], text[160];
            cz_canvas_fill_rect(c, x, y + lines * LEGEND_LINE, 9, 9, CLASS_COLORS[k % 10]);
            snprintf(text, sizeof text, "%d %s", k, viz_class_name(run, k, buf));
            cz_canvas_text(c, x + 14, y + lines * LEGEND_LINE + 1, text, 1, INK);
        }
        lines++;
    }
    return lines;
}

/* Draws the rows and saves the picture. */
static int draw_rows(const viz_run *run, const char *title, const char *subtitle,
                     const char *map_caption, attrib_row *rows, int n)
{
    int scale = cz_panel_scale(run->H > run->W ? run->H : run->W, VIZ_PANEL_PX);
    int pw = run->W * scale, ph = run->H * scale;
    int panels = rows[0].top1 ? 4 : 3;
    int legend = 0;
    for (int r = 0; r < n && rows[0].top1; r++) {
        int l = draw_legend(NULL, 0, 0, run, &rows[r], false);
        legend = l > legend ? l : legend;
    }
    int row_h = ROW_LABEL + ph + CAPTION + legend * LEGEND_LINE + GAP;
    int width = 2 * MARGIN + panels * pw + (panels - 1) * GAP + GAP + BAR_SPACE;
    int min_w = 2 * MARGIN + cz_canvas_text_width(title, 2);
    width = width > min_w ? width : min_w;
    min_w = 2 * MARGIN + cz_canvas_text_width(subtitle, 1);
    width = width > min_w ? width : min_w;
    cz_canvas c = {0};
    int rc = viz_page(&c, width, MARGIN + HEAD + n * row_h, title, subtitle);
    if (rc >= 0)
        return rc;
    for (int r = 0; r < n; r++) {
        const attrib_row *row = &rows[r];
        int y = MARGIN + HEAD + r * row_h;
        char buf[32], text[256];
        snprintf(text, sizeof text, "class %d %s  p = %.3f", row->cls,
                 viz_class_name(run, row->cls, buf), run->prob[row->cls]);
        cz_canvas_text(&c, MARGIN, y, text, 2, INK);
        y += ROW_LABEL;
        int x = MARGIN;
        const char *captions[4] = {"input (as the net sees it)", map_caption, "over the input",
                                   "top-1 class per square"};
        cz_panel_image(&c, x, y, run->display, run->C, run->H, run->W, scale);
        cz_panel_map(&c, x + (pw + GAP), y, row->map, run->H, run->W, scale, row->lo, row->hi,
                     run->cmap, NULL, 0, 0.0f);
        cz_panel_map(&c, x + 2 * (pw + GAP), y, row->map, run->H, run->W, scale, row->lo,
                     row->hi, run->cmap, run->display, run->C, 0.55f);
        if (row->top1) {
            draw_top1(&c, x + 3 * (pw + GAP), y, run, row, scale);
            draw_legend(&c, x + 3 * (pw + GAP), y + ph + CAPTION, run, row, true);
        }
        for (int p = 0; p < panels; p++) {
            cz_canvas_rect(&c, x + p * (pw + GAP) - 1, y - 1, pw + 2, ph + 2, SOFT);
            cz_panel_text_centered(&c, x + p * (pw + GAP) + pw / 2, y + ph + 5, captions[p], 1,
                                   INK);
        }
        cz_panel_colorbar(&c, x + panels * (pw + GAP), y + 14, BAR_W, ph - 14, run->cmap,
                          row->lo, row->hi, NULL);
    }
    rc = viz_save(run, &c);
    cz_canvas_free(&c);
    return rc;
}

static void free_rows(attrib_row *rows, int n)
{
    for (int r = 0; rows && r < n; r++)
        free(rows[r].map);
    free(rows);
}

/* Rows with H x W maps allocated; NULL after printing the error. */
static attrib_row *alloc_rows(const viz_run *run)
{
    attrib_row *rows = calloc((size_t)run->n_targets, sizeof *rows);
    for (int r = 0; rows && r < run->n_targets; r++) {
        rows[r].cls = run->targets[r];
        rows[r].map = malloc((size_t)run->H * run->W * sizeof *rows[r].map);
        if (!rows[r].map) {
            free_rows(rows, run->n_targets);
            rows = NULL;
        }
    }
    if (!rows)
        cz_cli_error("viz: out of memory");
    return rows;
}

/* The JSON member opening one map: class, name, probability. */
static void json_map_head(const viz_run *run, int r, int cls)
{
    char buf[32];
    cz_atomic_printf(run->json, "%s\n    {\"class\": %d, \"name\": ", r ? "," : "", cls);
    viz_json_string(run->json, viz_class_name(run, cls, buf));
    cz_atomic_printf(run->json, ", \"probability\": %.9g", run->prob[cls]);
}

int viz_saliency(viz_run *run)
{
    attrib_row *rows = alloc_rows(run);
    if (!rows)
        return CZ_EXIT_FAIL;
    size_t n = (size_t)run->H * run->W;
    if (run->json)
        cz_atomic_printf(run->json, ",\n  \"shape\": [%d, %d],\n  \"maps\": [", run->H, run->W);
    for (int r = 0; r < run->n_targets; r++) {
        if (cz_viz_saliency(run->net, &run->x, rows[r].cls, rows[r].map, NULL) != CZ_OK) {
            cz_cli_error("viz saliency: %s", cz_last_error());
            free_rows(rows, run->n_targets);
            return CZ_EXIT_FAIL;
        }
        cz_panel_range(rows[r].map, n, &rows[r].lo, &rows[r].hi);
        rows[r].lo = 0.0f;
        if (run->json) {
            json_map_head(run, r, rows[r].cls);
            cz_atomic_printf(run->json, ", \"saliency\": ");
            viz_json_floats(run->json, rows[r].map, n);
            cz_atomic_printf(run->json, "}");
        }
    }
    if (run->json)
        cz_atomic_printf(run->json, "\n  ]");
    char sub[600];
    snprintf(sub, sizeof sub, "%s: max over channels of |d logit / d pixel| (Simonyan et al. "
             "2014); bright = a small change there moves the score most", run->model);
    int rc = draw_rows(run, "Saliency", sub, "|gradient|, max over channels", rows,
                       run->n_targets);
    free_rows(rows, run->n_targets);
    return rc;
}

int viz_gradcam(viz_run *run)
{
    attrib_row *rows = alloc_rows(run);
    int shape[3];
    cz_net_node_shape(run->net, run->layer, shape);
    size_t small = (size_t)shape[1] * shape[2];
    float *cam = malloc(small * sizeof *cam), *alpha = malloc((size_t)shape[0] * sizeof *alpha);
    int rc = rows && cam && alpha ? -1 : CZ_EXIT_FAIL;
    if (rc >= 0 && rows)
        cz_cli_error("viz: out of memory");
    const char *layer = cz_net_node_name(run->net, run->layer);
    if (rc < 0 && run->json)
        cz_atomic_printf(run->json, ",\n  \"shape\": [%d, %d],\n  \"maps\": [", shape[1],
                         shape[2]);
    for (int r = 0; rc < 0 && r < run->n_targets; r++) {
        if (cz_viz_gradcam(run->net, &run->x, run->layer, rows[r].cls, cam, alpha) != CZ_OK) {
            cz_cli_error("viz gradcam: %s", cz_last_error());
            rc = CZ_EXIT_FAIL;
            break;
        }
        cz_viz_upsample(cam, shape[1], shape[2], rows[r].map, run->H, run->W);
        cz_panel_range(cam, small, &rows[r].lo, &rows[r].hi);
        rows[r].lo = 0.0f;
        if (run->json) {
            json_map_head(run, r, rows[r].cls);
            cz_atomic_printf(run->json, ", \"cam\": ");
            viz_json_floats(run->json, cam, small);
            cz_atomic_printf(run->json, ", \"alpha\": ");
            viz_json_floats(run->json, alpha, (size_t)shape[0]);
            cz_atomic_printf(run->json, "}");
        }
    }
    if (rc < 0 && run->json)
        cz_atomic_printf(run->json, "\n  ]");
    if (rc < 0) {
        char title[300], sub[600], caption[64];
        snprintf(title, sizeof title, "Grad-CAM at %s", layer);
        snprintf(sub, sizeof sub, "%s, layer %s (%dx%dx%d), upsampled bilinearly to %dx%d: "
                 "ReLU(sum_k alpha_k A_k) (Selvaraju et al. 2017)", run->model, layer,
                 shape[0], shape[1], shape[2], run->H, run->W);
        snprintf(caption, sizeof caption, "Grad-CAM (%dx%d map)", shape[1], shape[2]);
        rc = draw_rows(run, title, sub, caption, rows, run->n_targets);
    }
    free_rows(rows, run->n_targets);
    free(cam);
    free(alpha);
    return rc;
}

int viz_occlusion(viz_run *run)
{
    attrib_row *rows = alloc_rows(run);
    cz_occlusion *occ = calloc((size_t)run->n_targets, sizeof *occ);
    /* The square in the normalised space: 0 is the dataset's mean. */
    float *fill = calloc((size_t)run->C, sizeof *fill);
    for (int c = 0; fill && c < run->C && run->fill == run->fill; c++)
        fill[c] = (run->fill - run->pp.mean[c]) / run->pp.std[c];
    int rc = rows && occ && fill ? -1 : CZ_EXIT_FAIL;
    if (rc >= 0 && rows)
        cz_cli_error("viz: out of memory");
    size_t n = (size_t)run->H * run->W;
    for (int r = 0; rc < 0 && r < run->n_targets; r++) {
        if (cz_viz_occlusion(run->net, &run->x, rows[r].cls, run->size, run->stride, fill,
                             run->batch, &occ[r]) != CZ_OK) {
            cz_cli_error("viz occlusion: %s", cz_last_error());
            rc = CZ_EXIT_FAIL;
            break;
        }
        memcpy(rows[r].map, occ[r].pixel, n * sizeof *rows[r].map);
        cz_panel_range(occ[r].prob, (size_t)occ[r].grid_h * occ[r].grid_w, &rows[r].lo,
                       &rows[r].hi);
        rows[r].top1 = occ[r].top1;
        rows[r].grid_h = occ[r].grid_h;
        rows[r].grid_w = occ[r].grid_w;
        rows[r].stride = occ[r].stride;
    }
    if (rc < 0 && run->json) {
        cz_atomic_printf(run->json, ",\n  \"size\": %d,\n  \"stride\": %d,\n  \"grid\": [%d, %d],"
                         "\n  \"fill\": ", run->size, run->stride, occ[0].grid_h, occ[0].grid_w);
        viz_json_floats(run->json, fill, (size_t)run->C);
        cz_atomic_printf(run->json, ",\n  \"maps\": [");
        for (int r = 0; r < run->n_targets; r++) {
            size_t cells = (size_t)occ[r].grid_h * occ[r].grid_w;
            json_map_head(run, r, rows[r].cls);
            cz_atomic_printf(run->json, ", \"occluded_probability\": ");
            viz_json_floats(run->json, occ[r].prob, cells);
            cz_atomic_printf(run->json, ", \"top1\": ");
            viz_json_ints(run->json, occ[r].top1, cells);
            cz_atomic_printf(run->json, "}");
        }
        cz_atomic_printf(run->json, "\n  ]");
    }
    if (rc < 0) {
        char sub[600], caption[64];
        char colour[32];
        if (run->fill == run->fill)
            snprintf(colour, sizeof colour, "pixel value %.2f", (double)run->fill);
        else
            snprintf(colour, sizeof colour, "the mean pixel, grey");
        snprintf(sub, sizeof sub, "%s: a %dx%d square (%s) centred every %d px; each pixel "
                 "shows the class probability while squares hide it (Zeiler & Fergus 2014, "
                 "fig. 7)", run->model, run->size, run->size, colour, run->stride);
        snprintf(caption, sizeof caption, "p(class) when hidden");
        rc = draw_rows(run, "Occlusion sensitivity", sub, caption, rows, run->n_targets);
    }
    for (int r = 0; occ && r < run->n_targets; r++)
        cz_occlusion_free(&occ[r]);
    free(occ);
    free(fill);
    free_rows(rows, run->n_targets);
    return rc;
}
