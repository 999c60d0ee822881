/* h5data.c: reading data sets with the HDF5 C API: nn-train's and nn-data's splits with y,
 * and nn-predict's, whose y may be absent. (Data files are written by nn_h5write.h.)
 * The layout is documented in docs/data-format.md. Every failure becomes one line in err
 * naming the file and dataset and saying what was expected. */
#include <errno.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn_h5data.h"
#include "nn_fileio.h"

/* Closes the datasets x and y of a split that are open (>= 0). */
static void close_pair(hid_t dx, hid_t dy)
{
    if (dx >= 0)
        H5Dclose(dx);
    if (dy >= 0)
        H5Dclose(dy);
}

/* Opens a file for reading with a useful message when it is missing or not HDF5. */
_Static_assert(sizeof(hid_t) == sizeof(int64_t), "nn_h5_open_ro returns an hid_t as int64_t");
int64_t nn_h5_open_ro(const char *path, char *err, size_t errlen)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* we report errors ourselves, in one line */
    if (access(path, R_OK) != 0) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    nn_input_guard_arm(path); /* until nn_h5_close_ro */
    if (H5Fis_hdf5(path) <= 0) {
        snprintf(err, errlen, "%s: not an HDF5 file (expected the layout of docs/data-format.md)",
                 path);
        nn_input_guard_disarm();
        return -1;
    }
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) {
        snprintf(err, errlen, "%s: HDF5 cannot open it (truncated or damaged?)", path);
        nn_input_guard_disarm();
    }
    return f;
}

void nn_h5_close_ro(int64_t f)
{
    H5Fclose(f);
    nn_input_guard_disarm();
}

static const char *class_name(H5T_class_t c)
{
    switch (c) {
    case H5T_INTEGER: return "integer";
    case H5T_FLOAT: return "float";
    case H5T_STRING: return "string";
    case H5T_COMPOUND: return "compound";
    default: return "non-numeric";
    }
}

/* Opens dataset name and reads its type class and shape (up to 2 dims). */
static hid_t open_dset(hid_t f, const char *path, const char *name, H5T_class_t *cls, int *rank,
                       hsize_t dims[2], const char *expect, char *err, size_t errlen)
{
    if (H5Lexists(f, name, H5P_DEFAULT) <= 0) {
        snprintf(err, errlen, "%s: dataset %s is missing (expected %s)", path, name, expect);
        return -1;
    }
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0) {
        snprintf(err, errlen, "%s: %s is not a readable dataset (expected %s)", path, name,
                 expect);
        return -1;
    }
    hid_t t = H5Dget_type(d), s = H5Dget_space(d);
    *cls = H5Tget_class(t);
    *rank = H5Sget_simple_extent_ndims(s);
    if (*rank >= 1 && *rank <= 2)
        H5Sget_simple_extent_dims(s, dims, NULL);
    H5Tclose(t);
    H5Sclose(s);
    return d;
}

int nn_h5_probe(const char *path, const char *split, nn_split_info *info, char *err,
                size_t errlen)
{
    return nn_h5_probe_as(path, split, NN_H5_Y_REQUIRED, info, err, errlen);
}

int nn_h5_probe_fid(int64_t f, const char *path, const char *split, nn_split_info *info,
                    char *err, size_t errlen)
{
    return nn_h5_probe_as_fid(f, path, split, NN_H5_Y_REQUIRED, info, err, errlen);
}

int nn_h5_probe_as(const char *path, const char *split, nn_h5_y_rule y, nn_split_info *info,
                   char *err, size_t errlen)
{
    memset(info, 0, sizeof *info);
    hid_t f = nn_h5_open_ro(path, err, errlen);
    if (f < 0)
        return -1;
    int rc = nn_h5_probe_as_fid(f, path, split, y, info, err, errlen);
    nn_h5_close_ro(f);
    return rc;
}

/* /SPLIT/x and /SPLIT/y: x float32 [N, D], y integer labels [N] or float targets [N] or
 * [N, K] with N rows, 1 <= D <= 10^8, K >= 1. 0 or -1 (err). */
static int probe_xy(hid_t f, const char *path, const char *split, nn_split_info *info,
                    char *err, size_t errlen)
{
    char xname[64], yname[64];
    snprintf(xname, sizeof xname, "/%s/x", split);
    snprintf(yname, sizeof yname, "/%s/y", split);
    int rc = -1;
    hid_t dx = -1, dy = -1;
    H5T_class_t cx, cy;
    int rx, ry;
    hsize_t xd[2] = {0, 0}, yd[2] = {0, 0};
    dx = open_dset(f, path, xname, &cx, &rx, xd, "float32 [N, D]", err, errlen);
    if (dx < 0)
        goto done;
    if (cx != H5T_FLOAT || rx != 2) {
        snprintf(err, errlen, "%s: %s is %s with %d dimension(s); expected float32 [N, D]", path,
                 xname, class_name(cx), rx);
        goto done;
    }
    dy = open_dset(f, path, yname, &cy, &ry, yd,
                   "integer labels [N] or float32 targets [N, K]", err, errlen);
    if (dy < 0)
        goto done;
    if (cy == H5T_INTEGER && ry == 1) {
        info->y_is_label = 1;
        info->k = 1;
    } else if (cy == H5T_FLOAT && (ry == 1 || ry == 2)) {
        info->y_is_label = 0;
        info->k = ry == 2 ? (int)yd[1] : 1;
    } else {
        snprintf(err, errlen,
                 "%s: %s is %s with %d dimension(s); expected integer labels [N] or float32 "
                 "targets [N, K]",
                 path, yname, class_name(cy), ry);
        goto done;
    }
    if (yd[0] != xd[0]) {
        snprintf(err, errlen, "%s: %s has %llu rows but %s has %llu; expected one label per sample",
                 path, yname, (unsigned long long)yd[0], xname, (unsigned long long)xd[0]);
        goto done;
    }
    if (xd[1] < 1 || xd[1] > 100000000) {
        snprintf(err, errlen, "%s: %s has %llu features per sample; expected 1 to 100000000",
                 path, xname, (unsigned long long)xd[1]);
        goto done;
    }
    if (info->k < 1) {
        snprintf(err, errlen, "%s: %s has 0 target columns; expected at least 1", path, yname);
        goto done;
    }
    info->n = (size_t)xd[0];
    info->d = (int)xd[1];
    rc = 0;
done:
    close_pair(dx, dy);
    return rc;
}

/* /SPLIT/x alone, float32 [N, D] with 1 <= D <= 10^8, for a split without y. The messages are
 * nn-predict's (the only reader of such splits), worded as they were before this reader
 * served both programs. 0 or -1 (err). */
static int probe_x_only(hid_t f, const char *path, const char *split, nn_split_info *info,
                        char *err, size_t errlen)
{
    char xname[64];
    snprintf(xname, sizeof xname, "/%s/x", split);
    int rc = -1;
    hid_t d = H5Lexists(f, xname, H5P_DEFAULT) > 0 ? H5Dopen2(f, xname, H5P_DEFAULT) : -1;
    if (d < 0) {
        snprintf(err, errlen, "%s: dataset %s is missing (expected float32 [N, D])", path, xname);
        return -1;
    }
    hid_t t = H5Dget_type(d), s = H5Dget_space(d);
    int rank = H5Sget_simple_extent_ndims(s);
    hsize_t dims[2] = {0, 0};
    if (rank == 2)
        H5Sget_simple_extent_dims(s, dims, NULL);
    if (H5Tget_class(t) != H5T_FLOAT || rank != 2)
        snprintf(err, errlen, "%s: %s is not a 2-D float dataset; expected float32 [N, D]", path,
                 xname);
    else if (dims[1] < 1 || dims[1] > 100000000)
        snprintf(err, errlen, "%s: %s has %llu features per sample; expected 1 to 100000000",
                 path, xname, (unsigned long long)dims[1]);
    else {
        info->n = (size_t)dims[0];
        info->d = (int)dims[1];
        info->x_only = 1;
        rc = 0;
    }
    H5Tclose(t);
    H5Sclose(s);
    H5Dclose(d);
    return rc;
}

int nn_h5_probe_as_fid(int64_t f, const char *path, const char *split, nn_h5_y_rule y,
                       nn_split_info *info, char *err, size_t errlen)
{
    char gname[64], yname[64];
    snprintf(gname, sizeof gname, "/%s", split);
    snprintf(yname, sizeof yname, "/%s/y", split);
    memset(info, 0, sizeof *info);
    if (H5Lexists(f, gname, H5P_DEFAULT) <= 0) {
        if (y == NN_H5_Y_OPTIONAL)
            snprintf(err, errlen, "%s: group %s is missing (expected %s/x, and %s/y for "
                     "metrics)",
                     path, gname, gname, gname);
        else
            snprintf(err, errlen, "%s: group %s is missing (expected %s/x and %s/y)", path,
                     gname, gname, gname);
        return 1;
    }
    if (y == NN_H5_Y_OPTIONAL && H5Lexists(f, yname, H5P_DEFAULT) <= 0)
        return probe_x_only(f, path, split, info, err, errlen);
    return probe_xy(f, path, split, info, err, errlen);
}

/* Reads the given ascending rows (whole rows of `cols` columns) of a 1-D or 2-D dataset into
 * buf, packed. Consecutive rows merge into one block; blocks are OR-ed into one selection per
 * read, at most NN_RUNS_PER_READ at a time, because HDF5's cost of growing a selection rises
 * with its size (54000 rows in ~5400 blocks loaded in 4.0 s as one selection, in 0.29 s in
 * groups of 64). */
#define NN_RUNS_PER_READ 64
/* Chunked (and usually compressed) datasets: HDF5 must read and decode whole chunks anyway,
 * and its per-chunk handling of many-block selections is slow (a 60000 x 784 compressed file:
 * 3.5-4.3 s). Instead, read each span of whole chunks that holds wanted rows as one
 * contiguous block, at most ~8 MiB at a time, and copy the wanted rows out of it. */
static int read_rows_chunked(hid_t d, int rank, hsize_t cols, hsize_t chunk_rows,
                             const size_t *rows, size_t nrows, hid_t memtype, void *buf)
{
    size_t elem = H5Tget_size(memtype), row_bytes = (size_t)cols * elem;
    hid_t fs = H5Dget_space(d);
    hsize_t dims[2] = {0, 0};
    H5Sget_simple_extent_dims(fs, dims, NULL);
    size_t window = (8u << 20) / (row_bytes ? row_bytes : 1);
    window = window < chunk_rows ? (size_t)chunk_rows : window / chunk_rows * chunk_rows;
    /* A block never runs past the last row, so the buffer need not either: a small (or
     * extendible, with chunks longer than the data) dataset gets a buffer of its own size. */
    size_t buf_rows = window < dims[0] ? window : (size_t)dims[0];
    char *tmp = malloc((buf_rows ? buf_rows : 1) * row_bytes);
    int rc = tmp ? 0 : -1;
    size_t i = 0;
    while (rc == 0 && i < nrows) {
        size_t lo = rows[i] / chunk_rows * chunk_rows, j = i;
        while (j < nrows && rows[j] < lo + window)
            j++;
        size_t hi = (rows[j - 1] / chunk_rows + 1) * chunk_rows; /* end of the last chunk */
        if (hi > dims[0])
            hi = (size_t)dims[0];
        hsize_t start[2] = {lo, 0}, count[2] = {hi - lo, cols};
        hid_t ms = H5Screate_simple(rank, count, NULL);
        if (H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) < 0 || ms < 0 ||
            H5Dread(d, memtype, ms, fs, H5P_DEFAULT, tmp) < 0)
            rc = -1;
        if (ms >= 0)
            H5Sclose(ms);
        for (size_t k = i; rc == 0 && k < j; k++)
            memcpy((char *)buf + k * row_bytes, tmp + (rows[k] - lo) * row_bytes, row_bytes);
        i = j;
    }
    free(tmp);
    H5Sclose(fs);
    return rc;
}

static int read_rows(hid_t d, int rank, hsize_t cols, const size_t *rows, size_t nrows,
                     hid_t memtype, void *buf)
{
    hid_t dcpl = H5Dget_create_plist(d);
    hsize_t chunk[2] = {0, 0};
    int chunked = dcpl >= 0 && H5Pget_layout(dcpl) == H5D_CHUNKED &&
                  H5Pget_chunk(dcpl, 2, chunk) >= 1 && chunk[0] > 0;
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (chunked)
        return read_rows_chunked(d, rank, cols, chunk[0], rows, nrows, memtype, buf);
    size_t elem = H5Tget_size(memtype);
    hid_t fs = H5Dget_space(d);
    if (fs < 0)
        return -1;
    int rc = 0;
    size_t i = 0;
    while (rc == 0 && i < nrows) {
        size_t first = i;
        if (H5Sselect_none(fs) < 0)
            rc = -1;
        for (int runs = 0; rc == 0 && runs < NN_RUNS_PER_READ && i < nrows; runs++) {
            size_t j = i + 1;
            while (j < nrows && rows[j] == rows[j - 1] + 1)
                j++;
            hsize_t start[2] = {rows[i], 0}, count[2] = {j - i, cols};
            if (H5Sselect_hyperslab(fs, H5S_SELECT_OR, start, NULL, count, NULL) < 0)
                rc = -1;
            i = j;
        }
        hsize_t mdims[2] = {i - first, cols};
        hid_t ms = H5Screate_simple(rank, mdims, NULL);
        if (rc != 0 || ms < 0 ||
            H5Dread(d, memtype, ms, fs, H5P_DEFAULT, (char *)buf + first * cols * elem) < 0)
            rc = -1;
        if (ms >= 0)
            H5Sclose(ms);
    }
    H5Sclose(fs);
    return rc;
}

/* Allocates out for nrows rows (x only when the split has no y); -1 with err when out of
 * memory. */
static int rows_alloc(nn_rows *out, const char *path, const char *split,
                      const nn_split_info *info, size_t nrows, char *err, size_t errlen)
{
    if (nn_rows_alloc(out, nrows, info->d, info->x_only ? 0 : info->y_is_label,
                      info->x_only ? 0 : info->k) == 0)
        return 0;
    snprintf(err, errlen, "%s: out of memory for %zu rows of /%s/x", path, nrows, split);
    return -1;
}

/* Reads the rows of /SPLIT/x and /SPLIT/y (x alone when info->x_only) from f into out
 * (allocated by the caller); frees out on failure. */
static int split_rows_read(hid_t f, const char *path, const char *split,
                           const nn_split_info *info, const size_t *rows, size_t nrows,
                           nn_rows *out, char *err, size_t errlen)
{
    char xname[64], yname[64];
    snprintf(xname, sizeof xname, "/%s/x", split);
    snprintf(yname, sizeof yname, "/%s/y", split);
    int rc = -1;
    hid_t dx = H5Dopen2(f, xname, H5P_DEFAULT);
    hid_t dy = info->x_only ? -1 : H5Dopen2(f, yname, H5P_DEFAULT);
    if (dx < 0 || (dy < 0 && !info->x_only) ||
        read_rows(dx, 2, (hsize_t)info->d, rows, nrows, H5T_NATIVE_FLOAT, out->x) != 0) {
        snprintf(err, errlen, "%s: reading %s failed (damaged file?)", path, xname);
        goto done;
    }
    if (!info->x_only) {
        hid_t ys = H5Dget_space(dy);
        int yrank = H5Sget_simple_extent_ndims(ys); /* float targets may be [N] or [N, K] */
        H5Sclose(ys);
        if (read_rows(dy, yrank, (hsize_t)info->k, rows, nrows,
                      info->y_is_label ? H5T_NATIVE_INT32 : H5T_NATIVE_FLOAT,
                      info->y_is_label ? (void *)out->labels : (void *)out->targets) != 0) {
            snprintf(err, errlen, "%s: reading %s failed (damaged file, or labels beyond "
                     "int32?)",
                     path, yname);
            goto done;
        }
    }
    rc = 0;
done:
    close_pair(dx, dy);
    if (rc != 0)
        nn_rows_free(out);
    return rc;
}

int nn_h5_read_rows(const char *path, const char *split, const nn_split_info *info,
                    const size_t *rows, size_t nrows, nn_rows *out, char *err, size_t errlen)
{
    if (rows_alloc(out, path, split, info, nrows, err, errlen) != 0)
        return -1;
    if (nrows == 0)
        return 0;
    hid_t f = nn_h5_open_ro(path, err, errlen);
    if (f < 0) {
        nn_rows_free(out);
        return -1;
    }
    int rc = split_rows_read(f, path, split, info, rows, nrows, out, err, errlen);
    nn_h5_close_ro(f);
    return rc;
}

int nn_h5_read_rows_fid(int64_t f, const char *path, const char *split,
                        const nn_split_info *info, const size_t *rows, size_t nrows,
                        nn_rows *out, char *err, size_t errlen)
{
    if (rows_alloc(out, path, split, info, nrows, err, errlen) != 0)
        return -1;
    return nrows == 0 ? 0 : split_rows_read(f, path, split, info, rows, nrows, out, err, errlen);
}

int nn_h5_read_block(const char *path, const char *split, const nn_split_info *info,
                     size_t lo, size_t n, nn_rows *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    size_t *rows = malloc((n ? n : 1) * sizeof(size_t));
    if (!rows) {
        snprintf(err, errlen, "%s: out of memory for %zu rows", path, n);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        rows[i] = lo + i;
    int rc = nn_h5_read_rows(path, split, info, rows, n, out, err, errlen);
    free(rows);
    return rc;
}

void nn_h5_version(char *buf, size_t len)
{
    unsigned maj = 0, min = 0, rel = 0;
    H5get_libversion(&maj, &min, &rel);
    snprintf(buf, len, "%u.%u.%u", maj, min, rel);
}
