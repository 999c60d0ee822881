/* prune.c: --prune-to, gradual magnitude pruning (docs/shrink.md). The kernels' masks follow
 * Zhu & Gupta's cubic schedule: from step t0 (--prune-start epochs) to t1 (--prune-end), every
 * --prune-every steps and at t1, the mask is chosen again from the weights' magnitudes (all
 * kernels together, or each kernel on its own with --prune-scope layer) to the schedule's
 * sparsity; biases are never pruned. Every rank holds the same weights, so every rank derives
 * the same mask (checked: the ranks compare the mask's hash after each update). The mask
 * takes effect in the update of the step it is chosen at: after the optimizer on a range,
 * the pruned weights and their optimizer moments are set to exactly 0, so they stay 0 after
 * every step and a pruned weight restarts from nothing if it is ever kept again. The mask is
 * sized at set-up (nothing allocated in the step), stored in checkpoints (/prune) and
 * restored on resume. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_hash.h"
#include "nn_sparsity.h"
#include "train_internal.h"

struct nn_prune {
    unsigned char *mask; /* n_params bytes, 1 keep; biases always 1 */
    float *keys;         /* scratch for the selection: every kernel weight */
    size_t off[NN_MAX_LAYERS], cnt[NN_MAX_LAYERS], n_kernel;
    long t0, t1, every;  /* the schedule in optimizer steps */
    double S;
    int per_layer;
    int skew; /* NN_TEST_PRUNE_SKEW=R (tests): rank R's mask is made to differ; else -1 */
};

/* The flags on their own and against --epochs; fills the resolved --prune-end. */
static int check(nn_trainer *t, char *err, size_t errlen)
{
    nn_config *c = &t->cfg;
    if (strcmp(c->prune_scope, "layer") != 0) /* an older checkpoint's "none" */
        c->prune_scope = "global";
    if (!(c->prune_to > 0.0)) {
        static const char *const need[] = {"prune-start", "prune-end", "prune-every",
                                           "prune-scope"};
        for (int i = 0; i < 4; i++)
            if (nn_config_given(c, need[i]) && !t->resume) {
                snprintf(err, errlen, "--%s applies with --prune-to S (S > 0) only", need[i]);
                return -1;
            }
        return 0;
    }
    if (!(c->prune_end > 0.0))
        c->prune_end = (double)c->epochs / 2.0;
    if (c->prune_end <= c->prune_start) {
        snprintf(err, errlen, "--prune-end %g must come after --prune-start %g (epochs)",
                 c->prune_end, c->prune_start);
        return -1;
    }
    if (c->prune_end > (double)c->epochs) {
        snprintf(err, errlen, "--prune-end %g is after the run's last epoch (--epochs %ld): the "
                 "sparsity would never reach --prune-to %g", c->prune_end, c->epochs,
                 c->prune_to);
        return -1;
    }
    return 0;
}

/* The mask's hash, the same on every rank or the run stops (every rank together). */
static void agree(const nn_trainer *t)
{
    const nn_prune *p = t->prune;
    if (p->skew == t->comm->rank)
        p->mask[p->off[0]] ^= 1;
    uint64_t h = nn_fnv1a(NN_FNV_OFFSET, p->mask, t->lo.n_params);
    /* one reduction: the minimum of (lo, hi, -lo, -hi) gives the minimum and the maximum */
    double a[4] = {(double)(h & 0xffffffffu), (double)(h >> 32), 0.0, 0.0};
    a[2] = -a[0];
    a[3] = -a[1];
    nn_comm_min_f64(t->comm, a, 4);
    if (a[0] != -a[2] || a[1] != -a[3]) {
        if (t->comm->rank == 0) {
            nn_error(t->comm, "--prune-to: the ranks derived different masks at step %ld (their "
                     "weights differ)", t->step);
            fflush(stderr);
        }
        nn_comm_barrier(t->comm); /* the line is out before any rank aborts the job */
        nn_comm_abort(t->comm, NN_EXIT_FAILURE);
    }
}

int nn_prune_setup(nn_trainer *t, char *err, size_t errlen)
{
    const nn_comm *comm = t->comm;
    int st;
    if ((st = nn_fail(comm, check(t, err, errlen) != 0 ? NN_EXIT_USAGE : 0, err)) != 0)
        return st;
    int restored = t->resume && t->resume->has_mask;
    if (!(t->cfg.prune_to > 0.0)) {
        free(t->resume_mask);
        t->resume_mask = NULL;
        return 0;
    }
    nn_prune *p = t->prune = calloc(1, sizeof *p);
    size_t n = t->lo.n_params;
    if (p) {
        for (int i = 0; i < t->lo.n_layers; i++) {
            p->off[i] = t->lo.w_off[i];
            p->cnt[i] = (size_t)t->lo.sizes[i] * (size_t)t->lo.sizes[i + 1];
            p->n_kernel += p->cnt[i];
        }
        p->mask = malloc(n);
        p->keys = malloc(p->n_kernel * sizeof(float));
    }
    if ((st = nn_fail(comm, !p || !p->mask || !p->keys, "out of memory for the pruning masks")))
        return st;
    /* The checkpoint's mask (rank 0 read it), or everything kept. */
    if (restored && comm->rank == 0)
        memcpy(p->mask, t->resume_mask, n);
    else
        memset(p->mask, 1, n);
    if (restored)
        nn_comm_bcast(comm, p->mask, n, 0);
    free(t->resume_mask);
    t->resume_mask = NULL;
    long spe = t->sched.steps;
    p->S = t->cfg.prune_to;
    p->t0 = lround(t->cfg.prune_start * (double)spe);
    p->t1 = lround(t->cfg.prune_end * (double)spe);
    if (p->t1 <= p->t0)
        p->t1 = p->t0 + 1;
    p->every = t->cfg.prune_every;
    p->per_layer = strcmp(t->cfg.prune_scope, "layer") == 0;
    const char *skew = getenv("NN_TEST_PRUNE_SKEW");
    p->skew = skew ? atoi(skew) : -1;
    size_t z = 0;
    for (int i = 0; i < t->lo.n_layers; i++)
        z += nn_mask_zeros(p->mask + p->off[i], p->cnt[i]);
    nn_say(comm, t->cfg.quiet, "prune  kernels to sparsity %g by %s magnitude, cubic from step "
           "%ld to %ld, masks every %ld steps; %s mask %.2f%% zero (%zu of %zu)\n", p->S,
           p->per_layer ? "per-layer" : "global", p->t0, p->t1, p->every,
           restored ? "the checkpoint's" : "initial", 100.0 * (double)z / (double)p->n_kernel, z,
           p->n_kernel);
    return 0;
}

void nn_prune_before_step(nn_trainer *t)
{
    nn_prune *p = t->prune;
    long s = t->step; /* steps taken so far; this step is s + 1 */
    if (!p || s < p->t0 || s > p->t1 || ((s - p->t0) % p->every != 0 && s != p->t1))
        return;
    double target = nn_sparsity_at(p->S, p->t0, p->t1, s);
    if (p->per_layer)
        for (int i = 0; i < t->lo.n_layers; i++)
            nn_mask_select(t->params, p->mask, &p->off[i], &p->cnt[i], 1,
                           nn_sparsity_count(target, p->cnt[i]), p->keys);
    else
        nn_mask_select(t->params, p->mask, p->off, p->cnt, t->lo.n_layers,
                       nn_sparsity_count(target, p->n_kernel), p->keys);
    agree(t);
}

void nn_prune_after_update(nn_trainer *t, size_t a, size_t b)
{
    if (t->prune)
        nn_mask_apply(t->params + a, t->m + a, t->v + a, t->prune->mask + a, b - a);
}

const unsigned char *nn_prune_mask(const nn_trainer *t)
{
    return t->prune ? t->prune->mask : NULL;
}

void nn_prune_free(nn_trainer *t)
{
    if (t->prune) {
        free(t->prune->mask);
        free(t->prune->keys);
        free(t->prune);
        t->prune = NULL;
    }
    free(t->resume_mask);
    t->resume_mask = NULL;
}
