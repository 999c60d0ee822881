/* main.c: nn-predict's entry point (docs/nn-predict.md).
 *
 * Prolog: MPI, flags; rank 0 reads the checkpoint (model and /preprocess) and broadcasts it;
 * every rank probes the data split. Loop: each rank predicts its contiguous, balanced block of
 * the split's rows (nn_split_lo), reading about 16 MiB of x at a time and running forward
 * passes of exactly --batch rows aligned to global multiples of --batch (rows of a pass that a
 * rank does not own are zeros), so a row's result does not depend on which rank computed it.
 * Epilog: the metrics (loss sum,
 * correct count, samples) are summed over ranks in double; the predictions are gathered on
 * rank 0 in file order and written atomically.
 *
 * Every failure is decided collectively (nn_fail): the lowest failing rank prints one
 * line, every rank exits with its status, and no output file is left behind.
 * Exit status: 0 success, 1 a runtime failure (checkpoint, data, I/O), 2 a usage error (a
 * bad flag, an --output that is an input, a --split the file lacks, a --batch too large). */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_args.h"
#include "nn_checkpoint.h"
#include "nn_clock.h"
#include "nn_comm.h"
#include "nn_h5data.h"
#include "nn_fileio.h"
#include "nn_kernels.h"
#include "nn_libvers.h"
#include "nn_model.h"
#include "nn_predict.h"
#include "nn_preprocess.h"
#include "nn_shard.h"
#include "nn_report.h"
#include "predictor.h"

#define READ_FLOATS ((size_t)4 << 20) /* x is read in blocks of about 16 MiB */

/* ---------------------------------------------------------------- the loop */

/* Turns one pass's outputs out (b, K) into records rec (b, width) and adds to the metrics.
 * Classification: the class is the argmax of the logits (as in the accuracy), the
 * probabilities a softmax computed in double. Regression: the outputs mapped back to the
 * targets' units; the loss is taken there. */
static void emit(predictor *p, const float *out, int b, nn_batch_y y, float *rec)
{
    int K = p->lo.sizes[p->lo.n_layers];
    long ok = 0;
    if (p->classify) {
        if (!p->info.x_only)
            p->acc[0] += nn_loss_only(&p->lo, out, y, b, &ok);
        for (int i = 0; i < b; i++) {
            float *r = rec + (size_t)i * (size_t)p->width;
            r[0] = (float)nn_softmax_row(out + (size_t)i * K, K, r + 1);
            if (p->pr.sums && y.labels)
                nn_pr_add_class(&p->pr, y.labels[i], (int)r[0], K == 2 ? r[2] : 0.0f);
        }
    } else {
        memcpy(rec, out, (size_t)b * (size_t)K * sizeof(float));
        nn_preprocess_unapply_y(&p->pre, rec, (size_t)b, K);
        if (!p->info.x_only)
            p->acc[0] += nn_loss_only(&p->lo, rec, y, b, &ok);
        for (int i = 0; p->pr.sums && y.targets && i < b; i++)
            nn_pr_add_regress(&p->pr, rec + (size_t)i * K, y.targets + (size_t)i * K);
    }
    p->acc[1] += (double)ok;
}

/* Predicts this rank's block. Passes are aligned to global multiples of B: row r always sits
 * at position r mod B of a B-row pass, whichever rank holds it and however many ranks there
 * are (positions a rank does not own are zero). OpenBLAS's sgemm can round a row differently
 * at different positions of the same product, so this is what makes the outputs identical
 * at every rank count. Rows are read a whole number of passes at a time, about 16 MiB of x.
 * No collective inside: a failure is decided after the loop. */
static int predict_block(predictor *p, char *err, size_t errlen)
{
    const int D = p->lo.sizes[0], K = p->lo.sizes[p->lo.n_layers];
    const size_t B = (size_t)p->batch, row1 = p->row0 + p->n_local;
    if (p->n_local == 0)
        return 0;
    size_t per_read = READ_FLOATS / (size_t)D / B; /* passes per read */
    if (per_read < 1)
        per_read = 1;
    const size_t last = (row1 - 1) / B; /* passes first .. last touch this block */
    for (size_t j0 = p->row0 / B; j0 <= last; j0 += per_read) {
        size_t j1 = j0 + per_read <= last + 1 ? j0 + per_read : last + 1;
        size_t a = j0 * B > p->row0 ? j0 * B : p->row0; /* file rows [a, b) of this read */
        size_t b = j1 * B < row1 ? j1 * B : row1;
        nn_rows rows;
        double t0 = nn_now();
        if (nn_h5_read_block(p->cfg.data, p->split, &p->info, a, b - a, &rows, err, errlen) != 0)
            return -1;
        /* finite features and targets, labels within [0, K); rows numbered as in the file */
        nn_rows_source src = {p->cfg.data, p->split, NULL, a, "expected finite float32 values",
                              "the model"};
        if (nn_rows_check(&rows, K, &src, err, errlen) != 0) {
            nn_rows_free(&rows);
            return -1;
        }
        double t1 = nn_now();
        nn_preprocess_apply_x(&p->pre, rows.x, b - a, D);
        for (size_t j = j0; j < j1; j++) {
            size_t pa = j * B > a ? j * B : a, pb = (j + 1) * B < b ? (j + 1) * B : b;
            size_t pos = pa - j * B, cnt = pb - pa; /* rows [pa, pb) at positions pos.. */
            const float *x = rows.x + (pa - a) * (size_t)D; /* (cnt, D) */
            if (cnt < B) {
                memset(p->xpad, 0, B * (size_t)D * sizeof(float));
                memcpy(p->xpad + pos * (size_t)D, x, cnt * (size_t)D * sizeof(float));
                x = p->xpad;
            }
            predictor_forward(p, x, (int)B);
            nn_batch_y y = {.labels = rows.labels ? rows.labels + (pa - a) : NULL,
                            .targets = rows.targets ? rows.targets + (pa - a) * (size_t)K : NULL};
            emit(p, p->work.act[p->lo.n_layers] + pos * (size_t)K, (int)cnt, y,
                 p->rec + (pa - p->row0) * (size_t)p->width);
        }
        nn_rows_free(&rows);
        p->t_io += t1 - t0;
        p->t_compute += nn_now() - t1;
    }
    return 0;
}

/* ---------------------------------------------------------------- epilog */

/* Gathers every rank's records on rank 0, in file order, and writes them there. */
static int write_output(predictor *p)
{
    const nn_comm *c = p->comm;
    char err[ERRLEN] = "";
    size_t n = p->info.n, total = n * (size_t)p->width;
    float *all = NULL;
    if (c->rank == 0)
        all = malloc((total ? total : 1) * sizeof(float));
    snprintf(err, sizeof err, "out of memory on rank 0 for %zu predictions of %d floats", n,
             p->width);
    if (nn_fail(c, c->rank == 0 && !all, err))
        return -1;
    int rc = nn_comm_gatherv_f32(c, p->rec, p->n_local * (size_t)p->width, all, total, 0);
    snprintf(err, sizeof err, "gathering the predictions failed: the parts do not add up to "
             "%zu rows",
             n);
    if (nn_fail(c, rc != 0, err)) {
        free(all);
        return -1;
    }
    int fail = 0;
    if (c->rank == 0) {
        nn_predictions_meta meta = {p->cfg.model, p->cfg.data, p->split, p->classify,
                                p->lo.sizes[p->lo.n_layers], c->size};
        fail = nn_predict_write(p->cfg.output, p->cfg.out_kind, all, n, &meta, err,
                                sizeof err) != 0;
    }
    free(all);
    return nn_fail(c, fail, err);
}

static void report(predictor *p)
{
    double a[3] = {p->acc[0], p->acc[1], (double)p->n_local};
    nn_comm_sum_f64(p->comm, a, 3); /* exact counts; the loss sum in double */
    double t[3] = {p->t_io, p->t_compute, p->t_out};
    nn_comm_max_f64(p->comm, t, 3);
    const char *loss = nn_loss_name(p->lo.loss);
    if (p->info.x_only)
        nn_say(p->comm, p->cfg.quiet,
               "result /%s: %.0f samples predicted; no /%s/y, so no metrics\n", p->split, a[2],
               p->split);
    else if (a[2] == 0)
        nn_say(p->comm, p->cfg.quiet, "result /%s: no samples\n", p->split);
    else if (p->info.y_is_label)
        nn_say(p->comm, p->cfg.quiet,
               "result /%s: %.0f samples  loss %.9g (%s)  accuracy %.9g (%.0f/%.0f)\n", p->split,
               a[2], a[0] / a[2], loss, a[1] / a[2], a[1], a[2]);
    else
        nn_say(p->comm, p->cfg.quiet, "result /%s: %.0f samples  loss %.9g (%s%s)\n", p->split,
               a[2], a[0] / a[2], loss, p->pre.y_shift ? ", in the targets' original units" : "");
    if (p->cfg.output)
        nn_say(p->comm, p->cfg.quiet, "wrote  %s (%zu rows)\n", p->cfg.output, p->info.n);
    nn_say(p->comm, p->cfg.quiet,
           "time   read %.3fs  compute %.3fs  gather+write %.3fs (max over ranks)\n", t[0], t[1],
           t[2]);
    double e[2];
    char how[96], co2[96] = "";
    nn_job_energy_total(&p->energy, p->comm, e);
    nn_job_energy_label(&p->energy, how, sizeof how);
    if (p->cfg.grid_intensity > 0)
        snprintf(co2, sizeof co2, "; %.4g gCO2e at %g gCO2e/kWh%s",
                 nn_co2e_grams(e[0], p->cfg.grid_intensity), p->cfg.grid_intensity,
                 p->energy.measured ? "" : " (estimate)");
    nn_say(p->comm, p->cfg.quiet,
           "energy %.4g J for %zu predictions (%s; %.2f CPU seconds on %d rank%s): %.4g J per "
           "1,000 predictions%s\n",
           e[0], p->info.n, how, e[1], p->comm->size, p->comm->size > 1 ? "s" : "",
           p->info.n ? 1000.0 * e[0] / (double)p->info.n : 0.0, co2);
}

/* --report: the sums over ranks, the two-class scores gathered, and rank 0 prints.
 * Collective; 0, or -1 after the error. */
static int print_report(predictor *p)
{
    const nn_comm *c = p->comm;
    if (!p->cfg.report || p->info.x_only)
        return 0;
    nn_comm_sum_f64(c, p->pr.sums, p->pr.n_sums); /* counts exact; sums in double */
    float *all = NULL;
    size_t n = p->info.n;
    if (p->pr.pairs && c->rank == 0)
        all = malloc((n ? n : 1) * 2 * sizeof(float));
    if (nn_fail(c, p->pr.pairs && c->rank == 0 && !all, "out of memory for --report"))
        return -1;
    if (p->pr.pairs &&
        nn_fail(c, nn_comm_gatherv_f32(c, p->pr.pairs, 2 * p->pr.n_pairs, all, 2 * n, 0) != 0,
                "--report: gathering the scores failed")) {
        free(all);
        return -1;
    }
    if (c->rank == 0 && !p->cfg.quiet) {
        printf("report /%s:\n", p->split);
        if (p->classify)
            nn_pr_print_class(stdout, &p->pr, all, n);
        else
            nn_pr_print_regress(stdout, &p->pr, p->pre.y_shift != NULL);
        fflush(stdout);
    }
    free(all);
    return 0;
}

/* --version: the program, its commit, and each library as built and as run. */
static void print_version(void)
{
    nn_libver v[4];
    nn_mpi_libver(&v[0]);
    nn_io_libvers(&v[1]);
    nn_blas_libver(&v[3]);
    nn_version_print(stdout, "nn-predict", v, 4);
}

int main(int argc, char **argv)
{
    if (nn_predict_manual(argc, argv) == 0) /* the build's --help-man and --help-bash */
        return 0;
    nn_blas_choose_kernels(argv); /* may re-execute */
    nn_comm comm;
    if (nn_comm_init(&comm, &argc, &argv) != 0) {
        fprintf(stderr, "nn-predict: error: MPI_Init failed\n");
        return 1;
    }
    nn_report_init(&comm, "nn-predict");
    predictor p;
    memset(&p, 0, sizeof p);
    p.comm = &comm;
    char err[ERRLEN] = "";
    int bad = nn_predict_config_parse(&p.cfg, argc, argv, err, sizeof err) != 0;
    if (bad || p.cfg.help || p.cfg.version) {
        /* Every rank parsed the same argv, so they agree without talking; rank 0 speaks. */
        if (comm.rank == 0) {
            if (bad)
                nn_print_error("nn-predict", 0, err);
            else if (p.cfg.help)
                nn_predict_config_usage(stdout);
            else
                print_version();
        }
        nn_comm_finalize(&comm);
        return bad ? 2 : 0;
    }
    if (p.cfg.threads > 0)
        nn_blas_threads((int)p.cfg.threads);

    /* --output must not replace an input; rank 0, which writes it, checks. */
    int rc = 0;
    if (comm.rank == 0 && p.cfg.output) {
        const char *flag = nn_same_file(p.cfg.output, p.cfg.data)    ? "--data"
                           : nn_same_file(p.cfg.output, p.cfg.model) ? "--model"
                                                                     : NULL;
        if (flag) {
            snprintf(err, sizeof err, "--output %s is the same file as %s %s; refusing to "
                     "overwrite an input", p.cfg.output, flag,
                     flag[2] == 'd' ? p.cfg.data : p.cfg.model);
            rc = NN_EXIT_USAGE;
        }
    }
    if ((rc = nn_fail(&comm, rc, err)) != 0)
        goto out;
    if (p.cfg.export) { /* a mode of its own (export.c) */
        rc = export_run(&p);
        goto out;
    }
    if (p.cfg.attack) { /* a mode of its own (attack.c) */
        rc = attack_run(&p);
        goto out;
    }
    if (p.cfg.explain || p.cfg.importance) { /* a mode of its own (explain.c) */
        rc = explain_run(&p);
        goto out;
    }
    rc = 1;
    int st = load_model(&p) != 0 ? 1 : p.cfg.csv ? raw_csv_open(&p) : 0;
    if (st == 0)
        st = open_split(&p);
    if (st != 0) {
        rc = st < 0 ? 1 : st;
        goto out;
    }
    banner(&p);
    nn_job_energy_start(&p.energy, &comm, p.cfg.watts_per_core);
    int fail = p.cfg.report && !p.info.x_only &&
               nn_pr_init(&p.pr, p.lo.sizes[p.lo.n_layers], p.classify, p.n_local,
                          p.pre.y_shift) != 0;
    if (nn_fail(&comm, fail, "out of memory for --report"))
        goto out;
    fail = predict_block(&p, err, sizeof err) != 0;
    if (nn_fail(&comm, fail, err))
        goto out;
    double t0 = nn_now();
    if (p.cfg.output && write_output(&p) != 0)
        goto out;
    p.t_out = nn_now() - t0;
    report(&p);
    if (print_report(&p) != 0)
        goto out;
    rc = 0;
out:
    raw_csv_close(&p);
    predictor_free(&p);
    nn_comm_finalize(&comm);
    return rc;
}
