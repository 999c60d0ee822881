/* attrib.c: gradients of the attributed value with respect to the raw inputs, and integrated
 * gradients (nn_attrib.h): the midpoint rule, built on nn_forward and nn_backward_input, and
 * the exact method for piecewise-linear models, built on nn_dense_forward and nn_sgemm. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn_attrib.h"
#include "nn_kernels.h"

double nn_attr_value(const nn_layout *lo, const nn_preprocess *pre, const float *z, int k)
{
    const int K = lo->sizes[lo->n_layers];
    if (lo->loss == NN_LOSS_XENT) {
        double zmax = z[0], sum = 0.0;
        for (int j = 1; j < K; j++)
            zmax = z[j] > zmax ? z[j] : zmax;
        for (int j = 0; j < K; j++)
            sum += exp((double)z[j] - zmax);
        return exp((double)z[k] - zmax) / sum;
    }
    if (pre->y_shift) /* y = out * y_scale + y_shift, in float32 as nn_preprocess_unapply_y */
        return (double)(z[k] * pre->y_scale[k] + pre->y_shift[k]);
    return (double)z[k];
}

static int argmax(const float *z, int K)
{
    int best = 0;
    for (int j = 1; j < K; j++)
        if (z[j] > z[best])
            best = j;
    return best;
}

/* nn_attr_grad with the class of row i in cls[i / rep] (rep >= 1); f may be NULL. */
static void grad_rep(const nn_attr_model *m, const float *x, int B, const int *cls, int rep,
                     int *pred, float *f, float *g)
{
    const nn_layout *lo = m->lo;
    const int D = lo->sizes[0], K = lo->sizes[lo->n_layers], L = lo->n_layers;
    memcpy(m->xs, x, (size_t)B * (size_t)D * sizeof(float));
    nn_preprocess_apply_x(m->pre, m->xs, (size_t)B, D);
    nn_forward(lo, m->params, m->w, m->xs, B);
    const float *z = m->w->act[L]; /* (B, K) logits or outputs */
    for (int i = 0; i < B; i++) {
        const float *zi = z + (size_t)i * K;
        int k = cls ? cls[i / rep] : argmax(zi, K);
        if (pred)
            pred[i] = k;
        double fi = nn_attr_value(lo, m->pre, zi, k);
        if (f)
            f[i] = (float)fi;
        if (!g)
            continue;
        float *dz = m->w->delta_a + (size_t)i * K; /* df/dz of row i (K) */
        if (lo->loss == NN_LOSS_XENT) {
            double zmax = zi[argmax(zi, K)], sum = 0.0;
            for (int j = 0; j < K; j++)
                sum += exp((double)zi[j] - zmax);
            for (int j = 0; j < K; j++) /* dp_k/dz_j = p_k (delta_kj - p_j) */
                dz[j] = (float)(fi * ((j == k) - exp((double)zi[j] - zmax) / sum));
        } else {
            memset(dz, 0, (size_t)K * sizeof(float));
            dz[k] = m->pre->y_shift ? m->pre->y_scale[k] : 1.0f;
        }
    }
    if (!g)
        return;
    nn_backward_input(lo, m->params, m->w, B, g); /* df/dx' (B, D) */
    if (m->pre->x_shift) /* x' = (x - x_shift) / x_scale: df/dx = df/dx' / x_scale */
        for (int i = 0; i < B; i++)
            for (int j = 0; j < D; j++)
                g[(size_t)i * D + j] /= m->pre->x_scale[j];
}

void nn_attr_grad(const nn_attr_model *m, const float *x, int B, const int *cls, int *pred,
                  float *f, float *g)
{
    grad_rep(m, x, B, cls, 1, pred, f, g);
}

void nn_attr_ig(const nn_attr_model *m, const float *x, const float *b, int n, int steps,
                const int *cls, float *xpath, double *acc, float *attr)
{
    const int D = m->lo->sizes[0];
    const size_t S = (size_t)steps;
    for (int i = 0; i < n; i++) /* row i's path: rows i*steps .. (i+1)*steps - 1 */
        for (size_t s = 0; s < S; s++) {
            float a = (float)(((double)s + 0.5) / (double)steps);
            const float *xi = x + (size_t)i * D;
            float *r = xpath + ((size_t)i * S + s) * D;
            for (int j = 0; j < D; j++)
                r[j] = b[j] + a * (xi[j] - b[j]);
        }
    /* the gradients overwrite the path, row for row (grad_rep copied it into m->xs first) */
    grad_rep(m, xpath, n * steps, cls, steps, NULL, NULL, xpath);
    for (int i = 0; i < n; i++) {
        memset(acc, 0, (size_t)D * sizeof(double));
        for (size_t s = 0; s < S; s++) {
            const float *gr = xpath + ((size_t)i * S + s) * D;
            for (int j = 0; j < D; j++)
                acc[j] += gr[j];
        }
        const float *xi = x + (size_t)i * D;
        for (int j = 0; j < D; j++)
            attr[(size_t)i * D + j] = (float)(((double)xi[j] - b[j]) * acc[j] / (double)steps);
    }
}

/* ---------------------------------------------------------------- exact IG (piecewise linear) */

#define EXACT_MAX_POINTS ((size_t)1 << 24)

int nn_attr_exact_applies(const nn_layout *lo)
{
    return lo->n_layers == 1 || lo->act == NN_ACT_RELU || lo->act == NN_ACT_LINEAR;
}

void nn_attr_exact_free(nn_attr_exact *e)
{
    if (!e)
        return;
    free(e->al);
    free(e->tmp);
    free(e->work);
    free(e->xp);
    free(e->block);
    free(e->acc);
    memset(e, 0, sizeof *e);
}

/* The pass buffers for `need` rows (doubling; their contents are not kept). 0 or -1. */
static int grow_rows(nn_attr_exact *e, const nn_layout *lo, size_t need)
{
    if (need <= e->cap)
        return 0;
    if (need > EXACT_MAX_POINTS)
        return -1;
    size_t cap = e->cap ? e->cap : 16;
    while (cap < need)
        cap *= 2;
    const int L = lo->n_layers;
    size_t per = 2 * (size_t)lo->max_width;
    for (int l = 1; l <= L; l++)
        per += (size_t)lo->sizes[l] * (l < L ? 2u : 1u);
    free(e->block);
    e->block = malloc(cap * per * sizeof(float));
    if (!e->block) {
        e->cap = 0;
        return -1;
    }
    float *p = e->block;
    for (int l = 1; l <= L; l++) {
        e->pre[l] = p;
        p += cap * (size_t)lo->sizes[l];
        if (l < L) {
            e->act[l] = p;
            p += cap * (size_t)lo->sizes[l];
        }
    }
    e->da = p;
    e->db = p + cap * (size_t)lo->max_width;
    e->cap = cap;
    return 0;
}

/* al and tmp for `need` entries, al's contents kept. 0 or -1. */
static int grow_points(nn_attr_exact *e, size_t need)
{
    if (need <= e->cap_al)
        return 0;
    if (need > EXACT_MAX_POINTS)
        return -1;
    size_t cap = e->cap_al ? e->cap_al : 16;
    while (cap < need)
        cap *= 2;
    double *al = realloc(e->al, cap * sizeof(double));
    if (!al)
        return -1;
    e->al = al;
    double *tmp = realloc(e->tmp, cap * sizeof(double));
    if (!tmp)
        return -1;
    e->tmp = tmp;
    e->cap_al = cap;
    return 0;
}

int nn_attr_exact_init(nn_attr_exact *e, const nn_layout *lo, int cap)
{
    memset(e, 0, sizeof *e);
    const size_t c = cap > 4 ? (size_t)cap : 4;
    e->work = malloc(4 * (size_t)lo->sizes[lo->n_layers] * sizeof(double));
    e->acc = malloc(((size_t)lo->sizes[0] + (size_t)lo->sizes[1]) * sizeof(double));
    e->xp = malloc(2 * ((size_t)lo->sizes[0] + (size_t)lo->sizes[1]) * sizeof(float));
    if (!e->work || !e->acc || !e->xp || grow_rows(e, lo, c) != 0 || grow_points(e, c) != 0) {
        nn_attr_exact_free(e);
        return -1;
    }
    return 0;
}

/* Layer 1's pre-activations at the path's ends b and x (e->xp + 2 D, (2, sizes[1])): along
 * the path they are affine in a, p(a) = p(0) + a (p(1) - p(0)), whatever the pattern. */
static void exact_ends(const nn_attr_model *m, nn_attr_exact *e, const float *x, const float *b)
{
    const nn_layout *lo = m->lo;
    const int D = lo->sizes[0];
    memcpy(e->xp, b, (size_t)D * sizeof(float));
    memcpy(e->xp + D, x, (size_t)D * sizeof(float));
    nn_preprocess_apply_x(m->pre, e->xp, 2, D);
    nn_dense_forward(e->xp + 2 * (size_t)D, e->xp, m->params + lo->w_off[0],
                     m->params + lo->b_off[0], 2, D, lo->sizes[1], NN_ACT_LINEAR, 0);
}

/* The points al[0..n) through layers 1..upto: e->pre[l], e->act[l]. Layer 1 from its values
 * at the ends (exact_ends), the others through nn_dense_forward. */
static void exact_forward(const nn_attr_model *m, nn_attr_exact *e, size_t n, int upto)
{
    const nn_layout *lo = m->lo;
    const int L = lo->n_layers, H = lo->sizes[1];
    const float *p0 = e->xp + 2 * (size_t)lo->sizes[0], *p1 = p0 + H;
    for (size_t p = 0; p < n; p++) {
        float *r = e->pre[1] + p * (size_t)H;
        const double a = e->al[p];
        for (int j = 0; j < H; j++)
            r[j] = a == 1.0 ? p1[j] : (float)(p0[j] + a * ((double)p1[j] - p0[j]));
    }
    for (int l = 1; l <= upto; l++) {
        if (l > 1)
            nn_dense_forward(e->pre[l], e->act[l - 1], m->params + lo->w_off[l - 1],
                             m->params + lo->b_off[l - 1], (int)n, lo->sizes[l - 1],
                             lo->sizes[l], NN_ACT_LINEAR, 0);
        if (l == L)
            break;
        const size_t cnt = n * (size_t)lo->sizes[l];
        const float *h = e->pre[l];
        float *a = e->act[l];
        for (size_t i = 0; i < cnt; i++)
            a[i] = lo->act == NN_ACT_RELU && !(h[i] > 0.0f) ? 0.0f : h[i];
    }
}

/* df/dz (K) at logits z (K, double), for class (or output) k. */
static void dfdz(const nn_layout *lo, const nn_preprocess *pre, const double *z, int k,
                 double *g)
{
    const int K = lo->sizes[lo->n_layers];
    if (lo->loss == NN_LOSS_XENT) {
        double zmax = z[0], sum = 0.0;
        for (int j = 1; j < K; j++)
            zmax = z[j] > zmax ? z[j] : zmax;
        for (int j = 0; j < K; j++)
            sum += (g[j] = exp(z[j] - zmax));
        const double pk = g[k] / sum;
        for (int j = 0; j < K; j++) /* dp_k/dz_j = p_k (delta_kj - p_j) */
            g[j] = pk * ((j == k) - g[j] / sum);
        return;
    }
    memset(g, 0, (size_t)K * sizeof(double));
    g[k] = pre->y_shift ? (double)pre->y_scale[k] : 1.0;
}

/* Gauss-Legendre, 8 nodes on [-1, 1] (the positive half; the rule is symmetric). */
static const double GL_X[4] = {0.1834346424956498, 0.5255324099163290, 0.7966664774136267,
                               0.9602898564975363};
static const double GL_W[4] = {0.3626837833783620, 0.3137066458778873, 0.2223810344533745,
                               0.1012285362903763};

/* and 4 nodes */
static const double GL4_X[2] = {0.3399810435848563, 0.8611363115940526};
static const double GL4_W[2] = {0.6521451548625461, 0.3478548451374538};

/* out (K) = the integral over u in [0, 1] of df/dz(za + u (zb - za)): 8-node Gauss-Legendre
 * on 1, 2, 4, ... equal pieces until it agrees with the previous estimate (the 4-node rule on
 * one piece at first) to 1e-10 (relative to the integral's size, or absolutely below it).
 * w: 3 K doubles of scratch. */
static void integrate_line(const nn_layout *lo, const nn_preprocess *pre, const float *za,
                           const float *zb, int k, double *out, double *w)
{
    const int K = lo->sizes[lo->n_layers];
    double *z = w, *g = w + K, *prev = w + 2 * K;
    memset(prev, 0, (size_t)K * sizeof(double));
    for (int i = 0; i < 4; i++) {
        const double u = 0.5 + 0.5 * (i < 2 ? -GL4_X[i] : GL4_X[i - 2]);
        for (int j = 0; j < K; j++)
            z[j] = (double)za[j] + u * ((double)zb[j] - za[j]);
        dfdz(lo, pre, z, k, g);
        for (int j = 0; j < K; j++)
            prev[j] += 0.5 * GL4_W[i & 1] * g[j];
    }
    for (int pieces = 1;; pieces *= 2) {
        memset(out, 0, (size_t)K * sizeof(double));
        const double h = 1.0 / pieces;
        for (int q = 0; q < pieces; q++)
            for (int i = 0; i < 8; i++) {
                const double u = h * (q + 0.5 + 0.5 * (i < 4 ? -GL_X[i] : GL_X[i - 4]));
                for (int j = 0; j < K; j++)
                    z[j] = (double)za[j] + u * ((double)zb[j] - za[j]);
                dfdz(lo, pre, z, k, g);
                const double wt = 0.5 * h * GL_W[i & 3];
                for (int j = 0; j < K; j++)
                    out[j] += wt * g[j];
            }
        double diff = 0.0, size = 0.0;
        for (int j = 0; j < K; j++) {
            diff = fmax(diff, fabs(out[j] - prev[j]));
            size = fmax(size, fabs(out[j]));
        }
        if (diff <= 1e-10 * (size > 1.0 ? size : 1.0) || pieces >= 1024)
            return;
        memcpy(prev, out, (size_t)K * sizeof(double));
    }
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int nn_attr_ig_exact(const nn_attr_model *m, nn_attr_exact *e, const float *x, const float *b,
                     int cls, float *attr, int *segments)
{
    const nn_layout *lo = m->lo;
    const int L = lo->n_layers, D = lo->sizes[0], K = lo->sizes[L];
    size_t n = 2;
    exact_ends(m, e, x, b);
    e->al[0] = 0.0;
    e->al[1] = 1.0;
    /* The breakpoints, layer by layer: with those of layers < l in al, layer l's
     * pre-activations are affine between consecutive points, and a unit whose sign differs
     * at the two ends crosses zero once, where the straight line between them does. */
    for (int l = 1; l < L && lo->act == NN_ACT_RELU; l++) {
        if (grow_rows(e, lo, n) != 0)
            return -1;
        exact_forward(m, e, n, l);
        const size_t W = (size_t)lo->sizes[l];
        const float *h = e->pre[l];
        size_t c = 0;
        for (size_t q = 0; q + 1 < n; q++)
            for (size_t j = 0; j < W; j++) {
                const float pa = h[q * W + j], pb = h[(q + 1) * W + j];
                c += (pa > 0.0f && pb < 0.0f) || (pa < 0.0f && pb > 0.0f);
            }
        if (grow_points(e, n + c) != 0)
            return -1;
        size_t t = 0;
        for (size_t q = 0; q + 1 < n; q++)
            for (size_t j = 0; j < W; j++) {
                const float pa = h[q * W + j], pb = h[(q + 1) * W + j];
                if (!((pa > 0.0f && pb < 0.0f) || (pa < 0.0f && pb > 0.0f)))
                    continue;
                const double a0 = e->al[q], a1 = e->al[q + 1];
                const double a = a0 + (a1 - a0) * ((double)pa / ((double)pa - (double)pb));
                if (a > a0 && a < a1) /* a tie at a point is no new piece */
                    e->tmp[t++] = a;
            }
        qsort(e->tmp, t, sizeof(double), cmp_double);
        /* merge from the back into al, then drop repeats */
        size_t i = n, j = t, o = n + t;
        while (j > 0)
            e->al[--o] = i > 0 && e->al[i - 1] > e->tmp[j - 1] ? e->al[--i] : e->tmp[--j];
        size_t u = 1;
        for (size_t q = 1; q < n + t; q++)
            if (e->al[q] > e->al[u - 1])
                e->al[u++] = e->al[q];
        n = u;
    }
    /* the logits at the points; between two points every layer is affine in a */
    const size_t S = n - 1;
    if (grow_rows(e, lo, n) != 0)
        return -1;
    exact_forward(m, e, n, L);
    const float *z = e->pre[L];
    double *v = e->work, *ws = e->work + K;
    for (size_t s = 0; s < S; s++) {
        integrate_line(lo, m->pre, z + s * (size_t)K, z + (s + 1) * (size_t)K, cls, v, ws);
        const double len = e->al[s + 1] - e->al[s];
        for (int j = 0; j < K; j++) /* the piece's integral of df/dz over a */
            e->da[s * (size_t)K + j] = (float)(len * v[j]);
    }
    /* One vector-Jacobian product per piece down to layer 1's pre-activations, through the
     * piece's pattern: a unit is on where the mean of its values at the piece's ends (its
     * value at the midpoint) is positive. */
    float *d = e->da, *o = e->db;
    for (int l = L; l >= 2; l--) {
        const int out = lo->sizes[l], in = lo->sizes[l - 1];
        nn_sgemm(0, 1, (int)S, in, out, 1.0f, d, m->params + lo->w_off[l - 1], 0.0f, o);
        if (lo->act == NN_ACT_RELU) {
            const float *h = e->pre[l - 1];
            for (size_t s = 0; s < S; s++)
                for (int i = 0; i < in; i++) {
                    const size_t q = s * (size_t)in + i;
                    o[q] = h[q] + h[q + (size_t)in] > 0.0f ? o[q] : 0.0f;
                }
        }
        float *sw = d;
        d = o;
        o = sw;
    }
    /* layer 1 is the same linear map on every piece: add the pieces up first */
    const int H = lo->sizes[1];
    double *g1 = e->acc + D;
    memset(g1, 0, (size_t)H * sizeof(double));
    for (size_t s = 0; s < S; s++)
        for (int i = 0; i < H; i++)
            g1[i] += d[s * (size_t)H + i];
    float *g1f = o, *dx = o + H; /* (H), then (D): df/dx' (o: cap >= 16 rows of max_width) */
    for (int i = 0; i < H; i++)
        g1f[i] = (float)g1[i];
    nn_sgemm(0, 1, 1, D, H, 1.0f, g1f, m->params + lo->w_off[0], 0.0f, dx);
    for (int j = 0; j < D; j++) /* df/dx = df/dx' / x_scale */
        attr[j] = (float)(((double)x[j] - b[j]) * dx[j] /
                          (m->pre->x_scale ? (double)m->pre->x_scale[j] : 1.0));
    if (segments)
        *segments = (int)S;
    return 0;
}
