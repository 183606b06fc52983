/*
 * direct.c - convolution straight from the input, in blocks of 16
 * channels, for inference on AVX-512: no im2col matrix (9x the input for
 * a 3x3 conv) and no packing of it on every call.
 *
 * One call copies each sample's input into a zero-padded blocked buffer
 * (direct_impl.h), then runs the tile kernel over work items of (sample,
 * up to 256 output positions, filter set of up to 64 output channels);
 * each item's blocked output goes back to NCHW, and through the caller's
 * epilogue, as soon as it is final, while it is in L2. Items split the
 * work at batch 1 too, so both cores work on every layer; every output is
 * one thread's sum in a fixed order, so the bits depend neither on the
 * thread count nor on the batch.
 *
 * Both steps split statically in the same order, by sample, then rows:
 * each thread's items read the input rows it copied itself. Taken one at
 * a time (dynamic), every other item read rows the other core had
 * copied, and a line crosses between this VM's cores in 230 ns: the 7x7
 * stem of resnet50 on two threads 0.96 -> 0.81 ms alone, 1.03 -> 0.94 in
 * the model. At batch 1 each thread copies the rows its items read into
 * a copy of its own, the seam's rows too (own_rows).
 */
#include <omp.h>

#include "kernels/direct_impl.h"
#include "kernels/kernels.h"

/* Outputs per work item, at most (see split_of). 256 rather than 64:
 * a chunk re-reads its set's filters, and 4x fewer of them made the
 * direct layers about 10% faster in resnet50 at batch 1 (the stem 1.5-1.8
 * -> 1.1-1.5 ms, the 14x14 layers 0.85-0.95 -> 0.76-0.85), resnet18 5%,
 * inception_v3 4.5% (alternating runs, two threads). */
enum { CHUNK = 256 };

static int blocks(int n) { return (n + CZ_BLOCK - 1) / CZ_BLOCK; }

bool cz_direct_fits(int groups)
{
#if defined(__x86_64__) || defined(__i386__)
    return cz_kernels_current() == CZ_KPATH_AVX512 && groups == 1;
#else
    (void)groups;
    return false;
#endif
}

const char *cz_direct_name(void) { return "conv-direct-avx512"; }

static int padded_h(const cz_conv_geom *g) { return g->height + 2 * g->pad_h; }
static int padded_w(const cz_conv_geom *g) { return g->width + 2 * g->pad_w; }

static cz_direct_shape shape_of(const cz_conv_geom *g)
{
    int cs = g->channels < CZ_BLOCK ? g->channels : CZ_BLOCK;
    return (cz_direct_shape){
        .kh = g->kernel_h,
        .kw = g->kernel_w,
        .sh = g->stride_h,
        .sw = g->stride_w,
        .dil = g->dilation,
        .cs = cs,
        .wp = padded_w(g),
        .ow = g->out_w,
        .x_block = cz_line_floats((size_t)padded_h(g) * padded_w(g) * cs),
        .w_block = (size_t)blocks(g->channels) * g->kernel_h * g->kernel_w * cs * CZ_BLOCK,
        .y_block = (size_t)CHUNK * CZ_BLOCK,
    };
}

size_t cz_direct_weights_size(const cz_conv_geom *g, int out_channels)
{
    return (size_t)blocks(out_channels) * shape_of(g).w_block;
}

void cz_direct_weights(const cz_conv_geom *g, int OC, const float *weight, float *packed)
{
    int C = g->channels, taps = g->kernel_h * g->kernel_w, cs = shape_of(g).cs;
    int CB = blocks(C), OCB = blocks(OC);
    for (int ob = 0; ob < OCB; ob++)
        for (int cb = 0; cb < CB; cb++)
            for (int t = 0; t < taps; t++)
                for (int l = 0; l < cs; l++)
                    for (int o = 0; o < CZ_BLOCK; o++) {
                        int oc = ob * CZ_BLOCK + o, c = cb * CZ_BLOCK + l;
                        *packed++ = oc < OC && c < C ? weight[((size_t)oc * C + c) * taps + t]
                                                     : 0.0f;
                    }
}

/* Filters per pass of a tile over its input blocks, KiB. Passes sized to
 * the 48 KiB L1 (one block for a 3x3 set of 4) spent more on storing and
 * reloading a tile's 24 partial sums, and on each call's set-up, than
 * passes from L2 spend on the filters: at 256, hot and alone, one thread,
 * paired calls, inception_v3's 1x7 and 7x1 convs on 17x17 0.88-0.89x
 * the time, its 1x3 on 8x8 0.85x, 3x3 layers 0.88-0.92x (resnet50's 256
 * on 14x14 and 512 on 7x7 too), the 1x1 on 7x7 0.93x, 5x5 and the stems
 * (one or two blocks a set) 0.99-1.0; at 64 and 128 KiB less, at 512 and
 * everything in one pass no more. In the model (paired forwards),
 * inception_v3 b1 0.97x on one thread, 0.96x on two. */
enum { PASS_KIB = 256 };

/* How one call splits its work: filter sets of up to 4 blocks, made as
 * even as possible (6 blocks: 3 + 3, each with wider tiles than 4 + 2
 * would leave); outputs in chunks of at most CHUNK (a chunk re-reads its
 * set's filters: a 7x7 map is one chunk, so resnet50's 9.4 MB layer4
 * filters are read once); input blocks in passes of up to PASS_KIB of
 * filters (seven blocks for a 3x3 set of 4, nine for a 1x7, 64 for a
 * 1x1), the partial sums stored and reloaded between passes. A chunk's
 * blocked output (64 KiB at most) goes to NCHW as soon as it is final,
 * while in L2, and never makes a round trip through memory. */
typedef struct split {
    int sets, chunks, pass;
} split;

static split split_of(const cz_conv_geom *g, int OCB, int N, int threads)
{
    split sp;
    sp.sets = (OCB + 3) / 4;
    int P = g->out_h * g->out_w;
    sp.chunks = (P + CHUNK - 1) / CHUNK;
    /* Small layers (DenseNet's 32 outputs on 7x7 maps: one set, one
     * chunk) in smaller chunks, down to 16 positions, until there are
     * 4 items per thread. */
    int per_chunk = N * sp.sets, want = (4 * threads + per_chunk - 1) / per_chunk;
    int most = (P + 15) / 16;
    if (sp.chunks < want)
        sp.chunks = want < most ? want : most;
    /* Whole rounds of items: an item left over makes one thread take a
     * whole item more than the other (9 items on 2 threads: 5 and 4). */
    while ((long)per_chunk * sp.chunks % threads != 0 && sp.chunks < most)
        sp.chunks++;
    int per_block = 4 * g->kernel_h * g->kernel_w; /* KiB of a set's filters per input block */
    sp.pass = per_block >= PASS_KIB ? 1 : PASS_KIB / per_block;
    return sp;
}

static size_t chunk_floats(void) { return (size_t)4 * CHUNK * CZ_BLOCK; }

/* Input copies: one per sample, or at batch 1 on several threads one per
 * thread (own_rows). */
static int input_copies(int N, int threads) { return N == 1 && threads > 1 ? threads : N; }

size_t cz_direct_scratch(const cz_conv_geom *g, int N, int threads)
{
    return (size_t)input_copies(N, threads) * blocks(g->channels) * shape_of(g).x_block +
           threads * chunk_floats();
}

/* Where output chunk i of n starts. Where a plane is whole lines (P a
 * multiple of 16), chunks are whole runs of 16 positions, so that two
 * threads writing neighbouring chunks of a row never share a line. Other
 * planes start mid-line anyway, so there the chunks are as even as
 * possible: inception_v3's 17x17 maps in runs were 160 + 129 positions
 * on two threads, and its 288 -> 384 3x3/2 conv took 1.93-1.98 ms,
 * 1.78 split 145 + 144. With n at least P / CHUNK, no chunk is longer
 * than CHUNK. */
static int chunk_start(int P, int n, int i)
{
    if (P % 16 != 0)
        return cz_part(P, n, i);
    return 16 * cz_part(P / 16, n, i);
}

#if defined(__x86_64__) || defined(__i386__)
/* At batch 1 each thread copies, into its own buffer, the input rows its
 * items [i0, i1) read (items ordered by chunk, then set; chunks are runs
 * of positions, so a range of output rows): the rows at the seam between
 * two threads' positions are copied by both. With one shared copy split
 * by rows each thread read the seam's rows from the other core; a 7-row
 * kernel on a 17-row map read a third of its rows across. On two threads
 * inception_v3's 160 -> 192 7x1 conv alone 0.442 -> 0.355 ms, the direct
 * layers in all (layer sums, 4 alternating runs) inception_v3 16.45 ->
 * 15.95 ms, resnet50 3.72 -> 3.46, densenet121 1.55 -> 1.45; 512 -> 512
 * on 7x7 (2 of 7 rows copied twice) 0.515 -> 0.522. */
static void own_rows(const cz_conv_geom *g, int cs, const float *x, const split *sp, long i0,
                     long i1, float *xt, size_t x_block)
{
    if (i1 <= i0)
        return;
    int P = g->out_h * g->out_w, OW = g->out_w;
    int p0 = chunk_start(P, sp->chunks, (int)(i0 / sp->sets % sp->chunks));
    int p1 = chunk_start(P, sp->chunks, (int)((i1 - 1) / sp->sets % sp->chunks) + 1);
    int top = (p0 / OW) * g->stride_h - g->pad_h;
    int bottom = ((p1 - 1) / OW) * g->stride_h - g->pad_h + (g->kernel_h - 1) * g->dilation;
    int h0 = top < 0 ? 0 : top, h1 = bottom >= g->height ? g->height - 1 : bottom;
    for (int cb = 0; cb < blocks(g->channels); cb++)
        for (int h = h0; h <= h1; h++)
            cz_direct_to_blocks_avx512(g, cs, x, cb, h, xt + (size_t)cb * x_block);
}

/* Work item i: its outputs from the input copies at xb (one per sample),
 * through buf, to y and the epilogue. */
static void run_item(const cz_conv_geom *g, const cz_direct_shape *s, const split *sp, int OC,
                     const float *packed, const float *xb, float *y, float *buf,
                     const cz_gemm_epilogue *ep, long i)
{
    int CB = blocks(g->channels), OCB = blocks(OC), P = g->out_h * g->out_w;
    int n = (int)(i / ((long)sp->sets * sp->chunks));
    int chunk = (int)(i / sp->sets % sp->chunks), set = (int)(i % sp->sets);
    int ob0 = cz_part(OCB, sp->sets, set), F = cz_part(OCB, sp->sets, set + 1) - ob0;
    int p0 = chunk_start(P, sp->chunks, chunk), p1 = chunk_start(P, sp->chunks, chunk + 1);
    const float *xn = xb + (size_t)n * CB * s->x_block;
    const float *w = packed + (size_t)ob0 * s->w_block;
    for (int cb = 0; cb < CB; cb += sp->pass) {
        int cbn = CB - cb < sp->pass ? CB - cb : sp->pass;
        cz_direct_tiles_avx512(s, xn + cb * s->x_block,
                               w + (size_t)cb * s->kh * s->kw * s->cs * CZ_BLOCK, F, cbn, cb == 0,
                               p0, p1, buf);
    }
    float *yn = y + (size_t)n * OC * P;
    for (int f = 0; f < F; f++) {
        int oc0 = (ob0 + f) * CZ_BLOCK, rows = OC - oc0 < CZ_BLOCK ? OC - oc0 : CZ_BLOCK;
        float *yc = yn + (size_t)oc0 * P + p0;
        cz_direct_from_blocks_avx512(buf + f * s->y_block, rows, p1 - p0, yc, P);
        if (ep)
            ep->fn(ep->ctx, yc, P, oc0, rows, p1 - p0);
    }
}
#endif

void cz_direct_conv(const cz_conv_geom *g, int OC, const float *packed, int N, const float *x,
                    float *y, float *scratch, int threads, const cz_gemm_epilogue *ep)
{
#if defined(__x86_64__) || defined(__i386__)
    cz_direct_shape s = shape_of(g);
    int CB = blocks(g->channels), H = g->height;
    size_t in_size = (size_t)g->channels * H * g->width;
    int copies = input_copies(N, threads);
    float *bufs = scratch + (size_t)copies * CB * s.x_block;
    split sp = split_of(g, blocks(OC), N, threads);
    long items = (long)N * sp.sets * sp.chunks;
#pragma omp parallel num_threads(threads)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        float *buf = bufs + t * chunk_floats();
        if (copies != N) { /* batch 1: each thread its own rows, its own items */
            long i0 = items * t / nt, i1 = items * (t + 1) / nt;
            float *own = scratch + (size_t)t * CB * s.x_block;
            own_rows(g, s.cs, x, &sp, i0, i1, own, s.x_block);
            for (long i = i0; i < i1; i++)
                run_item(g, &s, &sp, OC, packed, own, y, buf, ep, i);
        } else {
#pragma omp for schedule(static)
            for (long i = 0; i < (long)N * H * CB; i++) {
                long n = i / ((long)H * CB), cb = i % CB;
                cz_direct_to_blocks_avx512(g, s.cs, x + (size_t)n * in_size, (int)cb,
                                           (int)(i / CB % H),
                                           scratch + (size_t)(n * CB + cb) * s.x_block);
            }
#pragma omp for schedule(static)
            for (long i = 0; i < items; i++)
                run_item(g, &s, &sp, OC, packed, scratch, y, buf, ep, i);
        }
    }
#else
    (void)g, (void)OC, (void)packed, (void)N, (void)x, (void)y, (void)scratch, (void)threads,
        (void)ep;
#endif
}
