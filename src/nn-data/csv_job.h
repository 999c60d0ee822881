/* csv_job.h: the state of one nn-data import-csv run, shared by the files of the CSV importer
 * (private to src/nn-data): import_csv.c (the command: arguments, first record, /meta,
 * summary), csv_rows.c (checking rows, and the two passes over the file), csv_classes.c (the
 * task and the classes, after pass 1), csv_job.c (freeing the job, naming its columns) and
 * labels.c (the set of label strings). Each file needs only those listed after it. */
#ifndef NN_DATA_CSV_JOB_H
#define NN_DATA_CSV_JOB_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "nn_csv.h"
#include "nn_data_cmd.h"
#include "nn_h5write.h"

/* More distinct labels than this is not a classification task (or needs --task regress). */
#define MAX_CLASSES 65536

/* ---- labels.c: a set of label strings (open addressing, FNV-1a), at most MAX_CLASSES ---- */
typedef struct {
    char **keys;
    int32_t *ids;
    size_t cap, n;
    int overflow; /* more distinct labels than MAX_CLASSES were seen */
} strset;

void strset_free(strset *t);
/* The slot of s: where it is, or the empty slot where it would go. Needs cap > 0. */
size_t strset_slot(const strset *t, const char *s);
/* Adds s if new; 0, or -1 when out of memory. */
int strset_add(strset *t, const char *s);

/* ---- the job ---- */
enum { TASK_AUTO = 0, TASK_CLASSIFY = 1, TASK_REGRESS = 2 };

typedef struct {
    const char *path;
    FILE *f;
    nn_csv *csv;
    size_t width, label, d;
    int header;
    char **names;        /* header fields (width), or NULL */
    int task;            /* TASK_AUTO, TASK_CLASSIFY or TASK_REGRESS */
    int drop;            /* --bad-rows drop */
    /* pass 1 */
    size_t rows, kept, missing, nonfinite;
    long miss_line, nonf_line;
    size_t miss_col, nonf_col;
    int label_text;      /* some kept label is not a number */
    int label_frac;      /* some kept label is a non-integer number */
    strset seen;
    /* classes, once the task is known */
    int numeric_classes; /* classes are numbers (cval), else strings (seen.ids) */
    double *cval;
    char **cnames;       /* class names, sorted, K of them */
    size_t k;
} csv_job;

/* ---- csv_job.c ---- */
/* Frees what the job holds and closes its file; the job itself is the caller's. */
void job_free(csv_job *j);
/* "column 3 ('age')" or "column 3", in buf. */
const char *col_name(const csv_job *j, size_t c, char *buf, size_t len);
/* A field's text for a message: at most 40 bytes, control characters escaped, in buf. */
const char *quote_value(const char *s, char *buf, size_t len);

/* ---- csv_rows.c ---- */
/* Pass 1: every row checked and counted; the labels of kept rows collected. 0, or an exit
 * status after printing the error. */
int csv_pass1(csv_job *j, int first_is_data);
/* Pass 2: the kept rows, n_test of them (a seeded uniform subset) to test, the rest to train.
 * 0, or an exit status after printing the error. */
int csv_pass2(csv_job *j, const dopts *o, nn_h5w_split *train, nn_h5w_split *test,
              size_t n_test);

/* ---- csv_classes.c ---- */
/* After pass 1: the task and, for classification, the sorted classes. 0, or an exit status
 * after printing the error. */
int csv_classes(csv_job *j);
/* The class of a kept row's label; -1 if unknown (the file changed between passes). */
int32_t class_of(const csv_job *j, const char *s, double v);

#endif
