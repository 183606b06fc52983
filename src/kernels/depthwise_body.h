/*
 * depthwise_body.h - the depthwise plane kernel, included once per path by
 * depthwise.c with DW_SUFFIX, DW_TARGET, DW_VL, DW_VEC and the vector
 * operations DW_ZERO, DW_SET1, DW_LOAD, DW_LOAD_N, DW_LOAD_EVEN, DW_EVEN_NEXT,
 * DW_FMA, DW_ADD, DW_STORE and DW_STORE_N defined; it undefines them at
 * the end. DW_EVEN_NEXT(row, j, older): the even lanes from row + j, given
 * those from row + j - 2 (older, for j >= 2).
 *
 * The padded copy is made with the path's vectors too: through memset and
 * memcpy, a 56x56 plane's 170 small calls took longer than its 9 taps.
 * The side borders stay plain stores (CMakeLists.txt keeps GCC from
 * making them memset calls; as vector stores, masked or overlapping, they
 * were slower). Every output sums its taps row by row, then column, then
 * adds the bias, as the reference does (only FMA rounding differs).
 */
#define DW_CAT2(a, b) a##_##b
#define DW_CAT(a, b) DW_CAT2(a, b)
#define DW_ROWS_FN DW_CAT(dw_rows, DW_SUFFIX)
#define DW_PLANE_FN DW_CAT(dw_plane, DW_SUFFIX)
#define DW_ZERO_FN DW_CAT(dw_zero, DW_SUFFIX)
#define DW_PAD_FN DW_CAT(dw_pad, DW_SUFFIX)

DW_TARGET static inline void DW_ZERO_FN(float *p, size_t n)
{
    size_t i = 0;
    for (; i + DW_VL <= n; i += DW_VL)
        DW_STORE(p + i, DW_ZERO());
    if (i < n)
        DW_STORE_N(p + i, DW_ZERO(), (int)(n - i));
}

/* x (H, W) -> pad (PH, PW): zero borders, spare rows and slack. */
DW_TARGET static inline void DW_PAD_FN(const cz_conv_geom *g, const dw_layout *l, const float *x,
                                       float *pad)
{
    int W = g->width, PW = l->PW;
    DW_ZERO_FN(pad, (size_t)g->pad_h * PW);
    float *row = pad + (size_t)g->pad_h * PW;
    for (int h = 0; h < g->height; h++, row += PW, x += W) {
        for (int v = 0; v < g->pad_w; v++)
            row[v] = 0.0f;
        int v = 0;
        for (; v + DW_VL <= W; v += DW_VL)
            DW_STORE(row + g->pad_w + v, DW_LOAD(x + v));
        if (v < W)
            DW_STORE_N(row + g->pad_w + v, DW_LOAD_N(x + v, W - v), W - v);
        for (int v = g->pad_w + W; v < PW; v++)
            row[v] = 0.0f;
    }
    DW_ZERO_FN(row, l->size - (size_t)(row - pad));
}

/* Output rows oh .. oh + ROWS - 1 (those below OH are stored). Each input
 * row the ROWS outputs touch is loaded once per column tap and added to
 * every output row that uses it: for 3x3 stride 1 that is 18 loads for 36
 * FMAs instead of 36. sh, sw (1 or 2), KH, KW and d are constants after
 * inlining for the common shapes, so the tests on (r, q) fold away. */
DW_TARGET static inline __attribute__((always_inline)) void
DW_ROWS_FN(const cz_conv_geom *g, int PW, const float *pad, const float *w, float bias, float *y,
           int oh, int sh, int sw, int KH, int KW, int d)
{
    int OW = g->out_w, span = sh * (ROWS - 1) + d * (KH - 1) + 1;
    int rows = g->out_h - oh < ROWS ? g->out_h - oh : ROWS;
    DW_VEC b = DW_SET1(bias);
    for (int ow = 0; ow < OW; ow += DW_VL) {
        DW_VEC acc[ROWS];
#pragma GCC unroll 8
        for (int r = 0; r < ROWS; r++)
            acc[r] = DW_ZERO();
        const float *top = pad + (size_t)oh * sh * PW + (size_t)ow * sw;
#pragma GCC unroll 16
        for (int q = 0; q < span; q++) {
            const float *row = top + (size_t)q * PW;
            DW_VEC older = DW_ZERO(), old = DW_ZERO(); /* taps j - 2 and j - 1 */
#pragma GCC unroll 8
            for (int j = 0; j < KW; j++) {
                const float *p = row + (size_t)j * d;
                DW_VEC v = sw == 1   ? DW_LOAD(p)
                           : d == 1 ? DW_EVEN_NEXT(row, j, older)
                                    : DW_LOAD_EVEN(p);
                older = old, old = v;
#pragma GCC unroll 8
                for (int r = 0; r < ROWS; r++) {
                    int t = q - sh * r; /* = i * d for tap row i */
                    if (t >= 0 && t % d == 0 && t / d < KH)
                        acc[r] = DW_FMA(v, DW_SET1(w[t / d * KW + j]), acc[r]);
                }
            }
        }
        int n = OW - ow < DW_VL ? OW - ow : DW_VL;
        for (int r = 0; r < rows; r++) {
            float *out = y + (size_t)(oh + r) * OW + ow;
            if (n == DW_VL)
                DW_STORE(out, DW_ADD(acc[r], b));
            else
                DW_STORE_N(out, DW_ADD(acc[r], b), n);
        }
    }
}

/* y (OH, OW) = x (H, W) cross-correlated with w, plus bias; pad holds
 * l->size floats. */
DW_TARGET static void DW_PLANE_FN(const cz_conv_geom *g, const dw_layout *l, const float *x,
                                  const float *w, float bias, float *y, float *pad)
{
    int PW = l->PW;
    DW_PAD_FN(g, l, x, pad);
    int sh = g->stride_h, sw = g->stride_w, KH = g->kernel_h, KW = g->kernel_w;
    int k = KH == KW && sh == sw && g->dilation == 1 ? KH : 0;
    for (int oh = 0; oh < g->out_h; oh += ROWS) {
        if (k == 3 && sw == 1)
            DW_ROWS_FN(g, PW, pad, w, bias, y, oh, 1, 1, 3, 3, 1);
        else if (k == 3 && sw == 2)
            DW_ROWS_FN(g, PW, pad, w, bias, y, oh, 2, 2, 3, 3, 1);
        else if (k == 5 && sw == 1)
            DW_ROWS_FN(g, PW, pad, w, bias, y, oh, 1, 1, 5, 5, 1);
        else if (k == 5 && sw == 2)
            DW_ROWS_FN(g, PW, pad, w, bias, y, oh, 2, 2, 5, 5, 1);
        else
            DW_ROWS_FN(g, PW, pad, w, bias, y, oh, sh, sw, KH, KW, g->dilation);
    }
}

#undef DW_CAT2
#undef DW_CAT
#undef DW_ROWS_FN
#undef DW_PLANE_FN
#undef DW_ZERO_FN
#undef DW_PAD_FN
#undef DW_SUFFIX
#undef DW_TARGET
#undef DW_VL
#undef DW_VEC
#undef DW_ZERO
#undef DW_SET1
#undef DW_LOAD
#undef DW_LOAD_N
#undef DW_LOAD_EVEN
#undef DW_EVEN_NEXT
#undef DW_FMA
#undef DW_ADD
#undef DW_STORE
#undef DW_STORE_N
