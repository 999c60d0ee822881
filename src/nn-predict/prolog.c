/* prolog.c: nn-predict's prolog (predictor.h): the model read on rank 0 and broadcast, the
 * data split probed and matched to it, the passes planned; the banner; the state freed. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_checkpoint.h"
#include "nn_qfile.h"
#include "nn_kernels.h"
#include "nn_preprocess_comm.h"
#include "nn_report.h"
#include "nn_shard.h"
#include "predictor.h"

/* An exported model's int8 model from rank 0 to every rank: its plain part, then the blob. */
static int load_qmodel(predictor *p)
{
    const nn_comm *c = p->comm;
    int has = p->q.blob != NULL;
    nn_comm_bcast(c, &has, sizeof has, 0);
    if (!has)
        return 0;
    unsigned char *mine = p->q.blob;
    nn_comm_bcast(c, &p->q, sizeof p->q, 0);
    p->q.blob = mine;
    int fail = c->rank != 0 && nn_qmodel_alloc_blob(&p->q) != 0;
    if (nn_fail(c, fail, "out of memory for the exported model"))
        return -1;
    nn_comm_bcast(c, p->q.blob, p->q.bytes, 0);
    return 0;
}

/* Rank 0 reads and checks the checkpoint or exported model (nn_model_read); everyone receives
 * the layout, the parameters and the preprocessing, and an exported model's int8 model (its
 * dequantised weights are the parameters, for the modes that take gradients). */
int load_model(predictor *p)
{
    const nn_comm *c = p->comm;
    const char *path = p->cfg.model;
    char err[ERRLEN] = "", why[256] = "";
    int fail = 0;
    nn_preprocess_init(&p->pre);
    if (c->rank == 0) {
        fail = nn_model_read("--model", path, &p->lo, &p->params, &p->q, &p->pre, &p->origin,
                             err, sizeof err) != 0;
        if (!fail && p->q.blob && !(p->params = malloc(p->lo.n_params * sizeof(float)))) {
            snprintf(err, sizeof err, "out of memory for a model of %zu parameters",
                     p->lo.n_params);
            fail = 1;
        }
        if (!fail && p->q.blob)
            nn_qmodel_dequantize(&p->q, p->params);
        if (!fail && nn_preprocess_check(&p->pre, p->lo.sizes[0], p->lo.sizes[p->lo.n_layers],
                                         why, sizeof why) != 0) {
            snprintf(err, sizeof err, "--model %s: %s", path, why);
            fail = 1;
        }
    }
    if (nn_fail(c, fail, err))
        return -1;
    nn_comm_bcast(c, &p->lo, sizeof p->lo, 0); /* plain data: sizes and offsets */
    if (c->rank != 0)
        p->params = malloc(p->lo.n_params * sizeof(float));
    snprintf(err, sizeof err, "out of memory for a model of %zu parameters", p->lo.n_params);
    if (nn_fail(c, !p->params, err))
        return -1;
    nn_comm_bcast(c, p->params, p->lo.n_params * sizeof(float), 0);
    if (load_qmodel(p) != 0)
        return -1;

    if (nn_preprocess_bcast(c, &p->pre, 0, "out of memory for /preprocess") != 0)
        return -1;
    p->classify = p->lo.loss == NN_LOSS_XENT;
    p->width = p->lo.sizes[p->lo.n_layers] + p->classify;
    return 0;
}

/* Probes --split, or the first of /test, /val and /train the file has (y may be absent).
 * 0, 1 when the split is not there (err says which the file has; *usage when --split named
 * it), or -1 (err). */
static int probe_split(predictor *p, char *err, size_t errlen, int *usage)
{
    const char *path = p->cfg.data;
    static const char *const order[] = {"test", "val", "train"};
    int rc = 1;
    if (strcmp(p->cfg.split, "auto") != 0) {
        p->split = p->cfg.split;
        rc = nn_h5_probe_as(path, p->split, NN_H5_Y_OPTIONAL, &p->info, err, errlen);
        if (rc == 1) { /* say which splits the file does have */
            char have[64] = "";
            nn_split_info other;
            for (int i = 0; i < 3; i++)
                if (nn_h5_probe_as(path, order[i], NN_H5_Y_OPTIONAL, &other, err, errlen) != 1)
                    snprintf(have + strlen(have), sizeof have - strlen(have), "%s/%s",
                             *have ? ", " : "", order[i]);
            snprintf(err, errlen, "--split %s: %s has no group /%s (it has: %s)", p->split,
                     path, p->split, *have ? have : "none of /test, /val, /train");
            *usage = 1;
        }
        return rc;
    }
    for (int i = 0; i < 3 && rc == 1; i++) {
        p->split = order[i];
        rc = nn_h5_probe_as(path, p->split, NN_H5_Y_OPTIONAL, &p->info, err, errlen);
    }
    if (rc == 1)
        snprintf(err, errlen, "%s: has none of /test, /val and /train; expected at least one "
                 "split (docs/data-format.md)",
                 path);
    return rc;
}

/* Checks the split against the model: features, target columns, classes. 0 or -1 (err). */
static int match_split(const predictor *p, char *err, size_t errlen)
{
    const char *path = p->cfg.data;
    int D = p->lo.sizes[0], K = p->lo.sizes[p->lo.n_layers];
    if (p->info.d != D) {
        snprintf(err, errlen, "--data %s: /%s/x has %d features but the model's input size "
                 "is %d (--model %s); expected equal",
                 path, p->split, p->info.d, D, p->cfg.model);
        return -1;
    }
    if (!p->info.x_only && !p->info.y_is_label && p->info.k != K) {
        snprintf(err, errlen, "--data %s: /%s/y has %d target columns but the model has %d "
                 "outputs; expected equal",
                 path, p->split, p->info.k, K);
        return -1;
    }
    if (p->classify && K > (1 << 24)) {
        snprintf(err, errlen, "the model has %d classes; nn-predict handles at most 2^24", K);
        return -1;
    }
    return 0;
}

/* Sizes the passes (--batch, or all rows if fewer: the same on every rank and at every rank
 * count), takes this rank's block of rows and allocates for it; rank 0 checks --output's
 * directory now, so that a bad --output costs no work. 0, or an exit status (decided by all). */
static int plan_passes(predictor *p)
{
    char err[ERRLEN] = "";
    int D = p->lo.sizes[0];
    size_t n = p->info.n;
    size_t b = (size_t)p->cfg.batch < n ? (size_t)p->cfg.batch : (n ? n : 1);
    if (b > (size_t)INT_MAX / (size_t)p->lo.max_width ||
        b > (size_t)INT_MAX / (size_t)D) {
        snprintf(err, sizeof err, "--batch %ld: %zu rows of up to %d floats are beyond this "
                 "build's limit of 2^31 floats per layer; use a smaller --batch",
                 p->cfg.batch, b, p->lo.max_width > D ? p->lo.max_width : D);
        return nn_fail(p->comm, NN_EXIT_USAGE, err);
    }
    p->batch = (int)b;
    p->row0 = nn_split_lo(n, p->comm->size, p->comm->rank);
    p->n_local = nn_split_lo(n, p->comm->size, p->comm->rank + 1) - p->row0;
    int fail = p->n_local > SIZE_MAX / sizeof(float) / (size_t)p->width;
    if (!fail) {
        p->rec = malloc((p->n_local ? p->n_local : 1) * (size_t)p->width * sizeof(float));
        p->xpad = malloc(b * (size_t)D * sizeof(float));
        fail = !p->rec || !p->xpad || nn_work_init(&p->work, &p->lo, p->batch) != 0;
    }
    snprintf(err, sizeof err, "out of memory for %zu predictions of %d floats and a batch of "
             "%zu rows",
             p->n_local, p->width, b);
    if (nn_fail(p->comm, fail, err))
        return 1;
    fail = 0;
    if (p->comm->rank == 0 && p->cfg.output)
        fail = nn_predict_check_output(p->cfg.output, err, sizeof err) != 0;
    return nn_fail(p->comm, fail, err);
}

/* Picks the split and checks it against the model (every rank reads the same metadata and
 * reaches the same verdict), then plans the passes. 0, or an exit status: 2 when --split
 * names a split the file lacks. */
int open_split(predictor *p)
{
    char err[ERRLEN] = "";
    int usage = 0; /* the failure is a flag's: --split names a split the file lacks */
    int fail = probe_split(p, err, sizeof err, &usage) != 0 ||
               match_split(p, err, sizeof err) != 0;
    if ((fail = nn_fail(p->comm, fail ? (usage ? NN_EXIT_USAGE : 1) : 0, err)) != 0)
        return fail;
    return plan_passes(p);
}

void banner(const predictor *p)
{
    char lib[128], layers[256] = "", y[64];
    nn_comm_library(lib, sizeof lib);
    for (int i = 0; i <= p->lo.n_layers; i++)
        snprintf(layers + strlen(layers), sizeof layers - strlen(layers), "%s%d", i ? "-" : "",
                 p->lo.sizes[i]);
    if (p->info.x_only)
        snprintf(y, sizeof y, "no y (predictions only)");
    else if (p->info.y_is_label)
        snprintf(y, sizeof y, "class labels");
    else
        snprintf(y, sizeof y, "float targets [%d]", p->info.k);
    char kern[128];
    nn_say(p->comm, p->cfg.quiet, "nn-predict %s: %d rank%s (%s), OpenBLAS threads/rank %d, "
           "%s\n", NN_VERSION, p->comm->size, p->comm->size > 1 ? "s" : "", lib,
           nn_blas_threads(0), nn_blas_kernels(kern, sizeof kern));
    char q[160] = "";
    for (int i = 0; p->q.blob && i < p->lo.n_layers; i++)
        snprintf(q + strlen(q), sizeof q - strlen(q), "%s%s", i ? "/" : ", exported int8: ",
                 nn_qstore_name(p->q.layer[i].storage));
    nn_say(p->comm, p->cfg.quiet, "model  %s: %s %s, %s output, preprocess %s%s\n",
           p->cfg.model, layers, nn_act_name(p->lo.act), p->classify ? "softmax" : "linear",
           p->pre.method, q);
    nn_say(p->comm, p->cfg.quiet, "data   %s /%s: %zu samples, %d features, %s\n", p->cfg.data,
           p->split, p->info.n, p->info.d, y);
}

void predictor_free(predictor *p)
{
    nn_pr_free(&p->pr);
    free(p->params);
    nn_qmodel_free(&p->q);
    free(p->rec);
    free(p->xpad);
    nn_work_free(&p->work);
    nn_preprocess_free(&p->pre);
}

