/* csv_rows.c: the CSV importer's passes over the file (csv_job.h), record by record. Pass 1
 * checks every row (text in a numeric column stops the import; a missing number under
 * --impute drop, or a non-finite one, drops the row, or stops it with --bad-rows fail), counts
 * the rows kept and dropped, collects the labels and, the first time, the evidence of each
 * column's kind; pass 2 reads the file again and writes each kept row, through the encoder,
 * to /train or /test. The seeded choice of the /test rows is here too (test_picker), for
 * pass 2 and for the statistics pass of csv_encode.c. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv_job.h"
#include "nn_rng.h"

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

/* A number written with a decimal comma ("2,5"), or a value with a control character (a
 * newline inside quotes, an escape sequence): never evidence of a categorical column. */
static int not_a_category(const char *s)
{
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return 1;
    const char *comma = strchr(s, ',');
    char buf[64];
    double v;
    size_t n = strlen(s);
    if (!comma || strchr(comma + 1, ',') || n >= sizeof buf)
        return 0;
    memcpy(buf, s, n + 1);
    buf[comma - s] = '.';
    return nn_csv_number(buf, &v) == NN_NUM_OK;
}

/* Pass 1's evidence about an AUTO column's field of kind k. */
static void note_kind(csv_job *j, size_t c, const char *s, nn_num_kind k)
{
    col_seen *cs = &j->cs[c];
    if (k == NN_NUM_BAD) {
        int comma = not_a_category(s);
        cs->comma += (size_t)comma;
        cs->text += (size_t)!comma;
        if (!cs->text_value) {
            cs->text_line = nn_csv_line(j->csv);
            cs->text_value = strdup(s);
        }
    } else if (k == NN_NUM_OK) {
        cs->num++;
    } else {
        cs->missing++; /* missing or non-finite: decides nothing */
    }
}

/* The label's field: its kind (a missing value under the NA tokens) and value. */
static row_status label_field(const csv_job *j, const char *const *fld, nn_num_kind *lk,
                              double *lv, char *err, size_t errlen)
{
    size_t c = j->label;
    double v = 0;
    nn_num_kind k = nn_enc_is_na(&j->enc, fld[c]) ? NN_NUM_EMPTY : nn_csv_number(fld[c], &v);
    *lk = k;
    *lv = v;
    if (k == NN_NUM_BAD && j->task == TASK_REGRESS)
        return not_a_number(j, fld, c, ", the label", "a number with --task regress", err,
                            errlen);
    if (k == NN_NUM_EMPTY)
        return ROW_MISSING;
    if (k == NN_NUM_NONFINITE || (k == NN_NUM_OK && fabs(v) > FLT_MAX && j->task == TASK_REGRESS))
        return ROW_NONFINITE;
    return ROW_OK;
}

row_status check_row(csv_job *j, const char *const *fld, nn_num_kind *lk, double *lv,
                     size_t *col, int kinds, char *err, size_t errlen)
{
    row_status st = ROW_OK, lst = label_field(j, fld, lk, lv, err, errlen);
    if (lst == ROW_ERROR)
        return lst;
    for (size_t c = 0; c < j->width; c++) {
        int role = j->role[c];
        if (c == j->label && st == ROW_OK && lst != ROW_OK) {
            st = lst;
            *col = c;
        }
        if (role != ROLE_AUTO && role != ROLE_NUM)
            continue;
        double v = 0;
        nn_num_kind k = nn_enc_is_na(&j->enc, fld[c]) ? NN_NUM_EMPTY : nn_csv_number(fld[c], &v);
        if (k == NN_NUM_OK && fabs(v) > FLT_MAX)
            k = NN_NUM_NONFINITE; /* beyond float32: it would be stored as inf */
        if (kinds && role == ROLE_AUTO) {
            note_kind(j, c, fld[c], k);
            if (k == NN_NUM_BAD)
                continue; /* text: decided after pass 1 */
        }
        if (k == NN_NUM_BAD)
            return not_a_number(j, fld, c, "",
                                "a number, or a missing value (an empty field or one of "
                                "--na-values)",
                                err, errlen);
        if (st == ROW_OK && ((k == NN_NUM_EMPTY && j->impute == IMPUTE_DROP) ||
                             k == NN_NUM_NONFINITE)) {
            st = k == NN_NUM_EMPTY ? ROW_MISSING : ROW_NONFINITE;
            *col = c;
        }
    }
    return st;
}

/* The file read again from its start (the header passed over). 0, or EXIT_DATA after printing
 * the error. */
static int pass_rewind(csv_job *j)
{
    if (nn_csv_rewind(j->csv) != 0) {
        data_error("%s: cannot seek back to the start (a pipe?); expected a regular file, "
                   "which nn-data reads more than once", j->path);
        return EXIT_DATA;
    }
    if (j->header) {
        const char *const *fld;
        size_t nf;
        char err[1024];
        if (nn_csv_next(j->csv, &fld, &nf, err, sizeof err) != NN_CSV_RECORD) {
            data_error("%s changed while nn-data was reading it; expected an unchanging file",
                       j->path);
            return EXIT_DATA;
        }
    }
    return 0;
}

/* Pass 1's account of a row with a missing or non-finite value in column col: the first of
 * each kind is remembered for the summary. 0, or EXIT_DATA after printing the error under
 * --bad-rows fail. */
static int drop_row(csv_job *j, row_status st, size_t col)
{
    if (!j->drop) {
        char cn[96];
        data_error("%s:%ld: %s: %s; expected no missing or non-finite values with "
                   "--bad-rows fail%s",
                   j->path, nn_csv_line(j->csv), col_name(j, col, cn, sizeof cn),
                   st == ROW_MISSING ? "a missing value (empty, or one of --na-values)"
                                     : "not finite (inf, or beyond float32)",
                   st == ROW_MISSING && col != j->label ? " and --impute drop" : "");
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

/* Pass 1 starts afresh (it may run twice). */
static void pass1_reset(csv_job *j)
{
    j->rows = j->kept = j->missing = j->nonfinite = 0;
    j->label_text = j->label_frac = 0;
    strset_free(&j->seen);
}

int csv_pass1(csv_job *j, int first_is_data, int kinds)
{
    char err[1024];
    pass1_reset(j);
    if ((!kinds || first_is_data) && pass_rewind(j) != 0)
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
        row_status st = check_row(j, fld, &lk, &lv, &col, kinds, err, sizeof err);
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
    return rc;
}

void picker_init(test_picker *p, const dopts *o, size_t total, size_t n_test)
{
    nn_rng_seed(&p->rng, (uint64_t)o->seed, nn_stream_id(NN_STREAM_TEST_SPLIT, 0, 0));
    p->kept = p->picked = 0;
    p->total = total;
    p->n_test = n_test;
}

int picker_next(test_picker *p)
{
    int to_test = 0;
    if (p->n_test > 0 && p->kept < p->total) {
        double u = nn_rng_uniform(&p->rng);
        to_test = (double)(p->total - p->kept) * u < (double)(p->n_test - p->picked);
    }
    p->kept++;
    p->picked += (size_t)to_test;
    return to_test;
}

/* One kept row's features through the encoder into x; /test rows count the values outside
 * the training vocabulary. 0, or EXIT_DATA after printing the error. */
static int encode(csv_job *j, const char *const *fld, float *x, int to_test)
{
    for (int c = 0; c < j->enc.ncol; c++)
        j->rowf[c] = fld[j->src[c]];
    int bad = 0;
    size_t before = j->unseen;
    nn_enc_status st = nn_enc_row(&j->enc, j->rowf, x, &bad, to_test ? &j->unseen : NULL);
    j->unseen_rows += j->unseen != before;
    if (st == NN_ENC_OK)
        return 0;
    char cn[96], qv[200];
    data_error("%s:%ld: %s: '%s' cannot be encoded (%s); expected the file unchanged since "
               "the first pass",
               j->path, nn_csv_line(j->csv), col_name(j, (size_t)j->src[bad], cn, sizeof cn),
               quote_value(j->rowf[bad], qv, sizeof qv),
               st == NN_ENC_NOT_A_NUMBER ? "not a number"
               : st == NN_ENC_NONFINITE  ? "not finite"
                                         : "missing, with no imputed value");
    return EXIT_DATA;
}

int csv_pass2(csv_job *j, const dopts *o, nn_h5w_split *train, nn_h5w_split *test,
              size_t n_test)
{
    char err[1024];
    float *x = malloc((size_t)(j->enc.d ? j->enc.d : 1) * sizeof(float));
    if (!x) {
        data_error("out of memory for %d features", j->enc.d);
        return EXIT_DATA;
    }
    if (pass_rewind(j) != 0) {
        free(x);
        return EXIT_DATA;
    }
    test_picker pk;
    picker_init(&pk, o, j->kept, n_test);
    const char *const *fld;
    size_t nf;
    int r, rc = 0;
    while ((r = nn_csv_next(j->csv, &fld, &nf, err, sizeof err)) == NN_CSV_RECORD) {
        nn_num_kind lk;
        double lv;
        size_t col;
        row_status st = check_row(j, fld, &lk, &lv, &col, 0, err, sizeof err);
        if (st == ROW_ERROR) {
            data_error("%s", err);
            rc = EXIT_DATA;
            break;
        }
        if (st != ROW_OK)
            continue;
        if (pk.kept >= j->kept) {
            pk.kept = j->kept + 1; /* more kept rows than pass 1 saw: the file changed */
            break;
        }
        int to_test = picker_next(&pk);
        int32_t c = 0;
        float t = (float)lv;
        if (j->task == TASK_CLASSIFY && (c = class_of(j, fld[j->label], lv)) < 0) {
            pk.kept = j->kept + 1; /* an unknown label: the file changed */
            break;
        }
        if ((rc = encode(j, fld, x, to_test)) != 0)
            break;
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
    if (rc == 0 && pk.kept != j->kept) {
        data_error("%s changed while nn-data was reading it; expected an unchanging file",
                   j->path);
        rc = EXIT_DATA;
    }
    free(x);
    return rc;
}
