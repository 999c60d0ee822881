/* explain.h: nn-predict's explanations (docs/explain.md): the per-row attributions of
 * --explain and the feature importances of --importance. explain.c is the mode (collective:
 * rows, baseline, passes over the ranks); explain_out.c, here, holds what needs no other rank:
 * the row list, the baseline file, the feature names and the output files. */
#ifndef NN_EXPLAIN_H
#define NN_EXPLAIN_H

#include <stddef.h>

#include "nn_predict.h"

/* Per-row record of --explain, (EX_HEAD + D) floats: the class (or output) attributed, f(x),
 * f(baseline), the attributions' sum and its gap to f(x) - f(baseline) relative to that
 * difference (IG only; NaN otherwise), then the D attributions. */
enum { EX_CLASS, EX_FX, EX_FB, EX_SUM, EX_GAP, EX_HEAD };

typedef struct {
    const char *method;       /* ig | gradxinput | saliency | permutation */
    const char *target;       /* what f is, in words ("softmax probability of the class") */
    const char *metric;       /* --importance: "accuracy drop" or "MSE rise (targets' units)" */
    const char *ig_method;    /* IG: "exact" or "riemann" (--ig-method auto resolved) */
    int D, steps, repeats;    /* steps: the midpoints of riemann (written for exact too) */
    const char *baseline;     /* --baseline as given */
    const float *base;        /* (D) the baseline used, or NULL */
    const char *model, *data, *split;
    int world;
    const char *const *names; /* (D) feature names */
    int names_from_meta;      /* 1: /meta/feature_names; 0: f0..f{D-1} */
} ex_meta;

/* Parses --rows ("0,5,10-19") into ascending, distinct file rows below n: *sel (malloc'ed),
 * *n_sel. NULL list: every row. 0, or -1 with err naming the flag and the bad item. */
int ex_parse_rows(const char *list, size_t n, size_t **sel, size_t *n_sel, char *err,
                  size_t errlen);
/* Reads a baseline FILE: exactly D finite numbers separated by commas, spaces or newlines.
 * 0, or -1 with err. */
int ex_read_baseline(const char *path, int D, float *base, char *err, size_t errlen);
/* The feature names: /meta/feature_names of the data file when it holds exactly D of them,
 * else f0..f{D-1} (*from_meta says which). NULL when out of memory. Free with
 * ex_names_free(names, D). */
char **ex_feature_names(const char *data, int D, int *from_meta);
void ex_names_free(char **names, int D);

/* Writes n records rec (n, EX_HEAD + D) of the file rows rows[0..n) atomically ("<path>.tmp"
 * renamed into place): CSV with a header of the feature names, or HDF5 (docs/explain.md).
 * 0, or -1 with err. */
int ex_write_attributions(const char *path, nn_out_kind kind, const ex_meta *m,
                          const size_t *rows, const float *rec, size_t n, char *err,
                          size_t errlen);
/* Writes the importances imp (D) and their spread (D), most important first. 0 or -1. */
int ex_write_importance(const char *path, nn_out_kind kind, const ex_meta *m,
                        const double *imp, const double *spread, size_t n_rows, char *err,
                        size_t errlen);
/* order (D): the features by importance, largest first (ties: the lower index first). */
void ex_rank(const double *imp, int D, int *order);

#endif
