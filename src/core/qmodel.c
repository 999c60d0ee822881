/* qmodel.c: the int8 model of nn_qmodel.h: quantisation, dequantisation, the checks a model
 * read from a file must pass, its hash, and the forward pass with int32 sums (dense codes or
 * CSC). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_hash.h"
#include "nn_qmodel.h"

#define ALIGN 64

/* The kernels in AVX-512 (x86-64-v4) and AVX2 builds besides the baseline, chosen at load
 * time (GCC's function multiversioning): integer sums, so every version gives the same bits. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define KERNEL __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#endif
#ifndef KERNEL
#define KERNEL
#endif

const char *nn_qstore_name(int storage)
{
    return storage == NN_QSTORE_CSC ? "csc" : "int8";
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
        if (l->storage == NN_QSTORE_CSC) {
            if (l->in > NN_QCSC_MAX_IN) {
                snprintf(err, errlen, "layer %d has %d inputs; CSC storage's uint16 row "
                         "indices hold at most %d (use int8 storage)", i, l->in, NN_QCSC_MAX_IN);
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
        if (l->storage == NN_QSTORE_CSC) {
            l->idx = at;
            at = up(at + 2 * l->nnz);
            l->ptr = at;
            at = up(at + 4 * ((uint64_t)l->out + 1));
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
        /* CSC: a code and a row index per nonzero and the column starts, against a code
         * each */
        uint64_t csc = 3 * n + 4 * ((uint64_t)out + 1), dense = (uint64_t)in * out;
        storage[i] = pick == NN_QPICK_CSC ? NN_QSTORE_CSC
                     : pick == NN_QPICK_INT8 ? NN_QSTORE_INT8
                     : csc < dense && in <= NN_QCSC_MAX_IN ? NN_QSTORE_CSC
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
        uint16_t *idx = AT(q, i, idx, uint16_t);
        uint32_t *ptr = AT(q, i, ptr, uint32_t), n = 0;
        for (int j = 0; j < out; j++) {
            ptr[j] = n;
            for (int r = 0; r < in; r++) {
                int8_t v = code(w[(size_t)r * out + j], sc[j]);
                if (v) {
                    c[n] = v;
                    idx[n++] = (uint16_t)r;
                }
            }
        }
        ptr[out] = n;
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
        const uint16_t *idx = nn_qlayer_idx(q, i);
        const uint32_t *ptr = nn_qlayer_ptr(q, i);
        for (int j = 0; j < l->out; j++)
            for (uint32_t k = ptr[j]; k < ptr[j + 1]; k++)
                w[(size_t)idx[k] * l->out + j] = (float)c[k] * s[j];
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
        if (l->storage != NN_QSTORE_CSC)
            continue;
        const uint32_t *ptr = nn_qlayer_ptr(q, i);
        const uint16_t *idx = nn_qlayer_idx(q, i);
        if (ptr[0] != 0 || ptr[l->out] != l->nnz) {
            snprintf(err, errlen, "layer %d: CSC columns start at %u and end at %u; expected 0 "
                     "and %llu (the stored codes)", i, ptr[0], ptr[l->out],
                     (unsigned long long)l->nnz);
            return -1;
        }
        for (int j = 0; j < l->out; j++) {
            if (ptr[j + 1] < ptr[j]) {
                snprintf(err, errlen, "layer %d: CSC column %d ends before it starts", i, j);
                return -1;
            }
            for (uint32_t k = ptr[j]; k < ptr[j + 1]; k++)
                if (idx[k] >= l->in || (k > ptr[j] && idx[k] <= idx[k - 1])) {
                    snprintf(err, errlen, "layer %d: CSC column %d: row %u; expected increasing "
                             "rows below %d", i, j, idx[k], l->in);
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
        if (l->storage == NN_QSTORE_CSC) {
            h = nn_fnv1a(h, nn_qlayer_idx(q, i), 2 * l->nnz);
            h = nn_fnv1a(h, nn_qlayer_ptr(q, i), 4 * ((size_t)l->out + 1));
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
        if (l->storage == NN_QSTORE_CSC)
            n += 2 * l->nnz + 4 * ((uint64_t)l->out + 1);
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

/* A row's codes as int32, xq[k * stride] = rint(x[k] / a), a = max |x| / 127; returns a (0
 * for a row of zeros). */
KERNEL static float quantize_row(int32_t *restrict xq, size_t stride, const float *restrict x,
                                 int n)
{
    float m = 0.0f;
    for (int k = 0; k < n; k++) {
        float v = fabsf(x[k]);
        m = v > m ? v : m;
    }
    if (!(m > 0.0f)) {
        for (int k = 0; k < n; k++)
            xq[(size_t)k * stride] = 0;
        return 0.0f;
    }
    float a = m / 127.0f;
    for (int k = 0; k < n; k++) {
        float v = round_even(x[k] / a); /* |x / a| <= 127 (+ rounding) */
        xq[(size_t)k * stride] = (int32_t)(v > 127.0f ? 127.0f : v < -127.0f ? -127.0f : v);
    }
    return a;
}

/* acc (out) = xq (in) . codes (in, out): int8 products (int16) summed in int32. Inputs that
 * are zero (ReLU's zeros) are skipped. The outputs go in tiles of 64 whose sums stay in
 * registers over all the inputs (4 AVX-512 registers), the rest one by one. */
#define TILE 64
KERNEL static void sums_int8(int32_t *restrict acc, const int32_t *restrict xq,
                             const int8_t *restrict c, int in, int out)
{
    int j0 = 0;
    for (; j0 + TILE <= out; j0 += TILE) {
        int32_t t[TILE];
        for (int j = 0; j < TILE; j++)
            t[j] = 0;
        for (int i = 0; i < in; i++) {
            const int16_t xi = (int16_t)xq[i];
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
        const int16_t xi = (int16_t)xq[i];
        if (!xi)
            continue;
        const int8_t *restrict ci = c + (size_t)i * out;
        for (int j = j0; j < out; j++)
            acc[j] += (int16_t)(xi * (int16_t)ci[j]);
    }
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>
#define HAVE_GATHER 1
/* sums_csc with AVX-512 gathers, 16 of a column's inputs in one instruction (GCC emulates a
 * gather with single loads, at half the speed). */
__attribute__((target("avx512f"))) static void sums_csc_avx512(
    int32_t *restrict acc, const int32_t *restrict xq, const int8_t *restrict c,
    const uint16_t *restrict idx, const uint32_t *restrict ptr, int out)
{
    for (int j = 0; j < out; j++) {
        __m512i sum = _mm512_setzero_si512();
        uint32_t k = ptr[j], end = ptr[j + 1];
        for (; k + 16 <= end; k += 16) {
            __m512i at = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(idx + k)));
            __m512i x = _mm512_i32gather_epi32(at, xq, 4);
            __m512i cv = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(c + k)));
            sum = _mm512_add_epi32(sum, _mm512_mullo_epi32(x, cv));
        }
        int32_t s = _mm512_reduce_add_epi32(sum);
        for (; k < end; k++)
            s += xq[idx[k]] * (int32_t)c[k];
        acc[j] = s;
    }
}
#endif

/* The same with the codes as CSC: each output's sum over its stored codes, the inputs
 * gathered by row index. */
KERNEL static void sums_csc(int32_t *restrict acc, const int32_t *restrict xq,
                            const int8_t *restrict c, const uint16_t *restrict idx,
                            const uint32_t *restrict ptr, int out)
{
#ifdef HAVE_GATHER
    if (__builtin_cpu_supports("avx512f")) {
        sums_csc_avx512(acc, xq, c, idx, ptr, out);
        return;
    }
#endif
    for (int j = 0; j < out; j++) {
        int32_t sum = 0;
        for (uint32_t k = ptr[j]; k < ptr[j + 1]; k++)
            sum += xq[idx[k]] * (int32_t)c[k];
        acc[j] = sum;
    }
}

/* The CSC sums of g <= GROUP rows at once: xt (in, g) the rows' codes side by side, acc
 * (out, g) their sums. Each stored code multiplies the g rows' codes of its input in one
 * vector operation (16 int32 lanes) into a sum kept in a register. */
#define GROUP 16
KERNEL static void sums_csc_rows(int32_t *restrict acc, const int32_t *restrict xt,
                                 const int8_t *restrict c, const uint16_t *restrict idx,
                                 const uint32_t *restrict ptr, int out, int g)
{
#if defined(__GNUC__)
    if (g == GROUP) {
        typedef int32_t v16 __attribute__((vector_size(GROUP * 4)));
        for (int j = 0; j < out; j++) {
            v16 sum = {0}, x;
            for (uint32_t k = ptr[j]; k < ptr[j + 1]; k++) {
                memcpy(&x, xt + (size_t)idx[k] * GROUP, sizeof x);
                sum += x * (int32_t)c[k];
            }
            memcpy(acc + (size_t)j * GROUP, &sum, sizeof sum);
        }
        return;
    }
#endif
    for (int j = 0; j < out; j++) {
        int32_t *restrict a = acc + (size_t)j * g;
        for (int r = 0; r < g; r++)
            a[r] = 0;
        for (uint32_t k = ptr[j]; k < ptr[j + 1]; k++) {
            const int32_t *x = xt + (size_t)idx[k] * g;
            for (int r = 0; r < g; r++)
                a[r] += x[r] * (int32_t)c[k];
        }
    }
}

/* z = sums * (a * s) + b, then the activation (as nn_dense_forward's); the sums at
 * acc[j * stride]. */
static void finish(float *restrict z, const int32_t *restrict acc, size_t stride, float a,
                   const float *restrict s, const float *restrict b, int out, nn_act act)
{
    for (int j = 0; j < out; j++)
        z[j] = (float)acc[(size_t)j * stride] * (a * s[j]) + b[j];
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

/* Layer i of a CSC model over g rows of x (g, in) into z (g, out), the rows at once: the same
 * integer sums, so the same bits, as one row at a time. Scratch: acc (out, g) and xt (in, g)
 * int32. */
static void csc_rows(const nn_qmodel *q, int i, const float *x, float *z, int g, nn_act act,
                     int32_t *acc, int32_t *xt)
{
    const nn_qlayer *l = &q->layer[i];
    float a[GROUP];
    for (int r = 0; r < g; r++)
        a[r] = quantize_row(xt + r, (size_t)g, x + (size_t)r * l->in, l->in);
    sums_csc_rows(acc, xt, nn_qlayer_codes(q, i), nn_qlayer_idx(q, i), nn_qlayer_ptr(q, i),
                  l->out, g);
    for (int r = 0; r < g; r++)
        finish(z + (size_t)r * l->out, acc + r, (size_t)g, a[r], nn_qlayer_scale(q, i),
               nn_qlayer_bias(q, i), l->out, act);
}

void nn_qforward(const nn_qmodel *q, nn_work *w, const float *x, int B)
{
    const nn_layout *lo = &q->lo;
    int32_t *acc = (int32_t *)w->delta_a; /* (max_width), or (max_width, GROUP) */
    int32_t *xq = (int32_t *)w->delta_b;  /* (max_width), or (max_width, GROUP) */
    w->act[0] = (float *)x;               /* read only */
    for (int i = 0; i < lo->n_layers; i++) {
        const nn_qlayer *l = &q->layer[i];
        nn_act act = i + 1 < lo->n_layers ? lo->act : NN_ACT_LINEAR;
        const float *xi = w->act[i];
        float *zi = w->act[i + 1];
        if (l->storage == NN_QSTORE_CSC && B > 1) { /* batches: GROUP rows at a time */
            for (int r = 0; r < B; r += GROUP)
                csc_rows(q, i, xi + (size_t)r * l->in, zi + (size_t)r * l->out,
                         B - r < GROUP ? B - r : GROUP, act, acc, xq);
            continue;
        }
        for (int r = 0; r < B; r++) {
            float a = quantize_row(xq, 1, xi + (size_t)r * l->in, l->in);
            if (l->storage == NN_QSTORE_CSC)
                sums_csc(acc, xq, nn_qlayer_codes(q, i), nn_qlayer_idx(q, i),
                         nn_qlayer_ptr(q, i), l->out);
            else
                sums_int8(acc, xq, nn_qlayer_codes(q, i), l->in, l->out);
            finish(zi + (size_t)r * l->out, acc, 1, a, nn_qlayer_scale(q, i),
                   nn_qlayer_bias(q, i), l->out, act);
        }
    }
}
