/* model.c: one served checkpoint or exported model. Loaded and verified once (nn_model_read:
 * nn_ckpt_load's checks of nn-train --verify, or an exported model's, docs/export.md), then
 * read-only: concurrent passes share the parameters and the
 * preprocessing; each pass has its own work slot in the batcher. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn_checkpoint.h"
#include "nn_clock.h"
#include "nn_qfile.h"
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

/* The pass the batcher runs: forward, then softmax and class, or the targets' units. */
static void run_rows(void *ctx, nn_work *w, const float *x, size_t n, float *out, long *cls)
{
    const nn_serve_model *m = ctx;
    const int K = nn_serve_outputs(m);
    nn_infer(&m->lo, m->params, m->q.blob ? &m->q : NULL, w, x, (int)n);
    const float *z = w->act[m->lo.n_layers]; /* (n, K) */
    if (m->classify) {
        for (size_t i = 0; i < n; i++)
            cls[i] = nn_softmax_row(z + i * (size_t)K, K, out + i * (size_t)K);
    } else {
        memcpy(out, z, n * (size_t)K * sizeof(float));
        nn_preprocess_unapply_y(&m->pre, out, n, K);
    }
}

nn_serve_model *nn_serve_model_load(const char *path, const char *name,
                                    const nn_batch_limits *lim, char *err, size_t errlen)
{
    nn_qfile_meta origin;
    char why[256];
    double t0 = nn_now();
    nn_serve_model *m = calloc(1, sizeof *m);
    if (!m)
        return snprintf(err, errlen, "out of memory for a model"), NULL;
    nn_preprocess_init(&m->pre);
    if (nn_model_read("--model", path, &m->lo, &m->params, &m->q, &m->pre, &origin, err,
                      errlen) != 0)
        goto fail;
    if (nn_preprocess_check(&m->pre, m->lo.sizes[0], m->lo.sizes[m->lo.n_layers], why,
                            sizeof why) != 0) {
        snprintf(err, errlen, "%s: %s", path, why);
        goto fail;
    }
    if (m->pre.encoder && nn_enc_from_text(&m->enc, m->pre.encoder, why, sizeof why) != 0) {
        snprintf(err, errlen, "%s: /encoder: %s", path, why);
        goto fail;
    }
    if (m->enc.ncol && m->enc.d != m->lo.sizes[0]) {
        snprintf(err, errlen, "%s: /encoder makes %d features, the model takes %d; expected "
                 "equal", path, m->enc.d, m->lo.sizes[0]);
        goto fail;
    }
    m->classify = m->lo.loss == NN_LOSS_XENT;
    m->step = (long)origin.source_step;
    snprintf(m->version, sizeof m->version, "%ld", m->step);
    if (name)
        snprintf(m->name, sizeof m->name, "%s", name);
    else
        stem(m->name, sizeof m->name, path);
    snprintf(m->path, sizeof m->path, "%s", path);
    for (int i = 0; i <= m->lo.n_layers; i++)
        snprintf(m->layers + strlen(m->layers), sizeof m->layers - strlen(m->layers), "%s%d",
                 i ? "-" : "", m->lo.sizes[i]);
    m->max_batch = lim->max_batch;
    atomic_init(&m->refs, 1);
    if (!(m->batch = nn_batcher_new(&m->lo, lim, run_rows, m))) {
        snprintf(err, errlen, "out of memory for %d work slots of %d rows (--model-threads, "
                 "--max-batch)", lim->executors, lim->max_batch);
        goto fail;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    m->loaded_at = (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
    m->load_seconds = nn_now() - t0;
    return m;
fail:
    nn_serve_model_free(m);
    return NULL;
}

void nn_serve_model_free(nn_serve_model *m)
{
    if (!m)
        return;
    nn_batcher_free(m->batch);
    free(m->params);
    nn_qmodel_free(&m->q);
    nn_preprocess_free(&m->pre);
    nn_enc_free(&m->enc);
    free(m);
}

int nn_serve_predict(nn_serve_model *m, float *x, size_t n, float *out, long *cls,
                           void (*back)(void *ctx), void *ctx)
{
    nn_preprocess_apply_x(&m->pre, x, n, nn_serve_inputs(m));
    return nn_batcher_submit(m->batch, x, n, out, cls, back, ctx);
}

int nn_serve_predict_queued(nn_serve_model *m, float *x, size_t n, float *out, long *cls,
                            void (*back)(void *ctx), void *ctx)
{
    nn_preprocess_apply_x(&m->pre, x, n, nn_serve_inputs(m));
    return nn_batcher_queue(m->batch, x, n, out, cls, back, ctx);
}
