/* idx.c: the IDX reader of nn_idx.h, through zlib's gzFile (plain files read through it
 * unchanged), so a gzipped download needs no separate gunzip step. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "nn_idx.h"

struct nn_idx {
    const char *path;
    gzFile gz;
    int gzip;                      /* the file starts with the gzip magic */
    int ndim;
    uint32_t dims[NN_IDX_MAX_DIMS];
    size_t item;                   /* bytes per item */
    size_t done;                   /* items read so far */
};

size_t nn_idx_count(const nn_idx *f) { return f->dims[0]; }
size_t nn_idx_item_size(const nn_idx *f) { return f->item; }
int nn_idx_ndim(const nn_idx *f) { return f->ndim; }
uint32_t nn_idx_dim(const nn_idx *f, int i) { return f->dims[i]; }
int nn_idx_is_gzip(const nn_idx *f) { return f->gzip; }

void nn_idx_close(nn_idx *f)
{
    if (!f)
        return;
    if (f->gz)
        gzclose(f->gz);
    free(f);
}

/* Reads exactly len bytes; returns the number read (short at end of file), or -1 on a zlib
 * error (message in *why). */
static long long read_full(gzFile gz, unsigned char *buf, size_t len, const char **why)
{
    size_t got = 0;
    while (got < len) {
        size_t want = len - got > (1u << 30) ? (1u << 30) : len - got;
        int n = gzread(gz, buf + got, (unsigned)want);
        if (n < 0) {
            int code;
            *why = gzerror(gz, &code);
            return -1;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (long long)got;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static const char *what(int want_ndim)
{
    return want_ndim == 1 ? "an IDX label file (magic 0x00000801: unsigned bytes [N])"
                          : "an IDX image file (magic 0x00000803: unsigned bytes [N, rows, cols])";
}

/* The magic number h[0..3]: IDX, unsigned bytes, and as many dimensions as wanted (1 for
 * labels, 2 or more for images). 0, or -1 with one line in err. */
static int check_magic(const char *path, const unsigned char *h, int want_ndim, char *err,
                       size_t errlen)
{
    uint32_t magic = be32(h);
    int ndim = h[3];
    if (h[0] != 0 || h[1] != 0 || ndim < 1 || ndim > NN_IDX_MAX_DIMS) {
        snprintf(err, errlen, "%s: magic 0x%08x is not IDX; expected %s", path, (unsigned)magic,
                 what(want_ndim));
        return -1;
    }
    if (h[2] != 0x08) {
        snprintf(err, errlen,
                 "%s: magic 0x%08x has element type 0x%02x; expected 0x08 (unsigned bytes) in "
                 "%s",
                 path, (unsigned)magic, h[2], what(want_ndim));
        return -1;
    }
    if ((want_ndim == 1 && ndim != 1) || (want_ndim == 0 && ndim < 2)) {
        snprintf(err, errlen, "%s: magic 0x%08x has %d dimension(s); expected %s%s", path,
                 (unsigned)magic, ndim, what(want_ndim),
                 want_ndim == 1 ? " (images given as labels?)" : " (labels given as images?)");
        return -1;
    }
    return 0;
}

/* Reads and checks the header (magic, then one big-endian size per dimension) into f. 0, or
 * -1 with one line in err. */
static int read_header(nn_idx *f, int want_ndim, char *err, size_t errlen)
{
    const char *path = f->path, *why = NULL;
    unsigned char h[4 + 4 * NN_IDX_MAX_DIMS];
    long long n = read_full(f->gz, h, 4, &why);
    if (n < 0) {
        snprintf(err, errlen, "%s: %s; expected %s%s", path, why, what(want_ndim),
                 f->gzip ? " compressed with gzip" : "");
        return -1;
    }
    if (n < 4) {
        snprintf(err, errlen, "%s: %lld byte(s) only; expected %s", path, n, what(want_ndim));
        return -1;
    }
    if (check_magic(path, h, want_ndim, err, errlen) != 0)
        return -1;
    int ndim = h[3];
    n = read_full(f->gz, h + 4, 4 * (size_t)ndim, &why);
    if (n < 4 * ndim) {
        snprintf(err, errlen, "%s: the header ends early (%s); expected %d sizes after the magic",
                 path, n < 0 ? why : "truncated", ndim);
        return -1;
    }
    f->ndim = ndim;
    f->item = 1;
    for (int i = 0; i < ndim; i++) {
        f->dims[i] = be32(h + 4 + 4 * i);
        if (i > 0)
            f->item *= f->dims[i]; /* at most 3 factors of 2^32 - 1: checked below */
        if (i > 0 && (f->dims[i] == 0 || f->item > 100000000)) {
            snprintf(err, errlen,
                     "%s: items of %s bytes; expected 1 to 100000000 values per sample", path,
                     f->dims[i] == 0 ? "0" : "over 100000000");
            return -1;
        }
    }
    return 0;
}

nn_idx *nn_idx_open(const char *path, int want_ndim, char *err, size_t errlen)
{
    FILE *raw = fopen(path, "rb");
    if (!raw) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    unsigned char m[2] = {0, 0};
    size_t nm = fread(m, 1, 2, raw);
    fclose(raw);
    nn_idx *f = calloc(1, sizeof *f);
    if (!f) {
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    f->path = path;
    f->gzip = nm == 2 && m[0] == 0x1f && m[1] == 0x8b;
    f->gz = gzopen(path, "rb");
    if (!f->gz) {
        snprintf(err, errlen, "%s: cannot open: %s", path, errno ? strerror(errno) : "zlib");
        free(f);
        return NULL;
    }
    gzbuffer(f->gz, 1u << 17);
    if (read_header(f, want_ndim, err, errlen) != 0) {
        nn_idx_close(f);
        return NULL;
    }
    return f;
}

int nn_idx_read(nn_idx *f, unsigned char *buf, size_t n, char *err, size_t errlen)
{
    const char *why = NULL;
    long long got = read_full(f->gz, buf, n * f->item, &why);
    if (got < 0) {
        snprintf(err, errlen, "%s: damaged after item %zu (%s)", f->path, f->done, why);
        return -1;
    }
    if ((size_t)got < n * f->item) {
        snprintf(err, errlen,
                 "%s: truncated: the data ends in item %zu; expected %zu items of %zu byte(s) "
                 "as the header says",
                 f->path, f->done + (size_t)got / f->item, nn_idx_count(f), f->item);
        return -1;
    }
    f->done += n;
    return 0;
}

int nn_idx_finish(nn_idx *f, char *err, size_t errlen)
{
    unsigned char extra[256];
    const char *why = NULL;
    long long got = read_full(f->gz, extra, sizeof extra, &why);
    if (got < 0) {
        snprintf(err, errlen, "%s: damaged at the end (%s)", f->path, why);
        return -1;
    }
    if (got > 0) {
        snprintf(err, errlen,
                 "%s: data continues after the %zu items the header announces; expected the "
                 "file to end there",
                 f->path, nn_idx_count(f));
        return -1;
    }
    return 0;
}
