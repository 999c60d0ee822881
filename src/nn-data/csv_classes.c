/* csv_classes.c: the CSV importer's task and classes, decided after pass 1 (csv_job.h). With
 * --task auto a label that is not a number, or labels that are all integers, make a
 * classification task. Numeric classes sort by value ("1" and "1.0" are one class) and are
 * named by their shortest text; string classes sort bytewise, like sklearn's LabelEncoder.
 * Pass 2 finds each row's class with class_of. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv_job.h"

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int32_t class_of(const csv_job *j, const char *s, double v)
{
    if (j->numeric_classes) {
        size_t lo = 0, hi = j->k;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (j->cval[mid] < v)
                lo = mid + 1;
            else
                hi = mid;
        }
        return lo < j->k && j->cval[lo] == v ? (int32_t)lo : -1;
    }
    size_t i = strset_slot(&j->seen, s);
    return j->seen.keys[i] ? j->seen.ids[i] : -1;
}

/* A number as the shortest text that reads back to it. */
static void number_text(double v, char *buf, size_t len)
{
    if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(buf, len, "%.0f", v == 0 ? 0.0 : v);
        return;
    }
    for (int p = 6; p <= 17; p++) {
        snprintf(buf, len, "%.*g", p, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

int csv_classes(csv_job *j)
{
    if (j->task == TASK_AUTO)
        j->task = (j->label_text || !j->label_frac) ? TASK_CLASSIFY : TASK_REGRESS;
    if (j->task == TASK_REGRESS)
        return 0;
    if (j->seen.overflow) {
        char cn[96];
        data_error("%s: %s, the label, has more than %d distinct values; expected class "
                   "labels (for a numeric target use --task regress)",
                   j->path, col_name(j, j->label, cn, sizeof cn), MAX_CLASSES);
        return EXIT_DATA;
    }
    size_t n = j->seen.n, k = 0;
    char **keys = malloc((n ? n : 1) * sizeof *keys);
    j->cnames = calloc(n ? n : 1, sizeof *j->cnames);
    if (!keys || !j->cnames)
        goto oom;
    for (size_t i = 0; i < j->seen.cap; i++)
        if (j->seen.keys[i])
            keys[k++] = j->seen.keys[i];
    j->numeric_classes = !j->label_text;
    if (j->numeric_classes) {
        /* Numbers sort by value; "1" and "1.0" are one class. */
        j->cval = malloc((n ? n : 1) * sizeof *j->cval);
        if (!j->cval)
            goto oom;
        for (size_t i = 0; i < n; i++)
            nn_csv_number(keys[i], &j->cval[i]);
        qsort(j->cval, n, sizeof *j->cval, cmp_double);
        k = 0;
        for (size_t i = 0; i < n; i++)
            if (k == 0 || j->cval[i] != j->cval[k - 1])
                j->cval[k++] = j->cval[i];
        for (size_t i = 0; i < k; i++) {
            char buf[40];
            number_text(j->cval[i], buf, sizeof buf);
            if (!(j->cnames[i] = strdup(buf)))
                goto oom;
        }
    } else {
        /* Strings sort bytewise (strcmp), like sklearn's LabelEncoder. */
        qsort(keys, n, sizeof *keys, cmp_str);
        for (size_t i = 0; i < n; i++) {
            j->seen.ids[strset_slot(&j->seen, keys[i])] = (int32_t)i;
            if (!(j->cnames[i] = strdup(keys[i])))
                goto oom;
        }
        k = n;
    }
    j->k = k;
    free(keys);
    return 0;
oom:
    free(keys);
    data_error("out of memory for %zu classes", n);
    return EXIT_DATA;
}
