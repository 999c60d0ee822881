/* qmodel.c: the int8 model of nn_qmodel.h: quantisation, dequantisation, the checks a model
 * read from a file must pass, its hash, and the forward pass with int32 sums (dense codes or
 * CSR). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_hash.h"
#include "nn_qmodel.h"

#define ALIGN 64

/* The dense int8 kernel in AVX-512 (x86-64-v4) and AVX2 builds besides the baseline, chosen
 * at load time (GCC's function multiversioning): integer sums, so every version gives the
 * same bits. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define KERNEL __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#endif
#ifndef KERNEL
#define KERNEL
#endif

const char *nn_qstore_name(int storage)
{
    return storage == NN_QSTORE_CSR ? "csr" : "int8";
}

static uint64_t up(uint64_t n) { return (n + ALIGN - 1) / ALIGN * ALIGN; }

int nn_qmodel_alloc(nn_qmodel *q, const nn_layout *lo, const int *storage,
                    const uint64_t *nnz, char *err, size_t errlen)
{
    memset(q, 0, sizeof *q);
    q->lo = *lo;
    uint64_t at = 0;
    for (int i = 0; i < lo->n_layers; i++) {
        nn_qlayer *l = &q->layer[i];
        l->storage = storage[i];
        l->in = lo->sizes[i];
        l->out = lo->sizes[i + 1];
        if (l->in > NN_QMAX_IN) {
            snprintf(err, errlen, "layer %d has %d inputs; the int8 format's int32 sums hold "
                     "at most %d", i, l->in, NN_QMAX_IN);
            return -1;
        }
        uint64_t full = (uint64_t)l->in * (uint64_t)l->out;
        if (l->storage == NN_QSTORE_CSR) {
            if (l->out > NN_QCSR_MAX_OUT) {
                snprintf(err, errlen, "layer %d has %d outputs; CSR storage's uint16 columns "
                         "hold at most %d (use int8 storage)", i, l->out, NN_QCSR_MAX_OUT);
                return -1;
            }
            if (nnz[i] > full || nnz[i] > UINT32_MAX) {
                snprintf(err, errlen, "layer %d: %llu stored codes for a %d x %d kernel", i,
                         (unsigned long long)nnz[i], l->in, l->out);
                return -1;
            }
            l->nnz = nnz[i];
        } else {
            l->storage = NN_QSTORE_INT8;
            l->nnz = full;
        }
        l->codes = at;
        at = up(at + l->nnz);
        if (l->storage == NN_QSTORE_CSR) {
            l->col = at;
            at = up(at + 2 * l->nnz);
            l->row = at;
            at = up(at + 4 * ((uint64_t)l->in + 1));
        }
        l->scale = at;
        at = up(at + 4 * (uint64_t)l->out);
        l->bias = at;
        at = up(at + 4 * (uint64_t)l->out);
    }
    q->bytes = at;
    if (nn_qmodel_alloc_blob(q) != 0) {
        snprintf(err, errlen, "out of memory for an int8 model of %llu bytes",
                 (unsigned long long)q->bytes);
        return -1;
    }
    return 0;
}

int nn_qmodel_alloc_blob(nn_qmodel *q)
{
    q->blob = q->bytes <= SIZE_MAX - ALIGN ? aligned_alloc(ALIGN, up(q->bytes ? q->bytes : 1))
                                           : NULL;
    if (!q->blob)
        return -1;
    memset(q->blob, 0, up(q->bytes ? q->bytes : 1));
    return 0;
}

void nn_qmodel_free(nn_qmodel *q)
{
    if (!q)
        return;
    free(q->blob);
    memset(q, 0, sizeof *q);
}

/* Layer i's writable arrays (the model is being filled). */
#define AT(q, i, what, type) ((type *)((q)->blob + (q)->layer[i].what))

/* s_j = max_i |W[i,j]| / 127 for each column. */
static void scales(float *s, const float *w, int in, int out)
{
    for (int j = 0; j < out; j++)
        s[j] = 0.0f;
    for (int i = 0; i < in; i++)
        for (int j = 0; j < out; j++) {
            float a = fabsf(w[(size_t)i * out + j]);
            s[j] = a > s[j] ? a : s[j];
        }
    for (int j = 0; j < out; j++)
        s[j] = s[j] / 127.0f;
}

/* The code of w in a channel of scale s: rint(w / s) in [-127, 127] (ties to even). */
static int8_t code(float w, float s)
{
    if (!(s > 0.0f))
        return 0;
    float v = rintf(w / s);
    return (int8_t)(v > 127.0f ? 127.0f : v < -127.0f ? -127.0f : v);
}

int nn_qmodel_quantize(nn_qmodel *q, const nn_layout *lo, const float *params, nn_qpick pick,
                       char *err, size_t errlen)
{
    memset(q, 0, sizeof *q);
    int storage[NN_MAX_LAYERS];
    uint64_t nnz[NN_MAX_LAYERS];
    float *s = malloc((size_t)(lo->max_width > 0 ? lo->max_width : 1) * sizeof(float));
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    /* First the nonzero codes per layer, which decide the storage. */
    for (int i = 0; i < lo->n_layers; i++) {
        int in = lo->sizes[i], out = lo->sizes[i + 1];
        const float *w = params + lo->w_off[i];
        scales(s, w, in, out);
        uint64_t n = 0;
        for (size_t k = 0; k < (size_t)in * out; k++)
            n += code(w[k], s[k % (size_t)out]) != 0;
        nnz[i] = n;
        /* CSR: a code and a column per nonzero and the row starts, against a code each */
        uint64_t csr = 3 * n + 4 * ((uint64_t)in + 1), dense = (uint64_t)in * out;
        storage[i] = pick == NN_QPICK_CSR ? NN_QSTORE_CSR
                     : pick == NN_QPICK_INT8 ? NN_QSTORE_INT8
                     : csr < dense && out <= NN_QCSR_MAX_OUT ? NN_QSTORE_CSR
                                                             : NN_QSTORE_INT8;
    }
    if (nn_qmodel_alloc(q, lo, storage, nnz, err, errlen) != 0) {
        free(s);
        return -1;
    }
    for (int i = 0; i < lo->n_layers; i++) {
        int in = lo->sizes[i], out = lo->sizes[i + 1];
        const float *w = params + lo->w_off[i];
        float *sc = AT(q, i, scale, float);
        scales(sc, w, in, out);
        memcpy(AT(q, i, bias, float), params + lo->b_off[i], (size_t)out * sizeof(float));
        int8_t *c = AT(q, i, codes, int8_t);
        if (storage[i] == NN_QSTORE_INT8) {
            for (size_t k = 0; k < (size_t)in * out; k++)
                c[k] = code(w[k], sc[k % (size_t)out]);
            continue;
        }
        uint16_t *col = AT(q, i, col, uint16_t);
        uint32_t *row = AT(q, i, row, uint32_t), n = 0;
        for (int r = 0; r < in; r++) {
            row[r] = n;
            for (int j = 0; j < out; j++) {
                int8_t v = code(w[(size_t)r * out + j], sc[j]);
                if (v) {
                    c[n] = v;
                    col[n++] = (uint16_t)j;
                }
            }
        }
        row[in] = n;
    }
    free(s);
    return 0;
}

void nn_qmodel_dequantize(const nn_qmodel *q, float *params)
{
    const nn_layout *lo = &q->lo;
    for (int i = 0; i < lo->n_layers; i++) {
        const nn_qlayer *l = &q->layer[i];
        float *w = params + lo->w_off[i];
        const float *s = nn_qlayer_scale(q, i);
        const int8_t *c = nn_qlayer_codes(q, i);
        memcpy(params + lo->b_off[i], nn_qlayer_bias(q, i), (size_t)l->out * sizeof(float));
        if (l->storage == NN_QSTORE_INT8) {
            for (size_t k = 0; k < (size_t)l->in * l->out; k++)
                w[k] = (float)c[k] * s[k % (size_t)l->out];
            continue;
        }
        memset(w, 0, (size_t)l->in * l->out * sizeof(float));
        const uint16_t *col = nn_qlayer_col(q, i);
        const uint32_t *row = nn_qlayer_row(q, i);
        for (int r = 0; r < l->in; r++)
            for (uint32_t k = row[r]; k < row[r + 1]; k++)
                w[(size_t)r * l->out + col[k]] = (float)c[k] * s[col[k]];
    }
}

int nn_qmodel_check(const nn_qmodel *q, char *err, size_t errlen)
{
    for (int i = 0; i < q->lo.n_layers; i++) {
        const nn_qlayer *l = &q->layer[i];
        const int8_t *c = nn_qlayer_codes(q, i);
        for (uint64_t k = 0; k < l->nnz; k++)
            if (c[k] == -128) {
                snprintf(err, errlen, "layer %d: code -128 at %llu; expected codes in [-127, "
                         "127]", i, (unsigned long long)k);
                return -1;
            }
        const float *s = nn_qlayer_scale(q, i), *b = nn_qlayer_bias(q, i);
        for (int j = 0; j < l->out; j++)
            if (!isfinite(s[j]) || s[j] < 0.0f || !isfinite(b[j])) {
                snprintf(err, errlen, "layer %d, output %d: scale %g, bias %g; expected a "
                         "finite scale >= 0 and a finite bias", i, j, (double)s[j],
                         (double)b[j]);
                return -1;
            }
        if (l->storage != NN_QSTORE_CSR)
            continue;
        const uint32_t *row = nn_qlayer_row(q, i);
        const uint16_t *col = nn_qlayer_col(q, i);
        if (row[0] != 0 || row[l->in] != l->nnz) {
            snprintf(err, errlen, "layer %d: CSR rows start at %u and end at %u; expected 0 "
                     "and %llu (the stored codes)", i, row[0], row[l->in],
                     (unsigned long long)l->nnz);
            return -1;
        }
        for (int r = 0; r < l->in; r++) {
            if (row[r + 1] < row[r]) {
                snprintf(err, errlen, "layer %d: CSR row %d ends before it starts", i, r);
                return -1;
            }
            for (uint32_t k = row[r]; k < row[r + 1]; k++)
                if (col[k] >= l->out || (k > row[r] && col[k] <= col[k - 1])) {
                    snprintf(err, errlen, "layer %d: CSR row %d: column %u; expected increasing "
                             "columns below %d", i, r, col[k], l->out);
                    return -1;
                }
        }
    }
    return 0;
}

uint64_t nn_qmodel_hash(const nn_qmodel *q, uint64_t h)
{
    const nn_layout *lo = &q->lo;
    int32_t head[3] = {lo->n_layers, (int32_t)lo->act, (int32_t)lo->loss};
    h = nn_fnv1a(h, head, sizeof head);
    h = nn_fnv1a(h, lo->sizes, (size_t)(lo->n_layers + 1) * sizeof(int));
    for (int i = 0; i < lo->n_layers; i++) {
        const nn_qlayer *l = &q->layer[i];
        int64_t shape[4] = {l->storage, l->in, l->out, (int64_t)l->nnz};
        h = nn_fnv1a(h, shape, sizeof shape);
        h = nn_fnv1a(h, nn_qlayer_codes(q, i), l->nnz);
        if (l->storage == NN_QSTORE_CSR) {
            h = nn_fnv1a(h, nn_qlayer_col(q, i), 2 * l->nnz);
            h = nn_fnv1a(h, nn_qlayer_row(q, i), 4 * ((size_t)l->in + 1));
        }
        h = nn_fnv1a(h, nn_qlayer_scale(q, i), 4 * (size_t)l->out);
        h = nn_fnv1a(h, nn_qlayer_bias(q, i), 4 * (size_t)l->out);
    }
    return h;
}

uint64_t nn_qmodel_array_bytes(const nn_qmodel *q)
{
    uint64_t n = 0;
    for (int i = 0; i < q->lo.n_layers; i++) {
        const nn_qlayer *l = &q->layer[i];
        n += l->nnz + 8 * (uint64_t)l->out;
        if (l->storage == NN_QSTORE_CSR)
            n += 2 * l->nnz + 4 * ((uint64_t)l->in + 1);
    }
    return n;
}

/* ---------------------------------------------------------------- the forward pass */

/* rint(v) for |v| < 2^22 in the default rounding mode (to nearest, ties to even), as plain
 * float arithmetic the compiler vectorises: adding and taking away 1.5 * 2^23 leaves v
 * rounded to an integer. (rintf is a call to libm on x86-64's baseline ISA.) */
static inline float round_even(float v)
{
    const float big = 12582912.0f; /* 1.5 * 2^23 */
    return (v + big) - big;
}

/* A row's codes: a = max |x| / 127, xq = rint(x / a); returns a (0 for a row of zeros). */
KERNEL static float quantize_row(int8_t *restrict xq, const float *restrict x, int n)
{
    float m = 0.0f;
    for (int k = 0; k < n; k++) {
        float v = fabsf(x[k]);
        m = v > m ? v : m;
    }
    if (!(m > 0.0f)) {
        memset(xq, 0, (size_t)n);
        return 0.0f;
    }
    float a = m / 127.0f;
    for (int k = 0; k < n; k++) {
        float v = round_even(x[k] / a); /* |x / a| <= 127 (+ rounding) */
        xq[k] = (int8_t)(v > 127.0f ? 127.0f : v < -127.0f ? -127.0f : v);
    }
    return a;
}

/* acc (out) = xq (in) . codes (in, out): int8 products (int16) summed in int32. Inputs that
 * are zero (ReLU's zeros) are skipped. The outputs go in tiles of 64 whose sums stay in
 * registers over all the inputs (4 AVX-512 registers), the rest one by one. */
#define TILE 64
KERNEL static void sums_int8(int32_t *restrict acc, const int8_t *restrict xq,
                             const int8_t *restrict c, int in, int out)
{
    int j0 = 0;
    for (; j0 + TILE <= out; j0 += TILE) {
        int32_t t[TILE];
        for (int j = 0; j < TILE; j++)
            t[j] = 0;
        for (int i = 0; i < in; i++) {
            const int16_t xi = xq[i];
            if (!xi)
                continue;
            const int8_t *restrict ci = c + (size_t)i * out + j0;
            for (int j = 0; j < TILE; j++)
                t[j] += (int16_t)(xi * (int16_t)ci[j]);
        }
        memcpy(acc + j0, t, sizeof t);
    }
    if (j0 == out)
        return;
    memset(acc + j0, 0, (size_t)(out - j0) * sizeof *acc);
    for (int i = 0; i < in; i++) {
        const int16_t xi = xq[i];
        if (!xi)
            continue;
        const int8_t *restrict ci = c + (size_t)i * out;
        for (int j = j0; j < out; j++)
            acc[j] += (int16_t)(xi * (int16_t)ci[j]);
    }
}

/* The same with the codes as CSR rows. */
static void sums_csr(int32_t *restrict acc, const int8_t *restrict xq,
                     const int8_t *restrict c, const uint16_t *restrict col,
                     const uint32_t *restrict row, int in, int out)
{
    memset(acc, 0, (size_t)out * sizeof *acc);
    for (int i = 0; i < in; i++) {
        const int32_t xi = xq[i];
        if (!xi)
            continue;
        for (uint32_t k = row[i]; k < row[i + 1]; k++)
            acc[col[k]] += xi * c[k];
    }
}

/* z = sums * (a * s) + b, then the activation (as nn_dense_forward's). */
static void finish(float *restrict z, const int32_t *restrict acc, float a,
                   const float *restrict s, const float *restrict b, int out, nn_act act)
{
    for (int j = 0; j < out; j++)
        z[j] = (float)acc[j] * (a * s[j]) + b[j];
    switch (act) {
    case NN_ACT_RELU:
        for (int j = 0; j < out; j++)
            z[j] = z[j] > 0.0f ? z[j] : 0.0f;
        break;
    case NN_ACT_TANH:
        for (int j = 0; j < out; j++)
            z[j] = tanhf(z[j]);
        break;
    case NN_ACT_SIGMOID:
        for (int j = 0; j < out; j++)
            z[j] = 1.0f / (1.0f + expf(-z[j]));
        break;
    case NN_ACT_LINEAR:
        break;
    }
}

/* The CSR sums of g <= GROUP rows at once: xt (in, g) the rows' codes side by side, acc
 * (out, g) their sums. Each stored code is then applied to all g rows in one vector
 * operation (16 int32 lanes) instead of one scalar update per row. */
#define GROUP 16
KERNEL static void sums_csr_rows(int32_t *restrict acc, const int8_t *restrict xt,
                                 const int8_t *restrict c, const uint16_t *restrict col,
                                 const uint32_t *restrict row, int in, int out, int g)
{
    memset(acc, 0, (size_t)out * (size_t)g * sizeof *acc);
    for (int i = 0; i < in; i++) {
        const int8_t *xi = xt + (size_t)i * g;
        int any = 0;
        for (int r = 0; r < g; r++)
            any |= xi[r];
        if (!any)
            continue;
#if defined(__GNUC__)
        if (g == GROUP) { /* one vector of the GROUP rows' int32 sums per stored code */
            typedef int32_t v16 __attribute__((vector_size(GROUP * 4)));
            int32_t x32[GROUP];
            for (int r = 0; r < GROUP; r++)
                x32[r] = xi[r];
            v16 xv, av;
            memcpy(&xv, x32, sizeof xv);
            for (uint32_t k = row[i]; k < row[i + 1]; k++) {
                int32_t *a = acc + (size_t)col[k] * GROUP;
                memcpy(&av, a, sizeof av);
                av += xv * (int32_t)c[k];
                memcpy(a, &av, sizeof av);
            }
            continue;
        }
#endif
        for (uint32_t k = row[i]; k < row[i + 1]; k++) {
            int32_t *restrict a = acc + (size_t)col[k] * g;
            const int32_t ck = c[k];
            for (int r = 0; r < g; r++)
                a[r] += xi[r] * ck;
        }
    }
}

/* Layer l over rows r0 .. r0 + g of x (B, in) into z (B, out), CSR, g rows at once: the
 * same integer sums, so the same bits, as one row at a time. Scratch: acc (out, g) int32 and
 * bytes (in (g + 1) + 4 out). */
static void csr_rows(const nn_qmodel *q, int i, const float *x, float *z, int g, nn_act act,
                     int32_t *acc, unsigned char *bytes)
{
    const nn_qlayer *l = &q->layer[i];
    int8_t *xt = (int8_t *)bytes, *xq = xt + (size_t)l->in * g;
    int32_t *one = (int32_t *)(bytes + (((size_t)l->in * (g + 1) + 15) & ~(size_t)15));
    float a[GROUP];
    for (int r = 0; r < g; r++) {
        a[r] = quantize_row(xq, x + (size_t)r * l->in, l->in);
        for (int k = 0; k < l->in; k++)
            xt[(size_t)k * g + r] = xq[k];
    }
    sums_csr_rows(acc, xt, nn_qlayer_codes(q, i), nn_qlayer_col(q, i), nn_qlayer_row(q, i),
                  l->in, l->out, g);
    for (int r = 0; r < g; r++) {
        for (int j = 0; j < l->out; j++)
            one[j] = acc[(size_t)j * g + r];
        finish(z + (size_t)r * l->out, one, a[r], nn_qlayer_scale(q, i), nn_qlayer_bias(q, i),
               l->out, act);
    }
}

void nn_qforward(const nn_qmodel *q, nn_work *w, const float *x, int B)
{
    const nn_layout *lo = &q->lo;
    int32_t *acc = (int32_t *)w->delta_a; /* (max_width), or (max_width, GROUP) */
    int8_t *xq = (int8_t *)w->delta_b;    /* (max_width), or csr_rows' bytes */
    w->act[0] = (float *)x;               /* read only */
    for (int i = 0; i < lo->n_layers; i++) {
        const nn_qlayer *l = &q->layer[i];
        nn_act act = i + 1 < lo->n_layers ? lo->act : NN_ACT_LINEAR;
        const float *xi = w->act[i];
        float *zi = w->act[i + 1];
        if (l->storage == NN_QSTORE_CSR && B > 1) { /* batches: GROUP rows at a time */
            for (int r = 0; r < B; r += GROUP)
                csr_rows(q, i, xi + (size_t)r * l->in, zi + (size_t)r * l->out,
                         B - r < GROUP ? B - r : GROUP, act, acc, (unsigned char *)xq);
            continue;
        }
        for (int r = 0; r < B; r++) {
            float a = quantize_row(xq, xi + (size_t)r * l->in, l->in);
            if (l->storage == NN_QSTORE_CSR)
                sums_csr(acc, xq, nn_qlayer_codes(q, i), nn_qlayer_col(q, i),
                         nn_qlayer_row(q, i), l->in, l->out);
            else
                sums_int8(acc, xq, nn_qlayer_codes(q, i), l->in, l->out);
            finish(zi + (size_t)r * l->out, acc, a, nn_qlayer_scale(q, i), nn_qlayer_bias(q, i),
                   l->out, act);
        }
    }
}
