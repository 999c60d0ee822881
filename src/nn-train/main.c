/* main.c: nn-train's entry point. Prolog (MPI, flags, setup), the epoch loop, epilog.
 * Exit status: 0 success, 1 a runtime failure (bad data, divergence, damaged checkpoint, a
 * final checkpoint that could not be written), 2 a usage error, 3 a collective that timed out
 * (--comm-timeout), 75 stopped by a signal after writing a checkpoint ("resume me"). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "manual.h"
#include "nn_args.h"
#include "nn_checkpoint.h"
#include "nn_comm.h"
#include "nn_config.h"
#include "nn_fileio.h"
#include "nn_kernels.h"
#include "nn_libvers.h"
#include "nn_trainer.h"

/* The command line, for checkpoints' provenance. */
static void join_args(int argc, char **argv, char *buf, size_t len)
{
    buf[0] = '\0';
    for (int i = 0; i < argc; i++)
        snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", i ? " " : "", argv[i]);
}

static void print_epoch(const nn_comm *c, nn_trainer *t, const nn_epoch_stats *s)
{
    char val[96] = "";
    if (t->n_val > 0 && t->classify)
        snprintf(val, sizeof val, "  val_loss %.4g  val_acc %.2f%%", s->val_loss,
                 100.0 * s->val_accuracy);
    else if (t->n_val > 0)
        snprintf(val, sizeof val, "  val_mse %.4g", s->val_loss);
    char reg[48] = "";
    if (t->l1 > 0 || t->l2 > 0)
        snprintf(reg, sizeof reg, "  reg %.4g", s->reg_loss);
    nn_say(c, t->cfg.quiet,
           "epoch %3ld/%ld  train_loss %.4g%s%s  %.0f samples/s  %.3fs (compute %.3fs, "
           "allreduce %.3fs, io %.3fs)  %.4g J%s\n",
           s->epoch, t->cfg.epochs, s->train_loss, reg, val, s->samples_per_sec, s->seconds,
           s->t.compute, s->t.allreduce, s->t.io, s->energy_j,
           t->energy.measured ? "" : " (estimate)");
    if (t->metrics) {
        fprintf(t->metrics,
                "%ld,%.9g,%.9g,%.9g,%.9g,%.6g,%.6g,%.6g,%.6g,%.6g,%.9g,%.6g,%.6g,%.6g,%.9g,%s,"
                "%.9g,%.9g\n", s->epoch,
                s->train_loss, s->reg_loss, s->val_loss, s->val_accuracy, s->samples_per_sec,
                s->seconds, s->t.compute, s->t.allreduce, s->t.io, t->hp.lr, s->t.optimizer,
                s->t.matmul, s->allreduce_max, s->energy_j,
                t->energy.measured ? "rapl" : "estimate", s->cpu_s,
                t->cfg.grid_intensity > 0 ? nn_co2e_grams(s->energy_j, t->cfg.grid_intensity)
                                          : 0.0);
        if (fflush(t->metrics) != 0 && !t->log_errno[0])
            t->log_errno[0] = errno;
    }
}

/* Rank 0's CSV logs: a write that failed (a full disk) fails the run, on every rank, at the
 * end of the epoch. Collective; returns 0, or NN_EXIT_FAILURE after one error line. */
static int logs_failed(const nn_trainer *t)
{
    char msg[600] = "";
    int bad = 0;
    const struct {
        const char *flag, *path;
        FILE *f;
    } logs[2] = {{"--metrics", t->cfg.metrics, t->metrics},
                 {"--step-log", t->cfg.step_log, t->step_log}};
    for (int i = 0; i < 2 && !bad && t->comm->rank == 0; i++) {
        errno = 0;
        if (logs[i].f && (fflush(logs[i].f) != 0 || ferror(logs[i].f))) {
            int e = t->log_errno[i] ? t->log_errno[i] : errno; /* the first failure's */
            /* a fresh run's log is its own: no partial file is left (a resumed run's stays) */
            int removed = !t->resume && unlink(logs[i].path) == 0;
            snprintf(msg, sizeof msg, "%s %s: writing failed: %s%s", logs[i].flag, logs[i].path,
                     strerror(e ? e : EIO), removed ? " (the partial file was removed)" : "");
            bad = NN_EXIT_FAILURE;
        }
    }
    return nn_fail(t->comm, bad, msg);
}

/* The built-in example's verdict: MSE over all 100 samples in the original units of y. */
static void example_summary(nn_trainer *t)
{
    /* Every rank's training shard plus validation block is the whole set, each sample once. */
    double tr[3], va[3];
    nn_trainer_evaluate(t, &t->train, tr);
    nn_trainer_evaluate(t, &t->val, va);
    double n = tr[2] + va[2];
    double var = t->y_std * t->y_std, mse = (tr[0] + va[0]) / n * var;
    nn_say(t->comm, t->cfg.quiet,
           "built-in example y = 2x: final MSE %.4g on all %.0f samples = %.2e of the target "
           "variance (%.4g)\n",
           mse, n, mse / var, var);
}

/* This process's proportional set size in MiB (shared pages divided among the processes
 * that map them), or -1 where the kernel does not say (Linux < 4.14, not Linux). */
static double pss_mib(void)
{
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    char line[256];
    double kib = -1.0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "Pss: %lf kB", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib < 0.0 ? -1.0 : kib / 1024.0;
}

/* The high-water mark of resident memory over the ranks (collective): what a scheduler's
 * per-task memory limit has to allow when it adds up RSS. It counts a shared page (the
 * node's model state, the gradient buffers) in every rank that touched it; the PSS at the
 * end divides it among them, so the PSS of a host's ranks adds up to what the host holds. */
static void report_memory(const nn_trainer *t)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double pss = pss_mib();
    double mib[4] = {(double)ru.ru_maxrss / 1024.0, -(double)ru.ru_maxrss / 1024.0, /* KiB */
                     pss, pss < 0.0 ? 1e300 : -pss};
    nn_comm_max_f64(t->comm, mib, 4);
    nn_say(t->comm, t->cfg.quiet, "peak resident memory per rank: %.1f MiB max, %.1f MiB min\n",
           mib[0], -mib[1]);
    if (mib[3] < 1e300) /* every rank could read its PSS */
        nn_say(t->comm, t->cfg.quiet,
               "proportional memory per rank at the end (shared pages split among the ranks "
               "that use them): %.1f MiB max, %.1f MiB min\n",
               mib[2], -mib[3]);
}

/* --verify: load the checkpoint with every check a resume makes, and say what it holds. */
static int verify(const char *path)
{
    nn_ckpt_info info;
    char err[1024];
    float *p = NULL, *m = NULL, *v = NULL;
    nn_preprocess pre;
    nn_preprocess_init(&pre);
    if (nn_ckpt_load(path, &info, &p, &m, &v, &pre, err, sizeof err) != 0) {
        nn_print_error("nn-train", 0, err);
        return -1;
    }
    const nn_ckpt_meta *k = &info.meta;
    char layers[256] = "";
    for (int i = 0; i <= info.lo.n_layers; i++)
        snprintf(layers + strlen(layers), sizeof layers - strlen(layers), "%s%d", i ? "-" : "",
                 info.lo.sizes[i]);
    char covers[512];
    nn_ckpt_checksum_covers(info.format_version, covers, sizeof covers);
    printf("%s: OK (format %d, Fletcher32 and state checksum %016llx verified)\n", path,
           info.format_version, (unsigned long long)info.checksum);
    printf("  checksum   %s\n", covers);
    printf("  model      %s %s, %s (%zu parameters)\n", layers, nn_act_name(info.lo.act),
           info.lo.loss == NN_LOSS_XENT ? "softmax + cross-entropy" : "linear + MSE",
           info.lo.n_params);
    printf("  optimizer  %s lr %g, step %ld%s\n", nn_opt_name(info.hp.kind), info.hp.lr,
           (long)k->step, m ? (v ? ", moments m and v" : ", momentum buffer") : "");
    printf("  position   epoch %ld done, %ld steps into epoch %ld, of %ld epochs\n",
           (long)k->epoch, (long)k->epoch_step, (long)k->epoch + 1, (long)k->epochs);
    printf("  run        seed %llu, global batch %ld, %d rank%s, data %s\n",
           (unsigned long long)k->seed, (long)k->batch, (int)k->world_size,
           k->world_size > 1 ? "s" : "", k->data);
    if (pre.d > 0)
        printf("  inputs     %s over %d features%s\n", pre.method, pre.d,
               pre.k > 0 ? ", targets mapped back" : "");
    printf("  settings   %s (hash %016llx)\n", k->settings, (unsigned long long)k->config_hash);
    printf("  written    %s by nn-train %s: %s\n", k->created, k->program_version, k->config);
    free(p);
    free(m);
    free(v);
    nn_preprocess_free(&pre);
    return 0;
}

/* --version: the program, its commit, and each library as built and as run. */
static void print_version(void)
{
    nn_libver v[4];
    nn_mpi_libver(&v[0]);
    nn_io_libvers(&v[1]);
    nn_blas_libver(&v[3]);
    nn_version_print(stdout, "nn-train", v, 4);
}

/* Flags that end the run before training: a parse error (2), --help or --version (0), srun
 * without PMIx (2), --verify (0 or 1). Returns that exit status, or -1 to go on and train. */
static int before_training(const nn_comm *comm, const nn_config *cfg, int bad, const char *err)
{
    if (bad || cfg->help || cfg->version) {
        /* Every rank parsed the same argv, so they agree without talking; rank 0 speaks. */
        if (comm->rank == 0) {
            if (bad)
                nn_print_error("nn-train", 0, err);
            else if (cfg->help)
                nn_config_usage(stdout);
            else
                print_version();
        }
        return bad ? 2 : 0;
    }
    /* The srun trap: srun without --mpi=pmix starts N copies that each see one rank, and
     * would train N separate models. Slurm's step task count gives it away. */
    const char *step_tasks = getenv("SLURM_STEP_NUM_TASKS");
    if (step_tasks && atoi(step_tasks) > 1 && comm->size == 1 && !cfg->verify) {
        const char *procid = getenv("SLURM_PROCID");
        if (!procid || atoi(procid) == 0)
            fprintf(stderr, "nn-train: error: Slurm started %s tasks but MPI reports a single "
                    "rank: srun needs --mpi=pmix (Debian's Open MPI has no PMI2), or launch "
                    "with mpirun inside the allocation\n", step_tasks);
        return 2;
    }
    if (cfg->verify) {
        int ok = comm->rank != 0 || verify(cfg->verify) == 0;
        return nn_comm_agree(comm, !ok) >= 0 ? 1 : 0;
    }
    return -1;
}

/* After epoch e's steps (r: nn_trainer_epoch's 0, or 1 when a signal stopped it inside):
 * early stopping and best.h5, the epoch's checkpoint, the epoch line and the logs. Returns
 * -1 to go on, else the run's exit status (0 when it stopped early). */
static int after_epoch(nn_trainer *t, long e, int r, nn_epoch_stats *st)
{
    const nn_comm *comm = t->comm;
    int ckpt = t->cfg.checkpoint_dir != NULL, early = 0, rc;
    if (r == 0) {
        /* early stopping on the validation loss; the best model is kept as best.h5 */
        if (t->n_val > 0 && nn_early_stop_update(&t->early, e, st->val_loss, t->cfg.patience,
                                                 &early) &&
            ckpt && t->cfg.patience > 0)
            nn_trainer_save_best(t, e, st);
        /* the run's last checkpoint must be written, or the run fails */
        int last = e == t->cfg.epochs || t->stop || early;
        if (ckpt && (e % t->cfg.checkpoint_every == 0 || last || t->ckpt_pending))
            t->last_ckpt_failed = !nn_trainer_checkpoint(t, e, 0, 0.0, st, last) && last;
        t->ckpt_pending = 0;
        print_epoch(comm, t, st);
    }
    if ((rc = logs_failed(t)) != 0)
        return rc;
    if (early) {
        nn_say(comm, t->cfg.quiet, "early stopping: no better validation loss for %ld epochs; "
               "the best was %.6g at epoch %ld%s%s\n", t->cfg.patience, t->early.best,
               t->early.best_epoch, ckpt ? ", kept in " : "", ckpt ? t->cfg.checkpoint_dir : "");
        return 0;
    }
    if (t->stop && t->last_ckpt_failed) {
        nn_say(comm, t->cfg.quiet, "stopped by a signal after step %ld; its checkpoint could "
               "not be written (exit status %d)\n", t->step, NN_EXIT_FAILURE);
        return 0; /* NN_EXIT_FAILURE follows from last_ckpt_failed */
    }
    if (t->stop) {
        nn_say(comm, t->cfg.quiet, "stopped by a signal after step %ld; checkpoint written to "
               "%s; resume with --resume auto (exit status %d)\n", t->step,
               t->cfg.checkpoint_dir, NN_EXIT_CHECKPOINTED);
        return NN_EXIT_CHECKPOINTED;
    }
    return -1;
}

/* The epoch loop of a set-up run, from its first epoch (a resumed run's may be past the
 * end); then the run's verdict. Returns the exit status. */
static int train(nn_trainer *t)
{
    const nn_comm *comm = t->comm;
    if (t->cfg.patience > 0 && t->early.bad_epochs >= t->cfg.patience) {
        nn_say(comm, t->cfg.quiet, "resume: the run stopped early at epoch %ld (patience %ld); "
               "nothing to do\n", t->start_epoch - 1, t->cfg.patience);
        t->start_epoch = t->cfg.epochs + 1;
    } else if (t->start_epoch > t->cfg.epochs) {
        nn_say(comm, t->cfg.quiet, "resume: the checkpoint has finished all %ld epochs; nothing "
               "to do\n", t->cfg.epochs);
    }
    int rc = 0;
    for (long e = t->start_epoch; e <= t->cfg.epochs; e++) {
        nn_epoch_stats st;
        int r = nn_trainer_epoch(t, e, &st);
        if (r < 0) {
            rc = 1;
            break;
        }
        if ((rc = after_epoch(t, e, r, &st)) >= 0)
            break;
        rc = 0;
    }
    if (rc == 0 && t->last_ckpt_failed) /* reported when the write failed */
        rc = NN_EXIT_FAILURE;
    /* Every rank ends the loop with the same rc (each way out is agreed on): the timeline of a
     * short run, or of one stopped early, is written all the same. */
    if (nn_trainer_trace_finish(t) != 0 && (rc == 0 || rc == NN_EXIT_CHECKPOINTED))
        rc = NN_EXIT_FAILURE;
    if (rc == 0 && t->example)
        example_summary(t);
    if (rc == 0)
        report_memory(t);
    if (rc == 0)
        nn_trainer_energy_summary(t);
    return rc;
}

int main(int argc, char **argv)
{
    if (nn_train_manual(argc, argv) == 0) /* the build's --help-man and --help-bash */
        return 0;
    nn_blas_choose_kernels(argv); /* may re-execute */
    nn_comm comm;
    if (nn_comm_init(&comm, &argc, &argv) != 0) {
        fprintf(stderr, "nn-train: error: MPI_Init failed\n");
        return 1;
    }
    nn_report_init(&comm, "nn-train");
    nn_flush_denormals();
    nn_config cfg;
    char err[512] = "";
    int bad = nn_config_parse(&cfg, argc, argv, err, sizeof err) != 0;
    int rc = before_training(&comm, &cfg, bad, err);
    if (rc >= 0) {
        nn_comm_finalize(&comm);
        return rc;
    }
    char cmdline[4096];
    join_args(argc, argv, cmdline, sizeof cmdline);
    nn_trainer t;
    rc = nn_trainer_setup(&t, &comm, &cfg, cmdline);
    if (rc == 0)
        rc = train(&t);
    nn_trainer_free(&t);
    nn_comm_finalize(&comm);
    return rc;
}
