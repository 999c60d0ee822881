/* data.c: the trainer's data. This rank's training shard and validation block, read from the
 * file (only those rows) or made for the built-in example; the model's ends checked against
 * the data; the rows checked; and the input scaling (--normalize statistics over every rank's
 * shard, or the checkpoint's on resume) applied once at load, with the target scaling
 * (--normalize-targets) and the class weights (--class-weight) the loss uses. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_encode.h"
#include "nn_h5data.h"
#include "nn_h5info.h"
#include "nn_preprocess.h"
#include "nn_shard.h"
#include "train_internal.h"

/* The built-in example: y = 2x for x = 0..99, both z-scored. */
static int example_rows(nn_trainer *t, nn_rows *all)
{
    const size_t n = 100;
    if (nn_rows_alloc(all, n, 1, 0, 1) != 0)
        return -1;
    double xm = 0, xv = 0, ym = 0, yv = 0;
    for (size_t i = 0; i < n; i++) {
        xm += (double)i / n;
        ym += 2.0 * i / n;
    }
    for (size_t i = 0; i < n; i++) {
        xv += ((double)i - xm) * ((double)i - xm) / n;
        yv += (2.0 * i - ym) * (2.0 * i - ym) / n;
    }
    t->y_mean = ym;
    t->y_std = sqrt(yv);
    for (size_t i = 0; i < n; i++) {
        all->x[i] = (float)(((double)i - xm) / sqrt(xv));
        all->targets[i] = (float)((2.0 * i - ym) / t->y_std);
    }
    /* The checkpoint records this scaling, so nn-predict answers in the units of y. */
    if (nn_preprocess_alloc(&t->pre, "zscore", 1, 1) != 0)
        return -1;
    t->pre.x_shift[0] = (float)xm;
    t->pre.x_scale[0] = (float)sqrt(xv);
    t->pre.y_shift[0] = (float)ym;
    t->pre.y_scale[0] = (float)t->y_std;
    return 0;
}

/* --normalize: per-feature statistics over the whole training set (every rank's shard, not
 * the validation rows), in double, combined with allreduce. zscore takes two passes, the mean
 * and then the squared deviations from it, which avoids the cancellation of
 * sum(x^2) - n*mean^2. A constant feature gets scale 1, so it becomes 0 and stays finite. */
static int normalize_stats(nn_trainer *t, int k, char *err, size_t errlen)
{
    const nn_rows *r = &t->train;
    const int d = r->d;
    const char *method = t->cfg.normalize;
    double *acc = calloc(2 * (size_t)d, sizeof(double));
    if (!acc || nn_preprocess_alloc(&t->pre, method, d, k) != 0) {
        free(acc);
        snprintf(err, errlen, "out of memory for normalisation statistics");
        return -1;
    }
    if (strcmp(method, "zscore") == 0) {
        for (size_t i = 0; i < r->n; i++)
            for (int j = 0; j < d; j++)
                acc[j] += r->x[i * d + j];
        nn_comm_sum_f64(t->comm, acc, (size_t)d);
        for (int j = 0; j < d; j++)
            acc[j] /= (double)t->n_train;
        for (size_t i = 0; i < r->n; i++)
            for (int j = 0; j < d; j++) {
                double e = r->x[i * d + j] - acc[j];
                acc[d + j] += e * e;
            }
        nn_comm_sum_f64(t->comm, acc + d, (size_t)d);
        for (int j = 0; j < d; j++) {
            double sd = sqrt(acc[d + j] / (double)t->n_train);
            t->pre.x_shift[j] = (float)acc[j];
            t->pre.x_scale[j] = sd > 1e-12 * (1.0 + fabs(acc[j])) ? (float)sd : 1.0f;
        }
    } else { /* minmax: to [0, 1] */
        for (int j = 0; j < d; j++) {
            acc[j] = INFINITY;
            acc[d + j] = INFINITY; /* holds -max, so one MIN reduction does both */
        }
        for (size_t i = 0; i < r->n; i++)
            for (int j = 0; j < d; j++) {
                double v = r->x[i * d + j];
                acc[j] = v < acc[j] ? v : acc[j];
                acc[d + j] = -v < acc[d + j] ? -v : acc[d + j];
            }
        nn_comm_min_f64(t->comm, acc, 2 * (size_t)d);
        for (int j = 0; j < d; j++) {
            double range = -acc[d + j] - acc[j];
            t->pre.x_shift[j] = (float)acc[j];
            t->pre.x_scale[j] = range > 1e-12 * (1.0 + fabs(acc[j])) ? (float)range : 1.0f;
        }
    }
    free(acc);
    return 0;
}

/* --normalize-targets zscore: each target column's mean and standard deviation over the whole
 * training set, the same bits whatever the number of ranks. Rank 0 gathers every shard's
 * targets, puts them back in training-set order (a shard's positions are pure arithmetic on
 * the rank, nn_sched_shard_positions), sums in double in that order (two passes, as
 * normalize_stats), and broadcasts the float32 results. A constant column gets scale 1.
 * Collective; 0, or -1 with err on every rank. */
static int target_stats(nn_trainer *t)
{
    const nn_comm *c = t->comm;
    const int k = t->train.k;
    const size_t n = t->n_train;
    float *all = NULL, *ordered = NULL, *res = t->pre.y_shift; /* y_shift, y_scale: [k] each */
    size_t *pos = NULL;
    int fail = 0;
    if (c->rank == 0) {
        all = malloc(n * (size_t)k * sizeof(float));
        ordered = malloc(n * (size_t)k * sizeof(float));
        pos = malloc(n * sizeof(size_t));
        fail = !all || !ordered || !pos;
    }
    if ((fail = nn_fail(c, fail, "out of memory for the target statistics")) != 0)
        goto done;
    if (nn_comm_gatherv_f32(c, t->train.targets, t->train.n * (size_t)k, all, n * (size_t)k,
                            0) != 0) {
        fail = nn_fail(c, 1, "the training targets do not add up to the training set");
        goto done;
    }
    if (c->rank == 0) {
        const float *src = all;
        for (int r = 0; r < c->size; r++) { /* rank r's shard, in the order it sent it */
            nn_sched s;
            nn_sched_init(&s, n, t->sched.batch, c->size, r);
            size_t m = nn_sched_shard_size(&s);
            nn_sched_shard_positions(&s, pos);
            for (size_t i = 0; i < m; i++, src += k)
                memcpy(ordered + pos[i] * (size_t)k, src, (size_t)k * sizeof(float));
        }
        for (int j = 0; j < k; j++) {
            double mean = 0.0, ss = 0.0;
            for (size_t i = 0; i < n; i++)
                mean += ordered[i * (size_t)k + j];
            mean /= (double)n;
            for (size_t i = 0; i < n; i++) {
                double e = ordered[i * (size_t)k + j] - mean;
                ss += e * e;
            }
            double sd = sqrt(ss / (double)n);
            t->pre.y_shift[j] = (float)mean;
            t->pre.y_scale[j] = sd > 1e-12 * (1.0 + fabs(mean)) ? (float)sd : 1.0f;
        }
    }
    nn_comm_bcast(c, res, (size_t)k * sizeof(float), 0);
    nn_comm_bcast(c, t->pre.y_scale, (size_t)k * sizeof(float), 0);
done:
    free(all);
    free(ordered);
    free(pos);
    return fail ? -1 : 0;
}

/* --class-weight FILE: one weight per class and line, K lines (blank lines and '#' comments
 * skipped). Every rank reads the small file itself; 0, or -1 with err. */
static int class_weight_file(const char *path, float *w, int K, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "--class-weight %s: cannot open: %s; expected none, balanced or a "
                 "file with one weight per class and line", path, strerror(errno));
        return -1;
    }
    char line[256];
    int n = 0, lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        char *p = line, *end;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\n' || *p == '\r' || *p == '#' || *p == '\0')
            continue;
        errno = 0;
        double v = strtod(p, &end);
        while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
            end++;
        if (end == p || *end != '\0' || errno || !isfinite(v) || v < 0.0 || v > 3.4e38) {
            line[strcspn(line, "\r\n")] = '\0';
            snprintf(err, errlen, "--class-weight %s: line %d: '%.40s' is not a weight; expected "
                     "one finite number >= 0 per class and line (%d classes)",
                     path, lineno, p, K);
            rc = -1;
        } else if (n == K) {
            snprintf(err, errlen, "--class-weight %s: more than %d weights; expected one per "
                     "class (the last layer has %d outputs)", path, K, K);
            rc = -1;
        } else {
            w[n++] = (float)v;
        }
    }
    fclose(f);
    if (rc == 0 && n != K) {
        snprintf(err, errlen, "--class-weight %s: %d weight%s; expected one per class (the last "
                 "layer has %d outputs)", path, n, n == 1 ? "" : "s", K);
        rc = -1;
    }
    return rc;
}

/* The class weights and what the epoch's mean losses divide by: the weight sums of the
 * training and validation sets, sum_c count_c * w_c in class order, or their sample counts
 * without class weights. With `make` (--class-weight given, not resumed) the weights first:
 * balanced = n / (classes present * count_c), each from exact integer counts over the whole
 * training set, so the same on every rank and at any rank count (a class absent from training
 * gets 1), or FILE's. The per-class counts of both sets, over every rank, are one reduction.
 * Collective; 0, or 1 after the error. */
static int class_weights(nn_trainer *t, int make, char *err, size_t errlen)
{
    t->train_w = (double)t->n_train;
    t->val_w = (double)t->n_val;
    if (!make && !t->pre.class_weight)
        return 0;
    const int K = t->lo.sizes[t->lo.n_layers]; /* a resumed run's: checked against pre.nc */
    int64_t *cnt = calloc(2 * (size_t)K, sizeof *cnt); /* (2, K): training, validation */
    int fail = !cnt || (make && nn_preprocess_alloc_class_weight(&t->pre, K) != 0);
    if (nn_fail(t->comm, fail, "out of memory for the class weights") != 0) {
        free(cnt);
        return 1;
    }
    const nn_rows *sets[2] = {&t->train, &t->val};
    for (int s = 0; s < 2; s++)
        for (size_t i = 0; sets[s]->labels && i < sets[s]->n; i++)
            cnt[(size_t)s * (size_t)K + (size_t)sets[s]->labels[i]]++;
    nn_comm_sum_i64(t->comm, cnt, 2 * (size_t)K); /* exact */
    float *w = t->pre.class_weight;
    if (make && strcmp(t->cfg.class_weight, "balanced") == 0) {
        int present = 0;
        for (int j = 0; j < K; j++)
            present += cnt[j] > 0;
        for (int j = 0; j < K; j++)
            w[j] = cnt[j] > 0 ? (float)((double)t->n_train / ((double)present * (double)cnt[j]))
                              : 1.0f;
    } else if (make) {
        fail = class_weight_file(t->cfg.class_weight, w, K, err, errlen) != 0;
    }
    if ((fail = nn_fail(t->comm, fail, err)) == 0) {
        double *sum[2] = {&t->train_w, &t->val_w};
        for (int s = 0; s < 2; s++) {
            *sum[s] = 0.0;
            for (int j = 0; j < K; j++)
                *sum[s] += (double)cnt[(size_t)s * (size_t)K + (size_t)j] * w[j];
        }
    }
    free(cnt);
    return fail ? 1 : 0;
}

/* --normalize-targets and --class-weight against the loss and the data: which apply. A usage
 * error when they cannot (the same answer on every rank). */
static int loss_view(nn_trainer *t, int *targets, int *weights, char *err, size_t errlen)
{
    const nn_config *cfg = &t->cfg;
    int mse_floats = t->lo.loss == NN_LOSS_MSE && !t->classify;
    *targets = strcmp(cfg->normalize_targets, "zscore") == 0 ||
               (strcmp(cfg->normalize_targets, "auto") == 0 && mse_floats);
    *weights = strcmp(cfg->class_weight, "none") != 0;
    if (*targets && !mse_floats) {
        snprintf(err, errlen, "--normalize-targets zscore needs float targets and --loss mse; "
                 "%s has %s and the loss is %s (use auto or none)",
                 t->cfg.data ? t->cfg.data : "the data",
                 t->classify ? "class labels" : "float targets", nn_loss_name(t->lo.loss));
        return -1;
    }
    if (*weights && (t->lo.loss != NN_LOSS_XENT || !t->classify)) {
        snprintf(err, errlen, "--class-weight %s needs class labels and the cross-entropy loss; "
                 "%s has %s and the loss is %s (use none)",
                 cfg->class_weight, t->cfg.data ? t->cfg.data : "the built-in example",
                 t->classify ? "class labels" : "float targets", nn_loss_name(t->lo.loss));
        return -1;
    }
    return 0;
}

/* Copies the listed rows of src into dst (allocated here). */
static int pick_rows(const nn_rows *src, const size_t *rows, size_t n, nn_rows *dst)
{
    if (nn_rows_alloc(dst, n, src->d, src->labels != NULL, src->k) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        memcpy(dst->x + i * src->d, src->x + rows[i] * src->d, (size_t)src->d * sizeof(float));
        if (src->labels)
            dst->labels[i] = src->labels[rows[i]];
        else
            memcpy(dst->targets + i * src->k, src->targets + rows[i] * src->k,
                   (size_t)src->k * sizeof(float));
    }
    return 0;
}

/* Checks a rank's rows (nn_rows_check: finite features and targets, labels within
 * [0, classes)) in nn-train's words. Row numbers in messages are file rows. */
static int check_rows(const nn_rows *r, const size_t *file_rows, int classes, const char *path,
                      const char *split, char *err, size_t errlen)
{
    nn_rows_source src = {path, split, file_rows, 0,
                          "clean the data first (expected finite float32 values)",
                          "the last layer"};
    return nn_rows_check(r, classes, &src, err, errlen);
}

/* Resolves the loss from the labels' type and --loss, and checks the model's ends against the
 * data. Pure: every rank computes the same answer from the same metadata. */
static int match_model(const nn_config *cfg, const nn_split_info *in, const int *sizes, int L,
                       const char *path, const char *layers, nn_loss *loss, char *err,
                       size_t errlen)
{
    int K = sizes[L];
    if (in->d != sizes[0]) {
        snprintf(err, errlen, "%s: /train/x has %d features but %s starts with %d; expected "
                 "the first layer size to equal the number of features",
                 path, in->d, layers, sizes[0]);
        return -1;
    }
    if (strcmp(cfg->loss, "auto") == 0)
        *loss = in->y_is_label ? NN_LOSS_XENT : NN_LOSS_MSE;
    else
        *loss = strcmp(cfg->loss, "xent") == 0 ? NN_LOSS_XENT : NN_LOSS_MSE;
    if (!in->y_is_label && in->k != K) {
        snprintf(err, errlen, "%s: /train/y has %d target columns but the last layer%s%s has "
                 "%d; expected them equal",
                 path, in->k, strcmp(layers, "--layers") ? " of " : "",
                 strcmp(layers, "--layers") ? layers : "", K);
        return -1;
    }
    if (*loss == NN_LOSS_XENT && K < 2) {
        snprintf(err, errlen, "--loss xent needs at least 2 outputs; the last layer of --layers "
                 "has %d",
                 K);
        return -1;
    }
    return 0;
}

/* What load_data learns on the way: the splits' shapes, and the file rows of the training and
 * validation sets (the same on every rank). */
typedef struct {
    const char *path;     /* the data file, or "(built-in example)" */
    nn_split_info tr, va;
    int has_val;          /* the file has /val (else validation is held out of /train) */
    nn_rows all;          /* the built-in example's rows (the file's are read per shard) */
    size_t *train_rows, *val_rows;
} data_plan;

/* 1. Metadata, on every rank (cheap); any rank's failure stops all. A model that does not fit
 * the data is a usage error, whether --layers or the --resume checkpoint gave it (the flags do
 * not go together); bad data is a failure. Builds the layout. */
static int probe(nn_trainer *t, data_plan *d, char *err, size_t errlen)
{
    const nn_config *cfg = &t->cfg;
    int sizes[NN_MAX_LAYERS + 1], L = 0, fail = 0;
    nn_loss loss = NN_LOSS_MSE;
    int given = nn_config_given(cfg, "layers") || !t->resume;
    char from[4096 + 64];
    snprintf(from, sizeof from, given ? "--layers" : "the checkpoint's model (--resume %s)",
             t->resume_path);
    if (nn_parse_layers(cfg->layers, sizes, &L, err, errlen) != 0) {
        fail = NN_EXIT_USAGE;
    } else if (t->example) {
        fail = example_rows(t, &d->all) != 0;
        d->tr = (nn_split_info){.n = d->all.n, .d = 1, .y_is_label = 0, .k = 1};
        if (!fail && match_model(cfg, &d->tr, sizes, L, d->path, from, &loss, err, errlen) != 0)
            fail = NN_EXIT_USAGE;
    } else {
        fail = nn_h5_probe(cfg->data, "train", &d->tr, err, errlen) != 0;
        if (!fail) {
            int rc = nn_h5_probe(cfg->data, "val", &d->va, err, errlen);
            d->has_val = rc == 0;
            fail = rc < 0;
            if (d->has_val && (d->va.d != d->tr.d || d->va.y_is_label != d->tr.y_is_label ||
                               d->va.k != d->tr.k)) {
                snprintf(err, errlen, "%s: /val has a different shape or label type than /train; "
                         "expected the same",
                         cfg->data);
                fail = 1;
            }
        }
        if (!fail && match_model(cfg, &d->tr, sizes, L, d->path, from, &loss, err, errlen) != 0)
            fail = NN_EXIT_USAGE;
    }
    if (!fail && nn_layout_init(&t->lo, sizes, L, (nn_act)nn_act_from_name(cfg->activation),
                                loss, err, errlen) != 0)
        fail = NN_EXIT_USAGE;
    if ((fail = nn_fail(t->comm, fail, err)) == 0)
        t->classify = d->tr.y_is_label;
    return fail;
}

/* 2. Which file rows are validation and which are training, the same on every rank; then the
 * global batch against the ranks and the schedule. */
static int split(nn_trainer *t, data_plan *d, char *err, size_t errlen)
{
    const nn_comm *c = t->comm;
    const nn_config *cfg = &t->cfg;
    const nn_split_info *tr = &d->tr, *va = &d->va;
    d->train_rows = malloc((tr->n ? tr->n : 1) * sizeof(size_t));
    d->val_rows = malloc(((d->has_val ? va->n : tr->n) + 1) * sizeof(size_t));
    int fail = !d->train_rows || !d->val_rows;
    if (!fail) {
        if (d->has_val) {
            for (size_t i = 0; i < tr->n; i++)
                d->train_rows[i] = i;
            for (size_t i = 0; i < va->n; i++)
                d->val_rows[i] = i;
            t->n_train = tr->n;
            t->n_val = va->n;
        } else {
            fail = nn_holdout_split(tr->n, cfg->val_fraction, (uint64_t)cfg->seed, d->val_rows,
                                    &t->n_val, d->train_rows, &t->n_train) != 0;
        }
    }
    if (fail)
        snprintf(err, errlen, "out of memory for the row index of %s", d->path);
    size_t batch = (size_t)cfg->batch;
    if (!fail && t->n_train < (size_t)c->size) {
        snprintf(err, errlen, "%s: %zu training samples for %d ranks; expected at least one "
                 "sample per rank",
                 d->path, t->n_train, c->size);
        fail = 1;
    } else if (!fail && batch == 0) {
        batch = t->n_train; /* full-batch gradient descent */
    } else if (!fail && batch < (size_t)c->size) {
        snprintf(err, errlen, "--batch %zu is smaller than the number of ranks (%d); expected a "
                 "global batch of at least one sample per rank",
                 batch, c->size);
        fail = NN_EXIT_USAGE;
    }
    if ((fail = nn_fail(c, fail, err)) == 0)
        nn_sched_init(&t->sched, t->n_train, batch, c->size, c->rank);
    return fail;
}

/* 3. This rank's shard (positions -> file rows) and validation block: just those rows are
 * read, then checked. */
static int read_rows(nn_trainer *t, data_plan *d, char *err, size_t errlen)
{
    const nn_comm *c = t->comm;
    const nn_config *cfg = &t->cfg;
    size_t n_shard = nn_sched_shard_size(&t->sched);
    size_t *shard_rows = malloc((n_shard ? n_shard : 1) * sizeof(size_t));
    int fail = !shard_rows;
    if (!fail) {
        nn_sched_shard_positions(&t->sched, shard_rows);
        for (size_t i = 0; i < n_shard; i++)
            shard_rows[i] = d->train_rows[shard_rows[i]];
    }
    size_t vlo = nn_split_lo(t->n_val, c->size, c->rank);
    size_t vhi = nn_split_lo(t->n_val, c->size, c->rank + 1);
    const size_t *my_val = d->val_rows + vlo;
    if (!fail) {
        if (t->example) {
            fail = pick_rows(&d->all, shard_rows, n_shard, &t->train) != 0 ||
                   pick_rows(&d->all, my_val, vhi - vlo, &t->val) != 0;
            if (fail)
                snprintf(err, errlen, "out of memory for the example's data");
        } else {
            fail = nn_h5_read_rows(cfg->data, "train", &d->tr, shard_rows, n_shard, &t->train,
                                   err, errlen) != 0 ||
                   nn_h5_read_rows(cfg->data, d->has_val ? "val" : "train",
                                   d->has_val ? &d->va : &d->tr, my_val, vhi - vlo, &t->val, err,
                                   errlen) != 0;
        }
    }
    int classes = t->lo.sizes[t->lo.n_layers];
    if (!fail)
        fail = check_rows(&t->train, shard_rows, classes, d->path, "train", err, errlen) != 0 ||
               check_rows(&t->val, my_val, classes, d->path, d->has_val ? "val" : "train", err,
                          errlen) != 0;
    free(shard_rows);
    return nn_fail(c, fail, err);
}

/* 4. Scaling: the checkpoint's statistics on resume (recomputing could differ in the last bit
 * on another rank count), else the training set's; the example is scaled already. */
static int scale(nn_trainer *t, char *err, size_t errlen)
{
    int fail = 0, targets = 0, weights = 0;
    if (t->resume_pre.d > 0) {
        nn_preprocess_free(&t->pre);
        t->pre = t->resume_pre;
        nn_preprocess_init(&t->resume_pre);
    } else if (!t->example && !t->resume) {
        if ((fail = nn_fail(t->comm, loss_view(t, &targets, &weights, err, errlen) != 0 ?
                                         NN_EXIT_USAGE : 0, err)) != 0)
            return fail;
        int k = targets ? t->train.k : 0;
        if (strcmp(t->cfg.normalize, "none") != 0) {
            fail = normalize_stats(t, k, err, errlen) != 0;
        } else if (targets || weights) { /* inputs as they are: x_shift 0, x_scale 1 */
            fail = nn_preprocess_alloc(&t->pre, "identity", t->train.d, k) != 0;
            for (int j = 0; !fail && j < t->train.d; j++) {
                t->pre.x_shift[j] = 0.0f;
                t->pre.x_scale[j] = 1.0f;
            }
            if (fail)
                snprintf(err, errlen, "out of memory for the target scaling");
        }
        if ((fail = nn_fail(t->comm, fail, err)) != 0)
            return fail;
        if (targets && target_stats(t) != 0)
            return 1;
    }
    /* the raw range, kept in /preprocess for nn-predict --attack (collective) */
    if (!t->example && t->pre.d > 0 && nn_adv_raw_range(t) != 0)
        return 1;
    if (!fail && t->pre.d > 0 && t->pre.d != t->train.d) {
        snprintf(err, errlen, "the checkpoint's normalisation has %d features, the data %d",
                 t->pre.d, t->train.d);
        fail = 1;
    }
    if (!fail && t->pre.y_shift && (t->pre.k != t->train.k || !t->train.targets)) {
        snprintf(err, errlen, "the checkpoint's target scaling has %d columns, the data %d float "
                 "target columns", t->pre.k, t->train.targets ? t->train.k : 0);
        fail = 1;
    }
    if (!fail && t->pre.class_weight &&
        (t->pre.nc != t->lo.sizes[t->lo.n_layers] || !t->train.labels)) {
        snprintf(err, errlen, "the checkpoint's class weights are for %d classes; the data has %s",
                 t->pre.nc, t->train.labels ? "another number of classes" : "no class labels");
        fail = 1;
    }
    if (!fail && !t->example) {
        nn_preprocess_apply_x(&t->pre, t->train.x, t->train.n, t->train.d);
        nn_preprocess_apply_x(&t->pre, t->val.x, t->val.n, t->val.d);
        nn_preprocess_apply_y(&t->pre, t->train.targets, t->train.n, t->train.k);
        nn_preprocess_apply_y(&t->pre, t->val.targets, t->val.n, t->val.k);
    }
    if ((fail = nn_fail(t->comm, fail, err)) != 0)
        return fail;
    return class_weights(t, weights, err, errlen);
}

/* 5. The data file's encoder of raw records (nn-data import-csv's /meta/encoder, nn_encode.h),
 * carried into every checkpoint as /encoder so that nn-predict --csv encodes a raw row as the
 * importer did. Its outputs must be the data's features. Every rank reads the small string
 * (rank 0 writes the checkpoints, but the check is collective). */
static int carry_encoder(nn_trainer *t, char *err, size_t errlen)
{
    char **text = NULL;
    size_t n = 0;
    int fail = 0;
    if (!t->example && t->cfg.data) {
        int r = nn_h5_read_strings(t->cfg.data, "/meta/encoder", &text, &n);
        nn_encoder e;
        char why[512];
        if (r < 0 || (r == 0 && n != 1)) {
            snprintf(err, errlen, "%s: /meta/encoder is unreadable; expected one string "
                     "(written by nn-data import-csv)", t->cfg.data);
            fail = 1;
        } else if (r == 0 && nn_enc_from_text(&e, text[0], why, sizeof why) != 0) {
            snprintf(err, errlen, "%s: /meta/encoder: %s", t->cfg.data, why);
            fail = 1;
        } else if (r == 0) {
            if (e.d != t->train.d) {
                snprintf(err, errlen, "%s: /meta/encoder has %d outputs but /train/x has %d "
                         "features; expected equal (a file changed after import?)",
                         t->cfg.data, e.d, t->train.d);
                fail = 1;
            } else {
                free(t->pre.encoder);
                t->pre.encoder = text[0];
                text[0] = NULL;
            }
            nn_enc_free(&e);
        }
    }
    nn_h5_strings_free(text, n);
    return nn_fail(t->comm, fail, err);
}

/* Reads this rank's training shard and validation block, from the file or the example. */
int nn_train_load_data(nn_trainer *t, char *err, size_t errlen)
{
    data_plan d = {.path = t->cfg.data ? t->cfg.data : "(built-in example)"};
    int st = probe(t, &d, err, errlen);
    if (st == 0)
        st = split(t, &d, err, errlen);
    if (st == 0)
        st = read_rows(t, &d, err, errlen);
    free(d.train_rows);
    free(d.val_rows);
    nn_rows_free(&d.all);
    if (st == 0)
        st = scale(t, err, errlen);
    return st == 0 ? carry_encoder(t, err, errlen) : st;
}
