/* model.c: the served model. Loaded and verified once (nn_ckpt_load: the checks of nn-train
 * --verify); each request borrows one of n_slots work slots (an nn_work of max_batch rows), so
 * concurrent requests share nothing but the read-only parameters and preprocessing. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_checkpoint.h"
#include "nn_serve.h"

/* The file stem: "ck/ckpt-e1-s42.h5" -> "ckpt-e1-s42". */
static void stem(char *buf, size_t len, const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t n = dot && dot > base ? (size_t)(dot - base) : strlen(base);
    snprintf(buf, len, "%.*s", (int)n, base);
}

static int alloc_slots(nn_serve_model *m, char *err, size_t errlen)
{
    m->work = calloc((size_t)m->n_slots, sizeof *m->work);
    m->busy = calloc((size_t)m->n_slots, sizeof *m->busy);
    int fail = !m->work || !m->busy;
    for (int i = 0; i < m->n_slots && !fail; i++)
        fail = nn_work_init(&m->work[i], &m->lo, m->max_batch) != 0;
    if (fail)
        snprintf(err, errlen, "out of memory for %d work slots of %d rows (--threads, "
                 "--max-batch)", m->n_slots, m->max_batch);
    return fail ? -1 : 0;
}

int nn_serve_model_load(nn_serve_model *m, const char *path, const char *name, int max_batch,
                        int n_slots, char *err, size_t errlen)
{
    nn_ckpt_info info;
    char why[256];
    memset(m, 0, sizeof *m);
    nn_preprocess_init(&m->pre);
    pthread_mutex_init(&m->lock, NULL);
    pthread_cond_init(&m->freed, NULL);
    if (nn_ckpt_precheck("--model", path, err, errlen) != 0 ||
        nn_ckpt_load(path, &info, &m->params, NULL, NULL, &m->pre, err, errlen) != 0)
        return -1;
    m->lo = info.lo;
    if (nn_preprocess_check(&m->pre, m->lo.sizes[0], m->lo.sizes[m->lo.n_layers], why,
                            sizeof why) != 0) {
        snprintf(err, errlen, "--model %s: %s", path, why);
        return -1;
    }
    m->classify = m->lo.loss == NN_LOSS_XENT;
    m->step = (long)info.meta.step;
    snprintf(m->version, sizeof m->version, "%ld", m->step);
    if (name)
        snprintf(m->name, sizeof m->name, "%s", name);
    else
        stem(m->name, sizeof m->name, path);
    for (int i = 0; i <= m->lo.n_layers; i++)
        snprintf(m->layers + strlen(m->layers), sizeof m->layers - strlen(m->layers), "%s%d",
                 i ? "-" : "", m->lo.sizes[i]);
    m->max_batch = max_batch;
    m->n_slots = n_slots;
    return alloc_slots(m, err, errlen);
}

void nn_serve_model_free(nn_serve_model *m)
{
    for (int i = 0; m->work && i < m->n_slots; i++)
        nn_work_free(&m->work[i]);
    free(m->work);
    free(m->busy);
    free(m->params);
    nn_preprocess_free(&m->pre);
    pthread_mutex_destroy(&m->lock);
    pthread_cond_destroy(&m->freed);
}

static int take_slot(nn_serve_model *m)
{
    pthread_mutex_lock(&m->lock);
    for (;;) {
        for (int i = 0; i < m->n_slots; i++)
            if (!m->busy[i]) {
                m->busy[i] = 1;
                pthread_mutex_unlock(&m->lock);
                return i;
            }
        pthread_cond_wait(&m->freed, &m->lock);
    }
}

static void give_slot(nn_serve_model *m, int i)
{
    pthread_mutex_lock(&m->lock);
    m->busy[i] = 0;
    pthread_cond_signal(&m->freed);
    pthread_mutex_unlock(&m->lock);
}

/* Logits z (n, K) to probabilities out (n, K) and classes cls (n), as nn-predict does: the class
 * is the argmax (the first on a tie), the softmax is computed in double. */
static void softmax_rows(const float *z, size_t n, int K, float *out, long *cls)
{
    for (size_t i = 0; i < n; i++, z += K, out += K) {
        int best = 0;
        for (int j = 1; j < K; j++)
            if (z[j] > z[best])
                best = j;
        double sum = 0.0;
        for (int j = 0; j < K; j++)
            sum += exp((double)z[j] - (double)z[best]);
        cls[i] = best;
        for (int j = 0; j < K; j++)
            out[j] = (float)(exp((double)z[j] - (double)z[best]) / sum);
    }
}

void nn_serve_predict(nn_serve_model *m, float *x, size_t n, float *out, long *cls)
{
    const int D = m->lo.sizes[0], K = nn_serve_outputs(m);
    nn_preprocess_apply_x(&m->pre, x, n, D);
    int s = take_slot(m);
    nn_forward(&m->lo, m->params, &m->work[s], x, (int)n);
    const float *z = m->work[s].act[m->lo.n_layers]; /* (n, K) */
    if (m->classify) {
        softmax_rows(z, n, K, out, cls);
    } else {
        memcpy(out, z, n * (size_t)K * sizeof(float));
        nn_preprocess_unapply_y(&m->pre, out, n, K);
    }
    give_slot(m, s);
}
