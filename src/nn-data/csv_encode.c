/* csv_encode.c: the CSV importer's encoder (csv_job.h, nn_encode.h). After pass 1 each column
 * whose kind was not given becomes numeric or categorical: categorical when most of its
 * present values are text, and an error naming the first text value when only some are (a
 * typo or an unlisted NA marker, more likely than a category). Then, when anything needs
 * them, one pass over the training rows only (csv_rows chooses the /test rows as in pass 2,
 * so the statistics never see them): the imputed values (mean, median or most frequent
 * value, in double, rounded once to float32) and the vocabularies (counted, cut to
 * --max-categories by frequency, sorted). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv_job.h"

int csv_decide_kinds(csv_job *j, int *again)
{
    *again = 0;
    for (size_t c = 0; c < j->width; c++) {
        col_seen *cs = &j->cs[c];
        if (j->role[c] != ROLE_AUTO)
            continue;
        if (cs->text > cs->num + cs->comma) {
            j->role[c] = ROLE_CAT;
            *again |= cs->missing > 0;
            continue;
        }
        j->role[c] = ROLE_NUM;
        if (cs->text + cs->comma == 0)
            continue;
        char cn[96], qv[200];
        data_error("%s:%ld: %s: '%s' is not a number; expected a number (the column holds %zu "
                   "numbers and %zu other values: name it in --categorical to encode its values "
                   "as categories, or add the marker to --na-values if it means missing%s)",
                   j->path, cs->text_line, col_name(j, c, cn, sizeof cn),
                   quote_value(cs->text_value, qv, sizeof qv), cs->num, cs->text + cs->comma,
                   cs->comma ? "; a decimal comma or a control character is never taken for a "
                               "category" : "");
        return EXIT_DATA;
    }
    return 0;
}

/* ---------------------------------------------------------------- the statistics pass */

static int push_value(col_stats *s, double v)
{
    if (s->nvals == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 1024;
        double *n = realloc(s->vals, cap * sizeof *n);
        if (!n)
            return -1;
        s->vals = n;
        s->cap = cap;
    }
    s->vals[s->nvals++] = v;
    return 0;
}

/* A value as the encoder compares it: blanks trimmed, into buf (NULL when too long). */
static const char *trim(const char *s, char *buf, size_t len)
{
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        n--;
    if (n >= len)
        return NULL;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return buf;
}

/* One kept row into the statistics when it is a training row: the numbers as the check
 * parsed them (their values kept too when *need_vals: median, most frequent), the categories
 * as the encoder will compare them. 0, or EXIT_DATA after printing the error. */
static int add_row(csv_job *j, const csv_row *r, void *ctx)
{
    static char buf[65536];
    const int *need_vals = ctx;
    if (r->to_test)
        return 0;
    for (int c = 0; c < j->enc.ncol; c++) {
        size_t sc = (size_t)j->src[c];
        col_stats *s = &j->st[sc];
        const char *f = r->fld[sc];
        if (j->role[sc] == ROLE_NUM ? j->kind[sc] == NN_NUM_EMPTY : nn_enc_is_na(&j->enc, f)) {
            s->missing++;
            continue;
        }
        s->n++;
        if (j->role[sc] == ROLE_NUM) {
            s->sum += j->val[sc];
            if (*need_vals && push_value(s, j->val[sc]) != 0)
                goto oom;
            continue;
        }
        const char *t = trim(f, buf, sizeof buf);
        if (!t || strset_count(&s->cats, t) != 0)
            goto oom;
    }
    return 0;
oom:
    data_error("%s:%ld: out of memory for the training rows' statistics (or a value over 64 "
               "KiB)", j->path, nn_csv_line(j->csv));
    return EXIT_DATA;
}

/* The statistics of the training rows: a pass of csv_rows, which splits the kept rows as it
 * does for pass 2. 0, or an exit status after printing the error. */
static int stats_pass(csv_job *j, const dopts *o, size_t n_test)
{
    int need_vals = j->impute == IMPUTE_MEDIAN || j->impute == IMPUTE_FREQUENT;
    return csv_rows(j, ROWS_NUMBERS, 1, o, n_test, add_row, &need_vals);
}

/* ---------------------------------------------------------------- the columns */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The imputed value of a numeric column from its training values (s->vals sorted here):
 * the mean; the median (the mean of the middle two for an even count, as numpy); the most
 * frequent value (the smallest of those tied, as scikit-learn's SimpleImputer). */
static double fill_value(csv_job *j, col_stats *s)
{
    if (j->impute == IMPUTE_MEAN)
        return s->sum / (double)s->n;
    qsort(s->vals, s->nvals, sizeof *s->vals, cmp_double);
    if (j->impute == IMPUTE_MEDIAN)
        return s->nvals % 2 ? s->vals[s->nvals / 2]
                            : (s->vals[s->nvals / 2 - 1] + s->vals[s->nvals / 2]) / 2.0;
    double best = s->vals[0];
    size_t run = 0, best_run = 0;
    for (size_t i = 0; i < s->nvals; i++) {
        run = i > 0 && s->vals[i] == s->vals[i - 1] ? run + 1 : 1;
        if (run > best_run) {
            best_run = run;
            best = s->vals[i];
        }
    }
    return best;
}

typedef struct {
    const char *s;
    long count;
    double v;
} cat_key;

static int g_numeric_cats; /* qsort has no context: whether every category is a number */

/* The vocabulary's order: by value when every category is a number, else bytewise. */
static int cmp_cat(const void *a, const void *b)
{
    const cat_key *x = a, *y = b;
    if (g_numeric_cats && x->v != y->v)
        return x->v < y->v ? -1 : 1;
    return strcmp(x->s, y->s);
}

/* --max-categories: the most frequent first (ties in vocabulary order). */
static int cmp_count(const void *a, const void *b)
{
    const cat_key *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return cmp_cat(a, b);
}

/* A categorical column's vocabulary from its training counts. 0, or -1 when out of memory. */
static int vocabulary(csv_job *j, col_stats *s, nn_enc_col *k)
{
    size_t n = s->cats.n, m = 0;
    cat_key *keys = malloc((n ? n : 1) * sizeof *keys);
    if (!keys)
        return -1;
    g_numeric_cats = 1;
    for (size_t i = 0; i < s->cats.cap; i++)
        if (s->cats.keys[i]) {
            keys[m] = (cat_key){s->cats.keys[i], s->cats.ids[i], 0};
            g_numeric_cats &= nn_csv_number(keys[m].s, &keys[m].v) == NN_NUM_OK;
            m++;
        }
    size_t keep = n;
    if (j->max_cat > 0 && n > (size_t)j->max_cat) {
        qsort(keys, n, sizeof *keys, cmp_count);
        keep = (size_t)j->max_cat;
        k->other = 1;
    }
    qsort(keys, keep, sizeof *keys, cmp_cat);
    k->cat = calloc(keep ? keep : 1, sizeof *k->cat);
    for (size_t i = 0; k->cat && i < keep; i++)
        if (!(k->cat[i] = strdup(keys[i].s))) {
            k->ncat = (int)i;
            free(keys);
            return -1;
        }
    k->ncat = k->cat ? (int)keep : 0;
    k->missing = s->missing > 0;
    free(keys);
    return k->cat ? 0 : -1;
}

/* Column sc's encoder entry from its statistics. 0, or an exit status after the error. */
static int finish_column(csv_job *j, size_t sc, nn_enc_col *k, size_t n_train)
{
    col_stats *s = &j->st[sc];
    char cn[96];
    if (j->role[sc] == ROLE_CAT) {
        if (s->cats.overflow) {
            data_error("%s: %s has more than %d distinct values in the training rows; expected "
                       "categories (drop an id or free-text column with --drop-columns)",
                       j->path, col_name(j, sc, cn, sizeof cn), MAX_CLASSES);
            return EXIT_DATA;
        }
        if (vocabulary(j, s, k) != 0) {
            data_error("out of memory for the categories of %s", col_name(j, sc, cn, sizeof cn));
            return EXIT_DATA;
        }
        return 0;
    }
    if (j->impute == IMPUTE_DROP)
        return 0;
    if (s->n == 0) {
        data_error("%s: %s has no value in the %zu training rows; expected at least one to "
                   "impute from (drop the column with --drop-columns)",
                   j->path, col_name(j, sc, cn, sizeof cn), n_train);
        return EXIT_DATA;
    }
    k->has_fill = 1;
    k->fill = (float)fill_value(j, s);
    k->indicator = j->indicators && s->missing > 0;
    return 0;
}

/* The label and its classes, for nn-predict --csv. 0 or -1 (out of memory). */
static int label_entry(csv_job *j)
{
    char idx[32];
    snprintf(idx, sizeof idx, "%zu", j->label);
    if (!(j->enc.label = strdup(j->names ? j->names[j->label] : idx)))
        return -1;
    j->enc.classify = j->task == TASK_CLASSIFY;
    if (!j->enc.classify)
        return 0;
    j->enc.cls = calloc(j->k ? j->k : 1, sizeof *j->enc.cls);
    if (!j->enc.cls)
        return -1;
    for (size_t i = 0; i < j->k; i++)
        if (!(j->enc.cls[j->enc.ncls++] = strdup(j->cnames[i])))
            return -1;
    return 0;
}

int csv_build_encoder(csv_job *j, const dopts *o, size_t n_test)
{
    size_t n = 0;
    int cats = 0;
    for (size_t c = 0; c < j->width; c++) {
        n += j->role[c] == ROLE_NUM || j->role[c] == ROLE_CAT;
        cats |= j->role[c] == ROLE_CAT;
    }
    nn_encoder *e = &j->enc;
    e->col = calloc(n, sizeof *e->col);
    j->src = malloc(n * sizeof *j->src);
    j->rowf = malloc(n * sizeof *j->rowf);
    if (!e->col || !j->src || !j->rowf || label_entry(j) != 0)
        goto oom;
    for (size_t c = 0; c < j->width; c++) {
        if (j->role[c] != ROLE_NUM && j->role[c] != ROLE_CAT)
            continue;
        char idx[32];
        snprintf(idx, sizeof idx, "%zu", c);
        nn_enc_col *k = &e->col[e->ncol];
        j->src[e->ncol++] = (int)c;
        k->kind = j->role[c] == ROLE_CAT ? NN_ENC_CATEGORICAL : NN_ENC_NUMERIC;
        if (!(k->name = strdup(j->names ? j->names[c] : idx)))
            goto oom;
    }
    if (cats || j->impute != IMPUTE_DROP) {
        int rc = stats_pass(j, o, n_test);
        for (int c = 0; rc == 0 && c < e->ncol; c++)
            rc = finish_column(j, (size_t)j->src[c], &e->col[c], j->kept - n_test);
        if (rc != 0)
            return rc;
    }
    if (nn_enc_layout(e) != 0 || !(j->x = malloc((size_t)(e->d ? e->d : 1) * sizeof *j->x)))
        goto oom;
    for (int c = 0; c < e->ncol; c++)
        if (e->col[c].width == 0) {
            char cn[96];
            data_error("%s: %s has no value in the %zu training rows; expected at least one "
                       "(drop the column with --drop-columns)",
                       j->path, col_name(j, (size_t)j->src[c], cn, sizeof cn), j->kept - n_test);
            return EXIT_DATA;
        }
    j->d = (size_t)e->d;
    return 0;
oom:
    data_error("out of memory for the encoder");
    return EXIT_DATA;
}
