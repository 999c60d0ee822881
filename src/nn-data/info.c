/* info.c: nn-data info, a summary of a data file (docs/data-format.md): who wrote it and
 * from what, then per split (/train, /val, /test) the shapes, types and storage of x and y,
 * the non-finite values, the label counts (or the targets' ranges) and the features' ranges
 * and means. Each split is read a block of rows at a time (gather), so memory does not scale
 * with the file, then printed (print_split). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_data_cmd.h"
#include "nn_encode.h"
#include "nn_h5data.h"
#include "nn_h5info.h"

typedef struct {
    size_t n, d;
    double *sum;
    float *lo, *hi;
    size_t *finite;     /* finite values per feature */
    size_t nonfinite;   /* in x */
    size_t *counts;     /* labels in [0, ncounts) */
    size_t ncounts, out_of_range;
    int32_t lmin, lmax;
    size_t k, y_nonfinite;
    double *ysum;
    float *ylo, *yhi;
} split_stats;

static void stats_free(split_stats *s)
{
    free(s->sum);
    free(s->lo);
    free(s->hi);
    free(s->finite);
    free(s->counts);
    free(s->ysum);
    free(s->ylo);
    free(s->yhi);
}

#define MAX_LABEL_COUNTED (1 << 20)

/* Every lo[i] = +inf and hi[i] = -inf: an empty range that any value extends. */
static void empty_ranges(float *lo, float *hi, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        lo[i] = INFINITY;
        hi[i] = -INFINITY;
    }
}

static void extend_range(float *lo, float *hi, float v)
{
    if (v < *lo)
        *lo = v;
    if (v > *hi)
        *hi = v;
}

/* s zeroed and sized for info's split, its ranges empty. 0, or -1 when out of memory. */
static int stats_init(split_stats *s, const nn_split_info *info)
{
    memset(s, 0, sizeof *s);
    s->n = info->n;
    s->d = (size_t)info->d;
    s->k = info->y_is_label ? 0 : (size_t)info->k;
    s->sum = calloc(s->d, sizeof *s->sum);
    s->lo = malloc(s->d * sizeof *s->lo);
    s->hi = malloc(s->d * sizeof *s->hi);
    s->finite = calloc(s->d, sizeof *s->finite);
    if (s->k) {
        s->ysum = calloc(s->k, sizeof *s->ysum);
        s->ylo = malloc(s->k * sizeof *s->ylo);
        s->yhi = malloc(s->k * sizeof *s->yhi);
    }
    if (!s->sum || !s->lo || !s->hi || !s->finite || (s->k && (!s->ysum || !s->ylo || !s->yhi)))
        return -1;
    empty_ranges(s->lo, s->hi, s->d);
    empty_ranges(s->ylo, s->yhi, s->k);
    s->lmin = INT32_MAX;
    s->lmax = INT32_MIN;
    return 0;
}

/* One row's features x[d]. */
static void add_features(split_stats *s, const float *x)
{
    for (size_t c = 0; c < s->d; c++) {
        float v = x[c];
        if (!isfinite(v)) {
            s->nonfinite++;
            continue;
        }
        s->finite[c]++;
        s->sum[c] += v;
        extend_range(&s->lo[c], &s->hi[c], v);
    }
}

/* One row's targets y[k]. */
static void add_targets(split_stats *s, const float *y)
{
    for (size_t c = 0; c < s->k; c++) {
        float v = y[c];
        if (!isfinite(v)) {
            s->y_nonfinite++;
            continue;
        }
        s->ysum[c] += v;
        extend_range(&s->ylo[c], &s->yhi[c], v);
    }
}

/* One row's label: its range, and its count (labels in [0, MAX_LABEL_COUNTED), the counts
 * grown as needed; others are only counted as out of range). 0, or -1 with err. */
static int add_label(split_stats *s, int32_t l, char *err, size_t errlen)
{
    if (l < s->lmin)
        s->lmin = l;
    if (l > s->lmax)
        s->lmax = l;
    if (l < 0 || l >= MAX_LABEL_COUNTED) {
        s->out_of_range++;
        return 0;
    }
    if ((size_t)l >= s->ncounts) {
        size_t nc = (size_t)l + 1 > 2 * s->ncounts ? (size_t)l + 1 : 2 * s->ncounts;
        size_t *p = realloc(s->counts, nc * sizeof *p);
        if (!p) {
            snprintf(err, errlen, "out of memory counting labels");
            return -1;
        }
        memset(p + s->ncounts, 0, (nc - s->ncounts) * sizeof *p);
        s->counts = p;
        s->ncounts = nc;
    }
    s->counts[l]++;
    return 0;
}

/* Reads a split a block of rows at a time and accumulates its statistics. */
static int gather(const char *path, const char *split, const nn_split_info *info,
                  split_stats *s, char *err, size_t errlen)
{
    int ok = stats_init(s, info) == 0;
    size_t block = (4u << 20) / (s->d * sizeof(float));
    block = block < 1 ? 1 : block > 65536 ? 65536 : block;
    size_t *rows = malloc(block * sizeof *rows);
    if (!ok || !rows) {
        free(rows);
        snprintf(err, errlen, "out of memory for %zu features", s->d);
        return -1;
    }
    int rc = 0;
    for (size_t start = 0; rc == 0 && start < s->n; start += block) {
        size_t m = s->n - start < block ? s->n - start : block;
        for (size_t i = 0; i < m; i++)
            rows[i] = start + i;
        nn_rows r;
        if (nn_h5_read_rows(path, split, info, rows, m, &r, err, errlen) != 0) {
            rc = -1;
            break;
        }
        for (size_t i = 0; rc == 0 && i < m; i++) {
            add_features(s, r.x + i * s->d);
            if (r.labels)
                rc = add_label(s, r.labels[i], err, errlen);
            else
                add_targets(s, r.targets + i * s->k);
        }
        nn_rows_free(&r);
    }
    free(rows);
    return rc;
}

static void print_desc(const char *name, const nn_h5_dset_desc *d)
{
    printf("  %s  %s [", name, d->type);
    for (int i = 0; i < d->rank && i < 2; i++)
        printf("%s%llu", i ? ", " : "", d->dims[i]);
    printf("%s]", d->rank > 2 ? ", ..." : "");
    if (d->chunked) {
        printf("  chunks [");
        for (int i = 0; i < d->rank && i < 2; i++)
            printf("%s%llu", i ? ", " : "", d->chunk[i]);
        printf("]");
    } else {
        printf("  contiguous");
    }
    printf("  %s\n", d->filters[0] ? d->filters : "uncompressed");
}

/* The label table: each class's count and share (the first o->classes of them), then a
 * summary line. */
static void print_labels(const split_stats *s, char **cnames, size_t ncn, const dopts *o)
{
    size_t k = 0;
    for (size_t l = 0; l < s->ncounts; l++)
        k += s->counts[l] > 0;
    printf("  labels: %zu distinct in [%d, %d]%s\n", k + (s->out_of_range ? 1 : 0), s->lmin,
           s->lmax, s->out_of_range ? " (some negative or huge)" : "");
    printf("  %7s %10s %7s  %s\n", "label", "count", "share", ncn ? "name" : "");
    size_t shown = 0, lo = SIZE_MAX, hi = 0;
    for (size_t l = 0; l < s->ncounts; l++) {
        if (!s->counts[l] && l >= ncn)
            continue;
        if (s->counts[l] < lo)
            lo = s->counts[l];
        if (s->counts[l] > hi)
            hi = s->counts[l];
        if (shown++ < (size_t)o->classes)
            printf("  %7zu %10zu %6.2f%%  %s\n", l, s->counts[l],
                   100.0 * (double)s->counts[l] / (double)s->n, l < ncn ? cnames[l] : "");
    }
    if (shown > (size_t)o->classes)
        printf("  ... %zu more classes; counts per class from %zu to %zu\n",
               shown - (size_t)o->classes, lo, hi);
    if (s->out_of_range)
        printf("  %zu labels are negative or >= %d\n", s->out_of_range, MAX_LABEL_COUNTED);
}

/* The feature table: each feature's range and mean (the first o->features of them), then a
 * summary line over all of them. */
static void print_features(const split_stats *s, char **fnames, size_t nfn, const dopts *o)
{
    printf("  %7s %12s %12s %12s  %s\n", "feature", "min", "max", "mean", nfn ? "name" : "");
    double mlo = INFINITY, mhi = -INFINITY, lo = INFINITY, hi = -INFINITY;
    for (size_t c = 0; c < s->d; c++) {
        double mean = s->finite[c] ? s->sum[c] / (double)s->finite[c] : NAN;
        if (s->finite[c]) {
            mlo = fmin(mlo, mean);
            mhi = fmax(mhi, mean);
            lo = fmin(lo, s->lo[c]);
            hi = fmax(hi, s->hi[c]);
        }
        if (c < (size_t)o->features) {
            if (s->finite[c])
                printf("  %7zu %12.5g %12.5g %12.5g  %s\n", c, s->lo[c], s->hi[c], mean,
                       c < nfn ? fnames[c] : "");
            else
                printf("  %7zu %12s %12s %12s  %s\n", c, "-", "-", "-",
                       c < nfn ? fnames[c] : "");
        }
    }
    if (s->d > (size_t)o->features)
        printf("  ... %zu more features\n", s->d - (size_t)o->features);
    printf("  all %zu features: min %.5g, max %.5g; means from %.5g to %.5g\n", s->d, lo, hi,
           mlo, mhi);
}

static void print_split(const char *path, const char *split, const nn_split_info *info,
                        const split_stats *s, char **fnames, size_t nfn, char **cnames,
                        size_t ncn, const dopts *o)
{
    nn_h5_dset_desc dx, dy;
    char name[32];
    snprintf(name, sizeof name, "/%s/x", split);
    nn_h5_describe(path, name, &dx);
    snprintf(name, sizeof name, "/%s/y", split);
    nn_h5_describe(path, name, &dy);
    printf("/%s: %zu samples, %d features, %s\n", split, info->n, info->d,
           info->y_is_label ? "integer class labels" : "float targets");
    print_desc("x", &dx);
    print_desc("y", &dy);
    printf("  non-finite values: %zu in x", s->nonfinite);
    if (!info->y_is_label)
        printf(", %zu in y", s->y_nonfinite);
    printf("\n");
    if (info->y_is_label && s->n > 0) {
        print_labels(s, cnames, ncn, o);
    } else if (!info->y_is_label) {
        printf("  %7s %12s %12s %12s\n", "target", "min", "max", "mean");
        for (size_t c = 0; c < s->k && c < (size_t)o->features; c++)
            printf("  %7zu %12.5g %12.5g %12.5g\n", c, s->ylo[c], s->yhi[c],
                   s->ysum[c] / (double)(s->n ? s->n : 1));
    }
    if (s->n == 0)
        return;
    print_features(s, fnames, nfn, o);
}

/* The source columns of an imported CSV file (/meta/encoder, nn_encode.h): each one's kind,
 * cardinality and what a missing value becomes, the first o->features of them. */
static void print_columns(const char *path, const dopts *o)
{
    char **text = NULL, err[512];
    size_t n = 0;
    nn_encoder e;
    if (nn_h5_read_strings(path, "/meta/encoder", &text, &n) != 0 || n != 1) {
        nn_h5_strings_free(text, n);
        return;
    }
    if (nn_enc_from_text(&e, text[0], err, sizeof err) != 0) {
        printf("columns: /meta/encoder unreadable: %s\n", err);
        nn_h5_strings_free(text, n);
        return;
    }
    printf("columns: %d encoded into %d features (missing: empty", e.ncol, e.d);
    for (int i = 0; i < e.nna; i++)
        printf(", '%s'", e.na[i]);
    printf(")\n  %-20s %-12s %11s %8s  %s\n", "column", "kind", "cardinality", "features",
           "a missing value becomes");
    for (int c = 0; c < e.ncol && c < (int)o->features; c++) {
        const nn_enc_col *k = &e.col[c];
        char card[32] = "-", miss[64];
        if (k->kind == NN_ENC_CATEGORICAL) {
            snprintf(card, sizeof card, "%d%s", k->ncat, k->other ? "+other" : "");
            snprintf(miss, sizeof miss, "%s", k->missing ? "category (missing)"
                                              : k->other ? "other" : "all zeros (unseen)");
        } else if (k->has_fill) {
            snprintf(miss, sizeof miss, "%.9g%s", (double)k->fill,
                     k->indicator ? ", indicator 1" : "");
        } else {
            snprintf(miss, sizeof miss, "the row is dropped");
        }
        printf("  %-20.60s %-12s %11s %8d  %s\n", k->name,
               k->kind == NN_ENC_CATEGORICAL ? "categorical" : "numeric", card, k->width, miss);
    }
    if (e.ncol > (int)o->features)
        printf("  ... %d more (--features)\n", e.ncol - (int)o->features);
    nn_enc_free(&e);
    nn_h5_strings_free(text, n);
}

int cmd_info(const dopts *o, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    static const char *const splits[] = {"train", "val", "test"};
    char err[1024];
    nn_split_info info[3];
    int have[3];
    for (int i = 0; i < 3; i++) {
        int r = nn_h5_probe(o->input, splits[i], &info[i], err, sizeof err);
        if (r < 0 || (r == 1 && i == 0)) {
            data_error("%s", err);
            return EXIT_DATA;
        }
        have[i] = r == 0;
    }
    char **fnames = NULL, **cnames = NULL;
    size_t nfn = 0, ncn = 0;
    nn_h5_read_strings(o->input, "/meta/feature_names", &fnames, &nfn);
    nn_h5_read_strings(o->input, "/meta/class_names", &cnames, &ncn);
    char by[128], src[512], task[32], dropped[3][32];
    printf("%s", o->input);
    if (nn_h5_attr_text(o->input, "/", "created_by", by, sizeof by) == 0)
        printf(": written by %s", by);
    if (nn_h5_attr_text(o->input, "/meta", "source", src, sizeof src) == 0 ||
        nn_h5_attr_text(o->input, "/meta", "train_images", src, sizeof src) == 0)
        printf(" from %s", src);
    if (nn_h5_attr_text(o->input, "/meta", "task", task, sizeof task) == 0)
        printf(", task %s", task);
    if (nn_h5_attr_text(o->input, "/meta", "rows_read", dropped[0], sizeof dropped[0]) == 0 &&
        nn_h5_attr_text(o->input, "/meta", "rows_dropped_missing", dropped[1],
                        sizeof dropped[1]) == 0 &&
        nn_h5_attr_text(o->input, "/meta", "rows_dropped_nonfinite", dropped[2],
                        sizeof dropped[2]) == 0)
        printf("; %s rows read, %lld dropped at import", dropped[0],
               atoll(dropped[1]) + atoll(dropped[2]));
    printf("\n");
    print_columns(o->input, o);
    int rc = 0;
    for (int i = 0; i < 3 && rc == 0; i++) {
        if (!have[i])
            continue;
        split_stats s;
        if (gather(o->input, splits[i], &info[i], &s, err, sizeof err) != 0) {
            data_error("%s", err);
            rc = EXIT_DATA;
        } else {
            print_split(o->input, splits[i], &info[i], &s, fnames, nfn, cnames, ncn, o);
        }
        stats_free(&s);
    }
    nn_h5_strings_free(fnames, nfn);
    nn_h5_strings_free(cnames, ncn);
    return rc;
}
