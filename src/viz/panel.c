/*
 * panel.c - float maps drawn on a canvas (panel.h).
 */
#include <math.h>
#include <stdio.h>

#include "viz/panel.h"

static float unit(float v)
{
    return v > 0.0f ? (v < 1.0f ? v : 1.0f) : 0.0f;
}

static uint8_t byte(float v)
{
    return (uint8_t)lrintf(unit(v) * 255.0f);
}

/* The pixel i of an image with channels planes of n, as grey in [0, 1]
 * (ITU-R 601 luma for RGB, as PIL's convert("L")). */
static float grey_at(const float *img, int channels, size_t n, size_t i)
{
    if (channels == 1)
        return unit(img[i]);
    return 0.299f * unit(img[i]) + 0.587f * unit(img[n + i]) + 0.114f * unit(img[2 * n + i]);
}

void cz_panel_image(cz_canvas *c, int x, int y, const float *img, int channels, int h, int w,
                    int scale)
{
    size_t n = (size_t)h * w;
    for (int r = 0; r < h; r++)
        for (int q = 0; q < w; q++) {
            size_t i = (size_t)r * w + q;
            cz_rgb color;
            if (channels == 3)
                color = (cz_rgb){byte(img[i]), byte(img[n + i]), byte(img[2 * n + i])};
            else
                color.r = color.g = color.b = byte(img[i]);
            cz_canvas_fill_rect(c, x + q * scale, y + r * scale, scale, scale, color);
        }
}

void cz_panel_map(cz_canvas *c, int x, int y, const float *map, int h, int w, int scale, float lo,
                  float hi, cz_colormap cmap, const float *under, int under_channels,
                  float alpha)
{
    float span = hi > lo ? hi - lo : 1.0f;
    size_t n = (size_t)h * w;
    for (int r = 0; r < h; r++)
        for (int q = 0; q < w; q++) {
            size_t i = (size_t)r * w + q;
            cz_rgb color = cz_colormap_at(cmap, (map[i] - lo) / span);
            if (under) {
                float g = 255.0f * grey_at(under, under_channels, n, i) * (1.0f - alpha);
                color.r = (uint8_t)lrintf(alpha * color.r + g);
                color.g = (uint8_t)lrintf(alpha * color.g + g);
                color.b = (uint8_t)lrintf(alpha * color.b + g);
            }
            cz_canvas_fill_rect(c, x + q * scale, y + r * scale, scale, scale, color);
        }
}

int cz_panel_colorbar(cz_canvas *c, int x, int y, int w, int h, cz_colormap cmap, float lo,
                      float hi, const char *label)
{
    static const cz_rgb INK = {30, 30, 30};
    for (int r = 0; r < h; r++)
        cz_canvas_fill_rect(c, x, y + r, w, 1,
                            cz_colormap_at(cmap, h > 1 ? 1.0f - (float)r / (float)(h - 1) : 1.0f));
    cz_canvas_rect(c, x - 1, y - 1, w + 2, h + 2, INK);
    char text[32];
    snprintf(text, sizeof text, "%.3g", (double)hi);
    int tw = cz_canvas_text(c, x + w + 4, y, text, 1, INK);
    snprintf(text, sizeof text, "%.3g", (double)lo);
    int bw = cz_canvas_text(c, x + w + 4, y + h - CZ_FONT_CAP_H, text, 1, INK);
    if (label)
        cz_canvas_text(c, x, y - CZ_FONT_CELL_H - 3, label, 1, INK);
    return w + 4 + (tw > bw ? tw : bw);
}

void cz_panel_text_centered(cz_canvas *c, int cx, int y, const char *text, int scale, cz_rgb ink)
{
    cz_canvas_text(c, cx - cz_canvas_text_width(text, scale) / 2, y, text, scale, ink);
}

void cz_panel_range(const float *v, size_t n, float *lo, float *hi)
{
    bool any = false;
    *lo = *hi = 0.0f;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(v[i]))
            continue;
        if (!any || v[i] < *lo)
            *lo = v[i];
        if (!any || v[i] > *hi)
            *hi = v[i];
        any = true;
    }
}

int cz_panel_scale(int side, int target)
{
    int s = (target + side / 2) / (side > 0 ? side : 1);
    return s < 1 ? 1 : s;
}
