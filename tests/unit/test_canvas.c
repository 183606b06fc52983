/*
 * test_canvas.c - the raster of src/viz/canvas.c: lines reach both end
 * points, drawing far outside the canvas writes nothing out of bounds (a
 * guard band around the pixels must stay intact), text lights pixels only
 * inside its box, and a saved PNG read back with libpng equals the canvas.
 */
#include <limits.h>
#include <png.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"
#include "viz/canvas.h"

static const cz_rgb BG = {10, 20, 30}, RED = {250, 0, 0}, BLUE = {0, 0, 250};

static int make_tmp_dir(void **state)
{
    (void)state;
    return tu_make_tmp_dir("canvas");
}

static bool is(cz_rgb p, cz_rgb q)
{
    return p.r == q.r && p.g == q.g && p.b == q.b;
}

static int count_color(const cz_canvas *c, cz_rgb color)
{
    int n = 0;
    for (int y = 0; y < c->height; y++)
        for (int x = 0; x < c->width; x++)
            n += is(cz_canvas_get(c, x, y), color);
    return n;
}

static void test_init_and_fill(void **state)
{
    (void)state;
    cz_canvas c;
    tu_check(cz_canvas_init(&c, 7, 5, BG));
    assert_int_equal(count_color(&c, BG), 35);
    cz_canvas_set(&c, 6, 4, RED);
    assert_true(is(cz_canvas_get(&c, 6, 4), RED));
    assert_int_equal(c.pixels[(4 * 7 + 6) * 3], 250);
    cz_canvas_fill(&c, BLUE);
    assert_int_equal(count_color(&c, BLUE), 35);
    cz_canvas_free(&c);
    cz_canvas_free(&c);

    tu_expect_error(cz_canvas_init(&c, 0, 5, BG), CZ_ERR_ARG, "0x5", NULL);
    tu_expect_error(cz_canvas_init(&c, 5, CZ_CANVAS_MAX_SIDE + 1, BG), CZ_ERR_ARG, "canvas",
                    NULL);
    assert_null(c.pixels);
}

/* Every direction and slope: both end points lit, and each step moves at
 * most one pixel, so the line has max(|dx|, |dy|) + 1 pixels. */
static void test_line_end_points(void **state)
{
    (void)state;
    const int ends[][4] = {{2, 3, 30, 3},  {30, 3, 2, 3},   {5, 1, 5, 28},  {5, 28, 5, 1},
                           {1, 1, 31, 31}, {31, 1, 1, 31},  {3, 4, 29, 11}, {29, 11, 3, 4},
                           {4, 2, 11, 30}, {11, 30, 4, 2},  {0, 31, 31, 0}, {16, 16, 16, 16},
                           {0, 0, 31, 1},  {31, 30, 0, 31}};
    for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++) {
        const int *e = ends[i];
        cz_canvas c;
        tu_check(cz_canvas_init(&c, 32, 32, BG));
        cz_canvas_line(&c, e[0], e[1], e[2], e[3], 1, RED);
        assert_true(is(cz_canvas_get(&c, e[0], e[1]), RED));
        assert_true(is(cz_canvas_get(&c, e[2], e[3]), RED));
        int dx = abs(e[2] - e[0]), dy = abs(e[3] - e[1]);
        assert_int_equal(count_color(&c, RED), (dx > dy ? dx : dy) + 1);
        /* A thick line covers the thin one and more. */
        cz_canvas_line(&c, e[0], e[1], e[2], e[3], 2, BLUE);
        assert_int_equal(count_color(&c, RED), 0);
        assert_true(is(cz_canvas_get(&c, e[0], e[1]), BLUE));
        assert_true(is(cz_canvas_get(&c, e[2], e[3]), BLUE));
        cz_canvas_free(&c);
    }
}

/* A canvas whose pixels sit inside a larger allocation: drawing must leave
 * the guard bytes on both sides untouched. */
#define GUARD 4096
static uint8_t *guarded_canvas(cz_canvas *c, int w, int h)
{
    size_t size = (size_t)w * h * 3;
    uint8_t *block = malloc(size + 2 * GUARD);
    assert_non_null(block);
    memset(block, 0xAB, size + 2 * GUARD);
    c->width = w;
    c->height = h;
    c->pixels = block + GUARD;
    cz_canvas_fill(c, BG);
    return block;
}

static void assert_guards(const uint8_t *block, size_t size)
{
    for (size_t i = 0; i < GUARD; i++) {
        assert_int_equal(block[i], 0xAB);
        assert_int_equal(block[GUARD + size + i], 0xAB);
    }
}

static void test_clipping(void **state)
{
    (void)state;
    cz_canvas c;
    int w = 20, h = 10;
    uint8_t *block = guarded_canvas(&c, w, h);
    const int far[][4] = {
        {-50, -50, 100, 100},          {-5, 5, 25, 5},
        {10, -100, 10, 100},           {INT_MIN, INT_MIN, INT_MAX, INT_MAX},
        {INT_MAX, 0, INT_MIN, 9},      {-30, -1, 60, -1},
        {20, 0, 20, 9},                {0, 10, 19, 10},
        {INT_MIN, 5, INT_MIN, 5},      {-1000000, 4, 1000000, 6},
        {INT_MAX, INT_MAX, INT_MAX, INT_MAX},
    };
    for (size_t i = 0; i < sizeof far / sizeof far[0]; i++)
        for (int t = 1; t <= 3; t++)
            cz_canvas_line(&c, far[i][0], far[i][1], far[i][2], far[i][3], t, RED);
    /* A line across the whole canvas and beyond lights its visible part. */
    assert_true(is(cz_canvas_get(&c, 0, 5), RED));
    assert_true(is(cz_canvas_get(&c, 19, 5), RED));
    /* Thin lines one pixel outside the canvas light nothing. */
    cz_canvas_fill(&c, BG);
    cz_canvas_line(&c, 20, 0, 20, 9, 1, RED);
    cz_canvas_line(&c, 0, 10, 19, 10, 1, RED);
    assert_int_equal(count_color(&c, RED), 0);

    cz_canvas_fill_rect(&c, -5, -5, 100, 100, RED);
    assert_int_equal(count_color(&c, RED), w * h);
    cz_canvas_fill_rect(&c, INT_MAX - 1, INT_MAX - 1, INT_MAX, INT_MAX, BLUE);
    cz_canvas_fill_rect(&c, INT_MIN, INT_MIN, INT_MAX, INT_MAX, BLUE);
    cz_canvas_fill_rect(&c, 3, 3, -4, 2, BLUE);
    cz_canvas_rect(&c, -3, -3, w + 6, h + 6, BLUE);
    cz_canvas_rect(&c, INT_MAX, INT_MIN, INT_MAX, INT_MAX, BLUE);
    cz_canvas_set(&c, -1, 0, BLUE);
    cz_canvas_set(&c, w, h - 1, BLUE);
    cz_canvas_set(&c, 0, h, BLUE);
    assert_int_equal(count_color(&c, RED), w * h);

    cz_canvas_dot(&c, -2, -2, 3, BLUE);
    assert_true(is(cz_canvas_get(&c, 0, 0), BLUE));
    cz_canvas_dot(&c, INT_MIN, INT_MAX, INT_MAX, BLUE);
    cz_canvas_dot(&c, INT_MAX, 5, 2, BLUE);
    cz_canvas_text(&c, -7, -3, "Hello, clipping!", 3, BLUE);
    cz_canvas_text(&c, INT_MAX - 2, INT_MIN, "xyz", 64, BLUE);
    cz_canvas_text(&c, INT_MIN, INT_MAX, "xyz", 1000, BLUE);
    cz_canvas_text_up(&c, 15, -20, "vertical text", 2, BLUE);
    cz_canvas_text_up(&c, INT_MAX, INT_MAX, "abc", 1, BLUE);
    cz_canvas_text_up(&c, INT_MIN, INT_MIN, "abc", 5, BLUE);
    assert_guards(block, (size_t)w * h * 3);
    free(block);
}

static void test_dot(void **state)
{
    (void)state;
    cz_canvas c;
    tu_check(cz_canvas_init(&c, 21, 21, BG));
    cz_canvas_dot(&c, 10, 10, 0, RED);
    assert_int_equal(count_color(&c, RED), 1);
    cz_canvas_dot(&c, 10, 10, 4, RED);
    /* Symmetric, reaching exactly radius along the axes. */
    for (int d = -4; d <= 4; d++) {
        assert_true(is(cz_canvas_get(&c, 10 + d, 10), RED));
        assert_true(is(cz_canvas_get(&c, 10, 10 + d), RED));
    }
    assert_true(is(cz_canvas_get(&c, 15, 10), BG));
    assert_true(is(cz_canvas_get(&c, 10, 5), BG));
    assert_true(is(cz_canvas_get(&c, 14, 14), BG));
    cz_canvas_free(&c);
}

/* Lit pixels of text drawn at (x, y) fall inside its box, and every
 * printable glyph but the space lights at least one. */
static void test_text_box(void **state)
{
    (void)state;
    cz_canvas c;
    tu_check(cz_canvas_init(&c, 200, 60, BG));
    for (int scale = 1; scale <= 3; scale++) {
        const char *text = "Loss 0.25 gjpqy_,";
        int x = 13, y = 7;
        cz_canvas_fill(&c, BG);
        int w = cz_canvas_text(&c, x, y, text, scale, RED);
        assert_int_equal(w, (int)strlen(text) * CZ_FONT_CELL_W * scale);
        assert_int_equal(w, cz_canvas_text_width(text, scale));
        int lit = 0, below_cap = 0;
        for (int py = 0; py < c.height; py++)
            for (int px = 0; px < c.width; px++) {
                if (!is(cz_canvas_get(&c, px, py), RED))
                    continue;
                lit++;
                if (px < x || px >= x + w || py < y || py >= y + CZ_FONT_GLYPH_H * scale)
                    fail_msg("scale %d: pixel (%d, %d) outside the text's box", scale, px, py);
                below_cap += py >= y + CZ_FONT_CAP_H * scale;
            }
        assert_true(lit > 20 * scale * scale);
        assert_true(below_cap > 0); /* the descenders */
    }
    char one[2] = {0, 0};
    for (int ch = 33; ch <= 126; ch++) {
        one[0] = (char)ch;
        cz_canvas_fill(&c, BG);
        cz_canvas_text(&c, 0, 0, one, 1, RED);
        if (count_color(&c, RED) == 0)
            fail_msg("glyph '%c' is empty", ch);
    }
    cz_canvas_fill(&c, BG);
    cz_canvas_text(&c, 0, 0, " ", 1, RED);
    assert_int_equal(count_color(&c, RED), 0);
    cz_canvas_free(&c);
}

/* Rotated text: a box CELL_H wide and text-width high, and the first
 * character at the bottom. */
static void test_text_up(void **state)
{
    (void)state;
    cz_canvas c;
    tu_check(cz_canvas_init(&c, 40, 100, BG));
    const char *text = "L.";
    int x = 5, y = 10, h = cz_canvas_text_width(text, 2);
    cz_canvas_text_up(&c, x, y, text, 2, RED);
    int lowest = -1, highest = c.height;
    for (int py = 0; py < c.height; py++)
        for (int px = 0; px < c.width; px++)
            if (is(cz_canvas_get(&c, px, py), RED)) {
                assert_true(px >= x && px < x + CZ_FONT_CELL_H * 2);
                assert_true(py >= y && py < y + h);
                lowest = py > lowest ? py : lowest;
                highest = py < highest ? py : highest;
            }
    /* 'L''s stem is its left column: at the bottom of the box, rotated. */
    assert_int_equal(lowest, y + h - 1);
    assert_true(highest > y); /* '.' is narrow and the cell has spacing */
    cz_canvas_free(&c);
}

static void read_png(const char *path, int *w, int *h, uint8_t **pixels)
{
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&img, path))
        fail_msg("libpng cannot open %s: %s", path, img.message);
    img.format = PNG_FORMAT_RGB;
    *w = (int)img.width;
    *h = (int)img.height;
    *pixels = malloc(PNG_IMAGE_SIZE(img));
    assert_non_null(*pixels);
    if (!png_image_finish_read(&img, NULL, *pixels, 0, NULL))
        fail_msg("libpng cannot read %s: %s", path, img.message);
}

static void test_png_round_trip(void **state)
{
    (void)state;
    cz_canvas c;
    tu_check(cz_canvas_init(&c, 37, 23, BG));
    for (int y = 0; y < c.height; y++)
        for (int x = 0; x < c.width; x++)
            cz_canvas_set(&c, x, y, (cz_rgb){(uint8_t)(x * 7), (uint8_t)(y * 11), (uint8_t)(x ^ y)});
    cz_canvas_line(&c, 0, 22, 36, 0, 2, RED);
    cz_canvas_text(&c, 2, 2, "PNG", 1, BLUE);
    const char *path = tu_tmp_path("round_trip.png");
    tu_write_bytes(path, "old", 3); /* replaced whole */
    tu_check(cz_canvas_save_png(&c, path));
    int w, h;
    uint8_t *pixels;
    read_png(path, &w, &h, &pixels);
    assert_int_equal(w, 37);
    assert_int_equal(h, 23);
    assert_memory_equal(pixels, c.pixels, (size_t)w * h * 3);
    free(pixels);
    cz_canvas_free(&c);

    tu_expect_error(cz_canvas_save_png(&c, tu_tmp_path("no/such/folder/x.png")), CZ_ERR_IO,
                    "no/such/folder/x.png", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_and_fill),    cmocka_unit_test(test_line_end_points),
        cmocka_unit_test(test_clipping),         cmocka_unit_test(test_dot),
        cmocka_unit_test(test_text_box),         cmocka_unit_test(test_text_up),
        cmocka_unit_test(test_png_round_trip),
    };
    return cmocka_run_group_tests(tests, make_tmp_dir, NULL);
}
