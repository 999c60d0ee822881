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
    const char *split;   /* auto | test | val | train */
    const char *output;  /* NULL: metrics only */
    long batch;          /* rows per forward pass */
    long threads;        /* OpenBLAS threads per rank (0: leave as is) */
    int quiet, help, version;
    nn_out_kind out_kind; /* from the extension of output */
    unsigned char given[16];
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

/* Checks, before any work, that the output's directory exists and is writable and that the
 * output is not a directory. 0 or -1 (err). */
int nn_predict_check_output(const char *path, char *err, size_t errlen);

#endif
