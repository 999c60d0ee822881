/* distill.c: --teacher, knowledge distillation (docs/shrink.md). The teacher is a classifier
 * checkpoint, read on rank 0 at set-up (nn_ckpt_read_model: every check of a load) and
 * broadcast with its input scaling; each rank then runs it forward on its own local batch
 * every step (its own work buffers, sized at set-up: nothing allocated in the step), and the
 * step's loss becomes alpha T^2 KL(teacher || student at temperature T) + (1 - alpha)
 * CE(labels) (nn_kd.h). The rows of a batch are the student's, scaled by the student's own
 * /preprocess at load; the teacher sees them in its own scaling: the same rows when both
 * scalings are the same (bit for bit), else raw = x * scale_s + shift_s, then the teacher's
 * (raw - shift_t) / scale_t. Validation stays the student's cross-entropy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_kd.h"
#include "nn_preprocess_comm.h"
#include "train_internal.h"

struct nn_distill {
    nn_layout lo;
    float *params;
    nn_preprocess pre; /* the teacher's input scaling */
    nn_work work;      /* the teacher's passes over a local batch */
    float *x;          /* (max_local, D): a batch in the teacher's scaling, or NULL: the same */
    float T, alpha;
};

/* Rank 0 reads the teacher; every rank receives it. 0, or -1 with err (rank 0's). */
static int load(nn_trainer *t, nn_distill *d, char *err, size_t errlen)
{
    const nn_comm *c = t->comm;
    const char *path = t->cfg.teacher;
    int fail = 0;
    char why[1024];
    if (c->rank == 0 && nn_ckpt_precheck("--teacher", path, err, errlen) != 0)
        fail = 1;
    else if (c->rank == 0 && nn_ckpt_read_model(path, &d->lo, &d->params, &d->pre, why,
                                                sizeof why) != 0) {
        snprintf(err, errlen, "--teacher %s", why);
        fail = 1;
    }
    if (nn_fail(c, fail, err) != 0)
        return -1;
    nn_comm_bcast(c, &d->lo, sizeof d->lo, 0);
    if (c->rank != 0)
        fail = !(d->params = malloc(d->lo.n_params * sizeof(float)));
    if (nn_fail(c, fail, "out of memory for the --teacher model") != 0)
        return -1;
    nn_comm_bcast(c, d->params, d->lo.n_params * sizeof(float), 0);
    return nn_preprocess_bcast(c, &d->pre, 0, "out of memory for the --teacher model") ? -1 : 0;
}

/* The teacher against the student and its data: a classifier over the same inputs and
 * classes. 0, or -1 with err. */
static int fits(const nn_trainer *t, const nn_distill *d, char *err, size_t errlen)
{
    const char *path = t->cfg.teacher;
    int D = t->lo.sizes[0], K = t->lo.sizes[t->lo.n_layers];
    int tD = d->lo.sizes[0], tK = d->lo.sizes[d->lo.n_layers];
    if (d->lo.loss != NN_LOSS_XENT || t->lo.loss != NN_LOSS_XENT || !t->train.labels)
        snprintf(err, errlen, "--teacher %s: distillation needs a classifier (softmax + "
                 "cross-entropy) as teacher and as student, with class labels; the teacher is "
                 "%s, the run %s", path, nn_loss_name(d->lo.loss), nn_loss_name(t->lo.loss));
    else if (tD != D || tK != K)
        snprintf(err, errlen, "--teacher %s: a model of %d inputs and %d classes; expected the "
                 "data's %d inputs and %d classes", path, tD, tK, D, K);
    else if (K > 256)
        snprintf(err, errlen, "--teacher %s: %d classes; distillation supports at most 256",
                 path, K);
    else
        return 0;
    return -1;
}

/* Whether the teacher's scaling is the student's, bit for bit (then rows pass as they are). */
static int same_scaling(const nn_preprocess *a, const nn_preprocess *b, int D)
{
    if (!a->x_shift || !b->x_shift)
        return !a->x_shift && !b->x_shift;
    return a->d == D && b->d == D && memcmp(a->x_shift, b->x_shift, (size_t)D * 4) == 0 &&
           memcmp(a->x_scale, b->x_scale, (size_t)D * 4) == 0;
}

int nn_distill_setup(nn_trainer *t, size_t max_local, char *err, size_t errlen)
{
    const nn_comm *c = t->comm;
    const nn_config *cfg = &t->cfg;
    if (strcmp(cfg->teacher, "none") == 0) {
        static const char *const need[] = {"distill-alpha", "temperature"};
        for (int i = 0; i < 2; i++)
            if (nn_config_given(cfg, need[i]) && !t->resume) {
                snprintf(err, errlen, "--%s applies with --teacher CKPT only", need[i]);
                return nn_fail(c, NN_EXIT_USAGE, err);
            }
        return 0;
    }
    nn_distill *d = t->distill = calloc(1, sizeof *d);
    if (nn_fail(c, !d, "out of memory for --teacher") != 0)
        return NN_EXIT_FAILURE;
    nn_preprocess_init(&d->pre);
    if (load(t, d, err, errlen) != 0)
        return NN_EXIT_FAILURE;
    int st;
    if ((st = nn_fail(c, fits(t, d, err, errlen) != 0 ? NN_EXIT_USAGE : 0, err)) != 0)
        return st;
    int D = t->lo.sizes[0], rows = max_local > 0 ? (int)max_local : 1;
    int fail = nn_work_init(&d->work, &d->lo, rows) != 0;
    if (!fail && !same_scaling(&t->pre, &d->pre, D))
        fail = !(d->x = malloc((size_t)rows * (size_t)D * sizeof(float)));
    if ((st = nn_fail(c, fail, "out of memory for the --teacher model's passes")) != 0)
        return st;
    d->T = (float)cfg->temperature;
    d->alpha = (float)cfg->distill_alpha;
    char layers[256] = "";
    for (int i = 0; i <= d->lo.n_layers; i++)
        snprintf(layers + strlen(layers), sizeof layers - strlen(layers), "%s%d", i ? "-" : "",
                 d->lo.sizes[i]);
    nn_say(c, cfg->quiet, "distil from %s (%s %s, %zu parameters, inputs %s), alpha %g, "
           "temperature %g: loss = alpha T^2 KL(teacher || model) + (1 - alpha) CE\n",
           cfg->teacher, layers, nn_act_name(d->lo.act), d->lo.n_params,
           d->x ? "in its own scaling" : "scaled as the run's", (double)d->alpha,
           (double)d->T);
    return 0;
}

double nn_distill_mix(nn_trainer *t, const float *x, nn_batch_y y, int B, double ce)
{
    nn_distill *d = t->distill;
    if (!d || B < 1)
        return ce;
    const int D = t->lo.sizes[0], K = t->lo.sizes[t->lo.n_layers];
    const float *xt = x;
    if (d->x) { /* the student's rows back to raw units, then into the teacher's scaling */
        const nn_preprocess *s = &t->pre;
        for (int i = 0; i < B; i++)
            for (int j = 0; j < D; j++) {
                float v = x[(size_t)i * D + j];
                d->x[(size_t)i * D + j] = s->x_shift ? v * s->x_scale[j] + s->x_shift[j] : v;
            }
        nn_preprocess_apply_x(&d->pre, d->x, (size_t)B, D);
        xt = d->x;
    }
    nn_forward(&d->lo, d->params, &d->work, xt, B);
    return nn_kd_mix(t->work.act[t->lo.n_layers], d->work.act[d->lo.n_layers], B, K, d->T,
                     d->alpha, y.labels, y.class_w, ce, t->work.delta_a);
}

void nn_distill_free(nn_trainer *t)
{
    nn_distill *d = t->distill;
    if (!d)
        return;
    free(d->params);
    free(d->x);
    nn_work_free(&d->work);
    nn_preprocess_free(&d->pre);
    free(d);
    t->distill = NULL;
}
