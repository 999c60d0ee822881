/* model.c: the MLP as a whole: parameter layout, initialisation, work buffers, and the
 * forward and backward passes built from the kernels in kernels.c. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_args.h"
#include "nn_kernels.h"
#include "nn_model.h"
#include "nn_rng.h"

static const char *const act_names[] = {"relu", "tanh", "sigmoid", "linear"};

const char *nn_act_name(nn_act a) { return act_names[a]; }

int nn_act_from_name(const char *s)
{
    return nn_name_index(act_names, (int)(sizeof act_names / sizeof *act_names), s);
}

const char *nn_loss_name(nn_loss l) { return l == NN_LOSS_XENT ? "xent" : "mse"; }

int nn_parse_layers(const char *s, int *sizes, int *n_layers, char *err, size_t errlen)
{
    int n = 0;
    const char *p = s;
    while (*p) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 1 || v > 1000000 || (*end != ',' && *end != '\0')) {
            snprintf(err, errlen,
                     "--layers '%s': expected comma-separated positive integers such as "
                     "784,256,128,10",
                     s);
            return -1;
        }
        if (n == NN_MAX_LAYERS + 1) {
            snprintf(err, errlen, "--layers '%s': at most %d layers are supported", s,
                     NN_MAX_LAYERS);
            return -1;
        }
        sizes[n++] = (int)v;
        p = *end ? end + 1 : end;
        if (*end == ',' && *p == '\0') {
            snprintf(err, errlen, "--layers '%s': trailing comma", s);
            return -1;
        }
    }
    if (n < 2) {
        snprintf(err, errlen,
                 "--layers '%s': expected at least an input and an output size, e.g. 784,10", s);
        return -1;
    }
    *n_layers = n - 1;
    return 0;
}

int nn_layout_init(nn_layout *lo, const int *sizes, int n_layers, nn_act act, nn_loss loss,
                   char *err, size_t errlen)
{
    memset(lo, 0, sizeof *lo);
    if (n_layers < 1 || n_layers > NN_MAX_LAYERS) {
        snprintf(err, errlen, "a model needs 1 to %d dense layers, got %d", NN_MAX_LAYERS,
                 n_layers);
        return -1;
    }
    lo->n_layers = n_layers;
    lo->act = act;
    lo->loss = loss;
    size_t off = 0;
    for (int i = 0; i <= n_layers; i++) {
        if (sizes[i] < 1) {
            snprintf(err, errlen, "layer size %d is %d; sizes must be positive", i, sizes[i]);
            return -1;
        }
        lo->sizes[i] = sizes[i];
        if (sizes[i] > lo->max_width)
            lo->max_width = sizes[i];
    }
    for (int i = 0; i < n_layers; i++) {
        size_t in = (size_t)sizes[i], out = (size_t)sizes[i + 1];
        if (in * out / out != in || off > SIZE_MAX / 2 - in * out - out) {
            snprintf(err, errlen, "the model has too many parameters");
            return -1;
        }
        lo->w_off[i] = off;
        off += in * out;
        lo->b_off[i] = off;
        off += out;
    }
    /* MPI counts and BLAS dimensions are int; keep the whole model well inside that. */
    if (off > (size_t)INT_MAX) {
        snprintf(err, errlen, "the model has %zu parameters; at most %d are supported", off,
                 INT_MAX);
        return -1;
    }
    lo->n_params = off;
    return 0;
}

void nn_params_init(const nn_layout *lo, float *params, uint64_t seed)
{
    for (int i = 0; i < lo->n_layers; i++) {
        int in = lo->sizes[i], out = lo->sizes[i + 1];
        /* The activation that follows layer i: hidden layers use lo->act, the output is linear. */
        nn_act a = i + 1 < lo->n_layers ? lo->act : NN_ACT_LINEAR;
        /* He-uniform keeps the variance of relu layers; Glorot-uniform that of the others. */
        double limit = a == NN_ACT_RELU ? sqrt(6.0 / in) : sqrt(6.0 / (in + out));
        nn_rng r;
        nn_rng_seed(&r, seed, nn_stream_id(NN_STREAM_INIT, (uint64_t)i, 0));
        float *w = params + lo->w_off[i];
        for (size_t j = 0; j < (size_t)in * out; j++)
            w[j] = (float)((2.0 * nn_rng_uniform(&r) - 1.0) * limit);
        memset(params + lo->b_off[i], 0, (size_t)out * sizeof(float));
    }
}

/* The plans of lo's layers (nn_gemm_plan) into w: kc, row_multiple, rows_alike. */
static int find_plans(nn_work *w, const nn_layout *lo)
{
    int mult = 1;
    for (int i = 0; i < lo->n_layers; i++) {
        nn_gemm_plan p;
        if (nn_gemm_plan_find(lo->sizes[i], lo->sizes[i + 1], &p) != 0)
            return -1;
        w->kc[i] = p.kc;
        if (!p.mult) { /* no plan makes rows alike: one sgemm, no padding */
            mult = 0;
            continue;
        }
        int a = mult, b = p.mult; /* mult becomes the least common multiple (all divide 16) */
        while (a && b) {
            int t = a % b;
            a = b;
            b = t;
        }
        mult = mult ? mult / a * p.mult : 0;
    }
    w->rows_alike = mult > 0;
    w->row_multiple = mult ? mult : 1;
    return 0;
}

int nn_work_init(nn_work *w, const nn_layout *lo, int max_batch)
{
    return nn_work_init_as(w, lo, max_batch, NULL);
}

int nn_work_init_as(nn_work *w, const nn_layout *lo, int max_batch, const nn_work *like)
{
    memset(w, 0, sizeof *w);
    if (like) {
        memcpy(w->kc, like->kc, sizeof w->kc);
        w->row_multiple = like->row_multiple;
        w->rows_alike = like->rows_alike;
    } else if (find_plans(w, lo) != 0) {
        return -1;
    }
    const int mult = w->row_multiple;
    /* Room for a batch padded to the multiple (nn_forward), its input in delta_a. */
    const size_t rows = ((size_t)(max_batch > 1 ? max_batch : 1) + mult - 1) / mult * mult;
    size_t total = 2 * rows * lo->max_width;
    for (int i = 1; i <= lo->n_layers; i++)
        total += rows * lo->sizes[i];
    w->block = malloc((total ? total : 1) * sizeof(float));
    if (!w->block)
        return -1;
    w->max_batch = max_batch;
    float *p = w->block;
    for (int i = 1; i <= lo->n_layers; i++) {
        w->act[i] = p;
        p += rows * lo->sizes[i];
    }
    w->delta_a = p;
    w->delta_b = p + rows * lo->max_width;
    return 0;
}

int nn_work_enable_dropout(nn_work *w, const nn_layout *lo)
{
    size_t total = 0;
    for (int i = 1; i < lo->n_layers; i++)
        total += (size_t)w->max_batch * lo->sizes[i];
    w->mask_block = malloc((total ? total : 1) * sizeof(float));
    if (!w->mask_block)
        return -1;
    float *p = w->mask_block;
    for (int i = 1; i < lo->n_layers; i++) {
        w->mask[i] = p;
        p += (size_t)w->max_batch * lo->sizes[i];
    }
    return 0;
}

void nn_work_free(nn_work *w)
{
    if (!w)
        return;
    free(w->mask_block);
    free(w->block);
    memset(w, 0, sizeof *w);
}

/* The passes' common part; kc: each layer's k-slices (nn_gemm_plan), NULL for one sgemm. */
static void forward(const nn_layout *lo, const float *params, nn_work *w, const float *x, int B,
                    float p, nn_rng *r, const int *kc)
{
    w->drop_p = p;
    w->act[0] = (float *)x; /* read only: the input is never written */
    for (int i = 0; i < lo->n_layers; i++) {
        nn_act a = i + 1 < lo->n_layers ? lo->act : NN_ACT_LINEAR;
        nn_dense_forward(w->act[i + 1], w->act[i], params + lo->w_off[i], params + lo->b_off[i],
                         B, lo->sizes[i], lo->sizes[i + 1], a, kc ? kc[i] : 0);
        if (p > 0.0f && i + 1 < lo->n_layers)
            nn_dropout_forward(w->act[i + 1], w->mask[i + 1], (size_t)B * lo->sizes[i + 1], p, r);
    }
}

void nn_forward(const nn_layout *lo, const float *params, nn_work *w, const float *x, int B)
{
    const int m = w->row_multiple;
    if (B % m) {
        /* Padded with copies of the last row to the multiple of rows that BLAS computes alike
         * in every batch (nn_gemm_plan), from delta_a, unused outside training. */
        const size_t D = (size_t)lo->sizes[0], padded = ((size_t)B + m - 1) / m * m;
        memcpy(w->delta_a, x, (size_t)B * D * sizeof(float));
        for (size_t i = (size_t)B; i < padded; i++)
            memcpy(w->delta_a + i * D, x + (size_t)(B - 1) * D, D * sizeof(float));
        x = w->delta_a;
        B = (int)padded;
    }
    forward(lo, params, w, x, B, 0.0f, NULL, w->kc);
}

void nn_forward_train(const nn_layout *lo, const float *params, nn_work *w, const float *x,
                      int B, float p, nn_rng *r)
{
    forward(lo, params, w, x, B, p, r, NULL);
}

void nn_backward(const nn_layout *lo, const float *params, float *grads, nn_work *w, int B)
{
    nn_backward_notify(lo, params, grads, w, B, NULL, NULL);
}

void nn_backward_notify(const nn_layout *lo, const float *params, float *grads, nn_work *w,
                        int B, void (*done)(void *ctx, size_t from), void *ctx)
{
    float *dz = w->delta_a, *dx = w->delta_b;
    for (int i = lo->n_layers - 1; i >= 0; i--) {
        int in = lo->sizes[i], out = lo->sizes[i + 1];
        nn_dense_backward(i > 0 ? dx : NULL, grads + lo->w_off[i], grads + lo->b_off[i], dz,
                          w->act[i], params + lo->w_off[i], B, in, out);
        if (done)
            done(ctx, lo->w_off[i]);
        if (i > 0) {
            if (w->drop_p > 0.0f)
                nn_dropout_act_backward(dx, w->act[i], w->mask[i], (size_t)B * in, lo->act,
                                        w->drop_p);
            else
                nn_act_backward(dx, w->act[i], (size_t)B * in, lo->act);
            float *t = dz;
            dz = dx;
            dx = t;
        }
    }
}

void nn_backward_input(const nn_layout *lo, const float *params, nn_work *w, int B, float *dx)
{
    float *dz = w->delta_a, *da = w->delta_b;
    for (int i = lo->n_layers - 1; i >= 0; i--) {
        const int in = lo->sizes[i], out = lo->sizes[i + 1];
        float *dst = i > 0 ? da : dx;
        nn_sgemm(0, 1, B, in, out, 1.0f, dz, params + lo->w_off[i], 0.0f, dst); /* dZ W^T */
        if (i > 0) {
            if (w->drop_p > 0.0f)
                nn_dropout_act_backward(da, w->act[i], w->mask[i], (size_t)B * in, lo->act,
                                        w->drop_p);
            else
                nn_act_backward(da, w->act[i], (size_t)B * in, lo->act);
            float *t = dz;
            dz = da;
            da = t;
        }
    }
}

double nn_reg_loss(const nn_layout *lo, const float *params, float l1, float l2)
{
    double s1 = 0.0, s2 = 0.0;
    for (int i = 0; i < lo->n_layers; i++) {
        const float *w = params + lo->w_off[i];
        size_t n = (size_t)lo->sizes[i] * lo->sizes[i + 1];
        for (size_t j = 0; j < n; j++) {
            s1 += fabsf(w[j]);
            s2 += (double)w[j] * w[j];
        }
    }
    return l1 * s1 + 0.5 * l2 * s2;
}

int nn_softmax_row(const float *z, int K, float *prob)
{
    int best = 0;
    for (int j = 1; j < K; j++)
        if (z[j] > z[best])
            best = j;
    double sum = 0.0;
    for (int j = 0; j < K; j++)
        sum += exp((double)z[j] - (double)z[best]);
    for (int j = 0; j < K; j++)
        prob[j] = (float)(exp((double)z[j] - (double)z[best]) / sum);
    return best;
}
