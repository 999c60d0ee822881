/* predictor.h: nn-predict's state and its prolog (prolog.c), shared by the program's modes:
 * the predictions themselves (main.c) and the modes that work on the same model and split.
 * Private to src/nn-predict; every function here is collective (all ranks call it). */
#ifndef NN_PREDICTOR_H
#define NN_PREDICTOR_H

#include <stddef.h>

#include "nn_comm.h"
#include "nn_h5data.h"
#include "nn_jobenergy.h"
#include "nn_model.h"
#include "nn_predict.h"
#include "nn_preprocess.h"
#include "nn_qfile.h"
#include "nn_qmodel.h"

#define ERRLEN 768

typedef struct {
    const nn_comm *comm;
    nn_predict_config cfg;
    /* the model, identical on every rank */
    nn_layout lo;
    float *params;       /* lo.n_params; an exported model's dequantised weights */
    nn_qmodel q;         /* an exported model (q.blob set): predictions run its int8 kernels */
    nn_qfile_meta origin; /* rank 0: the model file's source, checksum and step */
    nn_preprocess pre;
    int classify;        /* softmax output: a record is [class, p_0 .. p_{K-1}] */
    int width;           /* floats per record: K + classify */
    /* the data */
    const char *split;
    nn_split_info info;  /* info.x_only: the split has no y, so no metrics */
    size_t row0, n_local; /* this rank's block: file rows [row0, row0 + n_local) */
    int batch;           /* rows per forward pass; every pass has exactly this many, and
                          * pass j covers the split's rows [j * batch, (j + 1) * batch) */
    nn_work work;
    float *xpad;         /* (batch, D): a pass this rank holds only part of, zero elsewhere */
    float *rec;          /* (n_local, width): this rank's predictions */
    double acc[3];       /* loss sum, correct, samples: summed over ranks at the end */
    nn_pr pr;            /* --report's sums (report.c) */
    double t_io, t_compute, t_out; /* seconds; reported as the max over ranks */
    nn_job_energy energy; /* the predictions' energy, from after the banner (docs/energy.md) */
    char raw_path[4096]; /* --csv: the temporary data file of the encoded rows, or "" */
} predictor;

/* Rank 0 reads and checks --model; every rank receives the layout, the parameters and the
 * preprocessing. 0, or -1 after the error (decided by all). */
int load_model(predictor *p);
/* Picks the split and checks it against the model, then plans the passes (this rank's block of
 * rows, the buffers). 0, or an exit status: 2 when --split names a split the file lacks. */
int open_split(predictor *p);
/* The start-up lines: ranks and BLAS, the model, the data split. */
void banner(const predictor *p);
void predictor_free(predictor *p);

/* --csv (rawcsv.c): rank 0 encodes the raw rows with the model's /encoder into a temporary
 * data file, which becomes cfg.data (split "test") for every rank. 0, or 1 after the error
 * (decided by all). raw_csv_close removes the file. */
int raw_csv_open(predictor *p);
void raw_csv_close(predictor *p);

/* --attack (attack.c, docs/robustness.md): the prolog above, then the adversarial rows of
 * the split, their accuracy and loss beside the clean rows'. Returns the exit status. */
int attack_run(predictor *p);

/* --explain and --importance (explain.c, docs/explain.md): the prolog above, then the
 * attributions or importances of the split's rows. Returns the exit status. */
int explain_run(predictor *p);

/* --export (export.c, docs/export.md): the prolog's load_model, then rank 0 writes the int8
 * model. Returns the exit status. */
int export_run(predictor *p);
/* The model's forward pass over x (B rows): the int8 kernels for an exported model, else the
 * float parameters. */
static inline void predictor_forward(predictor *p, const float *x, int B)
{
    nn_infer(&p->lo, p->params, p->q.blob ? &p->q : NULL, &p->work, x, B);
}

#endif
