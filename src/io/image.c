/*
 * image.c - JPEG and PNG decoding to the 8-bit grey or RGB pixels PIL
 * would give after Image.open(f).convert("L" / "RGB"), so that the
 * preprocessing that follows sees the same bytes torchvision does.
 *
 * Both libraries report fatal errors by longjmp; every call into them is
 * made under setjmp here and turned into a one-line error naming the file,
 * with what was allocated before the jump freed after it. The pixel count
 * is checked from the header before any pixel memory is allocated, and
 * each buffer against the allocation ceiling (cz_max_alloc). PIL's conversions are reproduced exactly:
 *   RGB -> L     (R*19595 + G*38470 + B*7471 + 0x8000) >> 16  (ITU-R 601-2)
 *   CMYK -> RGB  as PIL's cmyk2rgb, after its Adobe inversion ("CMYK;I")
 *   16-bit PNG   high byte for RGB(A) and grey+alpha; plain 16-bit grey is
 *                PIL's mode "I", whose conversion clips values above 255
 * Alpha is dropped, never blended; palettes are expanded; EXIF orientation
 * is ignored, as by Image.open.
 */
#include "io/image.h"

#include <limits.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h> /* JWRN_JPEG_EOF, JERR_NO_BACKING_STORE */
#include <png.h>

#include "io/io.h"

/* ------------------------------------------------------------ helpers */

/* PIL's L24: fixed-point ITU-R 601-2 luma, rounded. */
static uint8_t luma(const uint8_t *rgb)
{
    return (uint8_t)((rgb[0] * 19595u + rgb[1] * 38470u + rgb[2] * 7471u + 0x8000u) >> 16);
}

/* Refuses a header's size before anything is allocated for it. */
static cz_status check_size(const char *name, uint64_t width, uint64_t height)
{
    if (width == 0 || height == 0)
        return cz_fail(CZ_ERR_FORMAT, "%s: image of %llux%llu pixels, expected a non-empty image",
                       name, (unsigned long long)width, (unsigned long long)height);
    if (width * height > CZ_IMAGE_MAX_PIXELS)
        return cz_fail(CZ_ERR_NOMEM,
                       "%s: image of %llux%llu pixels exceeds the limit of %u pixels (PIL's "
                       "MAX_IMAGE_PIXELS: a decompression bomb, or a corrupt header)",
                       name, (unsigned long long)width, (unsigned long long)height,
                       CZ_IMAGE_MAX_PIXELS);
    return CZ_OK;
}

static cz_status image_alloc(const char *name, int width, int height, int channels,
                             cz_image *out)
{
    size_t bytes;
    cz_status st = cz_alloc_check(&bytes, (uint64_t)width * (uint64_t)height, (uint64_t)channels,
                                  name, "image of %dx%d pixels, %d channel%s", width, height,
                                  channels, channels > 1 ? "s" : "");
    if (st != CZ_OK)
        return st;
    out->pixels = malloc(bytes);
    if (!out->pixels)
        return cz_fail(CZ_ERR_NOMEM, "%s: out of memory for %dx%d pixels", name, width, height);
    out->width = width;
    out->height = height;
    out->channels = channels;
    return CZ_OK;
}

/* One row of `n` pixels of 1 (grey), 2 (grey+alpha), 3 (RGB) or 4 (RGBA)
 * 8-bit samples into `channels` 1 or 3. */
static void convert_row(uint8_t *dst, const uint8_t *src, int n, int src_channels, int channels)
{
    bool colour = src_channels >= 3;
    for (int x = 0; x < n; x++, src += src_channels) {
        if (channels == 1) {
            dst[x] = colour ? luma(src) : src[0];
        } else {
            dst[3 * x + 0] = src[0];
            dst[3 * x + 1] = colour ? src[1] : src[0];
            dst[3 * x + 2] = colour ? src[2] : src[0];
        }
    }
}

/* ------------------------------------------------------------ JPEG */

typedef struct jpeg_error_ctx {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
} jpeg_error_ctx;

static void jpeg_on_error(j_common_ptr cinfo)
{
    jpeg_error_ctx *ctx = (jpeg_error_ctx *)cinfo->err;
    cinfo->err->format_message(cinfo, ctx->message);
    longjmp(ctx->jump, 1);
}

/* Warnings are ignored as PIL ignores them ("Corrupt JPEG data: extraneous
 * bytes"), except running out of data, which PIL reports as a truncated
 * file rather than decoding grey padding. */
static void jpeg_on_message(j_common_ptr cinfo, int level)
{
    if (level == -1 && cinfo->err->msg_code == JWRN_JPEG_EOF) {
        jpeg_error_ctx *ctx = (jpeg_error_ctx *)cinfo->err;
        snprintf(ctx->message, sizeof ctx->message, "file is truncated");
        longjmp(ctx->jump, 1);
    }
}

/* A progressive file may hold any number of scans, each a pass over the
 * whole image: a small corrupt file could keep the decoder busy for
 * minutes. libjpeg-turbo's advice is to stop far beyond what encoders
 * write (a few dozen). */
#define JPEG_MAX_SCANS 500

static void jpeg_on_progress(j_common_ptr cinfo)
{
    if (!cinfo->is_decompressor)
        return;
    int scan = ((j_decompress_ptr)cinfo)->input_scan_number;
    if (scan > JPEG_MAX_SCANS) {
        jpeg_error_ctx *ctx = (jpeg_error_ctx *)cinfo->err;
        snprintf(ctx->message, sizeof ctx->message, "more than %d progressive scans",
                 JPEG_MAX_SCANS);
        longjmp(ctx->jump, 1);
    }
}

/* PIL's cmyk2rgb on Adobe-inverted samples: nk - c * nk / 255 with its
 * rounding division by 255. */
static uint8_t cmyk_channel(int c, int nk)
{
    int t = c * nk + 128;
    int v = nk - (((t >> 8) + t) >> 8);
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

static void cmyk_row_to_rgb(uint8_t *rgb, const uint8_t *cmyk, int n)
{
    for (int x = 0; x < n; x++, cmyk += 4, rgb += 3) {
        int nk = cmyk[3]; /* 255 - (255 - k): the inversion undone on k */
        for (int c = 0; c < 3; c++)
            rgb[c] = cmyk_channel(255 - cmyk[c], nk);
    }
}

/* What libjpeg is asked for: RGB or grey as stored, CMYK (from CMYK or
 * YCCK) converted here. */
static cz_status jpeg_pick_space(const char *name, struct jpeg_decompress_struct *cinfo)
{
    switch (cinfo->jpeg_color_space) {
    case JCS_GRAYSCALE:
        cinfo->out_color_space = JCS_GRAYSCALE;
        return CZ_OK;
    case JCS_RGB:
    case JCS_YCbCr:
        cinfo->out_color_space = JCS_RGB;
        return CZ_OK;
    case JCS_CMYK:
    case JCS_YCCK:
        cinfo->out_color_space = JCS_CMYK;
        return CZ_OK;
    default:
        return cz_fail(CZ_ERR_FORMAT, "%s: JPEG with %d components in an unknown colour space, "
                       "expected grey, RGB/YCbCr or CMYK/YCCK", name, cinfo->num_components);
    }
}

/* Decodes scanlines into `out`; `row` holds one decoded line. Called
 * under the caller's setjmp. */
static void jpeg_read_rows(struct jpeg_decompress_struct *cinfo, uint8_t *row, uint8_t *rgb,
                           int channels, cz_image *out)
{
    int n = (int)cinfo->output_width;
    while (cinfo->output_scanline < cinfo->output_height) {
        uint8_t *dst = out->pixels + (size_t)cinfo->output_scanline * (size_t)n * (size_t)channels;
        JSAMPROW rows[1] = {row};
        jpeg_read_scanlines(cinfo, rows, 1);
        if (cinfo->out_color_space == JCS_CMYK) {
            cmyk_row_to_rgb(rgb, row, n);
            convert_row(dst, rgb, n, 3, channels);
        } else {
            convert_row(dst, row, n, cinfo->output_components, channels);
        }
    }
}

static cz_status decode_jpeg(const char *name, const uint8_t *data, size_t size, int channels,
                             cz_image *out)
{
    struct jpeg_decompress_struct cinfo;
    struct jpeg_progress_mgr progress = {.progress_monitor = jpeg_on_progress};
    jpeg_error_ctx err;
    /* volatile: assigned after setjmp and freed after a longjmp. */
    uint8_t *volatile row = NULL;
    uint8_t *volatile rgb = NULL;
    cz_status st = CZ_OK;

    cinfo.err = jpeg_std_error(&err.mgr);
    err.mgr.error_exit = jpeg_on_error;
    err.mgr.emit_message = jpeg_on_message;
    if (setjmp(err.jump)) {
        if (err.mgr.msg_code == JERR_NO_BACKING_STORE)
            st = cz_fail(CZ_ERR_NOMEM, "%s: decoding this multi-scan (e.g. progressive) JPEG of "
                         "%ux%u pixels needs more than the %zu-byte limit on memory; if the file "
                         "is right, raise it with CNNZOO_MAX_ALLOC (e.g. 64G) or "
                         "cz_set_max_alloc()", name,
                         cinfo.image_width, cinfo.image_height, cz_max_alloc());
        else
            st = cz_fail(CZ_ERR_FORMAT, "%s: bad JPEG: %s", name, err.message);
        goto done;
    }
    jpeg_create_decompress(&cinfo);
    /* libjpeg's own buffers (a multi-scan file's whole coefficient
     * array) under the allocation ceiling too: past it libjpeg fails
     * rather than allocates, as it has no backing store here. This
     * replaces libjpeg's JPEGMEM variable; CNNZOO_MAX_ALLOC sets both. */
    cinfo.mem->max_memory_to_use = (long)(cz_max_alloc() > LONG_MAX ? LONG_MAX : cz_max_alloc());
    cinfo.progress = &progress;
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    st = check_size(name, cinfo.image_width, cinfo.image_height);
    if (st == CZ_OK)
        st = jpeg_pick_space(name, &cinfo);
    if (st != CZ_OK)
        goto done;
    jpeg_start_decompress(&cinfo);
    row = malloc((size_t)cinfo.output_width * (size_t)cinfo.output_components);
    rgb = malloc((size_t)cinfo.output_width * 3);
    if (!row || !rgb) {
        st = cz_fail(CZ_ERR_NOMEM, "%s: out of memory", name);
        goto done;
    }
    st = image_alloc(name, (int)cinfo.output_width, (int)cinfo.output_height, channels, out);
    if (st != CZ_OK)
        goto done;
    jpeg_read_rows(&cinfo, row, rgb, channels, out);
    jpeg_finish_decompress(&cinfo);
done:
    jpeg_destroy_decompress(&cinfo);
    free(row);
    free(rgb);
    return st;
}

/* ------------------------------------------------------------ PNG */

typedef struct png_source {
    const uint8_t *data;
    size_t size, pos;
    const char *name;
    char message[256];
    char warning[128]; /* the last warning: often the why of the error after it */
} png_source;

static void png_read_memory(png_structp png, png_bytep dst, size_t n)
{
    png_source *src = png_get_io_ptr(png);
    if (n > src->size - src->pos)
        png_error(png, "file is truncated");
    memcpy(dst, src->data + src->pos, n);
    src->pos += n;
}

/* libpng often warns of the cause ("Image width is zero in IHDR") just
 * before a vaguer error ("Invalid IHDR data"): the message gives both. */
static void png_on_error(png_structp png, png_const_charp msg)
{
    png_source *src = png_get_error_ptr(png);
    if (src->warning[0])
        snprintf(src->message, sizeof src->message, "%s (after: %s)", msg, src->warning);
    else
        snprintf(src->message, sizeof src->message, "%s", msg);
    png_longjmp(png, 1);
}

/* Warnings (unknown chunks, bad CRCs in ancillary chunks) are not errors
 * for PIL either; the last one is kept for an error that may follow. */
static void png_on_warning(png_structp png, png_const_charp msg)
{
    png_source *src = png_get_error_ptr(png);
    snprintf(src->warning, sizeof src->warning, "%s", msg);
}

/* Sets the transforms that leave 8-bit (or plain 16-bit) samples of 1 to
 * 4 channels: palette to RGB, 1/2/4-bit grey scaled to 8 as PIL scales. */
static void png_setup(png_structp png, png_infop info)
{
    int type = png_get_color_type(png, info);
    int depth = png_get_bit_depth(png, info);
    if (type == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(png);
    if (type == PNG_COLOR_TYPE_GRAY && depth < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
}

/* One decoded row of 16-bit big-endian samples to 8 bits: plain grey is
 * PIL's mode "I" (values clipped to 255 by convert), everything else takes
 * the high byte as PIL's ";16B" raw modes do. */
static void png_row_to_8bit(uint8_t *row, size_t samples, bool clip)
{
    for (size_t i = 0; i < samples; i++) {
        unsigned v = (unsigned)row[2 * i] << 8 | row[2 * i + 1];
        row[i] = clip ? (uint8_t)(v > 255 ? 255 : v) : row[2 * i];
    }
}

/* Reads the whole image (interlaced ones need every row at once) and
 * converts it into out. Called under the caller's setjmp. */
static cz_status png_read_pixels(const char *name, png_structp png, png_infop info,
                                 uint8_t *buffer, png_bytep *rows, int channels, cz_image *out)
{
    int width = (int)png_get_image_width(png, info);
    int height = (int)png_get_image_height(png, info);
    int src_channels = png_get_channels(png, info);
    int depth = png_get_bit_depth(png, info);
    size_t stride = png_get_rowbytes(png, info);
    for (int y = 0; y < height; y++)
        rows[y] = buffer + (size_t)y * stride;
    png_read_image(png, rows);
    cz_status st = image_alloc(name, width, height, channels, out);
    if (st != CZ_OK)
        return st;
    bool grey16 = png_get_color_type(png, info) == PNG_COLOR_TYPE_GRAY;
    for (int y = 0; y < height; y++) {
        if (depth == 16)
            png_row_to_8bit(rows[y], (size_t)width * (size_t)src_channels, grey16);
        convert_row(out->pixels + (size_t)y * (size_t)width * (size_t)channels, rows[y], width,
                    src_channels, channels);
    }
    return CZ_OK;
}

static cz_status decode_png(const char *name, const uint8_t *data, size_t size, int channels,
                            cz_image *out)
{
    png_source src = {data, size, 0, name, "", ""};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, png_on_error,
                                             png_on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return cz_fail(CZ_ERR_NOMEM, "%s: out of memory", name);
    }
    uint8_t *volatile buffer = NULL;
    png_bytep *volatile rows = NULL;
    volatile cz_status st = CZ_OK;
    if (setjmp(png_jmpbuf(png))) {
        cz_image_free(out);
        st = cz_fail(CZ_ERR_FORMAT, "%s: bad PNG: %s", name, src.message);
        goto done;
    }
    png_set_read_fn(png, &src, png_read_memory);
    png_read_info(png, info);
    st = check_size(name, png_get_image_width(png, info), png_get_image_height(png, info));
    if (st != CZ_OK)
        goto done;
    png_setup(png, info);
    size_t height = png_get_image_height(png, info), bytes;
    /* 16-bit RGBA decodes to 8 bytes a pixel before it is reduced. */
    st = cz_alloc_check(&bytes, png_get_rowbytes(png, info), height, name,
                        "PNG rows of %zu bytes x %zu", (size_t)png_get_rowbytes(png, info),
                        height);
    if (st != CZ_OK)
        goto done;
    buffer = malloc(bytes);
    rows = malloc(height * sizeof *rows);
    if (!buffer || !rows)
        st = cz_fail(CZ_ERR_NOMEM, "%s: out of memory", name);
    else
        st = png_read_pixels(name, png, info, buffer, rows, channels, out);
done:
    png_destroy_read_struct(&png, &info, NULL);
    free(buffer);
    free(rows);
    return st;
}

/* ------------------------------------------------------------ public */

cz_status cz_image_decode(const char *name, const void *data, size_t size, int channels,
                          cz_image *out)
{
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    static const uint8_t jpeg_sig[3] = {0xff, 0xd8, 0xff};
    memset(out, 0, sizeof *out);
    if (channels != 1 && channels != 3)
        return cz_fail(CZ_ERR_ARG, "%s: %d channels asked for, expected 1 or 3", name, channels);
    cz_status st;
    if (size >= sizeof png_sig && memcmp(data, png_sig, sizeof png_sig) == 0)
        st = decode_png(name, data, size, channels, out);
    else if (size >= sizeof jpeg_sig && memcmp(data, jpeg_sig, sizeof jpeg_sig) == 0)
        st = decode_jpeg(name, data, size, channels, out);
    else if (size == 0)
        return cz_fail(CZ_ERR_FORMAT, "%s: empty file, expected a JPEG or PNG image", name);
    else
        return cz_fail(CZ_ERR_FORMAT, "%s: not a JPEG or PNG image (unknown first bytes)", name);
    if (st != CZ_OK)
        cz_image_free(out);
    return st;
}

cz_status cz_image_load(const char *path, int channels, cz_image *out)
{
    memset(out, 0, sizeof *out);
    cz_mapped_file m;
    cz_status st = cz_map_file(&m, path);
    if (st != CZ_OK)
        return st;
    st = cz_image_decode(path, m.data, m.size, channels, out);
    cz_unmap_file(&m);
    return st;
}

void cz_image_free(cz_image *img)
{
    if (!img)
        return;
    free(img->pixels);
    memset(img, 0, sizeof *img);
}
