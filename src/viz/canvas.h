/*
 * canvas.h - a small RGB raster for the pictures cnnzoo draws (training
 * curves, feature maps, Grad-CAM overlays): filled and outlined
 * rectangles, thick lines, dots, text in a built-in 5x7 bitmap font (with
 * descenders), and a crash-safe PNG writer.
 *
 * Every drawing call clips to the canvas, so coordinates far outside it
 * (even INT_MIN / INT_MAX) are safe and cost no more than the visible part.
 * No anti-aliasing: pixels are set, never blended, which keeps tests exact.
 * Limits: 8-bit RGB only; text is ASCII 32..126 (other bytes draw as '?').
 */
#ifndef CZ_VIZ_CANVAS_H
#define CZ_VIZ_CANVAS_H

#include <stdint.h>

#include "cnnzoo.h"

/* Largest width or height accepted by cz_canvas_init. */
#define CZ_CANVAS_MAX_SIDE 16384

/* The font's cell at scale 1: a 5x9 glyph (capitals and digits on the top
 * CZ_FONT_CAP_H rows, two rows for descenders) plus one column and one row
 * of spacing. Text at scale s occupies CZ_FONT_CELL_W * s pixels per
 * character and CZ_FONT_CELL_H * s pixels in height. */
#define CZ_FONT_GLYPH_W 5
#define CZ_FONT_GLYPH_H 9
#define CZ_FONT_CAP_H 7
#define CZ_FONT_CELL_W 6
#define CZ_FONT_CELL_H 10

typedef struct cz_rgb {
    uint8_t r, g, b;
} cz_rgb;

/* Row-major, interleaved: pixels[(y * width + x) * 3 + {0, 1, 2}] is the
 * pixel's red, green and blue; y = 0 is the top row. */
typedef struct cz_canvas {
    int width, height;
    uint8_t *pixels;
} cz_canvas;

/* Allocates a width x height canvas filled with background; both sides in
 * [1, CZ_CANVAS_MAX_SIDE]. */
cz_status cz_canvas_init(cz_canvas *c, int width, int height, cz_rgb background);
/* Frees the pixels; safe on a zeroed or already freed canvas. */
void cz_canvas_free(cz_canvas *c);

void cz_canvas_fill(cz_canvas *c, cz_rgb color);
/* Sets one pixel; nothing happens outside the canvas. */
void cz_canvas_set(cz_canvas *c, int x, int y, cz_rgb color);
/* The pixel at (x, y), which must lie inside the canvas. */
cz_rgb cz_canvas_get(const cz_canvas *c, int x, int y);

/* The w x h rectangle whose top-left pixel is (x, y): filled, or its
 * one-pixel outline. Empty when w or h is not positive. */
void cz_canvas_fill_rect(cz_canvas *c, int x, int y, int w, int h, cz_rgb color);
void cz_canvas_rect(cz_canvas *c, int x, int y, int w, int h, cz_rgb color);

/* A line from (x0, y0) to (x1, y1), both end points included (Bresenham).
 * thickness 1 sets one pixel per step; thickness t > 1 stamps a t x t
 * square whose top-left is offset by (t - 1) / 2 from each step. */
void cz_canvas_line(cz_canvas *c, int x0, int y0, int x1, int y1, int thickness, cz_rgb color);
/* A filled disc of the given radius (0: one pixel) centred on (x, y). */
void cz_canvas_dot(cz_canvas *c, int x, int y, int radius, cz_rgb color);

/* Draws text with its top-left corner at (x, y), each font pixel as a
 * scale x scale block (scale >= 1). Only glyph pixels are set: the
 * background shows through. Returns the width drawn, as
 * cz_canvas_text_width. '\n' is not special. */
int cz_canvas_text(cz_canvas *c, int x, int y, const char *text, int scale, cz_rgb color);
/* The same, rotated a quarter turn counter-clockwise so it reads bottom to
 * top (for a vertical axis label): the text's box is CZ_FONT_CELL_H * scale
 * wide, cz_canvas_text_width high, with its top-left corner at (x, y). */
void cz_canvas_text_up(cz_canvas *c, int x, int y, const char *text, int scale, cz_rgb color);
/* The width text takes at scale: CZ_FONT_CELL_W * scale per character
 * (the last character's spacing column included). */
int cz_canvas_text_width(const char *text, int scale);

/* Writes the canvas as an 8-bit RGB PNG, crash-safely (temporary file,
 * fsync, rename): a failure leaves any old file at path untouched. Errors
 * name the path. */
cz_status cz_canvas_save_png(const cz_canvas *c, const char *path);

#endif
