/* csv_cols.c: the CSV importer's column flags (csv_job.h), checked against the first record:
 * --drop-columns, --numeric and --categorical (lists of header names or 0-based indices) set
 * each source column's role; --na-values gives the encoder its NA tokens; --impute,
 * --max-categories and --missing-indicators are recorded in the job. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv_job.h"

/* Item s of flag's list: the column whose header name it is, else its 0-based index (negative
 * counts from the end). The column, or -1 after printing the error. */
static long find_column(const csv_job *j, const char *flag, const char *s, size_t nf)
{
    char qv[200];
    for (size_t c = 0; j->names && c < nf; c++)
        if (strcmp(j->names[c], s) == 0)
            return (long)c;
    char *end;
    errno = 0;
    long long i = strtoll(s, &end, 10);
    if (end != s && *end == '\0' && errno == 0 && i >= -(long long)nf && i < (long long)nf)
        return (long)(i < 0 ? i + (long long)nf : i);
    data_error("--%s '%s': no such column in %s (%zu columns%s); expected a header name or a "
               "0-based index, separated by commas",
               flag, quote_value(s, qv, sizeof qv), j->path, nf,
               j->names ? ", header names from its first row" : ", no header row");
    return -1;
}

/* Sets role for every column in flag's comma-separated list. 0, or EXIT_USAGE after
 * printing the error. */
static int mark(csv_job *j, const char *flag, const char *list, int role, size_t nf)
{
    static const char *const names[] = {"the label", "--drop-columns", "", "--numeric",
                                        "--categorical"};
    if (!list)
        return 0;
    char *copy = strdup(list), *save = NULL;
    if (!copy) {
        data_error("out of memory");
        return EXIT_DATA;
    }
    int rc = 0;
    size_t items = 0;
    for (char *t = strtok_r(copy, ",", &save); t && rc == 0; t = strtok_r(NULL, ",", &save)) {
        items++;
        long c = find_column(j, flag, t, nf);
        char cn[96];
        if (c < 0) {
            rc = EXIT_USAGE;
        } else if (j->role[c] != ROLE_AUTO && j->role[c] != role) {
            data_error("--%s '%s': %s is %s; expected %s", flag, t,
                       col_name(j, (size_t)c, cn, sizeof cn), names[j->role[c]],
                       j->role[c] == ROLE_LABEL ? "feature columns only"
                                                : "each column in one list only");
            rc = EXIT_USAGE;
        } else {
            j->role[c] = role;
        }
    }
    if (rc == 0 && items == 0) {
        data_error("--%s '%s': no column named; expected header names or 0-based indices "
                   "separated by commas", flag, list);
        rc = EXIT_USAGE;
    }
    free(copy);
    return rc;
}

/* --na-values: the tokens besides the empty field, blanks trimmed, empty items skipped. */
static int na_tokens(csv_job *j, const char *list)
{
    char *copy = strdup(list), *save = NULL;
    size_t n = 0, len = strlen(list);
    j->enc.na = calloc(len / 2 + 2, sizeof *j->enc.na);
    if (!copy || !j->enc.na) {
        free(copy);
        data_error("out of memory");
        return EXIT_DATA;
    }
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ' || *t == '\t')
            t++;
        size_t m = strlen(t);
        while (m > 0 && (t[m - 1] == ' ' || t[m - 1] == '\t'))
            t[--m] = '\0';
        if (m > 0 && !(j->enc.na[n++] = strdup(t))) {
            free(copy);
            data_error("out of memory");
            return EXIT_DATA;
        }
    }
    j->enc.nna = (int)n;
    free(copy);
    return 0;
}

int csv_columns(csv_job *j, const dopts *o, const char *const *fld, size_t nf)
{
    (void)fld;
    j->role = malloc(nf * sizeof *j->role);
    j->cs = calloc(nf, sizeof *j->cs);
    j->st = calloc(nf, sizeof *j->st);
    j->kind = malloc(nf * sizeof *j->kind);
    j->val = malloc(nf * sizeof *j->val);
    if (!j->role || !j->cs || !j->st || !j->kind || !j->val) {
        data_error("out of memory");
        return EXIT_DATA;
    }
    for (size_t c = 0; c < nf; c++)
        j->role[c] = c == j->label ? ROLE_LABEL : ROLE_AUTO;
    int rc = mark(j, "drop-columns", o->drop_columns, ROLE_DROP, nf);
    if (rc == 0)
        rc = mark(j, "numeric", o->numeric, ROLE_NUM, nf);
    if (rc == 0)
        rc = mark(j, "categorical", o->categorical, ROLE_CAT, nf);
    if (rc != 0)
        return rc;
    size_t features = 0;
    for (size_t c = 0; c < nf; c++)
        features += j->role[c] != ROLE_LABEL && j->role[c] != ROLE_DROP;
    if (features == 0) {
        data_error("--drop-columns '%s' drops every feature column of %s; expected at least "
                   "one left", o->drop_columns, j->path);
        return EXIT_USAGE;
    }
    if (o->max_categories == 1) {
        data_error("--max-categories 1: expected 0 (no limit) or at least 2 (the most frequent "
                   "values kept, the rest in one 'other' output)");
        return EXIT_USAGE;
    }
    j->impute = strcmp(o->impute, "mean") == 0     ? IMPUTE_MEAN
                : strcmp(o->impute, "median") == 0 ? IMPUTE_MEDIAN
                : strcmp(o->impute, "most-frequent") == 0 ? IMPUTE_FREQUENT
                                                          : IMPUTE_DROP;
    j->indicators = o->missing_indicators;
    j->max_cat = o->max_categories;
    if (j->indicators && j->impute == IMPUTE_DROP) {
        data_error("--missing-indicators with --impute drop: rows with a missing number are "
                   "dropped, so no indicator could be 1; expected --impute mean, median or "
                   "most-frequent");
        return EXIT_USAGE;
    }
    return na_tokens(j, o->na_values);
}
