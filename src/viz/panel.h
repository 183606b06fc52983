/*
 * panel.h - drawing float maps on a canvas for `cnnzoo viz`: an image, a
 * heat map (colour-mapped, optionally blended over a grey image) or a
 * tile of weights, each scaled up by nearest neighbour so every source
 * pixel is a visible square, plus a labelled colour bar.
 *
 * Maps are row-major h x w floats; values are placed on the colour map
 * linearly between lo (0) and hi (1), clamped; NaN draws as colour 0.
 */
#ifndef CZ_VIZ_PANEL_H
#define CZ_VIZ_PANEL_H

#include "viz/canvas.h"
#include "viz/colormap.h"

/* An image of C = 1 (grey) or 3 (RGB) planes (C x h x w, values in
 * [0, 1], clamped), each pixel a scale x scale square at (x, y). */
void cz_panel_image(cz_canvas *c, int x, int y, const float *img, int channels, int h, int w,
                    int scale);

/* A heat map (h x w) through cmap. With under (1 or 3 planes of h x w in
 * [0, 1], or NULL) the colour is blended over the image's grey level:
 * alpha of the heat colour, 1 - alpha of the image. */
void cz_panel_map(cz_canvas *c, int x, int y, const float *map, int h, int w, int scale, float lo,
                  float hi, cz_colormap cmap, const float *under, int under_channels,
                  float alpha);

/* A vertical colour bar w x h at (x, y), hi at the top, with lo and hi
 * written to its right ("%.3g") and the label above it. Returns the
 * total width drawn (bar and numbers). */
int cz_panel_colorbar(cz_canvas *c, int x, int y, int w, int h, cz_colormap cmap, float lo,
                      float hi, const char *label);

/* Text centred on column cx, clipped by the canvas as all text is. */
void cz_panel_text_centered(cz_canvas *c, int cx, int y, const char *text, int scale, cz_rgb ink);

/* The smallest and largest finite values of n floats (0, 0 if none). */
void cz_panel_range(const float *v, size_t n, float *lo, float *hi);

/* The nearest-neighbour scale that makes a side of `side` pixels about
 * `target` pixels (at least 1). */
int cz_panel_scale(int side, int target);

#endif
