/* step.c: one training step, and evaluation. The step reads as a recipe:
 *   gather local batch -> forward -> loss -> backward (writes every gradient) ->
 *   one sum over ranks of [grads | loss sum | flags] (nn_replica: shared memory within a
 *   node) -> optimizer step on this rank's slice of the state, with grad_scale = 1 / global
 *   batch -> publish (every rank sees the whole updated state).
 * Nothing here allocates. */
#include <string.h>

#include "nn_kernels.h"
#include "nn_trace.h"
#include "train_internal.h"

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

double nn_train_step_weight(const nn_trainer *t, long step)
{
    return t->step_w ? t->step_w[step] : (double)nn_sched_global(&t->sched, step);
}

void nn_train_epoch_weights(nn_trainer *t)
{
    if (!t->step_w || t->step_w_fixed)
        return;
    t->step_w_fixed = t->cfg.no_shuffle; /* file order: every epoch's batches are the first's */
    const int K = t->pre.nc;
    const long steps = t->sched.steps;
    const nn_rows *s = &t->train;
    memset(t->step_cnt, 0, (size_t)steps * (size_t)K * sizeof(double));
    for (long st = 0; st < steps; st++) {
        size_t off, cnt, pos;
        nn_sched_local(&t->sched, st, &off, &cnt, &pos);
        for (size_t i = 0; i < cnt; i++) {
            size_t r = t->cfg.no_shuffle ? off + i : t->perm[off + i];
            t->step_cnt[(size_t)st * K + (size_t)s->labels[r]] += 1.0;
        }
    }
    nn_comm_sum_f64(t->comm, t->step_cnt, (size_t)steps * (size_t)K); /* integers: exact */
    for (long st = 0; st < steps; st++) {
        double w = 0.0;
        for (int j = 0; j < K; j++)
            w += t->step_cnt[(size_t)st * K + (size_t)j] * t->pre.class_weight[j];
        t->step_w[st] = w;
    }
}

/* The targets' scale the MSE is reported in (--normalize-targets; the built-in example reports
 * its own units in its summary), or NULL. */
static const float *report_units(const nn_trainer *t)
{
    return t->example || !t->pre.y_shift ? NULL : t->pre.y_scale;
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
    nn_prune_after_update(t, a, b); /* --prune-to: pruned weights and moments back to 0 */
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

/* nn_backward_notify's call back, through which a layer's gradients reach the sum. */
typedef struct {
    nn_replica *rep;
    const nn_layout *lo;
    double t; /* --trace: when the previous layer's backward ended */
} backward_ctx;

/* The gradients from `from` (the start of a layer's) on are final: other ranks may start
 * adding them up. */
static void publish(void *ctx, size_t from)
{
    backward_ctx *b = ctx;
    nn_replica_ready(b->rep, from);
    if (nn_trace_recording) {
        double now = nn_now();
        int i = b->lo->n_layers - 1;
        while (i > 0 && b->lo->w_off[i] != from)
            i--;
        nn_trace_span(NN_TR_BACKWARD, i + 1, b->t, now);
        b->t = now;
    }
}

/* One global step. Returns the mean data loss of the global batch. */
double nn_train_step(nn_trainer *t, long step, nn_timers *tm)
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
    nn_prune_before_step(t); /* --prune-to: the schedule's new mask, if this step has one */
    const float *x;
    nn_batch_y y = {NULL, NULL, t->pre.class_weight, report_units(t)};
    size_t cnt = local_batch(t, step, &x, &y);
    x = nn_adv_perturb(t, step, x, y, cnt); /* --adversarial: x or its adversarial copy */
    if (cnt > 0) { /* the last, partial batch can leave a rank without samples */
        /* The masks of step s on rank r come from (seed, s, r) alone. */
        nn_rng r;
        if (t->dropout > 0.0f)
            nn_rng_seed(&r, (uint64_t)t->cfg.seed,
                        nn_stream_id(NN_STREAM_DROPOUT, (uint64_t)t->step, (uint64_t)t->comm->rank));
        double tb = nn_trace_recording ? nn_now() : 0.0;
        nn_forward_train(&t->lo, t->params, &t->work, x, (int)cnt, t->dropout, &r);
        double tf = nn_trace_recording ? nn_now() : 0.0;
        nn_trace_span(NN_TR_FORWARD, 0, tb, tf);
        double ce = nn_loss_and_grad(&t->lo, &t->work, y, (int)cnt, NULL);
        t->grads[n] = (float)nn_distill_mix(t, x, y, (int)cnt, ce); /* --teacher: + KD term */
        backward_ctx bc = {t->rep, &t->lo, nn_trace_recording ? nn_now() : 0.0};
        nn_trace_span(NN_TR_LOSS, 0, tf, bc.t);
        /* writes all n, publishing each layer's gradients as soon as they are final */
        nn_backward_notify(&t->lo, t->params, t->grads, &t->work, (int)cnt, publish, &bc);
    } else {
        memset(t->grads, 0, (n + 1) * sizeof(float));
    }
    double t1 = nn_now();
    tm->matmul += nn_sgemm_seconds() - mm0;
    /* the batch's size, or its weight sum under --class-weight (a batch of weight 0 moves
     * nothing: its gradients are all 0) */
    double global = nn_train_step_weight(t, step);
    float scale = global > 0.0 ? (float)(1.0 / global) : 0.0f;
    t->hp.lr = (float)nn_lr_at(&t->lr, t->step); /* before the step counter advances */
    t->step++;
    opt_step o = {t, scale, nn_adam_corrections(&t->hp, t->step)};
    double t_opt;
    /* The one sum over ranks, with the optimizer applied to this rank's share of it. */
    const float *sum = t->gsum_out = nn_replica_step(t->rep, optimizer_range, &o, &t_opt);
    double t2 = nn_now();
    nn_trace_span(NN_TR_STEP, 0, t0, t2);
    tm->compute += (t1 - t0) + t_opt;
    tm->optimizer += t_opt;
    tm->allreduce += (t2 - t1) - t_opt;
    return global > 0.0 ? (double)sum[n] / global : 0.0;
}

void nn_trainer_evaluate(nn_trainer *t, const nn_rows *v, double acc[3])
{
    long ok = 0;
    acc[0] = 0.0;
    acc[2] = (double)v->n;
    for (size_t i = 0; i < v->n; i += (size_t)t->work.max_batch) {
        size_t b = v->n - i < (size_t)t->work.max_batch ? v->n - i : (size_t)t->work.max_batch;
        nn_batch_y y = {v->labels ? v->labels + i : NULL, v->targets ? v->targets + i * v->k : NULL,
                        t->pre.class_weight, report_units(t)};
        nn_forward(&t->lo, t->params, &t->work, v->x + i * v->d, (int)b);
        acc[0] += nn_loss_only(&t->lo, t->work.act[t->lo.n_layers], y, (int)b, &ok);
    }
    acc[1] = (double)ok;
    nn_comm_sum_f64(t->comm, acc, 3); /* exact: sums and counts in double */
}
