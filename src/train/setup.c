/* setup.c: a run from flags to its first step. The watchdog, the resume rules, the optimizer's
 * settings, the data, every buffer sized once (the training step allocates nothing), the
 * parameters (initialised on rank 0 and broadcast, or restored), the outputs, and rank 0's
 * banner. Collective by construction: every failure is decided with nn_fail, so all ranks
 * return the same status and no rank is left waiting in a collective. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn_h5data.h"
#include "nn_hash.h"
#include "nn_kernels.h"
#include "nn_trace.h"
#include "train_internal.h"

#define ERRLEN 512

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
    char kern[128];
    printf("system %d OpenBLAS thread%s/rank, %s, up to %d ranks/host on %ld cores; "
           "%s, HDF5 %s; settings hash %016llx\n",
           threads, threads > 1 ? "s" : "", nn_blas_kernels(kern, sizeof kern),
           topo.max_per_host, cores, lib, h5, (unsigned long long)nn_ckpt_config_hash(settings));
    printf("reduce gradients by %s\n", nn_replica_describe(t->rep));
    printf("data   %s: %zu train / %zu val samples, %d features, %s\n",
           t->example ? "built-in y = 2x" : cfg->data, t->n_train, t->n_val, t->lo.sizes[0],
           t->classify ? "class labels" : "float targets");
    if (!t->example && t->pre.y_shift)
        printf("targets zscore from the training set (column 0: mean %.6g, std %.6g); losses "
               "and metrics in the targets' own units\n",
               (double)t->pre.y_shift[0], (double)t->pre.y_scale[0]);
    if (t->pre.class_weight) {
        char w[256] = "";
        for (int j = 0; j < t->pre.nc && strlen(w) < 200; j++)
            snprintf(w + strlen(w), sizeof w - strlen(w), "%s%.4g", j ? " " : "",
                     (double)t->pre.class_weight[j]);
        printf("weights %s per class: %s%s; losses are sum(w_y * loss) / sum(w_y)\n",
               cfg->class_weight, w, strlen(w) >= 200 ? " ..." : "");
    }
    printf("model  %s %s, output %s (%zu parameters)\n", layers, nn_act_name(t->lo.act),
           t->lo.loss == NN_LOSS_XENT ? "softmax + cross-entropy" : "linear + MSE",
           t->lo.n_params);
    printf("train  %s lr %g, global batch %zu (%zu max per rank), %ld steps/epoch, %ld epochs, "
           "%s, loaded in %.2f s\n",
           nn_opt_name(t->hp.kind), t->cfg.lr, t->sched.batch, max_local, t->sched.steps,
           t->cfg.epochs, t->cfg.no_shuffle ? "file order" : "shuffled", load_seconds);
    fflush(stdout);
    nn_adv_describe(t);
}

/* The flags on their own and against each other, before any data is read: the watchdog
 * first, so that it covers every wait of the run (inside a Slurm job a frozen rank would
 * otherwise hold the whole allocation until its time limit), then the outputs, the resume
 * rules (which may take settings from the checkpoint) and the optimizer's settings. */
static int check_flags(nn_trainer *t, char *err)
{
    const nn_comm *comm = t->comm;
    const nn_config *cfg = &t->cfg;
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
    st = comm->rank == 0 && nn_train_outputs_clash(cfg, err, ERRLEN) ? NN_EXIT_USAGE : 0;
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
    return 0;
}

/* Everything is sized here, once; the training step allocates nothing. Parameters, moments
 * and this rank's gradients; under --allreduce auto the ranks of a node share one copy of the
 * state (nn_replica). */
static int allocate(nn_trainer *t, size_t max_local, char *err)
{
    const nn_comm *comm = t->comm;
    size_t n = t->lo.n_params;
    size_t max_batch = max_local > 256 ? max_local : 256; /* validation goes in chunks of this */
    t->rep = nn_replica_create(comm, n, n + NN_GRAD_TAIL,
                               strcmp(t->cfg.allreduce, "mpi") == 0 ? NN_ALLREDUCE_MPI
                                                                    : NN_ALLREDUCE_AUTO);
    if (t->rep) {
        nn_replica_set_compression(t->rep, strcmp(t->cfg.grad_compression, "bf16") == 0
                                               ? NN_GRAD_BF16
                                               : NN_GRAD_NONE);
        nn_replica_set_overlap(t->rep, strcmp(t->cfg.grad_overlap, "on") == 0);
    }
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
    if (t->pre.class_weight) { /* the per-batch weight sums (nn_train_epoch_weights) */
        t->step_w = malloc((size_t)t->sched.steps * sizeof(double));
        t->step_cnt = malloc((size_t)t->sched.steps * (size_t)t->pre.nc * sizeof(double));
    }
    int fail = !t->rep || !t->perm || (t->pre.class_weight && (!t->step_w || !t->step_cnt)) ||
               nn_rows_alloc(&t->batch, max_local, t->train.d, t->train.labels != NULL,
                             t->train.k) != 0 ||
               nn_work_init(&t->work, &t->lo, (int)max_batch) != 0 ||
               (t->dropout > 0.0f && nn_work_enable_dropout(&t->work, &t->lo) != 0);
    if (fail)
        snprintf(err, ERRLEN, "out of memory for a model of %zu parameters", n);
    return nn_fail(comm, fail, err);
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
    int st;
    if ((st = check_flags(t, err)) != 0)
        return st;
    double t0 = nn_now();
    if ((st = nn_train_load_data(t, err, ERRLEN)) != 0)
        return st;
    size_t max_local = nn_sched_max_local(&t->sched);
    if ((st = allocate(t, max_local, err)) != 0)
        return st;
    if ((st = nn_adv_setup(t, max_local, err, ERRLEN)) != 0)
        return st;
    if ((st = t->resume ? nn_resume_restore(t, err, ERRLEN)
                        : nn_fail(comm, init_params(t, err, ERRLEN) != 0, err)) != 0)
        return st;
    if ((st = nn_prune_setup(t, err, ERRLEN)) != 0)
        return st;
    if ((st = nn_distill_setup(t, max_local, err, ERRLEN)) != 0)
        return st;
    if ((st = nn_fail(comm, nn_train_open_outputs(t, err, ERRLEN) != 0, err)) != 0)
        return st;
    if ((st = nn_fail(comm, nn_train_trace_setup(t, err, ERRLEN) != 0, err)) != 0)
        return st;
    nn_sgemm_timing(cfg->metrics != NULL); /* matmul_s is a --metrics column */
    if (cfg->checkpoint_dir) /* pre-emption needs somewhere to save; without it, signals kill */
        nn_signals_install();
    t->last_ckpt_time = nn_now();

    nn_settings_resolve(t); /* t->cfg now holds the values the run uses */
    banner(t, max_local, nn_now() - t0);
    nn_train_energy_start(t);
    return 0;
}

void nn_trainer_free(nn_trainer *t)
{
    if (t->metrics)
        fclose(t->metrics);
    if (t->step_log)
        fclose(t->step_log);
    if (t->trace)
        fclose(t->trace);
    nn_trace_close();
    nn_replica_free(t->rep);
    nn_adv_free(t);
    free(t->perm);
    free(t->step_w);
    free(t->step_cnt);
    nn_rows_free(&t->train);
    nn_rows_free(&t->val);
    nn_rows_free(&t->batch);
    nn_work_free(&t->work);
    nn_preprocess_free(&t->pre);
    nn_preprocess_free(&t->resume_pre);
    free(t->resume);
    nn_prune_free(t);
    nn_distill_free(t);
    for (int k = 0; k < 3; k++)
        free(t->resume_state[k]);
    memset(t, 0, sizeof *t);
}
