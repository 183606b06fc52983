/*
 * plot.c - `cnnzoo plot LOG --output curves.png [--width W] [--height H]`:
 * draws a training log's curves as a PNG, loss (train, test) on the left
 * and accuracy (train top-1, test top-1, test top-5) on the right.
 *
 * The log is the trainer's CSV: a header line, then one line per epoch.
 * Columns are found by name (epoch, train_loss, test_loss, train_top1,
 * test_top1, test_top5; others are ignored), so a log with extra or
 * missing columns still plots. An empty field is a missing value (no test
 * set): the curve breaks there. Without an epoch column the line number
 * stands in.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "io/io.h"
#include "viz/canvas.h"

/* A log is a few hundred short lines; this only stops a wrong path (a
 * dataset) from being read whole. */
#define MAX_LOG_BYTES (64u << 20)

static const cz_rgb WHITE = {255, 255, 255}, INK = {30, 30, 30}, FRAME = {110, 110, 110},
                    GRID = {228, 228, 228};

enum { TRAIN_LOSS, TEST_LOSS, TRAIN_TOP1, TEST_TOP1, TEST_TOP5, N_SERIES };

static const struct {
    const char *column;
    const char *label; /* in the legend */
    cz_rgb color;
    int panel; /* 0 loss, 1 accuracy */
} SERIES[N_SERIES] = {
    /* blue for train, orange for test top-1, green for test top-5 */
    {"train_loss", "train", {31, 119, 180}, 0},
    {"test_loss", "test", {230, 110, 10}, 0},
    {"train_top1", "train top-1", {31, 119, 180}, 1},
    {"test_top1", "test top-1", {230, 110, 10}, 1},
    {"test_top5", "test top-5", {44, 160, 44}, 1},
};

/* The parsed log: n epochs; y[s] is NULL when the header lacks series s,
 * and NAN marks a missing value. */
typedef struct train_log {
    int n;
    double *epoch;
    double *y[N_SERIES];
} train_log;

static void log_free(train_log *log)
{
    free(log->epoch);
    for (int s = 0; s < N_SERIES; s++)
        free(log->y[s]);
    memset(log, 0, sizeof *log);
}

/* Cuts the next comma-separated field off *line (which it advances past
 * the comma, or to NULL after the last field) and trims blanks and '\r'. */
static char *next_field(char **line)
{
    char *start = *line, *comma = strchr(start, ',');
    if (comma) {
        *comma = '\0';
        *line = comma + 1;
    } else {
        *line = NULL;
    }
    while (*start == ' ' || *start == '\t')
        start++;
    char *end = start + strlen(start);
    while (end > start && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        *--end = '\0';
    return start;
}

/* Where each column of the header goes: -1 epoch, 0..N_SERIES-1 a series,
 * N_SERIES ignored. Returns how many columns the header has. */
static cz_status parse_header(const char *path, char *line, int **role, int *n_cols)
{
    int cap = 1;
    for (const char *p = line; *p; p++)
        cap += *p == ',';
    *role = malloc((size_t)cap * sizeof **role);
    if (!*role)
        return cz_fail(CZ_ERR_NOMEM, "%s: out of memory", path);
    bool known = false, any_series = false, seen[N_SERIES + 1] = {false};
    *n_cols = 0;
    for (char *rest = line; rest;) {
        const char *name = next_field(&rest);
        int r = N_SERIES;
        if (strcmp(name, "epoch") == 0)
            r = -1;
        for (int s = 0; s < N_SERIES; s++)
            if (strcmp(name, SERIES[s].column) == 0)
                r = s;
        if (r != N_SERIES && seen[r + 1])
            return cz_fail(CZ_ERR_FORMAT, "%s:1: column '%s' appears twice in the header", path,
                           name);
        if (r != N_SERIES)
            seen[r + 1] = true;
        known |= r != N_SERIES;
        any_series |= r >= 0 && r < N_SERIES;
        (*role)[(*n_cols)++] = r;
    }
    if (!known)
        return cz_fail(CZ_ERR_FORMAT,
                       "%s:1: no header line (expected column names such as "
                       "epoch,lr,train_loss,train_top1,test_loss,test_top1,...)",
                       path);
    if (!any_series)
        return cz_fail(CZ_ERR_FORMAT,
                       "%s:1: the header names none of train_loss, test_loss, train_top1, "
                       "test_top1, test_top5",
                       path);
    return CZ_OK;
}

/* Reads one data line into epoch index i of log. */
static cz_status parse_row(const char *path, int line_no, char *line, const int *role, int n_cols,
                           train_log *log, int i)
{
    int col = 0;
    log->epoch[i] = i + 1;
    for (char *rest = line; rest; col++) {
        const char *text = next_field(&rest);
        if (col >= n_cols)
            continue; /* counted below, to report the total */
        int r = role[col];
        if (r == N_SERIES)
            continue;
        const char *name = r < 0 ? "epoch" : SERIES[r].column;
        double v = NAN;
        if (*text) {
            char *end;
            v = strtod(text, &end);
            if (end == text || *end || !isfinite(v))
                return cz_fail(CZ_ERR_FORMAT, "%s:%d: column '%s': '%s' is not a number", path,
                               line_no, name, text);
        } else if (r < 0) {
            return cz_fail(CZ_ERR_FORMAT, "%s:%d: column 'epoch' is empty", path, line_no);
        }
        if (r < 0)
            log->epoch[i] = v;
        else
            log->y[r][i] = v;
    }
    if (col != n_cols)
        return cz_fail(CZ_ERR_FORMAT, "%s:%d: %d fields, but the header has %d", path, line_no,
                       col, n_cols);
    return CZ_OK;
}

static bool blank(const char *line)
{
    return line[strspn(line, " \t\r")] == '\0';
}

/* Parses text (NUL-terminated, modified in place) into log. */
static cz_status parse_log(const char *path, char *text, train_log *log)
{
    int lines = 1;
    for (const char *p = text; *p; p++)
        lines += *p == '\n';
    char *line = text, *next;
    int line_no = 1;
    /* Leading blank lines are tolerated; the first other line is the header. */
    for (;; line = next + 1, line_no++) {
        next = strchr(line, '\n');
        if (next)
            *next = '\0';
        if (!blank(line))
            break;
        if (!next)
            return cz_fail(CZ_ERR_FORMAT, "%s: empty log", path);
    }
    int *role = NULL, n_cols = 0;
    cz_status st = parse_header(path, line, &role, &n_cols);
    if (st == CZ_OK) {
        log->epoch = malloc((size_t)lines * sizeof *log->epoch);
        if (!log->epoch)
            st = cz_fail(CZ_ERR_NOMEM, "%s: out of memory", path);
    }
    for (int c = 0; c < n_cols && st == CZ_OK; c++)
        if (role[c] >= 0 && role[c] < N_SERIES &&
            !(log->y[role[c]] = malloc((size_t)lines * sizeof(double))))
            st = cz_fail(CZ_ERR_NOMEM, "%s: out of memory", path);
    while (st == CZ_OK && next) {
        line = next + 1;
        line_no++;
        next = strchr(line, '\n');
        if (next)
            *next = '\0';
        if (!blank(line))
            st = parse_row(path, line_no, line, role, n_cols, log, log->n++);
    }
    if (st == CZ_OK && log->n == 0)
        st = cz_fail(CZ_ERR_FORMAT, "%s: no epochs after the header line", path);
    free(role);
    return st;
}

static cz_status read_log(const char *path, train_log *log)
{
    memset(log, 0, sizeof *log);
    char *text;
    size_t size;
    cz_status st = cz_read_file(path, MAX_LOG_BYTES, &text, &size);
    if (st != CZ_OK)
        return st;
    if (memchr(text, '\0', size))
        st = cz_fail(CZ_ERR_FORMAT, "%s: not a text file (holds NUL bytes)", path);
    else
        st = parse_log(path, text, log);
    free(text);
    if (st != CZ_OK)
        log_free(log);
    return st;
}

/* ------------------------------------------------------------ drawing */

/* The 1, 2 or 5 times a power of ten nearest above raw. */
static double nice_step(double raw)
{
    double power = pow(10, floor(log10(raw))), f = raw / power;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * power;
}

/* A value axis: [lo, hi] maps onto pixels [p0, p1]; ticks at every
 * multiple of step in between. */
typedef struct axis {
    double lo, hi, step;
    int p0, p1;
} axis;

static int axis_pixel(const axis *a, double v)
{
    return (int)lround(a->p0 + (v - a->lo) / (a->hi - a->lo) * (a->p1 - a->p0));
}

/* Tick k's value, snapped to zero when it is rounding noise. */
static double axis_tick(const axis *a, long k)
{
    double v = k * a->step;
    return fabs(v) < a->step * 1e-9 ? 0 : v;
}

static void tick_label(const axis *a, double v, char *text, size_t size)
{
    int decimals = a->step >= 1 ? 0 : (int)ceil(-log10(a->step) - 1e-9);
    snprintf(text, size, "%.*f", decimals > 6 ? 6 : decimals, v);
}

/* The value range of a panel's series, widened to whole ticks. false when
 * the panel has no value at all. */
static bool value_axis(const train_log *log, int panel, axis *a)
{
    double lo = INFINITY, hi = -INFINITY;
    for (int s = 0; s < N_SERIES; s++)
        for (int i = 0; log->y[s] && SERIES[s].panel == panel && i < log->n; i++)
            if (!isnan(log->y[s][i])) {
                lo = fmin(lo, log->y[s][i]);
                hi = fmax(hi, log->y[s][i]);
            }
    if (lo > hi)
        return false;
    if (hi - lo < 1e-12) {
        double pad = lo != 0 ? fabs(lo) * 0.1 : 1;
        lo -= pad;
        hi += pad;
    }
    a->step = nice_step((hi - lo) / 5);
    a->lo = floor(lo / a->step) * a->step;
    a->hi = ceil(hi / a->step) * a->step;
    return true;
}

/* The epoch range exactly (ticks only where they fall inside), half an
 * epoch either side of a single epoch; whole-epoch ticks when the epochs
 * are whole numbers. */
static void epoch_axis(const train_log *log, axis *a)
{
    double lo = INFINITY, hi = -INFINITY;
    bool whole = true;
    for (int i = 0; i < log->n; i++) {
        lo = fmin(lo, log->epoch[i]);
        hi = fmax(hi, log->epoch[i]);
        whole &= log->epoch[i] == floor(log->epoch[i]);
    }
    if (hi - lo < 1e-12) {
        lo -= 0.5;
        hi += 0.5;
    }
    a->lo = lo;
    a->hi = hi;
    a->step = nice_step((hi - lo) / 6);
    if (whole && a->step < 1)
        a->step = 1;
}

/* Whether series s is in the log with at least one value: only those get
 * a legend entry. */
static bool has_values(const train_log *log, int s)
{
    for (int i = 0; log->y[s] && i < log->n; i++)
        if (!isnan(log->y[s][i]))
            return true;
    return false;
}

/* How many pixels of the box hold a curve's colour: where the legend would
 * hide the least. */
static long curve_pixels(const cz_canvas *c, int x, int y, int w, int h)
{
    long n = 0;
    for (int row = y; row < y + h; row++)
        for (int col = x; col < x + w; col++) {
            cz_rgb p = cz_canvas_get(c, col, row);
            for (int s = 0; s < N_SERIES; s++)
                if (p.r == SERIES[s].color.r && p.g == SERIES[s].color.g &&
                    p.b == SERIES[s].color.b) {
                    n++;
                    break;
                }
        }
    return n;
}

/* The legend in whichever inner corner of the plot area covers the fewest
 * curve pixels. */
static void draw_legend(cz_canvas *c, int panel, const train_log *log, int x0, int y0, int x1,
                        int y1)
{
    int entries = 0, label_w = 0;
    for (int s = 0; s < N_SERIES; s++)
        if (SERIES[s].panel == panel && has_values(log, s)) {
            entries++;
            int w = cz_canvas_text_width(SERIES[s].label, 1);
            label_w = w > label_w ? w : label_w;
        }
    int w = 8 + 20 + 6 + label_w + 4, h = entries * 13 + 8, inset = 6;
    if (!entries || w > x1 - x0 - 2 * inset || h > y1 - y0 - 2 * inset)
        return;
    const int xs[4] = {x1 - inset - w, x1 - inset - w, x0 + inset, x0 + inset};
    const int ys[4] = {y0 + inset, y1 - inset - h, y0 + inset, y1 - inset - h};
    int best = 0;
    long best_n = -1;
    for (int k = 0; k < 4; k++) {
        long n = curve_pixels(c, xs[k], ys[k], w, h);
        if (best_n < 0 || n < best_n) {
            best = k;
            best_n = n;
        }
    }
    int x = xs[best], y = ys[best];
    cz_canvas_fill_rect(c, x, y, w, h, WHITE);
    cz_canvas_rect(c, x, y, w, h, FRAME);
    int row = y + 5;
    for (int s = 0; s < N_SERIES; s++) {
        if (SERIES[s].panel != panel || !has_values(log, s))
            continue;
        cz_canvas_line(c, x + 8, row + 3, x + 28, row + 3, 2, SERIES[s].color);
        cz_canvas_dot(c, x + 18, row + 3, 2, SERIES[s].color);
        cz_canvas_text(c, x + 34, row, SERIES[s].label, 1, INK);
        row += 13;
    }
}

/* One series: lines between neighbouring epochs that both have a value,
 * and a dot on every point when there are few (or it has no neighbour). */
static void draw_series(cz_canvas *c, const train_log *log, int s, const axis *ax,
                        const axis *ay)
{
    const double *y = log->y[s];
    bool dots = log->n <= 30;
    for (int i = 0; i < log->n; i++) {
        if (isnan(y[i]))
            continue;
        int px = axis_pixel(ax, log->epoch[i]), py = axis_pixel(ay, y[i]);
        bool prev = i > 0 && !isnan(y[i - 1]), next = i + 1 < log->n && !isnan(y[i + 1]);
        if (prev)
            cz_canvas_line(c, axis_pixel(ax, log->epoch[i - 1]), axis_pixel(ay, y[i - 1]), px, py,
                           2, SERIES[s].color);
        if (dots || (!prev && !next))
            cz_canvas_dot(c, px, py, dots ? 2 : 3, SERIES[s].color);
    }
}

/* One panel in the box (x, y, w, h): title, rotated y label, ticks and
 * grid, the series, legend. */
static void draw_panel(cz_canvas *c, const train_log *log, int panel, const char *title,
                       const char *ylabel, int x, int y, int w, int h)
{
    int title_h = CZ_FONT_CELL_H + 6, xlabels_h = 2 * CZ_FONT_CELL_H + 12;
    axis ax, ay = {0, 1, 1, 0, 0}; /* a placeholder when the panel has no values */
    bool any_value = value_axis(log, panel, &ay);
    char text[32];
    int label_w = 0;
    long k_lo = 0, k_hi = -1;
    if (any_value) {
        k_lo = lround(ay.lo / ay.step);
        k_hi = lround(ay.hi / ay.step);
        for (long k = k_lo; k <= k_hi; k++) {
            tick_label(&ay, axis_tick(&ay, k), text, sizeof text);
            int tw = cz_canvas_text_width(text, 1);
            label_w = tw > label_w ? tw : label_w;
        }
    }
    int px0 = x + CZ_FONT_CELL_H + 8 + label_w + 6, px1 = x + w - 1;
    int py0 = y + title_h, py1 = y + h - 1 - xlabels_h;
    if (px1 - px0 < 40 || py1 - py0 < 40)
        return; /* too small to say anything */
    /* Points sit 5 px inside the frame, so dots never touch it. */
    epoch_axis(log, &ax);
    ax.p0 = px0 + 5;
    ax.p1 = px1 - 5;
    ay.p0 = py1 - 5;
    ay.p1 = py0 + 5;
    /* Fewer epoch ticks when their labels would run into each other. */
    tick_label(&ax, ax.hi, text, sizeof text);
    int room = cz_canvas_text_width(text, 1) + 12;
    while (floor(ax.hi / ax.step) - ceil(ax.lo / ax.step) + 1 > (double)(ax.p1 - ax.p0) / room + 1)
        ax.step = nice_step(ax.step * 1.01);

    cz_canvas_text(c, (px0 + px1 - cz_canvas_text_width(title, 1)) / 2, y, title, 1, INK);
    int ylabel_w = cz_canvas_text_width(ylabel, 1);
    cz_canvas_text_up(c, x, (py0 + py1 - ylabel_w) / 2, ylabel, 1, INK);
    const char *xlabel = "epoch";
    cz_canvas_text(c, (px0 + px1 - cz_canvas_text_width(xlabel, 1)) / 2,
                   py1 + 6 + CZ_FONT_CELL_H + 6, xlabel, 1, INK);

    for (long k = (long)ceil(ax.lo / ax.step - 1e-9); k * ax.step <= ax.hi + 1e-9 * ax.step; k++) {
        int px = axis_pixel(&ax, axis_tick(&ax, k));
        cz_canvas_line(c, px, py0 + 1, px, py1 - 1, 1, GRID);
        cz_canvas_line(c, px, py1, px, py1 + 3, 1, FRAME);
        tick_label(&ax, axis_tick(&ax, k), text, sizeof text);
        cz_canvas_text(c, px - cz_canvas_text_width(text, 1) / 2, py1 + 6, text, 1, INK);
    }
    for (long k = k_lo; k <= k_hi; k++) {
        int py = axis_pixel(&ay, axis_tick(&ay, k));
        cz_canvas_line(c, px0 + 1, py, px1 - 1, py, 1, GRID);
        cz_canvas_line(c, px0 - 3, py, px0, py, 1, FRAME);
        tick_label(&ay, axis_tick(&ay, k), text, sizeof text);
        cz_canvas_text(c, px0 - 5 - cz_canvas_text_width(text, 1), py - CZ_FONT_CAP_H / 2, text,
                       1, INK);
    }
    cz_canvas_rect(c, px0, py0, px1 - px0 + 1, py1 - py0 + 1, FRAME);
    if (!any_value) {
        const char *none = "no values in the log";
        cz_canvas_text(c, (px0 + px1 - cz_canvas_text_width(none, 1)) / 2, (py0 + py1) / 2, none,
                       1, FRAME);
        return;
    }
    for (int s = 0; s < N_SERIES; s++)
        if (SERIES[s].panel == panel && has_values(log, s))
            draw_series(c, log, s, &ax, &ay);
    draw_legend(c, panel, log, px0 + 1, py0 + 1, px1 - 1, py1 - 1);
}

static void draw_plot(cz_canvas *c, const train_log *log, const char *log_path)
{
    const char *base = strrchr(log_path, '/');
    base = base ? base + 1 : log_path;
    char title[256];
    snprintf(title, sizeof title, "Training curves: %s", base);
    int margin = 12, scale = 2;
    if (cz_canvas_text_width(title, scale) > c->width - 2 * margin)
        scale = 1;
    cz_canvas_text(c, (c->width - cz_canvas_text_width(title, scale)) / 2, margin, title, scale,
                   INK);
    int top = margin + CZ_FONT_CELL_H * scale + 12, gap = 30;
    int panel_w = (c->width - 2 * margin - gap) / 2, panel_h = c->height - top - margin;
    draw_panel(c, log, 0, "loss", "cross-entropy loss", margin, top, panel_w, panel_h);
    draw_panel(c, log, 1, "accuracy", "accuracy (%)", margin + panel_w + gap, top, panel_w,
               panel_h);
}

int cz_cmd_plot(int argc, char **argv)
{
    const char *output = NULL;
    int width = 1000, height = 450;
    const cz_opt opts[] = {
        {"output", CZ_OPT_STRING, &output, "FILE.png", "where to write the picture", 0, 0},
        {"width", CZ_OPT_INT, &width, "PIXELS", "picture width", 320, 8192},
        {"height", CZ_OPT_INT, &height, "PIXELS", "picture height", 200, 8192},
    };
    const cz_cmd cmd = {"plot", "LOG", 1, 1,
                        "Draws a training log (the CSV that train writes) as a PNG: loss and "
                        "accuracy against epoch.",
                        opts, (int)(sizeof opts / sizeof opts[0])};
    const char *pos[1];
    int n_pos, rc = cz_args_parse(&cmd, argc, argv, pos, &n_pos);
    if (rc >= 0)
        return rc;
    if (!output) {
        cz_cli_error("plot: --output is required");
        return CZ_EXIT_USAGE;
    }
    train_log log;
    cz_canvas canvas = {0};
    cz_status st = read_log(pos[0], &log);
    if (st == CZ_OK && (st = cz_canvas_init(&canvas, width, height, WHITE)) == CZ_OK) {
        draw_plot(&canvas, &log, pos[0]);
        st = cz_canvas_save_png(&canvas, output);
    }
    if (st != CZ_OK) {
        cz_cli_error("%s", cz_last_error());
        rc = CZ_EXIT_FAIL;
    } else {
        printf("wrote %s (%dx%d, %d epoch%s)\n", output, width, height, log.n,
               log.n == 1 ? "" : "s");
        rc = CZ_EXIT_OK;
    }
    cz_canvas_free(&canvas);
    log_free(&log);
    return rc;
}
