/* trainer.c: data-parallel training. Setup (data, model, outputs), the training step, validation
 * and checkpoints. Collective by construction: every failure is decided with nn_comm_agree, so
 * all ranks return the same status and no rank is left waiting in a collective.
 *
 * The step reads as a recipe:
 *   gather local batch -> forward -> loss -> backward (writes every gradient) ->
 *   one sum over ranks of [grads | loss sum | flags] (nn_replica: shared memory within a
 *   node) -> optimizer step on this rank's slice of the state, with grad_scale = 1 / global
 *   batch -> publish (every rank sees the whole updated state).
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nn_args.h"
#include "nn_fileio.h"
#include "nn_hash.h"
#include "nn_kernels.h"
#include "nn_preprocess.h"
#include "nn_rng.h"
#include "nn_trainer.h"

#define ERRLEN 512

/* ---------------------------------------------------------------- data sources */

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
static int normalize_stats(nn_trainer *t, char *err, size_t errlen)
{
    const nn_rows *r = &t->train;
    const int d = r->d;
    const char *method = t->cfg.normalize;
    double *acc = calloc(2 * (size_t)d, sizeof(double));
    if (!acc || nn_preprocess_alloc(&t->pre, method, d, 0) != 0) {
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

/* Checks a rank's rows: finite features and targets, labels within [0, classes).
 * Row numbers in messages are file rows. */
static int check_rows(const nn_rows *r, const size_t *file_rows, int classes, const char *path,
                      const char *split, char *err, size_t errlen)
{
    for (size_t i = 0; i < r->n; i++) {
        for (int j = 0; j < r->d; j++)
            if (!isfinite(r->x[i * r->d + j])) {
                snprintf(err, errlen, "%s: /%s/x row %zu column %d is not finite; clean the data "
                         "first (expected finite float32 values)",
                         path, split, file_rows[i], j);
                return -1;
            }
        if (r->labels && (r->labels[i] < 0 || r->labels[i] >= classes)) {
            snprintf(err, errlen, "%s: /%s/y row %zu has label %d; expected a class in [0, %d) "
                     "(the last layer has %d outputs)",
                     path, split, file_rows[i], (int)r->labels[i], classes, classes);
            return -1;
        }
        if (r->targets)
            for (int j = 0; j < r->k; j++)
                if (!isfinite(r->targets[i * r->k + j])) {
                    snprintf(err, errlen, "%s: /%s/y row %zu is not finite", path, split,
                             file_rows[i]);
                    return -1;
                }
    }
    return 0;
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

/* Reads this rank's training shard and validation block, from the file or the example. */
static int load_data(nn_trainer *t, char *err, size_t errlen)
{
    const nn_comm *c = t->comm;
    const nn_config *cfg = &t->cfg;
    int sizes[NN_MAX_LAYERS + 1], L = 0;
    nn_split_info tr = {0}, va = {0};
    int has_val = 0, fail = 0;
    const char *path = cfg->data ? cfg->data : "(built-in example)";
    nn_rows all = {0};
    nn_loss loss = NN_LOSS_MSE;

    /* 1. Metadata, on every rank (cheap); any rank's failure stops all. A model that does not
     * fit the data is a usage error, whether --layers or the --resume checkpoint gave it (the
     * flags do not go together); bad data is a failure. */
    int given = nn_config_given(cfg, "layers") || !t->resume;
    char from[4096 + 64];
    snprintf(from, sizeof from, given ? "--layers" : "the checkpoint's model (--resume %s)",
             t->resume_path);
    if (nn_parse_layers(cfg->layers, sizes, &L, err, errlen) != 0) {
        fail = NN_EXIT_USAGE;
    } else if (t->example) {
        fail = example_rows(t, &all) != 0;
        tr = (nn_split_info){.n = all.n, .d = 1, .y_is_label = 0, .k = 1};
        if (!fail && match_model(cfg, &tr, sizes, L, path, from, &loss, err, errlen) != 0)
            fail = NN_EXIT_USAGE;
    } else {
        fail = nn_h5_probe(cfg->data, "train", &tr, err, errlen) != 0;
        if (!fail) {
            int rc = nn_h5_probe(cfg->data, "val", &va, err, errlen);
            has_val = rc == 0;
            fail = rc < 0;
            if (has_val && (va.d != tr.d || va.y_is_label != tr.y_is_label || va.k != tr.k)) {
                snprintf(err, errlen, "%s: /val has a different shape or label type than /train; "
                         "expected the same",
                         cfg->data);
                fail = 1;
            }
        }
        if (!fail && match_model(cfg, &tr, sizes, L, path, from, &loss, err, errlen) != 0)
            fail = NN_EXIT_USAGE;
    }
    if (!fail && nn_layout_init(&t->lo, sizes, L, (nn_act)nn_act_from_name(cfg->activation),
                                loss, err, errlen) != 0)
        fail = NN_EXIT_USAGE;
    if ((fail = nn_fail(c, fail, err)) != 0)
        goto fail;
    t->classify = tr.y_is_label;

    /* 2. Which file rows are validation and which are training: the same on every rank. */
    size_t *train_rows = malloc((tr.n ? tr.n : 1) * sizeof(size_t));
    size_t *val_rows = malloc(((has_val ? va.n : tr.n) + 1) * sizeof(size_t));
    size_t *shard_rows = NULL;
    fail = !train_rows || !val_rows;
    if (!fail) {
        if (has_val) {
            for (size_t i = 0; i < tr.n; i++)
                train_rows[i] = i;
            for (size_t i = 0; i < va.n; i++)
                val_rows[i] = i;
            t->n_train = tr.n;
            t->n_val = va.n;
        } else {
            fail = nn_holdout_split(tr.n, cfg->val_fraction, (uint64_t)cfg->seed, val_rows,
                                    &t->n_val, train_rows, &t->n_train) != 0;
        }
    }
    if (fail)
        snprintf(err, errlen, "out of memory for the row index of %s", path);
    size_t batch = (size_t)cfg->batch;
    if (!fail && t->n_train < (size_t)c->size) {
        snprintf(err, errlen, "%s: %zu training samples for %d ranks; expected at least one "
                 "sample per rank",
                 path, t->n_train, c->size);
        fail = 1;
    } else if (!fail && batch == 0) {
        batch = t->n_train; /* full-batch gradient descent */
    } else if (!fail && batch < (size_t)c->size) {
        snprintf(err, errlen, "--batch %zu is smaller than the number of ranks (%d); expected a "
                 "global batch of at least one sample per rank",
                 batch, c->size);
        fail = NN_EXIT_USAGE;
    }
    if ((fail = nn_fail(c, fail, err)) != 0)
        goto fail_rows;
    nn_sched_init(&t->sched, t->n_train, batch, c->size, c->rank);

    /* 3. This rank's shard: positions -> file rows; read just those rows. */
    size_t n_shard = nn_sched_shard_size(&t->sched);
    shard_rows = malloc((n_shard ? n_shard : 1) * sizeof(size_t));
    fail = !shard_rows;
    if (!fail) {
        nn_sched_shard_positions(&t->sched, shard_rows);
        for (size_t i = 0; i < n_shard; i++)
            shard_rows[i] = train_rows[shard_rows[i]];
    }
    size_t vlo = nn_split_lo(t->n_val, c->size, c->rank);
    size_t vhi = nn_split_lo(t->n_val, c->size, c->rank + 1);
    const size_t *my_val = val_rows + vlo;
    if (!fail) {
        if (t->example) {
            fail = pick_rows(&all, shard_rows, n_shard, &t->train) != 0 ||
                   pick_rows(&all, my_val, vhi - vlo, &t->val) != 0;
            if (fail)
                snprintf(err, errlen, "out of memory for the example's data");
        } else {
            fail = nn_h5_read_rows(cfg->data, "train", &tr, shard_rows, n_shard, &t->train, err,
                                   errlen) != 0 ||
                   nn_h5_read_rows(cfg->data, has_val ? "val" : "train", has_val ? &va : &tr,
                                   my_val, vhi - vlo, &t->val, err, errlen) != 0;
        }
    }
    int classes = t->lo.sizes[t->lo.n_layers];
    if (!fail)
        fail = check_rows(&t->train, shard_rows, classes, path, "train", err, errlen) != 0 ||
               check_rows(&t->val, my_val, classes, path, has_val ? "val" : "train", err,
                          errlen) != 0;
    free(shard_rows);
    free(train_rows);
    free(val_rows);
    nn_rows_free(&all);
    if ((fail = nn_fail(c, fail, err)) != 0)
        return fail;
    /* Scaling: the checkpoint's statistics on resume (recomputing could differ in the last
     * bit on another rank count), else the training set's; the example is scaled already. */
    if (t->resume_pre.d > 0) {
        nn_preprocess_free(&t->pre);
        t->pre = t->resume_pre;
        nn_preprocess_init(&t->resume_pre);
    } else if (!t->example && strcmp(t->cfg.normalize, "none") != 0) {
        fail = normalize_stats(t, err, errlen) != 0;
    }
    if (!fail && t->pre.d > 0 && t->pre.d != t->train.d) {
        snprintf(err, errlen, "the checkpoint's normalisation has %d features, the data %d",
                 t->pre.d, t->train.d);
        fail = 1;
    }
    if (!fail && !t->example) {
        nn_preprocess_apply_x(&t->pre, t->train.x, t->train.n, t->train.d);
        nn_preprocess_apply_x(&t->pre, t->val.x, t->val.n, t->val.d);
    }
    return nn_fail(c, fail, err);

fail_rows:
    free(train_rows);
    free(val_rows);
fail:
    nn_rows_free(&all);
    return fail;
}

/* ---------------------------------------------------------------- setup */

/* Rank 0 initialises, everyone receives; then all ranks prove they hold the same bytes. */
static int init_params(nn_trainer *t, char *err, size_t errlen)
{
    if (t->comm->rank == 0)
        nn_params_init(&t->lo, t->params, (uint64_t)t->cfg.seed);
    nn_replica_bcast(t->rep, 0);
    uint64_t h = nn_fnv1a(NN_FNV_OFFSET, t->params, t->lo.n_params * sizeof(float));
    double lohi[2] = {(double)(h & 0xffffffffu), (double)(h >> 32)}, mn[2], mx[2];
    memcpy(mn, lohi, sizeof mn);
    memcpy(mx, lohi, sizeof mx);
    nn_comm_min_f64(t->comm, mn, 2);
    nn_comm_max_f64(t->comm, mx, 2);
    int same = mn[0] == mx[0] && mn[1] == mx[1];
    if (!same)
        snprintf(err, errlen, "ranks hold different initial parameters after the broadcast");
    return same ? 0 : -1;
}

static int mkdir_p(const char *dir)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf)
        return -1;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return (mkdir(buf, 0777) != 0 && errno != EEXIST) ? -1 : 0;
}

/* 1 if paths a and b name the same file, existing or not: the same device and inode, or the
 * same last component in the same directory. */
static int same_place(const char *a, const char *b)
{
    if (nn_same_file(a, b))
        return 1;
    char da[4096], db[4096];
    snprintf(da, sizeof da, "%s", a);
    snprintf(db, sizeof db, "%s", b);
    const char *ba = strrchr(a, '/') ? strrchr(a, '/') + 1 : a;
    const char *bb = strrchr(b, '/') ? strrchr(b, '/') + 1 : b;
    return strcmp(ba, bb) == 0 && nn_same_file(dirname(da), dirname(db));
}

/* 1 (with the message in err) if --metrics or --step-log is an input (--data, --resume FILE)
 * or the other log: opening it would truncate or mix it. Compared by device and inode, so a
 * symlink or another spelling is caught; two logs also by name, before either exists. */
static int outputs_clash(const nn_config *cfg, char *err, size_t errlen)
{
    const char *resume = cfg->resume && strcmp(cfg->resume, "auto") != 0 ? cfg->resume : NULL;
    const struct {
        const char *flag, *path;
    } out[2] = {{"--metrics", cfg->metrics}, {"--step-log", cfg->step_log}},
      in[2] = {{"--data", cfg->data}, {"--resume", resume}};
    for (int i = 0; i < 2; i++) {
        for (int j = 0; out[i].path && j < 2; j++)
            if (in[j].path && nn_same_file(out[i].path, in[j].path)) {
                snprintf(err, errlen, "%s %s is the same file as %s %s; refusing to overwrite "
                         "an input", out[i].flag, out[i].path, in[j].flag, in[j].path);
                return 1;
            }
    }
    if (out[0].path && out[1].path && same_place(out[0].path, out[1].path)) {
        snprintf(err, errlen, "--step-log %s is the same file as --metrics %s; expected two "
                 "different files", out[1].path, out[0].path);
        return 1;
    }
    return 0;
}

/* The part of a log's header a file must begin with to be an nn-train log of that kind: the
 * first two column names ("epoch,train_loss,"); later columns have grown over versions. */
static int log_prefix(const char *header)
{
    const char *c = strchr(header, ',');
    c = c ? strchr(c + 1, ',') : NULL;
    return c ? (int)(c - header) + 1 : (int)strlen(header);
}

/* 1 if the file at path begins with header's prefix. */
static int is_log(const char *path, const char *header)
{
    char line[256] = "";
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int ok = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    return ok && strncmp(line, header, (size_t)log_prefix(header)) == 0;
}

/* Rank 0 opens every output only after all inputs were checked: bad input writes nothing. */
static int open_outputs(nn_trainer *t, char *err, size_t errlen)
{
    const nn_config *cfg = &t->cfg;
    int fail = 0;
    if (t->comm->rank != 0)
        return 0;
    if (cfg->checkpoint_dir) {
        struct stat st;
        if (stat(cfg->checkpoint_dir, &st) == 0 && !S_ISDIR(st.st_mode)) {
            snprintf(err, errlen, "--checkpoint-dir %s: exists and is not a directory",
                     cfg->checkpoint_dir);
            fail = 1;
        } else if (mkdir_p(cfg->checkpoint_dir) != 0 || stat(cfg->checkpoint_dir, &st) != 0 ||
                   !S_ISDIR(st.st_mode) || access(cfg->checkpoint_dir, W_OK | X_OK) != 0) {
            snprintf(err, errlen, "--checkpoint-dir %s: cannot create or write to it: %s",
                     cfg->checkpoint_dir, strerror(errno));
            fail = 1;
        }
    }
    if (!fail && cfg->checkpoint_dir)
        nn_ckpt_clean_tmp(cfg->checkpoint_dir); /* left by a writer that was killed */
    /* A resumed run continues its logs: rows after the checkpoint (work that is being redone)
     * are dropped, the rest kept. A fresh run starts them anew. */
    const nn_ckpt_meta *ck = t->resume ? &t->resume->meta : NULL;
    struct {
        const char *path, *header;
        FILE **f;
        long keep_upto;
    } logs[2] = {
        {cfg->metrics,
         "epoch,train_loss,reg_loss,val_loss,val_accuracy,samples_per_sec,seconds,compute_s,"
         "allreduce_s,io_s,lr,optimizer_s,matmul_s,allreduce_max_s\n",
         &t->metrics, ck ? ck->epoch : 0},
        {cfg->step_log, "step,epoch,loss\n", &t->step_log, ck ? ck->step : 0},
    };
    for (int i = 0; i < 2 && !fail; i++) {
        if (!logs[i].path)
            continue;
        const char *flag = i == 0 ? "--metrics" : "--step-log";
        struct stat st;
        int append = ck && stat(logs[i].path, &st) == 0 && st.st_size > 0;
        /* A resumed run trims and continues its own log; any other file is left alone. */
        if (append && !is_log(logs[i].path, logs[i].header)) {
            snprintf(err, errlen, "%s %s: not an nn-train log (its first line does not start "
                     "with '%.*s'); expected the log of the run being resumed, or a new file",
                     flag, logs[i].path, log_prefix(logs[i].header), logs[i].header);
            fail = 1;
            break;
        }
        if (append && nn_trim_csv(logs[i].path, logs[i].keep_upto) != 0) {
            snprintf(err, errlen, "%s %s: cannot rewrite it: %s", flag, logs[i].path, strerror(errno));
            fail = 1;
            break;
        }
        *logs[i].f = fopen(logs[i].path, append ? "a" : "w");
        if (!*logs[i].f) {
            snprintf(err, errlen, "%s %s: cannot write: %s", flag, logs[i].path, strerror(errno));
            fail = 1;
        } else if (!append) {
            fputs(logs[i].header, *logs[i].f);
        }
    }
    return fail ? -1 : 0;
}

static int resolve_optimizer(nn_trainer *t, char *err, size_t errlen)
{
    const nn_config *cfg = &t->cfg;
    nn_opt_hparams *hp = &t->hp;
    hp->kind = (nn_opt_kind)nn_opt_from_name(cfg->optimizer);
    hp->lr = (float)cfg->lr;
    hp->momentum = (float)cfg->momentum;
    hp->beta1 = (float)cfg->beta1;
    hp->beta2 = (float)cfg->beta2;
    hp->eps = (float)cfg->eps;
    hp->weight_decay = hp->kind == NN_OPT_ADAMW ? (float)cfg->weight_decay : 0.0f;
    t->l1 = (float)cfg->l1;
    t->l2 = (float)cfg->l2;
    if (hp->kind == NN_OPT_GD) {
        if (nn_config_given(cfg, "batch") && cfg->batch != 0) {
            snprintf(err, errlen, "--optimizer gd is full-batch gradient descent; expected "
                     "--batch 0 (or no --batch), got %ld; use --optimizer sgd for mini-batches",
                     cfg->batch);
            return -1;
        }
        t->cfg.batch = 0;
    }
    if (hp->kind != NN_OPT_SGD && nn_config_given(cfg, "momentum")) {
        snprintf(err, errlen, "--momentum applies to --optimizer sgd only");
        return -1;
    }
    static const char *const adam_only[] = {"beta1", "beta2", "eps"};
    for (int i = 0; i < 3; i++)
        if (hp->kind != NN_OPT_ADAM && hp->kind != NN_OPT_ADAMW &&
            nn_config_given(cfg, adam_only[i])) {
            snprintf(err, errlen, "--%s applies to --optimizer adam and adamw only (this run's "
                     "optimizer is %s)", adam_only[i], nn_opt_name(hp->kind));
            return -1;
        }
    if (hp->kind != NN_OPT_ADAMW && nn_config_given(cfg, "weight-decay")) {
        snprintf(err, errlen, "--weight-decay applies to --optimizer adamw only (use --l2 "
                 "for a penalty with other optimizers)");
        return -1;
    }
    return 0;
}

void nn_trainer_settings(const nn_trainer *t, char *buf, size_t len)
{
    const nn_opt_hparams *hp = &t->hp;
    snprintf(buf, len,
             "layers=%s;activation=%s;loss=%s;optimizer=%s;lr=%.9g;momentum=%.9g;beta1=%.9g;"
             "beta2=%.9g;eps=%.9g;weight_decay=%.9g;l1=%.9g;l2=%.9g;batch=%zu;epochs=%ld;"
             "seed=%ld;val_fraction=%.9g;no_shuffle=%d;normalize=%s;dropout=%.9g;"
             "lr_schedule=%s;warmup_epochs=%.9g;lr_step_epochs=%ld;lr_gamma=%.9g;lr_min=%.9g;"
             "patience=%ld;data=%s",
             t->cfg.layers, nn_act_name(t->lo.act), nn_loss_name(t->lo.loss),
             nn_opt_name(hp->kind), t->lr.base, hp->momentum, hp->beta1, hp->beta2, hp->eps,
             hp->weight_decay, t->l1, t->l2, t->sched.batch, t->cfg.epochs, t->cfg.seed,
             t->cfg.val_fraction, t->cfg.no_shuffle, t->pre.method, t->cfg.dropout,
             t->cfg.lr_schedule, t->cfg.warmup_epochs, t->cfg.lr_step_epochs, t->cfg.lr_gamma,
             t->cfg.lr_min, t->cfg.patience, t->example ? "(built-in example)" : t->cfg.data);
}

/* Rank 0's banner: where the job runs, with what, and how it will train. Every rank takes
 * part in the topology query. */
static void banner(nn_trainer *t, size_t max_local, double load_seconds)
{
    const nn_comm *comm = t->comm;
    const nn_config *cfg = &t->cfg;
    nn_topology topo;
    nn_comm_topology(comm, &topo);
    if (comm->rank != 0)
        return;
    int threads = nn_blas_threads(0);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if ((long)topo.max_per_host * threads > cores)
        fprintf(stderr, "nn-train: warning: %d ranks x %d OpenBLAS thread%s on a host with %ld "
                "cores: oversubscribed, which slows every rank; %s\n",
                topo.max_per_host, threads, threads > 1 ? "s" : "", cores,
                topo.max_per_host > cores ? "run at most one rank per core"
                                          : "set OPENBLAS_NUM_THREADS (or --threads) to cores "
                                            "/ ranks per host");
    if (nn_replica_warning(t->rep))
        fprintf(stderr, "nn-train: warning: %s\n", nn_replica_warning(t->rep));
    if (cfg->quiet)
        return;
    char lib[128], h5[32], layers[256] = "", settings[2048];
    nn_comm_library(lib, sizeof lib);
    nn_h5_version(h5, sizeof h5);
    nn_trainer_settings(t, settings, sizeof settings);
    for (int i = 0; i <= t->lo.n_layers; i++)
        snprintf(layers + strlen(layers), sizeof layers - strlen(layers), "%s%d", i ? "-" : "",
                 t->lo.sizes[i]);
    printf("nn-train %s: %d rank%s on %d host%s: %s\n", NN_VERSION, comm->size,
           comm->size > 1 ? "s" : "", topo.hosts, topo.hosts > 1 ? "s" : "", topo.names);
    printf("system %d OpenBLAS thread%s/rank, up to %d ranks/host on %ld cores; %s, HDF5 %s; "
           "settings hash %016llx\n",
           threads, threads > 1 ? "s" : "", topo.max_per_host, cores, lib, h5,
           (unsigned long long)nn_ckpt_config_hash(settings));
    printf("reduce gradients by %s\n", nn_replica_describe(t->rep));
    printf("data   %s: %zu train / %zu val samples, %d features, %s\n",
           t->example ? "built-in y = 2x" : cfg->data, t->n_train, t->n_val, t->lo.sizes[0],
           t->classify ? "class labels" : "float targets");
    printf("model  %s %s, output %s (%zu parameters)\n", layers, nn_act_name(t->lo.act),
           t->lo.loss == NN_LOSS_XENT ? "softmax + cross-entropy" : "linear + MSE",
           t->lo.n_params);
    printf("train  %s lr %g, global batch %zu (%zu max per rank), %ld steps/epoch, %ld epochs, "
           "%s, loaded in %.2f s\n",
           nn_opt_name(t->hp.kind), t->cfg.lr, t->sched.batch, max_local, t->sched.steps,
           t->cfg.epochs, t->cfg.no_shuffle ? "file order" : "shuffled", load_seconds);
    fflush(stdout);
}

int nn_trainer_setup(nn_trainer *t, const nn_comm *comm, const nn_config *cfg,
                     const char *cmdline)
{
    char err[ERRLEN] = "";
    memset(t, 0, sizeof *t);
    t->comm = comm;
    t->cfg = *cfg;
    t->cmdline = cmdline;
    t->example = cfg->data == NULL;
    t->start_epoch = 1;
    nn_preprocess_init(&t->pre);
    nn_preprocess_init(&t->resume_pre);
    nn_early_stop_init(&t->early);
    if (t->example) { /* the built-in example's own defaults, unless given */
        if (!nn_config_given(cfg, "epochs"))
            t->cfg.epochs = 100;
        if (!nn_config_given(cfg, "batch"))
            t->cfg.batch = 32;
    }
    /* The watchdog first, so that it covers every wait of the run. Inside a Slurm job a frozen
     * rank would otherwise hold the whole allocation until its time limit. */
    if (!nn_config_given(cfg, "comm-timeout") && getenv("SLURM_JOB_ID"))
        t->cfg.comm_timeout = NN_SLURM_COMM_TIMEOUT;
    int st;
    if ((st = nn_fail(comm, nn_comm_watchdog((nn_comm *)comm, t->cfg.comm_timeout) != 0,
                    "cannot start the --comm-timeout watchdog thread")) != 0)
        return st;
    int need_dir = cfg->checkpoint_every_steps > 0 || cfg->checkpoint_interval > 0;
    if ((st = nn_fail(comm, need_dir && !cfg->checkpoint_dir ? NN_EXIT_USAGE : 0,
                    "--checkpoint-every-steps and --checkpoint-interval need --checkpoint-dir")))
        return st;
    /* Rank 0 writes the logs; it checks that none would replace an input. */
    st = comm->rank == 0 && outputs_clash(cfg, err, ERRLEN) ? NN_EXIT_USAGE : 0;
    if ((st = nn_fail(comm, st, err)) != 0)
        return st;
    if ((st = nn_resume_prepare(t, err, ERRLEN)) != 0) /* may take settings from the checkpoint */
        return st;
    if (!t->example && !nn_config_given(cfg, "layers") && !t->resume) {
        snprintf(err, ERRLEN, "--data %s: --layers is required (e.g. --layers 784,256,128,10)",
                 cfg->data);
        return nn_fail(comm, NN_EXIT_USAGE, err);
    }
    if ((st = nn_fail(comm, resolve_optimizer(t, err, ERRLEN) != 0 ? NN_EXIT_USAGE : 0, err)))
        return st;
    if (cfg->threads > 0)
        nn_blas_threads((int)cfg->threads);

    double t0 = nn_now();
    if ((st = load_data(t, err, ERRLEN)) != 0)
        return st;

    /* Everything is sized here, once; the training step allocates nothing. */
    size_t n = t->lo.n_params;
    size_t max_local = nn_sched_max_local(&t->sched);
    size_t max_batch = max_local > 256 ? max_local : 256; /* validation goes in chunks of this */
    int fail = 0;
    /* Parameters, moments and this rank's gradients; under --allreduce auto the ranks of a
     * node share one copy of the state (nn_replica). */
    t->rep = nn_replica_create(comm, n, n + NN_GRAD_TAIL,
                               strcmp(t->cfg.allreduce, "mpi") == 0 ? NN_ALLREDUCE_MPI
                                                                    : NN_ALLREDUCE_AUTO);
    if (t->rep) {
        t->params = nn_replica_state(t->rep, 0);
        t->m = nn_replica_state(t->rep, 1);
        t->v = nn_replica_state(t->rep, 2);
        t->grads = nn_replica_grads(t->rep);
        t->gsum_out = t->grads;
    }
    t->perm = malloc((t->train.n ? t->train.n : 1) * sizeof(uint32_t));
    if (t->train.n > UINT32_MAX || max_local > (size_t)INT_MAX / (size_t)t->lo.max_width) {
        snprintf(err, ERRLEN, "%zu samples per rank and %zu per local batch are beyond this "
                 "build's limits (2^32 and 2^31 floats per layer); use more ranks or a "
                 "smaller --batch",
                 t->train.n, max_local);
        return nn_fail(comm, 1, err);
    }
    t->dropout = (float)t->cfg.dropout;
    t->lr = (nn_lr_schedule){
        .kind = (nn_lr_kind)nn_lr_kind_from_name(t->cfg.lr_schedule), .base = t->cfg.lr,
        .min = t->cfg.lr_min, .gamma = t->cfg.lr_gamma, .step_epochs = t->cfg.lr_step_epochs,
        .warmup_epochs = t->cfg.warmup_epochs, .steps_per_epoch = t->sched.steps,
        .epochs = t->cfg.epochs};
    fail = !t->rep || !t->perm ||
           nn_rows_alloc(&t->batch, max_local, t->train.d, t->train.labels != NULL,
                         t->train.k) != 0 ||
           nn_work_init(&t->work, &t->lo, (int)max_batch) != 0 ||
           (t->dropout > 0.0f && nn_work_enable_dropout(&t->work, &t->lo) != 0);
    if (fail)
        snprintf(err, ERRLEN, "out of memory for a model of %zu parameters", n);
    if ((st = nn_fail(comm, fail, err)) != 0)
        return st;
    if ((st = t->resume ? nn_resume_restore(t, err, ERRLEN)
                        : nn_fail(comm, init_params(t, err, ERRLEN) != 0, err)) != 0)
        return st;
    if ((st = nn_fail(comm, open_outputs(t, err, ERRLEN) != 0, err)) != 0)
        return st;
    nn_sgemm_timing(cfg->metrics != NULL); /* matmul_s is a --metrics column */
    if (cfg->checkpoint_dir) /* pre-emption needs somewhere to save; without it, signals kill */
        nn_signals_install();
    t->last_ckpt_time = nn_now();

    banner(t, max_local, nn_now() - t0);
    return 0;
}

void nn_trainer_free(nn_trainer *t)
{
    if (t->metrics)
        fclose(t->metrics);
    if (t->step_log)
        fclose(t->step_log);
    nn_replica_free(t->rep);
    free(t->perm);
    nn_rows_free(&t->train);
    nn_rows_free(&t->val);
    nn_rows_free(&t->batch);
    nn_work_free(&t->work);
    nn_preprocess_free(&t->pre);
    nn_preprocess_free(&t->resume_pre);
    free(t->resume);
    for (int k = 0; k < 3; k++)
        free(t->resume_state[k]);
    memset(t, 0, sizeof *t);
}

/* ---------------------------------------------------------------- the step */

/* The local part of batch `step`: copied into t->batch when shuffling, or pointed at in
 * place (file order). Returns the row count; sets x and y. No allocation. */
static size_t local_batch(nn_trainer *t, long step, const float **x, nn_batch_y *y)
{
    size_t off, cnt, pos;
    nn_sched_local(&t->sched, step, &off, &cnt, &pos);
    const nn_rows *s = &t->train;
    if (t->cfg.no_shuffle) {
        *x = s->x + off * s->d;
        y->labels = s->labels ? s->labels + off : NULL;
        y->targets = s->targets ? s->targets + off * s->k : NULL;
        return cnt;
    }
    nn_rows *b = &t->batch;
    for (size_t i = 0; i < cnt; i++) {
        size_t r = t->perm[off + i];
        memcpy(b->x + i * s->d, s->x + r * s->d, (size_t)s->d * sizeof(float));
        if (s->labels)
            b->labels[i] = s->labels[r];
        else
            memcpy(b->targets + i * s->k, s->targets + r * s->k, (size_t)s->k * sizeof(float));
    }
    *x = b->x;
    y->labels = s->labels ? b->labels : NULL;
    y->targets = s->targets ? b->targets : NULL;
    return cnt;
}

/* What the optimizer needs for one step, computed once. */
typedef struct {
    nn_trainer *t;
    float grad_scale;
    nn_adam_corr corr;
} opt_step;

/* The update of the floats [a, b) of one tensor, clipped to the range [lo, hi) whose
 * gradient sum g starts at lo. */
static void update_range(const opt_step *o, const float *g, size_t a, size_t b, size_t lo,
                         size_t hi, nn_opt_decay d)
{
    nn_trainer *t = o->t;
    a = a > lo ? a : lo;
    b = b < hi ? b : hi;
    if (a >= b)
        return;
    const float *ga = g + (a - lo);
    if (t->hp.kind == NN_OPT_ADAM || t->hp.kind == NN_OPT_ADAMW)
        nn_adam_apply(t->params + a, ga, t->m + a, t->v + a, b - a, o->grad_scale, &t->hp, d,
                      o->corr);
    else
        nn_sgd_update(t->params + a, ga, t->m + a, b - a, o->grad_scale, &t->hp, d);
}

/* The optimizer on the state positions [lo, hi), whose gradient sum is g
 * (nn_replica_update_fn): every tensor that meets the range, kernels with their penalties
 * and decay, biases without. */
static void optimizer_range(void *ctx, const float *grads, size_t lo, size_t hi)
{
    const opt_step *o = ctx;
    const nn_trainer *t = o->t;
    const nn_layout *l = &t->lo;
    nn_opt_decay dk = {t->l1, t->l2, t->hp.weight_decay}, db = {0, 0, 0};
    for (int i = 0; i < l->n_layers; i++) {
        size_t w = l->w_off[i], b = l->b_off[i];
        update_range(o, grads, w, b, lo, hi, dk);
        update_range(o, grads, b, b + (size_t)l->sizes[i + 1], lo, hi, db);
    }
}

/* The gradients from `from` on are final: other ranks may start adding them up. */
static void publish(void *rep, size_t from) { nn_replica_ready(rep, from); }

/* One global step. Returns the mean data loss of the global batch. */
static double train_step(nn_trainer *t, long step, nn_timers *tm)
{
    const size_t n = t->lo.n_params;
    double t0 = nn_now(), mm0 = nn_sgemm_seconds();
    nn_comm_set_step(t->comm, t->step + 1);
    /* Requests ride the gradient allreduce: any rank's signal, rank 0's clock. */
    t->grads[n + 1] = nn_signal_pending() ? 1.0f : 0.0f;
    t->grads[n + 2] = (t->comm->rank == 0 && t->cfg.checkpoint_interval > 0 &&
                       t0 - t->last_ckpt_time >= t->cfg.checkpoint_interval)
                          ? 1.0f
                          : 0.0f;
    const float *x;
    nn_batch_y y;
    size_t cnt = local_batch(t, step, &x, &y);
    if (cnt > 0) { /* the last, partial batch can leave a rank without samples */
        if (t->dropout > 0.0f) {
            /* The masks of step s on rank r come from (seed, s, r) alone. */
            nn_rng r;
            nn_rng_seed(&r, (uint64_t)t->cfg.seed,
                        nn_stream_id(NN_STREAM_DROPOUT, (uint64_t)t->step, (uint64_t)t->comm->rank));
            nn_forward_train(&t->lo, t->params, &t->work, x, (int)cnt, t->dropout, &r);
        } else {
            nn_forward(&t->lo, t->params, &t->work, x, (int)cnt);
        }
        t->grads[n] = (float)nn_loss_and_grad(&t->lo, &t->work, y, (int)cnt, NULL);
        /* writes all n, publishing each layer's gradients as soon as they are final */
        nn_backward_notify(&t->lo, t->params, t->grads, &t->work, (int)cnt, publish, t->rep);
    } else {
        memset(t->grads, 0, (n + 1) * sizeof(float));
    }
    double t1 = nn_now();
    tm->matmul += nn_sgemm_seconds() - mm0;
    size_t global = nn_sched_global(&t->sched, step);
    t->hp.lr = (float)nn_lr_at(&t->lr, t->step); /* before the step counter advances */
    t->step++;
    opt_step o = {t, 1.0f / (float)global, nn_adam_corrections(&t->hp, t->step)};
    double t_opt;
    /* The one sum over ranks, with the optimizer applied to this rank's share of it. */
    const float *sum = t->gsum_out = nn_replica_step(t->rep, optimizer_range, &o, &t_opt);
    double t2 = nn_now();
    tm->compute += (t1 - t0) + t_opt;
    tm->optimizer += t_opt;
    tm->allreduce += (t2 - t1) - t_opt;
    return (double)sum[n] / (double)global;
}

void nn_trainer_evaluate(nn_trainer *t, const nn_rows *v, double acc[3])
{
    long ok = 0;
    acc[0] = 0.0;
    acc[2] = (double)v->n;
    for (size_t i = 0; i < v->n; i += (size_t)t->work.max_batch) {
        size_t b = v->n - i < (size_t)t->work.max_batch ? v->n - i : (size_t)t->work.max_batch;
        nn_batch_y y = {v->labels ? v->labels + i : NULL, v->targets ? v->targets + i * v->k : NULL};
        nn_forward(&t->lo, t->params, &t->work, v->x + i * v->d, (int)b);
        acc[0] += nn_loss_only(&t->lo, t->work.act[t->lo.n_layers], y, (int)b, &ok);
    }
    acc[1] = (double)ok;
    nn_comm_sum_f64(t->comm, acc, 3); /* exact: sums and counts in double */
}

/* Progress on a terminal only; never on a log file. */
static void progress(const nn_trainer *t, long epoch, long step, double loss, double *last)
{
    if (t->comm->rank != 0 || t->cfg.quiet || !isatty(2))
        return;
    double now = nn_now();
    if (now - *last < 0.5 && step + 1 < t->sched.steps)
        return;
    *last = now;
    fprintf(stderr, "\r  epoch %ld  step %ld/%ld  loss %.4f\033[K", epoch, step + 1,
            t->sched.steps, loss);
    if (step + 1 == t->sched.steps)
        fprintf(stderr, "\r\033[K");
}

int nn_trainer_epoch(nn_trainer *t, long epoch, nn_epoch_stats *st)
{
    memset(st, 0, sizeof *st);
    st->epoch = epoch;
    double t0 = nn_now(), last = 0.0;
    if (!t->cfg.no_shuffle) { /* this rank's shard, reordered from (seed, epoch, rank) */
        nn_rng r;
        nn_rng_seed(&r, (uint64_t)t->cfg.seed,
                    nn_stream_id(NN_STREAM_SHUFFLE, (uint64_t)epoch, (uint64_t)t->comm->rank));
        for (size_t i = 0; i < t->train.n; i++)
            t->perm[i] = (uint32_t)i;
        nn_shuffle_u32(t->perm, t->train.n, &r);
    }
    /* A resumed run re-enters its checkpoint's epoch at the step where it stopped. */
    long first = epoch == t->start_epoch ? t->start_step : 0;
    double loss_sum = epoch == t->start_epoch ? t->start_loss_sum : 0.0;
    size_t n = t->lo.n_params;
    int diverged = 0;
    double samples = 0.0;
    for (long s = first; s < t->sched.steps; s++) {
        double loss = train_step(t, s, &st->t);
        double global = (double)nn_sched_global(&t->sched, s);
        loss_sum += loss * global;
        samples += global;
        if (t->step_log)
            if (fprintf(t->step_log, "%ld,%ld,%.9g\n", t->step, epoch, loss) < 0 &&
                !t->log_errno[1])
                t->log_errno[1] = errno;
        progress(t, epoch, s, loss, &last);
        if (!isfinite(loss)) { /* every rank sees the same allreduced loss: they stop together */
            diverged = 1;
            break;
        }
        /* Checkpoint requests, the same on every rank after the allreduce. One that falls on
         * the epoch's last step waits for the epoch's end, after validation. */
        int stop = t->gsum_out[n + 1] > 0.0f;
        int want = stop || t->gsum_out[n + 2] > 0.0f ||
                   (t->cfg.checkpoint_every_steps > 0 &&
                    t->step % t->cfg.checkpoint_every_steps == 0);
        if (want && s + 1 < t->sched.steps) {
            if (t->step_log && fflush(t->step_log) != 0 && !t->log_errno[1])
                t->log_errno[1] = errno;
            int ok = nn_trainer_checkpoint(t, epoch - 1, s + 1, loss_sum, st, stop);
            if (stop) {
                t->stop = 1;
                t->last_ckpt_failed = !ok;
                return 1;
            }
        } else if (want) {
            t->ckpt_pending = 1;
            t->stop |= stop;
        }
    }
    double t_train = nn_now() - t0;
    if (diverged) {
        if (t->comm->rank == 0)
            nn_error(t->comm, "training diverged: the loss is not finite at step %ld (epoch %ld); "
                     "try a smaller --lr",
                     t->step, epoch);
        return -1;
    }
    double tv = nn_now();
    double v[3];
    nn_trainer_evaluate(t, &t->val, v);
    double vl = v[0], vc = v[1], vn = v[2];
    st->t.compute += nn_now() - tv;
    st->allreduce_max = st->t.allreduce;
    nn_comm_max_f64(t->comm, &st->allreduce_max, 1);
    st->train_loss = loss_sum / (double)t->n_train;
    st->reg_loss = (t->l1 > 0 || t->l2 > 0) ? nn_reg_loss(&t->lo, t->params, t->l1, t->l2) : 0.0;
    st->val_loss = vn > 0 ? vl / vn : NAN;
    st->val_accuracy = (vn > 0 && t->classify) ? vc / vn : NAN;
    st->samples_per_sec = samples / t_train;
    if (t->step_log && fflush(t->step_log) != 0 && !t->log_errno[1])
        t->log_errno[1] = errno;
    st->seconds = nn_now() - t0;
    return 0;
}
