/* adversarial.c: nn-train --adversarial fgsm|pgd (docs/robustness.md). Before each step, each
 * rank replaces some of its own samples by adversarial ones made with the current parameters
 * (nn_attack.h): FGSM, one signed-gradient step of size eps; PGD, a uniform random start in
 * the ball and --adv-steps steps of --adv-step-size, each projected back onto the ball and the
 * training data's range. The step then trains on the batch as perturbed.
 *
 * Units: the rows in memory are already scaled (x' = (x - x_shift) / x_scale), so the ball
 * and the steps are taken per feature in those units: e_j = eps / |x_scale_j|, the raw ball
 * of radius eps; the range [lo_j, hi_j] is the scaled training set's per-feature min and max
 * over every rank's shard (exact, so the same at any rank count).
 *
 * Rank-count invariance (with --no-shuffle): whether a sample is perturbed and its random
 * start come from its own stream, (seed, optimizer step, its position in the epoch), not from
 * the rank that holds it; and a resumed run redraws them from its step alone, so resume is
 * exact with nothing to store. Every buffer is sized at set-up; the step allocates nothing. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_attack.h"
#include "train_internal.h"

struct nn_adv {
    nn_attack_kind kind;
    int steps;
    double frac;
    double step;            /* the step in raw units (FGSM: eps), as set up and printed */
    float *e, *a, *lo, *hi; /* (D) each, in the scaled units */
    float *x0, *x, *g;      /* (max_local, D): the chosen rows clean, perturbed, gradient */
    float *mixed;           /* (max_local, D): the batch as trained on */
    float *targets;         /* (max_local, K) or NULL: the chosen rows' targets */
    int32_t *labels;        /* (max_local) or NULL: the chosen rows' labels */
    size_t *idx;            /* (max_local): which rows of the local batch were chosen */
};

void nn_adv_free(nn_trainer *t)
{
    struct nn_adv *a = t->adv;
    if (!a)
        return;
    free(a->e);
    free(a->x0);
    free(a->targets);
    free(a->labels);
    free(a->idx);
    free(a);
    t->adv = NULL;
}

/* The per-feature range of the training rows in memory over every rank, into lo and hi (D
 * each), through acc: lo in acc[0..D), -hi in acc[D..2D), one MIN reduction for both. */
static void train_range(nn_trainer *t, double *acc, float *lo, float *hi)
{
    const nn_rows *r = &t->train;
    const int d = r->d;
    for (int j = 0; j < 2 * d; j++)
        acc[j] = INFINITY;
    for (size_t i = 0; i < r->n; i++)
        for (int j = 0; j < d; j++) {
            double v = r->x[i * (size_t)d + (size_t)j];
            acc[j] = v < acc[j] ? v : acc[j];
            acc[d + j] = -v < acc[d + j] ? -v : acc[d + j];
        }
    nn_comm_min_f64(t->comm, acc, 2 * (size_t)d);
    for (int j = 0; j < d; j++) { /* float32 values: exact */
        lo[j] = (float)acc[j];
        hi[j] = (float)-acc[d + j];
    }
}

/* The range of the rows as trained on (scaled), into lo and hi. When set-up took the raw
 * range (nn_adv_raw_range, before the scaling: the case on every rank or on none), its
 * scaled image: x' = (x - x_shift) / x_scale rounds monotonically in x (increasing, or
 * decreasing where x_scale < 0), so the scaled rows' min and max are those of the raw min and
 * max, and the data need no second pass nor a second reduction. Else (inputs unscaled, or the
 * built-in example's, scaled as made) train_range. Collective. */
static void scaled_range(nn_trainer *t, double *acc, float *lo, float *hi)
{
    const int D = t->train.d;
    if (t->example || !t->pre.x_min) {
        train_range(t, acc, lo, hi);
        return;
    }
    memcpy(lo, t->pre.x_min, (size_t)D * sizeof(float));
    memcpy(hi, t->pre.x_max, (size_t)D * sizeof(float));
    nn_preprocess_apply_x(&t->pre, lo, 1, D);
    nn_preprocess_apply_x(&t->pre, hi, 1, D);
    for (int j = 0; j < D; j++)
        if (t->pre.x_scale[j] < 0.0f) {
            float v = lo[j];
            lo[j] = hi[j];
            hi[j] = v;
        }
}

int nn_adv_raw_range(nn_trainer *t)
{
    const int d = t->train.d;
    double *acc = malloc(2 * (size_t)d * sizeof(double));
    free(t->pre.x_min); /* a resumed run's: the same rows give the same values */
    free(t->pre.x_max);
    t->pre.x_min = malloc((size_t)d * sizeof(float));
    t->pre.x_max = malloc((size_t)d * sizeof(float));
    if (nn_fail(t->comm, !acc || !t->pre.x_min || !t->pre.x_max,
                "out of memory for the training data's range")) {
        free(acc);
        return 1;
    }
    train_range(t, acc, t->pre.x_min, t->pre.x_max); /* collective */
    free(acc);
    return 0;
}

int nn_adv_setup(nn_trainer *t, size_t max_local, char *err, size_t errlen)
{
    const nn_config *cfg = &t->cfg;
    int kind = nn_attack_from_name(cfg->adversarial);
    if (kind <= 0)
        return 0;
    /* (a checkpoint of format 1 to 3 gives 0 for the settings it does not hold) */
    if (cfg->adv_eps <= 0.0 || cfg->adv_fraction <= 0.0 || cfg->adv_steps < 1) {
        snprintf(err, errlen, "--adversarial %s: --adv-eps %g, --adv-fraction %g and "
                 "--adv-steps %ld; expected a radius > 0, a fraction in (0, 1] and at least 1 "
                 "step", cfg->adversarial, cfg->adv_eps, cfg->adv_fraction, cfg->adv_steps);
        return nn_fail(t->comm, NN_EXIT_USAGE, err);
    }
    const int D = t->lo.sizes[0], K = t->lo.sizes[t->lo.n_layers];
    const size_t rows = (max_local ? max_local : 1) * (size_t)D;
    struct nn_adv *a = t->adv = calloc(1, sizeof *a);
    double *acc = malloc(2 * (size_t)D * sizeof(double));
    int fail = !a || !acc;
    if (!fail) {
        a->kind = (nn_attack_kind)kind;
        a->steps = kind == NN_ATTACK_PGD ? (int)cfg->adv_steps : 1;
        a->frac = cfg->adv_fraction;
        a->e = malloc(4 * (size_t)D * sizeof(float)); /* e, a, lo, hi */
        a->x0 = malloc(4 * rows * sizeof(float));     /* x0, x, g, mixed */
        a->idx = malloc((max_local ? max_local : 1) * sizeof(size_t));
        if (t->train.labels)
            a->labels = malloc((max_local ? max_local : 1) * sizeof(int32_t));
        else
            a->targets = malloc((max_local ? max_local : 1) * (size_t)K * sizeof(float));
        fail = !a->e || !a->x0 || !a->idx || (!a->labels && !a->targets);
    }
    snprintf(err, errlen, "out of memory for --adversarial's buffers (%zu rows of %d features)",
             max_local, D);
    if ((fail = nn_fail(t->comm, fail, err)) != 0) {
        free(acc);
        return fail;
    }
    a->a = a->e + D;
    a->lo = a->e + 2 * (size_t)D;
    a->hi = a->e + 3 * (size_t)D;
    a->x = a->x0 + rows;
    a->g = a->x0 + 2 * rows;
    a->mixed = a->x0 + 3 * rows;
    scaled_range(t, acc, a->lo, a->hi); /* collective */
    free(acc);
    double eps = cfg->adv_eps;
    double step = cfg->adv_step_size > 0.0 ? cfg->adv_step_size : 2.5 * eps / a->steps;
    if (kind == NN_ATTACK_FGSM)
        step = eps;
    a->step = step;
    for (int j = 0; j < D; j++) {
        double s = t->pre.x_scale ? fabs((double)t->pre.x_scale[j]) : 1.0;
        a->e[j] = (float)(eps / s);
        a->a[j] = (float)(step / s);
    }
    return 0;
}

void nn_adv_describe(const nn_trainer *t)
{
    const struct nn_adv *a = t->adv;
    if (!a || t->cfg.quiet || t->comm->rank != 0)
        return;
    if (a->kind == NN_ATTACK_PGD)
        printf("adversarial pgd: eps %g, %d steps of %g from a random start (raw input units, "
               "clipped to the training data's range), %g of the samples\n",
               t->cfg.adv_eps, a->steps, a->step, a->frac);
    else
        printf("adversarial fgsm: eps %g (raw input units, clipped to the training data's "
               "range), %g of the samples\n",
               t->cfg.adv_eps, a->frac);
    fflush(stdout);
}

/* Row i's uniform draws: first whether it is chosen, then its random start. */
static void row_stream(const nn_trainer *t, size_t position, nn_rng *r)
{
    nn_rng_seed(r, (uint64_t)t->cfg.seed,
                nn_stream_id(NN_STREAM_ADVERSARIAL, (uint64_t)t->step, (uint64_t)position));
}

const float *nn_adv_perturb(nn_trainer *t, long step, const float *x, nn_batch_y y, size_t cnt)
{
    struct nn_adv *a = t->adv;
    if (!a || cnt == 0)
        return x;
    const int D = t->lo.sizes[0], K = t->lo.sizes[t->lo.n_layers];
    size_t off, n, pos;
    nn_sched_local(&t->sched, step, &off, &n, &pos);
    /* which rows, and their clean copies and targets, packed */
    size_t m = 0;
    nn_rng r[1];
    for (size_t i = 0; i < cnt; i++) {
        row_stream(t, pos + i, r);
        if (!(nn_rng_uniform(r) < a->frac))
            continue;
        const float *xi = x + i * (size_t)D;
        memcpy(a->x0 + m * (size_t)D, xi, (size_t)D * sizeof(float));
        float *xa = a->x + m * (size_t)D;
        if (a->kind == NN_ATTACK_PGD) /* uniform in the ball, then onto the range */
            for (int j = 0; j < D; j++)
                xa[j] = xi[j] + a->e[j] * (float)(2.0 * nn_rng_uniform(r) - 1.0);
        else
            memcpy(xa, xi, (size_t)D * sizeof(float));
        if (y.labels)
            a->labels[m] = y.labels[i];
        else
            memcpy(a->targets + m * (size_t)K, y.targets + i * (size_t)K,
                   (size_t)K * sizeof(float));
        a->idx[m++] = i;
    }
    if (m == 0)
        return x;
    if (a->kind == NN_ATTACK_PGD)
        nn_attack_project(a->x, a->x0, m, D, a->e, a->lo, a->hi);
    nn_batch_y ym = {y.labels ? a->labels : NULL, y.labels ? NULL : a->targets, y.class_w,
                     y.y_scale};
    for (int s = 0; s < a->steps; s++) {
        nn_attack_grad(&t->lo, t->params, &t->work, a->x, ym, (int)m, a->g, NULL);
        nn_attack_step(a->x, a->x0, a->g, m, D, a->a, a->e, a->lo, a->hi);
    }
    if (m == cnt)
        return a->x; /* every row chosen, in order */
    memcpy(a->mixed, x, cnt * (size_t)D * sizeof(float));
    for (size_t k = 0; k < m; k++)
        memcpy(a->mixed + a->idx[k] * (size_t)D, a->x + k * (size_t)D, (size_t)D * sizeof(float));
    return a->mixed;
}
