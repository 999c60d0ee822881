/* attack.c: nn-predict --attack fgsm|pgd (docs/robustness.md): adversarial examples of a
 * split's rows within an L-infinity ball of radius --eps in the raw input units, clipped to
 * the training data's per-feature range (/preprocess/x_min and x_max of the checkpoint; a
 * checkpoint without them: the split's own range, and the banner says so). Reports the clean
 * and the adversarial loss and accuracy, and with --attack-output writes the adversarial
 * inputs as a data file (the same split name, x and y), which nn-predict --data reads back.
 *
 * The attack works on raw x: the model sees x' = (x - x_shift) / x_scale, so the gradient
 * with respect to x is dL/dx' / x_scale (the chain rule). FGSM: x0 + eps sign(g(x0)), clipped.
 * PGD: from the FGSM point, --attack-steps steps of --attack-step-size (default 2.5 eps /
 * steps), each projected onto the ball and the range; each row keeps the iterate of highest
 * loss, the FGSM point included, so PGD never ends with a lower loss than FGSM on any row.
 * No random start: the result is a function of the model and the row alone.
 *
 * Rows go in passes of exactly --batch rows aligned to global multiples of it, as
 * predictions do (main.c), so a row's adversarial input is the same bits at every rank count.
 * Each rank holds its block of rows (and their adversarial copies) in memory. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_attack.h"
#include "nn_clock.h"
#include "nn_h5data.h"
#include "nn_h5write.h"
#include "nn_kernels.h"
#include "nn_report.h"
#include "predictor.h"

typedef struct {
    predictor *p;
    int D, K, B;
    nn_rows rows;        /* this rank's block, raw, as read */
    float *adv;          /* (n_local, D): the adversarial rows */
    float *e, *a, *lo, *hi; /* (D) each, raw units */
    float *inv_scale;    /* (D): 1 / x_scale (1 without scaling) */
    float *x0, *x, *xs, *g, *best; /* (B, D) each: one pass */
    float *loss, *best_loss;       /* (B) */
    int32_t *labels;     /* (B) the pass's labels, 0 where no row */
    float *targets;      /* (B, K) the pass's targets (the model's units), 0 where no row */
    double acc[6];       /* clean loss, correct; adversarial loss, correct; rows; max |d| */
    const char *range_from;
} attack;

static void attack_free(attack *s)
{
    nn_rows_free(&s->rows);
    free(s->adv);
    free(s->e);
    free(s->x0);
    free(s->loss);
    free(s->labels);
    free(s->targets);
}

/* x (B, D) scaled into s->xs as the model sees it. */
static void to_model(attack *s, const float *x)
{
    memcpy(s->xs, x, (size_t)s->B * (size_t)s->D * sizeof(float));
    nn_preprocess_apply_x(&s->p->pre, s->xs, (size_t)s->B, s->D);
}

static nn_batch_y pass_y(const attack *s)
{
    const predictor *p = s->p;
    return (nn_batch_y){s->rows.labels ? s->labels : NULL, s->rows.labels ? NULL : s->targets,
                        NULL, p->pre.y_shift ? p->pre.y_scale : NULL};
}

/* The loss gradient with respect to the raw inputs x (B, D) into s->g; the rows' losses into
 * s->loss. */
static void raw_grad(attack *s, const float *x)
{
    predictor *p = s->p;
    to_model(s, x);
    nn_attack_grad(&p->lo, p->params, &p->work, s->xs, pass_y(s), s->B, s->g, s->loss);
    for (int i = 0; i < s->B; i++)
        for (int j = 0; j < s->D; j++)
            s->g[(size_t)i * s->D + j] *= s->inv_scale[j];
}

/* Each row's best iterate so far: x where its loss is higher. */
static void keep_best(attack *s, const float *x)
{
    for (int i = 0; i < s->B; i++)
        if (s->loss[i] > s->best_loss[i]) {
            s->best_loss[i] = s->loss[i];
            memcpy(s->best + (size_t)i * s->D, x + (size_t)i * s->D, (size_t)s->D * sizeof(float));
        }
}

/* Inference of x as nn-predict scores rows (predictor_forward: an export's integer kernels,
 * or the float parameters; the gradients stay on the float weights): adds the loss and the
 * correct count of positions [pos, pos + cnt) to acc[0..1]. */
static void score(attack *s, const float *x, int pos, int cnt, double *acc)
{
    predictor *p = s->p;
    to_model(s, x);
    predictor_forward(p, s->xs, s->B);
    nn_batch_y y = pass_y(s);
    if (y.labels)
        y.labels += pos;
    if (y.targets)
        y.targets += (size_t)pos * s->K;
    long ok = 0;
    acc[0] += nn_loss_only(&p->lo, p->work.act[p->lo.n_layers] + (size_t)pos * s->K, y, cnt, &ok);
    acc[1] += (double)ok;
}

/* One pass: rows [pa, pb) of the split at positions pos.. of the B-row pass. */
static void attack_pass(attack *s, size_t pa, size_t pb, size_t pos)
{
    predictor *p = s->p;
    const int D = s->D, B = s->B, K = s->K;
    const size_t cnt = pb - pa, r0 = pa - p->row0, bd = (size_t)B * (size_t)D;
    memset(s->x0, 0, bd * sizeof(float));
    memcpy(s->x0 + pos * D, s->rows.x + r0 * D, cnt * D * sizeof(float));
    if (s->rows.labels) {
        memset(s->labels, 0, (size_t)B * sizeof(int32_t));
        memcpy(s->labels + pos, s->rows.labels + r0, cnt * sizeof(int32_t));
    } else {
        memset(s->targets, 0, (size_t)B * K * sizeof(float));
        memcpy(s->targets + pos * K, s->rows.targets + r0 * K, cnt * K * sizeof(float));
        nn_preprocess_apply_y(&p->pre, s->targets + pos * K, cnt, K);
    }
    score(s, s->x0, (int)pos, (int)cnt, s->acc);
    /* FGSM: one step of eps from x0 */
    raw_grad(s, s->x0);
    memcpy(s->x, s->x0, bd * sizeof(float));
    nn_attack_step(s->x, s->x0, s->g, (size_t)B, D, s->e, s->e, s->lo, s->hi);
    if (strcmp(p->cfg.attack, "pgd") == 0) {
        for (int i = 0; i < B; i++)
            s->best_loss[i] = -INFINITY;
        for (long k = 0; k < p->cfg.attack_steps; k++) {
            raw_grad(s, s->x); /* the loss of x, and where to go from it */
            keep_best(s, s->x);
            nn_attack_step(s->x, s->x0, s->g, (size_t)B, D, s->a, s->e, s->lo, s->hi);
        }
        to_model(s, s->x); /* the last iterate's loss */
        nn_forward_train(&p->lo, p->params, &p->work, s->xs, B, 0.0f, NULL);
        nn_attack_row_loss(&p->lo, p->work.act[p->lo.n_layers], pass_y(s), B, s->loss);
        keep_best(s, s->x);
    } else {
        memcpy(s->best, s->x, bd * sizeof(float));
    }
    score(s, s->best, (int)pos, (int)cnt, s->acc + 2);
    for (size_t i = pos * D; i < (pos + cnt) * D; i++) {
        double d = fabs((double)s->best[i] - (double)s->x0[i]);
        s->acc[5] = d > s->acc[5] ? d : s->acc[5];
    }
    memcpy(s->adv + r0 * D, s->best + pos * D, cnt * D * sizeof(float));
}

/* The range: the checkpoint's training range, or this split's (a MIN over every rank of
 * the min and of -max). 0, or -1 (err). */
static int take_range(attack *s)
{
    predictor *p = s->p;
    const int D = s->D;
    if (p->pre.x_min && p->pre.x_max) {
        memcpy(s->lo, p->pre.x_min, (size_t)D * sizeof(float));
        memcpy(s->hi, p->pre.x_max, (size_t)D * sizeof(float));
        s->range_from = "the training data's per-feature min and max (the checkpoint's "
                        "/preprocess/x_min, x_max)";
        return 0;
    }
    double *acc = malloc(2 * (size_t)D * sizeof(double));
    if (nn_fail(p->comm, !acc, "out of memory for the range"))
        return -1;
    for (int j = 0; j < 2 * D; j++)
        acc[j] = INFINITY;
    for (size_t i = 0; i < s->rows.n; i++)
        for (int j = 0; j < D; j++) {
            double v = s->rows.x[i * D + j];
            acc[j] = v < acc[j] ? v : acc[j];
            acc[D + j] = -v < acc[D + j] ? -v : acc[D + j];
        }
    nn_comm_min_f64(p->comm, acc, 2 * (size_t)D);
    for (int j = 0; j < D; j++) {
        s->lo[j] = (float)acc[j];
        s->hi[j] = (float)-acc[D + j];
    }
    free(acc);
    s->range_from = "this split's own per-feature min and max: the checkpoint carries no "
                    "training range (/preprocess/x_min, x_max; written by nn-train since "
                    "format 4)";
    return 0;
}

/* Reads this rank's block and sizes the passes. 0, or -1 after the error (agreed). */
static int attack_setup(attack *s, char *err, size_t errlen)
{
    predictor *p = s->p;
    const int D = s->D, B = s->B;
    const size_t bd = (size_t)B * (size_t)D;
    int fail = p->n_local > 0 &&
               (nn_h5_read_block(p->cfg.data, p->split, &p->info, p->row0, p->n_local, &s->rows,
                                 err, errlen) != 0);
    if (!fail && p->n_local > 0) {
        nn_rows_source src = {p->cfg.data, p->split, NULL, p->row0,
                              "expected finite float32 values", "the model"};
        fail = nn_rows_check(&s->rows, s->K, &src, err, errlen) != 0;
    }
    if (nn_fail(p->comm, fail, err))
        return -1;
    s->adv = malloc((p->n_local ? p->n_local : 1) * (size_t)D * sizeof(float));
    s->e = malloc(5 * (size_t)D * sizeof(float));
    s->x0 = malloc(5 * bd * sizeof(float));
    s->loss = malloc(2 * (size_t)B * sizeof(float));
    s->labels = malloc((size_t)B * sizeof(int32_t));
    s->targets = malloc((size_t)B * (size_t)s->K * sizeof(float));
    fail = !s->adv || !s->e || !s->x0 || !s->loss || !s->labels || !s->targets;
    snprintf(err, errlen, "out of memory for --attack: %zu rows of %d features", p->n_local, D);
    if (nn_fail(p->comm, fail, err))
        return -1;
    s->a = s->e + D;
    s->lo = s->e + 2 * (size_t)D;
    s->hi = s->e + 3 * (size_t)D;
    s->inv_scale = s->e + 4 * (size_t)D;
    s->x = s->x0 + bd;
    s->xs = s->x0 + 2 * bd;
    s->g = s->x0 + 3 * bd;
    s->best = s->x0 + 4 * bd;
    s->best_loss = s->loss + B;
    double step = p->cfg.attack_step_size > 0.0 ? p->cfg.attack_step_size
                                                : 2.5 * p->cfg.eps / (double)p->cfg.attack_steps;
    for (int j = 0; j < D; j++) {
        s->e[j] = (float)p->cfg.eps;
        s->a[j] = (float)step;
        s->inv_scale[j] = p->pre.x_scale ? 1.0f / p->pre.x_scale[j] : 1.0f;
    }
    return take_range(s);
}

/* Gathers the adversarial rows and their y on rank 0 and writes them there as a data file
 * of one split. */
static int write_adv(attack *s)
{
    predictor *p = s->p;
    const nn_comm *c = p->comm;
    const char *path = p->cfg.attack_output;
    char err[ERRLEN] = "";
    size_t n = p->info.n;
    int y_label = p->info.y_is_label;
    nn_rows all;
    memset(&all, 0, sizeof all);
    int fail = c->rank == 0 && nn_rows_alloc(&all, n, s->D, y_label, y_label ? 1 : s->K) != 0;
    snprintf(err, sizeof err, "out of memory on rank 0 for %zu adversarial rows", n);
    if (nn_fail(c, fail, err))
        return -1;
    fail = nn_comm_gatherv_f32(c, s->adv, p->n_local * (size_t)s->D, all.x, n * (size_t)s->D,
                               0) != 0;
    if (y_label)
        fail |= nn_comm_gatherv_bytes(c, s->rows.labels, p->n_local * sizeof(int32_t),
                                      all.labels, n * sizeof(int32_t), 0) != 0;
    else
        fail |= nn_comm_gatherv_f32(c, s->rows.targets, p->n_local * (size_t)s->K, all.targets,
                                    n * (size_t)s->K, 0) != 0;
    if (nn_fail(c, fail, "gathering the adversarial rows failed")) {
        nn_rows_free(&all);
        return -1;
    }
    fail = 0;
    if (c->rank == 0) {
        nn_h5w *w = nn_h5w_create(path, err, sizeof err);
        fail = !w || nn_h5w_put_rows(w, p->split, &all, err, sizeof err) != 0;
        if (!fail)
            fail = nn_h5w_attr_str(w, "/", "attack", p->cfg.attack) != 0 ||
                   nn_h5w_attr_double(w, "/", "eps", p->cfg.eps) != 0 ||
                   nn_h5w_attr_int(w, "/", "attack_steps",
                                   strcmp(p->cfg.attack, "pgd") == 0 ? p->cfg.attack_steps
                                                                     : 0) != 0 ||
                   nn_h5w_attr_str(w, "/", "model", p->cfg.model) != 0 ||
                   nn_h5w_attr_str(w, "/", "source", p->cfg.data) != 0;
        if (fail && w) {
            if (!*err)
                snprintf(err, sizeof err, "--attack-output %s: writing the attributes failed",
                         path);
            nn_h5w_abort(w);
        } else if (!fail) {
            fail = nn_h5w_commit(w, err, sizeof err) != 0;
        }
    }
    nn_rows_free(&all);
    return nn_fail(c, fail, err);
}

int attack_run(predictor *p)
{
    int st = load_model(p) != 0 ? 1 : open_split(p);
    if (st != 0)
        return st < 0 ? 1 : st;
    char err[ERRLEN];
    if (p->info.x_only) {
        snprintf(err, sizeof err, "--attack %s: --data %s /%s has no y; an attack needs the "
                 "labels or targets whose loss it raises",
                 p->cfg.attack, p->cfg.data, p->split);
        return nn_fail(p->comm, NN_EXIT_USAGE, err);
    }
    if (p->cfg.attack_output && p->comm->rank == 0 &&
        nn_predict_check_output(p->cfg.attack_output, err, sizeof err) != 0)
        st = NN_EXIT_USAGE;
    if ((st = nn_fail(p->comm, st, err)) != 0)
        return st;
    banner(p);
    attack s;
    memset(&s, 0, sizeof s);
    s.p = p;
    s.D = p->lo.sizes[0];
    s.K = p->lo.sizes[p->lo.n_layers];
    s.B = p->batch;
    double t0 = nn_now();
    if (attack_setup(&s, err, sizeof err) != 0) {
        attack_free(&s);
        return 1;
    }
    int pgd = strcmp(p->cfg.attack, "pgd") == 0;
    double step = p->cfg.attack_step_size > 0.0 ? p->cfg.attack_step_size
                                                : 2.5 * p->cfg.eps / (double)p->cfg.attack_steps;
    if (pgd)
        nn_say(p->comm, p->cfg.quiet, "attack pgd: eps %g in the raw input units, %ld steps of "
               "%g from the FGSM point, each row keeping its highest-loss iterate\n",
               p->cfg.eps, p->cfg.attack_steps, step);
    else
        nn_say(p->comm, p->cfg.quiet, "attack fgsm: eps %g in the raw input units\n",
               p->cfg.eps);
    nn_say(p->comm, p->cfg.quiet, "range  %s\n", s.range_from);
    double t1 = nn_now();
    const size_t B = (size_t)s.B, row1 = p->row0 + p->n_local;
    for (size_t j = p->row0 / B; p->n_local > 0 && j <= (row1 - 1) / B; j++) {
        size_t pa = j * B > p->row0 ? j * B : p->row0, pb = (j + 1) * B < row1 ? (j + 1) * B : row1;
        attack_pass(&s, pa, pb, pa - j * B);
    }
    s.acc[4] = (double)p->n_local;
    double d = s.acc[5];
    nn_comm_sum_f64(p->comm, s.acc, 5);
    nn_comm_max_f64(p->comm, &d, 1);
    double t2 = nn_now();
    if (p->cfg.attack_output && write_adv(&s) != 0) {
        attack_free(&s);
        return 1;
    }
    double n = s.acc[4];
    const char *loss = nn_loss_name(p->lo.loss);
    if (p->classify)
        nn_say(p->comm, p->cfg.quiet, "result /%s: %.0f samples  clean loss %.9g accuracy %.9g "
               "(%.0f/%.0f)  %s loss %.9g accuracy %.9g (%.0f/%.0f) (%s)\n", p->split, n,
               s.acc[0] / n, s.acc[1] / n, s.acc[1], n, pgd ? "pgd" : "fgsm", s.acc[2] / n,
               s.acc[3] / n, s.acc[3], n, loss);
    else
        nn_say(p->comm, p->cfg.quiet, "result /%s: %.0f samples  clean loss %.9g  %s loss %.9g "
               "(%s%s)\n", p->split, n, s.acc[0] / n, pgd ? "pgd" : "fgsm", s.acc[2] / n, loss,
               p->pre.y_shift ? ", in the targets' original units" : "");
    nn_say(p->comm, p->cfg.quiet, "ball   max |x_adv - x| %.9g (eps %g)\n", d, p->cfg.eps);
    if (p->cfg.attack_output)
        nn_say(p->comm, p->cfg.quiet, "wrote  %s (/%s: %.0f adversarial rows and their y)\n",
               p->cfg.attack_output, p->split, n);
    nn_say(p->comm, p->cfg.quiet, "time   read %.3fs  attack %.3fs  write %.3fs (rank 0)\n",
           t1 - t0, t2 - t1, nn_now() - t2);
    attack_free(&s);
    return 0;
}
