/* explain.c: nn-predict --explain ig|gradxinput|saliency and --importance permutation|ig
 * (explain.h, docs/explain.md).
 *
 * After predictor.h's prolog (the model from rank 0, the split probed), each rank takes its
 * balanced block of the --rows list and reads those rows. Rows go through passes of a fixed
 * size aligned to global multiples of it (rows of a pass that a rank does not own are zeros),
 * as predictions do in main.c, so a row's answer is the same bits at any rank count. The
 * records are gathered on rank 0 in file order and written there; the permutation scores are
 * counts (accuracy) or double sums (MSE) added up over ranks. Every failure is decided by all
 * ranks (nn_fail). */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explain.h"
#include "nn_attrib.h"
#include "nn_clock.h"
#include "nn_comm.h"
#include "nn_h5data.h"
#include "nn_kernels.h"
#include "nn_report.h"
#include "nn_rng.h"
#include "nn_shard.h"
#include "predictor.h"

/* The shuffles' random stream (nn_rng.h's tags for nn-train end at 16). */
#define STREAM_PERMUTE 17

typedef struct {
    predictor *p;
    int D, K, L;
    int fixed;          /* the class (or output) attributed, or -1: each row's prediction */
    size_t *sel, n_sel; /* the file rows, ascending; every rank holds the list */
    size_t lo, hi;      /* this rank's part: sel[lo .. hi) */
    nn_rows rows;       /* x (and y) of this rank's rows */
    float *base;        /* (D) the raw baseline, or NULL when no method needs one */
    char **names;       /* (D) feature names, rank 0 */
    int names_meta;
    int exact;          /* IG: 1 the exact method (nn_attr_ig_exact), 0 the midpoint rule */
    double segs[2];     /* exact IG: the rows' linear pieces, summed and at most (all ranks) */
} explainer;

/* ---------------------------------------------------------------- set-up */

/* --class: -1 for pred (a regression model: output 0), else N in [0, K). 0 or -1 (err). */
static int parse_class(const explainer *e, char *err, size_t errlen, int *fixed)
{
    const char *s = e->p->cfg.klass;
    if (strcmp(s, "pred") == 0) {
        *fixed = e->p->classify ? -1 : 0;
        return 0;
    }
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < 0 || v >= e->K) {
        snprintf(err, errlen, "--class %s: expected pred or a %s in [0, %d]", s,
                 e->p->classify ? "class" : "output column", e->K - 1);
        return -1;
    }
    *fixed = (int)v;
    return 0;
}

/* --ig-method into e->exact: auto takes the exact method where the model is piecewise linear.
 * Exit status (decided alike on every rank: each holds the model's layout). */
static int resolve_ig_method(explainer *e)
{
    const predictor *p = e->p;
    const char *m = p->cfg.ig_method;
    const int applies = nn_attr_exact_applies(&p->lo);
    e->exact = strcmp(m, "exact") == 0 || (strcmp(m, "auto") == 0 && applies);
    char err[ERRLEN] = "";
    if (e->exact && !applies)
        snprintf(err, sizeof err, "--ig-method exact: the model's hidden activation is %s, which "
                 "is not piecewise linear; expected a relu or linear model, or --ig-method "
                 "riemann (or auto)", nn_act_name(p->lo.act));
    return nn_fail(p->comm, e->exact && !applies ? NN_EXIT_USAGE : 0, err);
}

/* --baseline mean|zero|FILE into e->base, on rank 0 and then everyone. Exit status. */
static int load_baseline(explainer *e)
{
    const predictor *p = e->p;
    const char *b = p->cfg.baseline;
    char err[ERRLEN] = "";
    int fail = !(e->base = calloc((size_t)e->D, sizeof(float)));
    if (nn_fail(p->comm, fail, "out of memory for the baseline"))
        return 1;
    if (strcmp(b, "zero") == 0)
        return 0;
    if (strcmp(b, "mean") == 0) { /* zscore's x_shift is the training set's mean */
        if (strcmp(p->pre.method, "zscore") != 0 || !p->pre.x_shift) {
            snprintf(err, sizeof err, "--baseline mean: the checkpoint's /preprocess is '%s', "
                     "which holds no training mean (zscore does); expected --baseline zero or "
                     "a FILE of %d numbers", p->pre.method, e->D);
            return nn_fail(p->comm, NN_EXIT_USAGE, err);
        }
        memcpy(e->base, p->pre.x_shift, (size_t)e->D * sizeof(float));
        return 0;
    }
    if (p->comm->rank == 0)
        fail = ex_read_baseline(b, e->D, e->base, err, sizeof err) != 0 ? NN_EXIT_USAGE : 0;
    if ((fail = nn_fail(p->comm, fail, err)) != 0)
        return fail;
    nn_comm_bcast(p->comm, e->base, (size_t)e->D * sizeof(float), 0);
    return 0;
}

/* Reads this rank's rows sel[lo..hi) and checks them. 0 or -1 (err). */
static int read_rows(explainer *e, char *err, size_t errlen)
{
    const predictor *p = e->p;
    size_t n = e->hi - e->lo;
    if (n == 0)
        return nn_rows_alloc(&e->rows, 0, e->D, 0, 0) != 0 ? -1 : 0;
    if (nn_h5_read_rows(p->cfg.data, p->split, &p->info, e->sel + e->lo, n, &e->rows, err,
                        errlen) != 0)
        return -1;
    nn_rows_source src = {p->cfg.data, p->split, e->sel + e->lo, 0,
                          "expected finite float32 values", "the model"};
    return nn_rows_check(&e->rows, e->K, &src, err, errlen);
}

/* The parts every method shares: --class, --rows, this rank's rows, the feature names.
 * Exit status (decided by all). */
static int setup(explainer *e, int need_baseline, int need_y)
{
    predictor *p = e->p;
    char err[ERRLEN] = "";
    int fail = parse_class(e, err, sizeof err, &e->fixed) != 0 ||
                       ex_parse_rows(p->cfg.rows, p->info.n, &e->sel, &e->n_sel, err,
                                     sizeof err) != 0
                   ? NN_EXIT_USAGE
                   : 0;
    if (!fail && e->n_sel == 0) { /* the data's fault, not a flag's */
        snprintf(err, sizeof err, "--data %s: /%s has no rows; expected at least one to explain",
                 p->cfg.data, p->split);
        fail = 1;
    }
    if (!fail && need_y && p->info.x_only) {
        snprintf(err, sizeof err, "--importance permutation: %s /%s has no y; expected labels "
                 "or targets to score the shuffled rows against", p->cfg.data, p->split);
        fail = NN_EXIT_USAGE;
    }
    if ((fail = nn_fail(p->comm, fail, err)) != 0)
        return fail;
    if (need_baseline && (fail = load_baseline(e)) != 0)
        return fail;
    e->lo = nn_split_lo(e->n_sel, p->comm->size, p->comm->rank);
    e->hi = nn_split_lo(e->n_sel, p->comm->size, p->comm->rank + 1);
    double t0 = nn_now();
    fail = read_rows(e, err, sizeof err) != 0;
    p->t_io += nn_now() - t0;
    if (nn_fail(p->comm, fail, err))
        return 1;
    if (p->comm->rank == 0)
        fail = !(e->names = ex_feature_names(p->cfg.data, e->D, &e->names_meta));
    return nn_fail(p->comm, fail, "out of memory for the feature names");
}

static const char *target_words(const explainer *e)
{
    if (e->p->classify)
        return e->fixed < 0 ? "softmax probability of the predicted class"
                            : "softmax probability of class --class";
    return e->p->pre.y_shift ? "output --class in the targets' units (after /preprocess)"
                             : "output --class";
}

/* ---------------------------------------------------------------- attributions */

/* The attributions of this rank's rows into rec (n_own, EX_HEAD + D), method ig, gradxinput
 * or saliency. Passes of R rows (R * steps path points for IG). Exit status (all ranks). */
static int attribute(explainer *e, const char *method, float *rec)
{
    predictor *p = e->p;
    const int D = e->D, W = EX_HEAD + D, ig = strcmp(method, "ig") == 0;
    const int steps = ig && !e->exact ? (int)p->cfg.steps : 1;
    size_t R = ig ? (size_t)(p->cfg.batch / steps > 0 ? p->cfg.batch / steps : 1)
                  : (size_t)p->cfg.batch;
    if (R > e->n_sel) /* the same on every rank and at every rank count */
        R = e->n_sel;
    char err[ERRLEN] = "";
    size_t B = R * (size_t)steps;
    if (B > (size_t)INT_MAX / (size_t)(p->lo.max_width > D ? p->lo.max_width : D)) {
        snprintf(err, sizeof err, "--batch %ld, --steps %d: passes of %zu rows are beyond this "
                 "build's limit of 2^31 floats per layer; use a smaller --batch or --steps",
                 p->cfg.batch, steps, B);
        return nn_fail(p->comm, NN_EXIT_USAGE, err);
    }
    nn_work w;
    memset(&w, 0, sizeof w);
    float *xs = malloc(B * (size_t)D * sizeof(float)), *x = malloc(R * (size_t)D * sizeof(float));
    float *g = malloc(B * (size_t)D * sizeof(float)), *fx = malloc(R * sizeof(float));
    float *fb = malloc((size_t)e->K * sizeof(float));
    int *cls = malloc(R * sizeof(int));
    double *acc = malloc((size_t)D * sizeof(double));
    nn_attr_exact ex;
    memset(&ex, 0, sizeof ex);
    int fail = !xs || !x || !g || !fx || !fb || !cls || !acc || nn_work_init(&w, &p->lo, (int)B) ||
               (ig && e->exact && nn_attr_exact_init(&ex, &p->lo, 1024) != 0);
    snprintf(err, sizeof err, "out of memory for passes of %zu rows of %d features", B, D);
    if (nn_fail(p->comm, fail, err))
        goto out;
    nn_attr_model m = {&p->lo, p->params, &p->pre, &w, xs};
    if (ig) { /* f(baseline) for every class, from one pass of the baseline alone */
        int k0 = 0;
        nn_attr_grad(&m, e->base, 1, &k0, NULL, NULL, NULL);
        for (int k = 0; k < e->K; k++)
            fb[k] = (float)nn_attr_value(&p->lo, &p->pre, w.act[e->L], k);
    }
    double t0 = nn_now();
    e->segs[0] = e->segs[1] = 0.0;
    for (size_t j = e->lo / R; !fail && e->hi > e->lo && j <= (e->hi - 1) / R; j++) {
        size_t a = j * R > e->lo ? j * R : e->lo, b = (j + 1) * R < e->hi ? (j + 1) * R : e->hi;
        memset(x, 0, R * (size_t)D * sizeof(float));
        memcpy(x + (a - j * R) * (size_t)D, e->rows.x + (a - e->lo) * (size_t)D,
               (b - a) * (size_t)D * sizeof(float));
        for (size_t i = 0; i < R; i++)
            cls[i] = e->fixed;
        nn_attr_grad(&m, x, (int)R, e->fixed >= 0 ? cls : NULL, cls, fx, ig ? NULL : g);
        if (ig && !e->exact)
            nn_attr_ig(&m, x, e->base, (int)R, steps, cls, g, acc, g);
        for (size_t s = a; ig && e->exact && s < b; s++) { /* row by row: the rows you own */
            size_t i = s - j * R;
            int segs = 0;
            if ((fail = nn_attr_ig_exact(&m, &ex, x + i * (size_t)D, e->base, cls[i],
                                         g + i * (size_t)D, &segs) != 0) != 0)
                break;
            e->segs[0] += segs;
            e->segs[1] = segs > e->segs[1] ? segs : e->segs[1];
        }
        if (fail)
            break;
        for (size_t s = a; s < b; s++) {
            size_t i = s - j * R;
            float *r = rec + (s - e->lo) * (size_t)W;
            const float *xi = x + i * (size_t)D, *gi = g + i * (size_t)D;
            double sum = 0.0;
            for (int f = 0; f < D; f++) {
                float v = ig ? gi[f] : method[0] == 'g' ? xi[f] * gi[f] : fabsf(gi[f]);
                r[EX_HEAD + f] = v;
                sum += v;
            }
            r[EX_CLASS] = (float)cls[i];
            r[EX_FX] = fx[i];
            r[EX_FB] = r[EX_SUM] = r[EX_GAP] = NAN;
            if (ig) {
                double delta = (double)fx[i] - fb[cls[i]];
                r[EX_FB] = fb[cls[i]];
                r[EX_SUM] = (float)sum;
                r[EX_GAP] = (float)(delta != 0.0 ? fabs(sum - delta) / fabs(delta)
                                                 : (sum == 0.0 ? 0.0 : INFINITY));
            }
        }
    }
    p->t_compute += nn_now() - t0;
    snprintf(err, sizeof err, "--ig-method exact: out of memory for a path's linear pieces (or "
             "more than 2^24 of them); expected --ig-method riemann");
    if (!(fail = nn_fail(p->comm, fail, err)) && ig && e->exact) {
        nn_comm_sum_f64(p->comm, e->segs, 1);
        nn_comm_max_f64(p->comm, e->segs + 1, 1);
    }
out:
    nn_attr_exact_free(&ex);
    nn_work_free(&w);
    free(xs);
    free(x);
    free(g);
    free(fx);
    free(fb);
    free(cls);
    free(acc);
    return fail;
}

/* Every rank's records, on rank 0 in file order (*all, (n_sel, W)); NULL elsewhere. */
static int gather(explainer *e, const float *rec, float **all)
{
    const nn_comm *c = e->p->comm;
    const size_t W = (size_t)(EX_HEAD + e->D), total = e->n_sel * W;
    *all = NULL;
    if (c->rank == 0)
        *all = malloc((total ? total : 1) * sizeof(float));
    if (nn_fail(c, c->rank == 0 && !*all, "out of memory on rank 0 for the attributions"))
        return 1;
    int rc = nn_comm_gatherv_f32(c, rec, (e->hi - e->lo) * W, *all, total, 0);
    return nn_fail(c, rc != 0, "gathering the attributions failed");
}

/* Rank 0: IG's completeness over the rows, in words. */
static void say_completeness(const explainer *e, const float *all)
{
    const size_t W = (size_t)(EX_HEAD + e->D);
    size_t within = 0, worst = 0;
    for (size_t i = 0; i < e->n_sel; i++) {
        const float *r = all + i * W;
        within += r[EX_GAP] <= 0.01f;
        if (!(r[EX_GAP] <= all[worst * W + EX_GAP]))
            worst = i;
    }
    const float *r = all + worst * W;
    char how[96];
    if (e->exact)
        snprintf(how, sizeof how, "exact: %.1f linear pieces per row, at most %.0f",
                 e->segs[0] / (double)e->n_sel, e->segs[1]);
    else
        snprintf(how, sizeof how, "riemann: %ld steps", e->p->cfg.steps);
    nn_say(e->p->comm, e->p->cfg.quiet,
           "complete %zu of %zu rows within 1%% (sum of attributions vs f(x) - f(baseline), "
           "%s); largest gap %.3g%% at row %zu (f(x) - f(baseline) = %.6g)\n",
           within, e->n_sel, how, 100.0 * r[EX_GAP], e->sel[worst],
           (double)r[EX_FX] - r[EX_FB]);
}

static ex_meta meta_of(const explainer *e, const char *method)
{
    const predictor *p = e->p;
    ex_meta m = {method, target_words(e), NULL, e->exact ? "exact" : "riemann", e->D, (int)p->cfg.steps, (int)p->cfg.repeats,
                 p->cfg.baseline, e->base, p->cfg.model, p->cfg.data, p->split, p->comm->size,
                 (const char *const *)e->names, e->names_meta};
    return m;
}

/* Rank 0 prints the top features and writes --output; the verdict is shared. */
static int finish_importance(explainer *e, const char *method, const char *metric,
                             const double *imp, const double *spread)
{
    predictor *p = e->p;
    char err[ERRLEN] = "";
    int fail = 0;
    if (p->comm->rank == 0) {
        ex_meta m = meta_of(e, method);
        m.metric = metric;
        int *order = malloc((size_t)e->D * sizeof *order);
        if (order && !p->cfg.quiet) {
            ex_rank(imp, e->D, order);
            printf("importance (%s, %s over %zu rows):\n", method, metric, e->n_sel);
            for (int r = 0; r < e->D && r < 10; r++)
                printf("  %2d. %-24s %.6g +- %.3g\n", r + 1, e->names[order[r]], imp[order[r]],
                       spread[order[r]]);
            fflush(stdout);
        }
        free(order);
        double t0 = nn_now();
        if (p->cfg.output)
            fail = ex_write_importance(p->cfg.output, p->cfg.out_kind, &m, imp, spread, e->n_sel,
                                       err, sizeof err) != 0;
        p->t_out = nn_now() - t0;
    }
    return nn_fail(p->comm, fail, err);
}

/* --explain METHOD, or --importance ig (the mean |IG| per feature over the rows). */
static int run_attributions(explainer *e, const char *method, int importance)
{
    predictor *p = e->p;
    const size_t W = (size_t)(EX_HEAD + e->D), n_own = e->hi - e->lo;
    char err[ERRLEN] = "";
    float *rec = malloc((n_own ? n_own : 1) * W * sizeof(float)), *all = NULL;
    int rc = nn_fail(p->comm, !rec, "out of memory for the attributions");
    if (rc == 0)
        rc = attribute(e, method, rec);
    if (rc == 0)
        rc = gather(e, rec, &all);
    free(rec);
    if (rc != 0)
        return rc;
    int fail = 0;
    if (p->comm->rank == 0 && strcmp(method, "ig") == 0)
        say_completeness(e, all);
    if (importance) { /* rank 0 adds up in file order: the same bits at any rank count */
        double *imp = calloc((size_t)e->D * 2, sizeof(double));
        fail = p->comm->rank == 0 && !imp;
        for (size_t i = 0; p->comm->rank == 0 && imp && i < e->n_sel; i++)
            for (int f = 0; f < e->D; f++) {
                double v = fabs((double)all[i * W + EX_HEAD + f]);
                imp[f] += v;
                imp[e->D + f] += v * v;
            }
        for (int f = 0; p->comm->rank == 0 && imp && f < e->D; f++) {
            double mean = imp[f] / (double)e->n_sel, var = imp[e->D + f] / (double)e->n_sel -
                                                           mean * mean;
            imp[f] = mean;
            imp[e->D + f] = sqrt(var > 0 ? var : 0); /* across the rows */
        }
        if ((rc = nn_fail(p->comm, fail, "out of memory for the importances")) == 0)
            rc = finish_importance(e, "ig", "mean |IG|", imp, imp ? imp + e->D : NULL);
        free(imp);
        free(all);
        return rc;
    }
    if (p->comm->rank == 0) {
        ex_meta m = meta_of(e, method);
        double t0 = nn_now();
        fail = ex_write_attributions(p->cfg.output, p->cfg.out_kind, &m, e->sel, all, e->n_sel,
                                     err, sizeof err) != 0;
        p->t_out = nn_now() - t0;
    }
    free(all);
    if ((rc = nn_fail(p->comm, fail, err)) == 0)
        nn_say(p->comm, p->cfg.quiet, "wrote  %s (%zu rows x %d features, %s)\n", p->cfg.output,
               e->n_sel, e->D, method);
    return rc;
}

/* ---------------------------------------------------------------- permutation importance */

/* The score of this rank's rows xs (n_own, D), already scaled: correct predictions, or the
 * sum of squared errors in the targets' units (y: K floats of scratch). Passes of B rows
 * aligned as in attribute(), through the model nn-predict scores with (an export's integer
 * kernels, or the float parameters). */
static double score(explainer *e, nn_work *w, const float *xs, float *pass, size_t B, float *y)
{
    predictor *p = e->p;
    const int D = e->D, K = e->K;
    double s = 0.0;
    for (size_t j = e->lo / B; e->hi > e->lo && j <= (e->hi - 1) / B; j++) {
        size_t a = j * B > e->lo ? j * B : e->lo, b = (j + 1) * B < e->hi ? (j + 1) * B : e->hi;
        memset(pass, 0, B * (size_t)D * sizeof(float));
        memcpy(pass + (a - j * B) * (size_t)D, xs + (a - e->lo) * (size_t)D,
               (b - a) * (size_t)D * sizeof(float));
        nn_infer(&p->lo, p->params, p->q.blob ? &p->q : NULL, w, pass, (int)B);
        for (size_t r = a; r < b; r++) {
            const float *z = w->act[e->L] + (r - j * B) * (size_t)K;
            if (p->classify) {
                int best = 0;
                for (int k = 1; k < K; k++)
                    if (z[k] > z[best])
                        best = k;
                s += best == e->rows.labels[r - e->lo];
            } else {
                memcpy(y, z, (size_t)K * sizeof(float));
                nn_preprocess_unapply_y(&p->pre, y, 1, K);
                for (int k = 0; k < K; k++) {
                    double d = (double)y[k] - e->rows.targets[(r - e->lo) * (size_t)K + k];
                    s += d * d;
                }
            }
        }
    }
    return s;
}

/* Mean drop in accuracy (regression: rise in MSE) when one feature's values are shuffled
 * among the rows, over --repeats shuffles; the spread is their standard deviation. */
static int run_permutation(explainer *e)
{
    predictor *p = e->p;
    const nn_comm *c = p->comm;
    const int D = e->D, R = (int)p->cfg.repeats;
    const size_t n = e->n_sel, n_own = e->hi - e->lo;
    const size_t B = (size_t)p->cfg.batch < n ? (size_t)p->cfg.batch : n;
    nn_work w;
    memset(&w, 0, sizeof w);
    float *xall = malloc((n ? n : 1) * (size_t)D * sizeof(float));
    float *mine = malloc((n_own ? n_own : 1) * (size_t)D * sizeof(float));
    float *pass = malloc(B * (size_t)D * sizeof(float));
    uint32_t *perm = malloc((n ? n : 1) * sizeof *perm);
    double *imp = calloc((size_t)D * 2 + (size_t)R, sizeof(double));
    float *y = malloc((size_t)e->K * sizeof(float));
    int fail = !xall || !mine || !pass || !perm || !imp || !y ||
               nn_work_init(&w, &p->lo, (int)B);
    char err[ERRLEN];
    snprintf(err, sizeof err, "out of memory for %zu rows of %d features on each rank", n, D);
    int rc = nn_fail(c, fail, err);
    if (rc == 0) { /* every rank needs every row's values to shuffle in */
        rc = nn_comm_gatherv_f32(c, e->rows.x, n_own * (size_t)D, xall, n * (size_t)D, 0);
        rc = nn_fail(c, rc != 0, "gathering the rows failed");
    }
    if (rc != 0)
        goto out;
    nn_comm_bcast(c, xall, n * (size_t)D * sizeof(float), 0);
    nn_preprocess_apply_x(&p->pre, xall, n, D); /* scaling is per feature: shuffle after it */
    double t0 = nn_now();
    double per = p->classify ? (double)n : (double)n * e->K; /* score -> accuracy or MSE */
    memcpy(mine, xall + e->lo * (size_t)D, n_own * (size_t)D * sizeof(float));
    double s0 = score(e, &w, mine, pass, B, y);
    nn_comm_sum_f64(c, &s0, 1);
    double *s = imp + 2 * (size_t)D;
    for (int f = 0; f < D; f++) {
        for (int r = 0; r < R; r++) {
            nn_rng g;
            nn_rng_seed(&g, (uint64_t)p->cfg.seed, nn_stream_id(STREAM_PERMUTE, (uint64_t)f,
                                                                 (uint64_t)r));
            for (size_t i = 0; i < n; i++)
                perm[i] = (uint32_t)i;
            nn_shuffle_u32(perm, n, &g);
            for (size_t i = 0; i < n_own; i++) /* row lo + i takes row perm[lo + i]'s value */
                mine[i * (size_t)D + f] = xall[(size_t)perm[e->lo + i] * D + f];
            s[r] = score(e, &w, mine, pass, B, y);
        }
        for (size_t i = 0; i < n_own; i++) /* put the feature back */
            mine[i * (size_t)D + f] = xall[(e->lo + i) * (size_t)D + f];
        nn_comm_sum_f64(c, s, (size_t)R);
        double sum = 0.0, ss = 0.0;
        for (int r = 0; r < R; r++) { /* accuracy drops; MSE rises */
            double d = p->classify ? (s0 - s[r]) / per : (s[r] - s0) / per;
            sum += d;
            ss += d * d;
        }
        imp[f] = sum / R;
        double var = ss / R - imp[f] * imp[f];
        imp[D + f] = sqrt(var > 0 ? var : 0); /* across the repeats (numpy's std, ddof 0) */
    }
    p->t_compute += nn_now() - t0;
    nn_say(c, p->cfg.quiet, "score  %s %.9g on the %zu rows, unshuffled\n",
           p->classify ? "accuracy" : "MSE", s0 / per, n);
    rc = finish_importance(e, "permutation",
                           p->classify ? "accuracy drop" : "MSE rise (targets' units)", imp,
                           imp + D);
out:
    nn_work_free(&w);
    free(xall);
    free(mine);
    free(pass);
    free(perm);
    free(imp);
    free(y);
    return rc;
}

/* ---------------------------------------------------------------- the mode */

int explain_run(predictor *p)
{
    int st = load_model(p) != 0 ? 1 : open_split(p);
    if (st != 0)
        return st < 0 ? 1 : st;
    banner(p);
    explainer e;
    memset(&e, 0, sizeof e);
    e.p = p;
    e.D = p->lo.sizes[0];
    e.L = p->lo.n_layers;
    e.K = p->lo.sizes[e.L];
    const char *method = p->cfg.explain ? p->cfg.explain : p->cfg.importance;
    int ig = strcmp(method, "ig") == 0, perm = strcmp(method, "permutation") == 0;
    int rc = ig ? resolve_ig_method(&e) : 0;
    if (rc == 0)
        rc = setup(&e, ig, perm);
    if (rc == 0) {
        nn_say(p->comm, p->cfg.quiet, "%s %s: %zu rows, attributing the %s", p->cfg.explain ?
               "explain" : "importance", method, e.n_sel, perm ? "model's score" :
               target_words(&e));
        if (ig && e.exact)
            nn_say(p->comm, p->cfg.quiet, "; baseline %s, exact (the path's linear pieces)",
                   p->cfg.baseline);
        else if (ig)
            nn_say(p->comm, p->cfg.quiet, "; baseline %s, %ld steps", p->cfg.baseline,
                   p->cfg.steps);
        if (perm)
            nn_say(p->comm, p->cfg.quiet, "; %ld shuffles per feature, seed %ld",
                   p->cfg.repeats, p->cfg.seed);
        nn_say(p->comm, p->cfg.quiet, "\n");
        rc = perm ? run_permutation(&e) : run_attributions(&e, method, p->cfg.importance != NULL);
    }
    if (rc == 0) {
        double t[3] = {p->t_io, p->t_compute, p->t_out};
        nn_comm_max_f64(p->comm, t, 3);
        nn_say(p->comm, p->cfg.quiet,
               "time   read %.3fs  compute %.3fs  gather+write %.3fs (max over ranks)\n", t[0],
               t[1], t[2]);
    }
    nn_rows_free(&e.rows);
    free(e.sel);
    free(e.base);
    ex_names_free(e.names, e.D);
    return rc;
}
