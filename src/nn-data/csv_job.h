/* csv_job.h: the state of one nn-data import-csv run, shared by the files of the CSV importer
 * (private to src/nn-data): import_csv.c (the command: arguments, first record, /meta,
 * summary), csv_encode.c (the encoder: the columns' kinds after pass 1, the statistics pass
 * over the training rows, the vocabularies), csv_rows.c (the one loop over the rows that every
 * pass drives, with the seeded choice of the /test rows; pass 1 and pass 2), csv_classes.c
 * (the task and the classes, after pass 1), csv_cols.c (the column flags: --categorical,
 * --numeric, --drop-columns, --na-values), csv_job.c (freeing the job, naming its columns) and
 * labels.c (the set of label strings). Each file needs only those listed after it. */
#ifndef NN_DATA_CSV_JOB_H
#define NN_DATA_CSV_JOB_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "nn_csv.h"
#include "nn_encode.h"
#include "nn_rng.h"
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
/* The number of strings added to a key is its ids[] entry when counting (strset_count). */
int strset_count(strset *t, const char *s);
/* The slot of s: where it is, or the empty slot where it would go. Needs cap > 0. */
size_t strset_slot(const strset *t, const char *s);
/* Adds s if new; 0, or -1 when out of memory. */
int strset_add(strset *t, const char *s);

/* ---- the job ---- */
enum { TASK_AUTO = 0, TASK_CLASSIFY = 1, TASK_REGRESS = 2 };

/* What a source column is: the label, dropped (--drop-columns), a feature whose kind pass 1
 * decides, or one forced by --numeric / --categorical; pass 1 turns AUTO into NUM or CAT. */
enum { ROLE_LABEL, ROLE_DROP, ROLE_AUTO, ROLE_NUM, ROLE_CAT };
enum { IMPUTE_DROP, IMPUTE_MEAN, IMPUTE_MEDIAN, IMPUTE_FREQUENT };

/* Pass 1's evidence about one source column's kind. */
typedef struct {
    size_t num, text, comma; /* numbers, text, and values that are no category: numbers with
                              * a decimal comma, values with a control character */
    size_t missing;          /* NA fields among kept rows */
    long text_line;          /* the first text (or decimal-comma) field: its line and value */
    char *text_value;
} col_seen;

/* The training rows' statistics of one source column (csv_encode.c). */
typedef struct {
    size_t n, missing;       /* values and missing fields among training rows */
    double sum;              /* numeric: the sum of the values, in file order */
    double *vals;            /* numeric, for median and most-frequent: the values */
    size_t nvals, cap;
    strset cats;             /* categorical: the values, ids[] counting them */
} col_stats;

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
    /* the columns (width each) and the encoder */
    int *role;           /* ROLE_*, per source column */
    col_seen *cs;        /* pass 1's evidence */
    col_stats *st;       /* the training rows' statistics */
    int impute;          /* IMPUTE_* */
    int indicators;      /* --missing-indicators */
    long max_cat;        /* --max-categories (0: no limit) */
    nn_encoder enc;      /* its columns are the source columns with role NUM or CAT, in order */
    int *src;            /* enc column -> source column */
    const char **rowf;   /* a record's fields in enc column order */
    nn_num_kind *kind;   /* the row being checked: each numeric (or undecided) feature's kind */
    double *val;         /* and value, by source column (ROWS_KINDS, ROWS_NUMBERS) */
    float *x;            /* the row's features (d), encoded (ROWS_ENCODE) */
    size_t unseen;       /* categorical values of /test rows never seen in training */
    size_t unseen_rows;
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
typedef enum { ROW_OK, ROW_MISSING, ROW_NONFINITE, ROW_ERROR } row_status;
/* How a pass checks each row's features: ROWS_KINDS (pass 1, the first time: the numeric
 * features parsed, and the evidence of each undecided column's kind noted), ROWS_NUMBERS (the
 * numeric features parsed, into j->kind and j->val), ROWS_ENCODE (pass 2: the features
 * through the encoder into j->x; the encoder parses the numbers, and its verdict drops a
 * row). */
enum { ROWS_KINDS, ROWS_NUMBERS, ROWS_ENCODE };
/* A data row as csv_rows hands it to a pass; valid until the pass's function returns. */
typedef struct {
    const char *const *fld; /* the record's fields (width of them) */
    row_status st;          /* ROW_OK (kept), or why it is dropped: ROW_MISSING or
                             * ROW_NONFINITE, first in column col */
    size_t col;
    nn_num_kind lk;         /* the label's kind and value */
    double lv;
    size_t unseen;          /* ROWS_ENCODE: categorical values outside the vocabulary */
    int to_test;            /* with a split: the row goes to /test */
} csv_row;
/* What a pass does with a row: 0, or an exit status after printing the error (the pass
 * ends). */
typedef int (*row_fn)(csv_job *j, const csv_row *r, void *ctx);
/* One pass over the data rows, the loop of every pass: each record read and split into
 * fields, checked as check says (text in a numeric column is an error), and handed to fn;
 * from the start of the file when rewind, else from where the reader is (pass 1, the first
 * time, after the header). Without o, every row; with o, each kept row with its split:
 * n_test of them to /test, chosen by o's seed the same way in every pass (a file that no
 * longer has pass 1's kept rows is an error). 0, or an exit status after printing the
 * error. */
int csv_rows(csv_job *j, int check, int rewind, const dopts *o, size_t n_test, row_fn fn,
             void *ctx);
/* Pass 1: every row checked and counted; the labels of kept rows collected; with kinds,
 * the evidence of each column's kind too (kept rows or not). 0, or an exit status after
 * printing the error. */
int csv_pass1(csv_job *j, int first_is_data, int kinds);
/* The last pass: the kept rows encoded, n_test of them to test, the rest to train. 0, or an
 * exit status after printing the error. */
int csv_pass2(csv_job *j, const dopts *o, nn_h5w_split *train, nn_h5w_split *test,
              size_t n_test);

/* ---- csv_encode.c ---- */
/* After pass 1: each AUTO column's kind (numeric unless most of its present values are text;
 * a numeric column with text is an error naming its first). *again = 1 when pass 1 must be
 * run again now that the kinds are known (a categorical column had missing or non-finite
 * values, which decided nothing). 0, or an exit status after printing the error. */
int csv_decide_kinds(csv_job *j, int *again);
/* The encoder: its columns; when needed, a pass over the training rows for the imputation
 * values and the vocabularies; the label and classes. 0, or an exit status after printing the
 * error. */
int csv_build_encoder(csv_job *j, const dopts *o, size_t n_test);

/* ---- csv_cols.c ---- */
/* The column flags against the header: each column's role, the NA tokens, --impute. 0, or
 * EXIT_USAGE after printing the error. */
int csv_columns(csv_job *j, const dopts *o, const char *const *fld, size_t nf);

/* ---- csv_classes.c ---- */
/* After pass 1: the task and, for classification, the sorted classes. 0, or an exit status
 * after printing the error. */
int csv_classes(csv_job *j);
/* The class of a kept row's label; -1 if unknown (the file changed between passes). */
int32_t class_of(const csv_job *j, const char *s, double v);

#endif
