/* csv_rows.c: the CSV importer's two passes over the file (csv_job.h), record by record.
 * Pass 1 checks every row (a feature that is not a number stops the import; an empty or
 * non-finite value drops the row, or stops it with --bad-rows fail), counts the rows kept
 * and dropped, and collects the labels; pass 2 reads the file again and writes each kept row
 * to /train or /test. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "csv_job.h"
#include "nn_rng.h"

typedef enum { ROW_OK, ROW_MISSING, ROW_NONFINITE, ROW_ERROR } row_status;

/* The error of field c that is not a number: "FILE:LINE: column C('name')ROLE: 'text' is not
 * a number; expected EXPECTED". ROW_ERROR. */
static row_status not_a_number(const csv_job *j, const char *const *fld, size_t c,
                               const char *role, const char *expected, char *err, size_t errlen)
{
    char cn[96], qv[200];
    snprintf(err, errlen, "%s:%ld: %s%s: '%s' is not a number; expected %s", j->path,
             nn_csv_line(j->csv), col_name(j, c, cn, sizeof cn), role,
             quote_value(fld[c], qv, sizeof qv), expected);
    return ROW_ERROR;
}

/* Checks one record and converts its features into x[d]. *col: the offending column. The
 * label is checked here too (empty or non-finite: the row is dropped; not a number under
 * --task regress: an error) and returned in *lk / *lv. */
static row_status check_row(const csv_job *j, const char *const *fld, float *x,
                            nn_num_kind *lk, double *lv, size_t *col, char *err, size_t errlen)
{
    row_status st = ROW_OK;
    for (size_t c = 0, o = 0; c < j->width; c++) {
        double v = 0;
        nn_num_kind k = nn_csv_number(fld[c], &v);
        if (c == j->label) {
            *lk = k;
            *lv = v;
            if (k == NN_NUM_OK && fabs(v) > FLT_MAX && j->task == TASK_REGRESS)
                k = NN_NUM_NONFINITE;
            if (k == NN_NUM_BAD && j->task == TASK_REGRESS)
                return not_a_number(j, fld, c, ", the label",
                                    "a number with --task regress", err, errlen);
        } else {
            if (k == NN_NUM_BAD)
                return not_a_number(j, fld, c, "",
                                    "a number, or an empty field for a missing value", err,
                                    errlen);
            if (k == NN_NUM_OK && fabs(v) > FLT_MAX)
                k = NN_NUM_NONFINITE; /* beyond float32: it would be stored as inf */
            x[o++] = (float)v;
        }
        if (st == ROW_OK && (k == NN_NUM_EMPTY || k == NN_NUM_NONFINITE)) {
            st = k == NN_NUM_EMPTY ? ROW_MISSING : ROW_NONFINITE;
            *col = c;
        }
    }
    return st;
}

/* What both passes start with: a row's features buffer (d floats) and, when asked, the file
 * read again from its start. The buffer, or NULL after printing the error. */
static float *pass_start(csv_job *j, int rewind)
{
    float *x = malloc(j->d * sizeof(float));
    if (!x) {
        data_error("out of memory for %zu features", j->d);
        return NULL;
    }
    if (rewind && nn_csv_rewind(j->csv) != 0) {
        data_error("%s: cannot seek back to the start (a pipe?); expected a regular file, "
                   "which nn-data reads twice", j->path);
        free(x);
        return NULL;
    }
    return x;
}

/* Pass 1's account of a row with a missing or non-finite value in column col: the first of
 * each kind is remembered for the summary. 0, or EXIT_DATA after printing the error under
 * --bad-rows fail. */
static int drop_row(csv_job *j, row_status st, size_t col)
{
    if (!j->drop) {
        char cn[96];
        data_error("%s:%ld: %s: %s; expected no missing or non-finite values with "
                   "--bad-rows fail",
                   j->path, nn_csv_line(j->csv), col_name(j, col, cn, sizeof cn),
                   st == ROW_MISSING ? "empty field (a missing value)"
                                     : "not finite (nan, inf, or beyond float32)");
        return EXIT_DATA;
    }
    if (st == ROW_MISSING && j->missing++ == 0) {
        j->miss_line = nn_csv_line(j->csv);
        j->miss_col = col;
    } else if (st == ROW_NONFINITE && j->nonfinite++ == 0) {
        j->nonf_line = nn_csv_line(j->csv);
        j->nonf_col = col;
    }
    return 0;
}

int csv_pass1(csv_job *j, int first_is_data)
{
    char err[1024];
    float *x = pass_start(j, first_is_data);
    if (!x)
        return EXIT_DATA;
    int rc = 0;
    const char *const *fld;
    size_t nf;
    int r;
    while ((r = nn_csv_next(j->csv, &fld, &nf, err, sizeof err)) == NN_CSV_RECORD) {
        nn_num_kind lk;
        double lv;
        size_t col = 0;
        j->rows++;
        row_status st = check_row(j, fld, x, &lk, &lv, &col, err, sizeof err);
        if (st == ROW_ERROR) {
            data_error("%s", err);
            rc = EXIT_DATA;
            break;
        }
        if (st != ROW_OK) {
            if ((rc = drop_row(j, st, col)) != 0)
                break;
            continue;
        }
        j->kept++;
        if (lk == NN_NUM_BAD)
            j->label_text = 1;
        else if (lv != floor(lv) || fabs(lv) > 9.0e15)
            j->label_frac = 1;
        if (j->task != TASK_REGRESS && strset_add(&j->seen, fld[j->label]) != 0) {
            data_error("out of memory for the labels");
            rc = EXIT_DATA;
            break;
        }
    }
    if (rc == 0 && r == NN_CSV_ERROR) {
        data_error("%s", err);
        rc = EXIT_DATA;
    }
    free(x);
    return rc;
}

/* Pass 2: the kept rows, each to /train or /test (Knuth's selection sampling: exactly
 * n_test rows, a uniform random subset, decided row by row). */
int csv_pass2(csv_job *j, const dopts *o, nn_h5w_split *train, nn_h5w_split *test,
              size_t n_test)
{
    char err[1024];
    float *x = pass_start(j, 1);
    if (!x)
        return EXIT_DATA;
    nn_rng rng;
    nn_rng_seed(&rng, (uint64_t)o->seed, nn_stream_id(NN_STREAM_TEST_SPLIT, 0, 0));
    size_t kept = 0, picked = 0;
    const char *const *fld;
    size_t nf;
    int r, rc = 0, skip_header = j->header;
    while ((r = nn_csv_next(j->csv, &fld, &nf, err, sizeof err)) == NN_CSV_RECORD) {
        if (skip_header) {
            skip_header = 0;
            continue;
        }
        nn_num_kind lk;
        double lv;
        size_t col;
        row_status st = check_row(j, fld, x, &lk, &lv, &col, err, sizeof err);
        if (st == ROW_ERROR) {
            data_error("%s", err);
            rc = EXIT_DATA;
            break;
        }
        if (st != ROW_OK)
            continue;
        int to_test = 0;
        if (n_test > 0 && kept < j->kept) {
            double u = nn_rng_uniform(&rng);
            to_test = (double)(j->kept - kept) * u < (double)(n_test - picked);
        }
        kept++;
        picked += (size_t)to_test;
        int32_t c = 0;
        float t = (float)lv;
        if (j->task == TASK_CLASSIFY && (c = class_of(j, fld[j->label], lv)) < 0)
            kept = j->kept + 1; /* an unknown label: the file changed */
        if (kept > j->kept) {
            data_error("%s changed while nn-data was reading it; expected an unchanging file",
                  j->path);
            rc = EXIT_DATA;
            break;
        }
        const void *y = j->task == TASK_CLASSIFY ? (const void *)&c : (const void *)&t;
        if (nn_h5w_append(to_test ? test : train, x, y, err, sizeof err) != 0) {
            data_error("%s", err);
            rc = EXIT_DATA;
            break;
        }
    }
    if (rc == 0 && r == NN_CSV_ERROR) {
        data_error("%s", err);
        rc = EXIT_DATA;
    }
    if (rc == 0 && kept != j->kept) {
        data_error("%s changed while nn-data was reading it; expected an unchanging file",
                   j->path);
        rc = EXIT_DATA;
    }
    free(x);
    return rc;
}
