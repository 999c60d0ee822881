/* fuzz_idx.c: libFuzzer harness for the IDX reader (src/io/idx.c, nn_idx.h), plain and gzipped.
 *
 * Input: one mode byte, then the file. Mode bit 0 set: the harness gzips the file first, so
 * the fuzzer's mutations reach the reader through a valid gzip stream (zlib is not
 * instrumented, so coverage alone would never keep a compressed input); clear: the bytes are
 * the file as they are (a damaged gzip stream among them).
 *
 * nn_idx_open takes a path (zlib's gzopen reads it), so the file goes into an anonymous
 * in-memory file (memfd_create) opened as /proc/self/fd/N: no file on disk, and the reader runs
 * exactly as nn-data runs it. Each input is opened as labels and as images, and every item the
 * header announces is read, then nn_idx_finish checks the end, as nn-data import-idx does. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include "nn_idx.h"

/* Items bigger than this are opened but not read: the reader would rightly allocate them
 * (nn-data reads one item of up to 10^8 bytes), but a 100 MB buffer per input would only
 * slow the fuzzer down. */
#define MAX_ITEM (1u << 20)
#define MAX_READ (4u << 20) /* bytes per nn_idx_read call */

static void one(const char *path, int want_ndim)
{
    char err[512] = "";
    nn_idx *f = nn_idx_open(path, want_ndim, err, sizeof err);
    if (!f) {
        if (err[0] == '\0' || strchr(err, '\n')) {
            fprintf(stderr, "fuzz_idx: open failed without a one-line message: %s\n", err);
            abort();
        }
        return;
    }
    int nd = nn_idx_ndim(f);
    size_t item = nn_idx_item_size(f), prod = 1;
    if (nd < 1 || nd > NN_IDX_MAX_DIMS || (want_ndim == 1 && nd != 1) ||
        (want_ndim == 0 && nd < 2)) {
        fprintf(stderr, "fuzz_idx: %d dimensions accepted for want_ndim %d\n", nd, want_ndim);
        abort();
    }
    for (int i = 1; i < nd; i++)
        prod *= nn_idx_dim(f, i);
    if (prod != item || item < 1 || item > 100000000) {
        fprintf(stderr, "fuzz_idx: item size %zu, product of the sizes %zu\n", item, prod);
        abort();
    }
    if (item <= MAX_ITEM) {
        size_t per = MAX_READ / item, left = nn_idx_count(f);
        unsigned char *buf = malloc(per * item);
        int ok = buf != NULL;
        while (ok && left > 0) {
            size_t n = left < per ? left : per;
            ok = nn_idx_read(f, buf, n, err, sizeof err) == 0;
            left -= n;
        }
        if (ok)
            nn_idx_finish(f, err, sizeof err);
        free(buf);
    }
    nn_idx_close(f);
}

/* data as a gzip stream (zlib's deflate with a gzip header), malloc'ed; NULL if out of memory. */
static unsigned char *gzip(const uint8_t *data, size_t size, size_t *out_size)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK)
        return NULL;
    size_t cap = deflateBound(&z, (uLong)size);
    unsigned char *out = malloc(cap);
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)size;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    if (!out || deflate(&z, Z_FINISH) != Z_STREAM_END) {
        free(out);
        out = NULL;
    }
    *out_size = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int compress = data[0] & 1;
    data++;
    size--;
    unsigned char *gz = NULL;
    if (compress) {
        gz = gzip(data, size, &size);
        if (!gz)
            return 0;
        data = gz;
    }
    int fd = memfd_create("fuzz-idx", MFD_CLOEXEC);
    if (fd < 0)
        abort(); /* the harness cannot run at all: say so loudly */
    size_t off = 0;
    while (off < size) {
        ssize_t w = write(fd, data + off, size - off);
        if (w <= 0)
            abort();
        off += (size_t)w;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    one(path, 1);
    one(path, 0);
    close(fd);
    free(gz);
    return 0;
}
