/* fuzz_data.c: libFuzzer harness for the data-file reader (src/io/h5data.c) as nn-train uses
 * it (nn_h5_probe, nn_h5_read_rows) and as nn-predict does, taking x without y
 * (nn_h5_probe_as with NN_H5_Y_OPTIONAL, and a contiguous block of rows).
 *
 * The input is an HDF5 file image opened in memory (fuzz_h5.h). For each split the trainer's
 * probe runs, then a read of scattered rows (as a rank reads its shard: runs of consecutive
 * rows and gaps), then nn-predict's probe and a contiguous block from the start and the end.
 * Afterwards no HDF5 identifier may be left open. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_HARNESS "fuzz_data"
#include "fuzz_h5.h"
#include "nn_h5data.h"

/* Reads are skipped when one row (x and y) holds more floats than this: the reader would
 * rightly allocate them (up to 10^8 features are allowed), but not 4 GB per input here. */
#define MAX_ROW_FLOATS (1u << 18)
#define MAX_ROWS 48

/* Up to MAX_ROWS ascending row numbers in [0, n): a run at the start, every 7th row of the
 * next stretch, and the last rows. */
static size_t pick_rows(size_t n, size_t *rows)
{
    size_t k = 0;
    for (size_t i = 0; i < n && i < 8; i++)
        rows[k++] = i;
    for (size_t i = 8; i < n && i < 8 + 7 * 24 && k < MAX_ROWS - 8; i += 7)
        rows[k++] = i;
    size_t from = n > 8 ? n - 8 : 0;
    if (k > 0 && from <= rows[k - 1])
        from = rows[k - 1] + 1;
    for (size_t i = from; i < n && k < MAX_ROWS; i++)
        rows[k++] = i;
    return k;
}

static void split_checks(hid_t f, const char *split)
{
    char err[1024] = "";
    nn_split_info info;
    int rc = nn_h5_probe_fid(f, FUZZ_H5_NAME, split, &info, err, sizeof err);
    fuzz_h5_say("nn_h5_probe", rc, err);
    need(rc >= -1 && rc <= 1, "nn_h5_probe returned an unknown code");
    need(rc == 0 || (err[0] && !strchr(err, '\n')), "nn_h5_probe failed without one line");
    if (rc == 0) {
        need(info.d >= 1 && info.k >= 1, "nn_h5_probe accepted an empty row");
        if ((size_t)info.d + (size_t)info.k <= MAX_ROW_FLOATS) {
            size_t rows[MAX_ROWS];
            size_t nr = pick_rows(info.n, rows);
            nn_rows r;
            int rr = nn_h5_read_rows_fid(f, FUZZ_H5_NAME, split, &info, rows, nr, &r, err,
                                         sizeof err);
            fuzz_h5_say("nn_h5_read_rows", rr, err);
            if (rr == 0) {
                need(r.n == nr && r.x && (info.y_is_label ? r.labels != NULL : r.targets != NULL),
                     "nn_h5_read_rows succeeded without the rows");
                nn_rows_free(&r);
            }
        }
    }
    rc = nn_h5_probe_as_fid(f, FUZZ_H5_NAME, split, NN_H5_Y_OPTIONAL, &info, err, sizeof err);
    fuzz_h5_say("nn_h5_probe_as (y optional)", rc, err);
    need(rc >= -1 && rc <= 1, "nn_h5_probe_as returned an unknown code");
    if (rc != 0 || info.d < 1 || (size_t)info.d + (size_t)info.k > MAX_ROW_FLOATS)
        return;
    size_t n = info.n < 16 ? info.n : 16;
    size_t los[2] = {0, info.n - n};
    for (int i = 0; i < 2; i++) {
        size_t rows[16]; /* the block [lo, lo + n), as nn_h5_read_block reads it */
        for (size_t j = 0; j < n; j++)
            rows[j] = los[i] + j;
        nn_rows r;
        int rr = nn_h5_read_rows_fid(f, FUZZ_H5_NAME, split, &info, rows, n, &r, err,
                                     sizeof err);
        fuzz_h5_say("nn_h5_read_rows (block)", rr, err);
        if (rr == 0) {
            need(r.n == n && r.x != NULL, "a block read succeeded without the rows");
            need(info.x_only || r.labels || r.targets, "a block read lost y");
            need(!info.x_only || (!r.labels && !r.targets), "a block read without y has y");
            nn_rows_free(&r);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hid_t f = fuzz_h5_open(data, size);
    if (f < 0)
        return 0;
    fuzz_h5_ids before = fuzz_h5_count();
    static const char *const splits[3] = {"train", "val", "test"};
    for (int i = 0; i < 3; i++)
        split_checks(f, splits[i]);
    fuzz_h5_close(f, before, "the data readers");
    return 0;
}
