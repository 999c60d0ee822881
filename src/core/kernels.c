/* kernels.c: the dense layer, activations and losses. The only file that includes <cblas.h>:
 * every matrix product of the trainer goes through nn_sgemm here. */
#include <cblas.h>
#include <float.h>
#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#endif
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <stdio.h>
#include <unistd.h>

#include "nn_clock.h"
#include "nn_kernels.h"
#include "nn_model.h"

/* Seconds spent in cblas_sgemm while timing is on (this process's one thread that calls it). */
static int sgemm_timing;
static double sgemm_seconds;

void nn_sgemm_timing(int on) { sgemm_timing = on; }
double nn_sgemm_seconds(void) { return sgemm_seconds; }

void nn_sgemm(int transA, int transB, int M, int N, int K, float alpha, const float *A,
              const float *B, float beta, float *C)
{
    int lda = transA ? M : K; /* row-major leading dimensions of A and B as stored */
    int ldb = transB ? K : N;
    double t0 = sgemm_timing ? nn_now() : 0.0;
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
                transB ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb, beta, C, N);
    if (sgemm_timing)
        sgemm_seconds += nn_now() - t0;
}

/* C (m, n) = A (m, k) W (k, n), as k-slices of at most kc (0: one product) added in order: the
 * first with beta = 0, the others with beta = 1. lda and ldw: the full rows' lengths. */
static void sliced(int m, int n, int k, int kc, const float *a, int lda, const float *w,
                   float *c)
{
    if (kc <= 0 || kc >= k) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, lda, w, n,
                    0.0f, c, n);
        return;
    }
    for (int k0 = 0; k0 < k; k0 += kc)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k - k0 < kc ? k - k0 : kc,
                    1.0f, a + k0, lda, w + (size_t)k0 * n, n, k0 ? 1.0f : 0.0f, c, n);
}

enum { REF = 48 }; /* rows the probes use; a multiple of every padding candidate */

/* Whether, with slices of kc, rows in products of every probed size come out as the same bits
 * as each row alone. one: scratch (REF, n). */
static int rows_alike(int n, int k, int kc, const float *a, const float *w, float *one,
                      float *c)
{
    static const int sizes[] = {2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, REF};
    for (int i = 0; i < REF; i++)
        sliced(1, n, k, kc, a + (size_t)i * k, k, w, one + (size_t)i * n);
    for (size_t j = 0; j < sizeof sizes / sizeof *sizes; j++) {
        sliced(sizes[j], n, k, kc, a, k, w, c);
        if (memcmp(c, one, (size_t)sizes[j] * n * sizeof(float)) != 0)
            return 0;
    }
    return 1;
}

/* The smallest multiple of rows (1, 2, 4, 8, 16) whose products give each row the bits it has
 * in a REF-row product, at any position (rows 1..U computed as rows 0..U-1 of a product too):
 * the fallback when no slicing makes rows alike; 0 when none does (OpenBLAS 0.3.21's Haswell
 * kernels compute each row by its position in 12). ref, c: scratch (REF, n). */
static int row_multiple(int n, int k, const float *a, const float *w, float *ref, float *c)
{
    static const int cand[] = {1, 2, 4, 8, 16};
    sliced(REF, n, k, 0, a, k, w, ref);
    for (size_t j = 0; j < sizeof cand / sizeof *cand; j++) {
        const int u = cand[j];
        int ok = 1;
        for (int t = 1; t <= 3 && ok; t++) {
            sliced(t * u, n, k, 0, a, k, w, c);
            ok = memcmp(c, ref, (size_t)t * u * n * sizeof(float)) == 0;
        }
        if (ok) { /* shifted by a row */
            sliced(u, n, k, 0, a + k, k, w, c);
            ok = memcmp(c, ref + n, (size_t)u * n * sizeof(float)) == 0;
        }
        if (ok)
            return u;
    }
    return 0;
}

int nn_gemm_plan_find(int k, int n, nn_gemm_plan *plan)
{
    float *a = malloc((size_t)REF * k * sizeof(float)), *w = malloc((size_t)k * n * sizeof(float));
    float *one = malloc((size_t)REF * n * sizeof(float)), *c = malloc((size_t)REF * n * sizeof(float));
    int rc = a && w && one && c ? 0 : -1;
    if (rc == 0) {
        /* Values whose products round (not small integers), so another order shows. */
        uint32_t x = 2463534242u;
        for (size_t i = 0; i < (size_t)REF * k + (size_t)k * n; i++) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5;
            float v = (float)(x >> 8) * 0x1p-24f - 0.5f;
            if (i < (size_t)REF * k)
                a[i] = v;
            else
                w[i - (size_t)REF * k] = v;
        }
        /* One product, else slices short enough that every kernel sums them in one order */
        static const int kcs[] = {0, 256, 128, 64};
        *plan = (nn_gemm_plan){0, 0};
        for (size_t j = 0; j < sizeof kcs / sizeof *kcs && !plan->mult; j++)
            if ((j == 0 || kcs[j] < k) && rows_alike(n, k, kcs[j], a, w, one, c))
                *plan = (nn_gemm_plan){kcs[j], 1};
        if (!plan->mult) /* 0 again when no multiple works either */
            *plan = (nn_gemm_plan){0, row_multiple(n, k, a, w, one, c)};
    }
    free(a);
    free(w);
    free(one);
    free(c);
    return rc;
}

void nn_flush_denormals(void)
{
#if defined(__SSE__) || defined(__x86_64__)
    /* FTZ (bit 15) and DAZ (bit 6): subnormal floats become zero instead of taking a slow
     * microcode path; gradients that underflow late in training otherwise slow every step. */
    _mm_setcsr(_mm_getcsr() | 0x8040);
#endif
}

/* The OpenBLAS kernel family this CPU can run at its widest, or NULL when OpenBLAS's own
 * choice is already that wide (or the CPU is not x86-64). */
static const char *wider_core(const char *core)
{
#if defined(__x86_64__) && defined(__GNUC__)
    static const char *const avx512[] = {"skylakex", "cooperlake", "sapphirerapids"};
    static const char *const avx2[] = {"haswell", "zen", "skylakex", "cooperlake",
                                       "sapphirerapids"};
    __builtin_cpu_init();
    const char *const *have = NULL;
    size_t n = 0;
    const char *want = NULL;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
        want = "SkylakeX", have = avx512, n = sizeof avx512 / sizeof *avx512;
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        want = "Haswell", have = avx2, n = sizeof avx2 / sizeof *avx2;
    for (size_t i = 0; want && i < n; i++)
        if (!strcasecmp(core, have[i]))
            return NULL;
    return want;
#else
    (void)core;
    return NULL;
#endif
}

void nn_blas_choose_kernels(char **argv)
{
    /* OpenBLAS picks its kernels once, when it loads, from the CPU model it knows: 0.3.21
     * (Debian 12) takes CPUs newer than it (Xeon family 6 model 207, say) for a Prescott and
     * runs SSE3 kernels at a quarter of the speed. OPENBLAS_CORETYPE, read at load, is the only
     * way to choose; set by the user (even empty), it is left alone. */
    const char *core = openblas_get_corename();
    const char *want = core ? wider_core(core) : NULL;
    if (!want || getenv("OPENBLAS_CORETYPE") || getenv("NN_BLAS_CHOSEN"))
        return;
    char was[64];
    snprintf(was, sizeof was, "%s", core);
    if (setenv("OPENBLAS_CORETYPE", want, 1) != 0 || setenv("NN_BLAS_CHOSEN", was, 1) != 0)
        return;
    /* The program's own path, so that its process name stays (ps, pgrep, top: not "exe") */
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = 0;
        execv(self, argv);
    }
    unsetenv("OPENBLAS_CORETYPE"); /* no exec (no /proc): run as loaded */
    unsetenv("NN_BLAS_CHOSEN");
}

const char *nn_blas_kernels(char *buf, size_t len)
{
    const char *was = getenv("NN_BLAS_CHOSEN");
    const char *core = openblas_get_corename();
    if (was)
        snprintf(buf, len, "%s kernels (chosen here: OpenBLAS took this CPU for a %s)", core,
                 was);
    else
        snprintf(buf, len, "%s kernels", core ? core : "?");
    return buf;
}

void nn_blas_libver(nn_libver *v)
{
    const char *b = strstr(OPENBLAS_VERSION, "OpenBLAS "), *cfg = openblas_get_config();
    b = b ? b + strlen("OpenBLAS ") : OPENBLAS_VERSION;
    snprintf(v->name, sizeof v->name, "OpenBLAS");
    snprintf(v->built, sizeof v->built, "%.*s", (int)strcspn(b, " "), b);
    snprintf(v->runs, sizeof v->runs, "%s", cfg ? cfg : "?");
}

int nn_blas_threads(int n)
{
    if (n > 0)
        openblas_set_num_threads(n);
    return openblas_get_num_threads();
}

/* Bias and activation fused into one pass over Z. */
void nn_dense_forward(float *z, const float *x, const float *w, const float *b, int B, int in,
                      int out, nn_act act, int kc)
{
    if (kc > 0 && kc < in) { /* (B, out) = (B, in)(in, out) in k-slices (inference) */
        double t0 = sgemm_timing ? nn_now() : 0.0;
        sliced(B, out, in, kc, x, in, w, z);
        if (sgemm_timing)
            sgemm_seconds += nn_now() - t0;
    } else {
        nn_sgemm(0, 0, B, out, in, 1.0f, x, w, 0.0f, z); /* (B, out) = (B, in)(in, out) */
    }
    for (int i = 0; i < B; i++) {
        float *zi = z + (size_t)i * out;
        switch (act) {
        case NN_ACT_RELU:
            for (int j = 0; j < out; j++) {
                float v = zi[j] + b[j];
                zi[j] = v > 0.0f ? v : 0.0f;
            }
            break;
        case NN_ACT_TANH:
            for (int j = 0; j < out; j++)
                zi[j] = tanhf(zi[j] + b[j]);
            break;
        case NN_ACT_SIGMOID:
            for (int j = 0; j < out; j++)
                zi[j] = 1.0f / (1.0f + expf(-(zi[j] + b[j])));
            break;
        case NN_ACT_LINEAR:
            for (int j = 0; j < out; j++)
                zi[j] += b[j];
            break;
        }
    }
}

void nn_dense_backward(float *dx, float *dw, float *db, const float *dz, const float *x,
                       const float *w, int B, int in, int out)
{
    /* Written, not accumulated. The product accumulates into dw zeroed just before, while
     * it is cache-warm: OpenBLAS's own beta = 0 pass (sgemm_beta) was about 5% slower. */
    memset(dw, 0, (size_t)in * out * sizeof(float));
    nn_sgemm(1, 0, in, out, B, 1.0f, x, dz, 1.0f, dw); /* (in, out) = (B, in)^T (B, out) */
    memcpy(db, dz, (size_t)out * sizeof(float));
    for (int i = 1; i < B; i++) {
        const float *dzi = dz + (size_t)i * out;
        for (int j = 0; j < out; j++)
            db[j] += dzi[j];
    }
    if (dx)
        nn_sgemm(0, 1, B, in, out, 1.0f, dz, w, 0.0f, dx); /* (B, in) = (B, out)(in, out)^T */
}

/* The derivative is written in terms of the activation's output a, which is what the forward
 * pass keeps: relu' = [a > 0], tanh' = 1 - a^2, sigmoid' = a (1 - a). */
void nn_act_backward(float *d, const float *a, size_t n, nn_act act)
{
    switch (act) {
    case NN_ACT_RELU:
        for (size_t i = 0; i < n; i++)
            d[i] = a[i] > 0.0f ? d[i] : 0.0f;
        break;
    case NN_ACT_TANH:
        for (size_t i = 0; i < n; i++)
            d[i] *= 1.0f - a[i] * a[i];
        break;
    case NN_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++)
            d[i] *= a[i] * (1.0f - a[i]);
        break;
    case NN_ACT_LINEAR:
        break;
    }
}

void nn_dropout_forward(float *a, float *mask, size_t n, float p, nn_rng *r)
{
    const float scale = 1.0f / (1.0f - p);
    const uint64_t cut = (uint64_t)((double)p * 4294967296.0); /* drop when u32 < cut */
    for (size_t i = 0; i < n; i += 2) {
        uint64_t bits = nn_rng_next(r); /* two 32-bit draws per call */
        for (size_t k = 0; k < 2 && i + k < n; k++) {
            uint64_t u = k ? bits >> 32 : bits & 0xffffffffu;
            mask[i + k] = u < cut ? 0.0f : scale;
            a[i + k] *= mask[i + k];
        }
    }
}

void nn_dropout_act_backward(float *d, const float *a_drop, const float *mask, size_t n,
                             nn_act act, float p)
{
    const float keep = 1.0f - p;
    for (size_t i = 0; i < n; i++) {
        if (mask[i] == 0.0f) {
            d[i] = 0.0f;
            continue;
        }
        float a = a_drop[i] * keep, g = d[i] * mask[i];
        switch (act) {
        case NN_ACT_RELU: g = a > 0.0f ? g : 0.0f; break;
        case NN_ACT_TANH: g *= 1.0f - a * a; break;
        case NN_ACT_SIGMOID: g *= a * (1.0f - a); break;
        case NN_ACT_LINEAR: break;
        }
        d[i] = g;
    }
}

static int argmax(const float *v, int k)
{
    int best = 0;
    for (int j = 1; j < k; j++)
        if (v[j] > v[best])
            best = j;
    return best;
}

/* Softmax cross-entropy from logits, stably: loss = logsumexp(z) * sum(t) - t . z, and
 * dL/dz = softmax(z) * sum(t) - t (for a hard label t is one-hot, sum(t) = 1).
 * MSE: loss = mean_k (z_k - t_k)^2, dL/dz = 2 (z - t) / K. */
static double loss_rows(const nn_layout *lo, const float *out, nn_batch_y y, int B,
                        long *correct, float *dz)
{
    int K = lo->sizes[lo->n_layers];
    double total = 0.0;
    for (int i = 0; i < B; i++) {
        const float *z = out + (size_t)i * K;
        const float *t = y.targets ? y.targets + (size_t)i * K : NULL;
        int label = y.labels ? y.labels[i] : -1;
        float *g = dz ? dz + (size_t)i * K : NULL;
        if (correct && argmax(z, K) == (t ? argmax(t, K) : label))
            (*correct)++;
        if (lo->loss == NN_LOSS_XENT) {
            float zmax = z[argmax(z, K)];
            double sumexp = 0.0;
            for (int j = 0; j < K; j++)
                sumexp += exp((double)(z[j] - zmax));
            double lse = (double)zmax + log(sumexp);
            if (t) {
                double tsum = 0.0, tz = 0.0;
                for (int j = 0; j < K; j++) {
                    tsum += t[j];
                    tz += (double)t[j] * z[j];
                }
                total += lse * tsum - tz;
                if (g)
                    for (int j = 0; j < K; j++)
                        g[j] = (float)(exp(z[j] - lse) * tsum) - t[j];
            } else {
                float wl = y.class_w ? y.class_w[label] : 1.0f;
                total += wl == 1.0f ? lse - z[label] : (double)wl * (lse - z[label]);
                if (g) {
                    for (int j = 0; j < K; j++)
                        g[j] = (float)exp(z[j] - lse);
                    g[label] -= 1.0f;
                    if (wl != 1.0f)
                        for (int j = 0; j < K; j++)
                            g[j] *= wl;
                }
            }
        } else {
            double s = 0.0;
            for (int j = 0; j < K; j++) {
                float tj = t ? t[j] : (float)(j == label);
                float r = z[j] - tj;
                double u = y.y_scale ? (double)y.y_scale[j] * r : (double)r;
                s += u * u;
                if (g)
                    g[j] = 2.0f * r / (float)K;
            }
            total += s / K;
        }
    }
    return total;
}

double nn_loss_and_grad(const nn_layout *lo, nn_work *w, nn_batch_y y, int B, long *correct)
{
    return loss_rows(lo, w->act[lo->n_layers], y, B, correct, w->delta_a);
}

double nn_loss_only(const nn_layout *lo, const float *out, nn_batch_y y, int B, long *correct)
{
    return loss_rows(lo, out, y, B, correct, NULL);
}
