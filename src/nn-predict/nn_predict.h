/* nn_predict.h: nn-predict, the deployment half: run a checkpoint's model over one split of a
 * data file (docs/nn-predict.md).
 *
 *   config.c  the option table, the parser and --help (pure: no MPI, no HDF5)
 *   io.c      the output files: the checks before any work, and the atomic CSV and HDF5
 *             writers (the HDF5 file itself is nn_predictions.h's; the checkpoint pre-check
 *             is nn_ckpt_precheck, the data split is read by nn_h5_probe_as and
 *             nn_h5_read_block: all in the io layer)
 *   main.c    the program: prolog (flags, model, data), the prediction loop, epilog
 */
#ifndef NN_PREDICT_H
#define NN_PREDICT_H

#include <stddef.h>
#include <stdio.h>

#include "nn_args.h"
#include "nn_predictions.h"

/* ---- command line (one table names every flag; parsing and --help come from it) ---- */

typedef enum { NN_OUT_NONE = 0, NN_OUT_CSV, NN_OUT_H5 } nn_out_kind;

typedef struct {
    const char *model;   /* checkpoint written by nn-train */
    const char *data;    /* HDF5 data file (docs/data-format.md) */
    const char *csv;     /* --csv: raw rows encoded by the checkpoint's /encoder (rawcsv.c) */
    const char *split;   /* auto | test | val | train */
    const char *output;  /* NULL: metrics only */
    long batch;          /* rows per forward pass */
    long threads;        /* OpenBLAS threads per rank (0: leave as is) */
    int report;          /* --report: per-class figures, or MSE, MAE and R^2 */
    int quiet, help, version;
    /* explanations (explain.c, docs/explain.md) */
    const char *explain;    /* --explain ig|gradxinput|saliency, or NULL */
    const char *importance; /* --importance permutation|ig, or NULL */
    const char *rows;       /* --rows LIST of file rows, or NULL: the whole split */
    const char *klass;      /* --class pred|N: the class (or output) attributed */
    const char *baseline;   /* --baseline mean|zero|FILE: IG's starting point */
    const char *ig_method;  /* --ig-method auto|exact|riemann */
    long steps, repeats, seed;
    double watts_per_core, grid_intensity; /* energy (docs/energy.md) */
    /* --export (export.c, docs/export.md) */
    const char *export;         /* --export FILE.nnq, or NULL */
    const char *export_storage; /* --export-storage auto|int8|csc */
    /* --attack (attack.c, docs/robustness.md) */
    const char *attack;        /* fgsm | pgd, or NULL */
    const char *attack_output; /* the adversarial inputs as a data file, or NULL */
    double eps, attack_step_size;
    long attack_steps;
    nn_out_kind out_kind; /* from the extension of output */
    unsigned char given[48];
} nn_predict_config;

/* Fills cfg from argv; checks required flags and the output's extension. Returns 0, or -1
 * with one line in err (a usage error). Never prints or exits. */
int nn_predict_config_parse(nn_predict_config *cfg, int argc, char **argv, char *err,
                            size_t errlen);
int nn_predict_config_given(const nn_predict_config *cfg, const char *name);
void nn_predict_config_usage(FILE *out);
/* The option table, for the manual page and the shell completion (nn_manual.h). */
const nn_argspec *nn_predict_config_spec(void);
/* --help-man or --help-bash alone: prints the page or the script and returns 0; else -1. */
int nn_predict_manual(int argc, char **argv);

/* ---- output files ---- */



/* Writes n records (rec: (n, k + classify) floats, the class first as a float) atomically:
 * "<path>.tmp" in the same directory, flushed and fsync'ed, renamed over path, directory
 * fsync'ed; on failure the tmp file is removed and nothing else is touched.
 * CSV: header "row,class,p0,..." or "row,y0,...", one line per row, floats as %.9g (exact
 * float32 round trip). HDF5: /predictions float32 [n, k], /classes int32 [n] when classify,
 * and provenance attributes on the root. 0, or -1 with err. */
int nn_predict_write(const char *path, nn_out_kind kind, const float *rec, size_t n,
                     const nn_predictions_meta *meta, char *err, size_t errlen);

/* The steps of that atomic write, for the other modes' output files (explain_out.c):
 * nn_predict_tmp_name puts "<path>.tmp" in tmp (0, or -1 with err when too long);
 * nn_predict_close flushes, fsyncs and closes f (0 or an errno); nn_predict_commit takes the
 * writer's result (0, an errno, or -1 for an HDF5 failure) and renames tmp over path with the
 * directory fsync'ed, or removes tmp (0, or -1 with err). */
int nn_predict_tmp_name(const char *path, char *tmp, size_t len, char *err, size_t errlen);
int nn_predict_close(FILE *f);
int nn_predict_commit(const char *path, const char *tmp, int rc_of_write, char *err,
                      size_t errlen);

/* Checks, before any work, that the output's directory exists and is writable and that the
 * output is not a directory. 0 or -1 (err). */
int nn_predict_check_output(const char *path, char *err, size_t errlen);

/* ---- --report (report.c): sums each rank adds to, added up over ranks, printed by rank 0 ---- */

typedef struct {
    int K, classify;
    double *sums;        /* classify: confusion counts [truth][pred] (K, K); regression: per
                          * output n, sum r^2, sum |r|, sum (y-c), sum (y-c)^2 (K, 5) */
    size_t n_sums;
    float *pairs;        /* two classes: (score of class 1, label) per row of this rank */
    size_t n_pairs;
    const float *center; /* regression: c per output (the training mean), or NULL for 0 */
} nn_pr;

int nn_pr_init(nn_pr *r, int K, int classify, size_t n_local, const float *center);
void nn_pr_free(nn_pr *r);
void nn_pr_add_class(nn_pr *r, int truth, int pred, float p1);
void nn_pr_add_regress(nn_pr *r, const float *pred, const float *y); /* (K) each */
/* Prints the report of r, whose sums are over every rank; pairs (n_pairs, 2) are every rank's
 * two-class scores (sorted here). */
void nn_pr_print_class(FILE *out, const nn_pr *r, float *pairs, size_t n_pairs);
void nn_pr_print_regress(FILE *out, const nn_pr *r, int original_units);

#endif
