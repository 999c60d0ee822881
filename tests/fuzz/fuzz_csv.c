/* fuzz_csv.c: libFuzzer harness for the CSV reader (src/io/csv.c, nn_csv.h).
 *
 * Input: the first byte is the delimiter when it is ',' ';' '\t' or '|' (else ',' is used);
 * the rest is the file, read through fmemopen as nn-data reads a file. Every record is read
 * twice (nn_csv_rewind, as the importer's two passes do) and must come out the same; every
 * field goes through nn_csv_number, whose fast decimal path must give exactly strtod's
 * double. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_csv.h"

/* A fingerprint of one pass: records, fields, bytes, and an FNV-1a hash over them. */
typedef struct {
    long records, fields;
    uint64_t hash;
    int status; /* NN_CSV_EOF or NN_CSV_ERROR */
    long line;  /* nn_csv_line after the last call */
} pass;

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

static void check_number(const char *s)
{
    double v = 0.0;
    nn_num_kind k = nn_csv_number(s, &v);
    if (k != NN_NUM_OK)
        return;
    double ref = strtod(s, NULL); /* nn_csv_number's own fallback: the reference */
    if (memcmp(&v, &ref, sizeof v) != 0) {
        fprintf(stderr, "fuzz_csv: nn_csv_number(\"%s\") = %.17g, strtod gives %.17g\n", s, v,
                ref);
        abort();
    }
}

static pass read_all(nn_csv *c, int numbers)
{
    pass p = {0, 0, 1469598103934665603ULL, NN_CSV_EOF, 0};
    const char *const *fields;
    size_t nf = 0, width = 0;
    char err[512];
    int rc;
    while ((rc = nn_csv_next(c, &fields, &nf, err, sizeof err)) == NN_CSV_RECORD) {
        if (nf == 0 || (width && nf != width)) {
            fprintf(stderr, "fuzz_csv: a record of %zu fields after one of %zu\n", nf, width);
            abort();
        }
        width = nf;
        p.records++;
        p.fields += (long)nf;
        for (size_t i = 0; i < nf; i++) {
            size_t len = strlen(fields[i]);
            p.hash = fnv(p.hash, fields[i], len + 1);
            if (numbers)
                check_number(fields[i]);
        }
    }
    p.status = rc;
    p.line = nn_csv_line(c);
    if (rc == NN_CSV_ERROR && (err[0] == '\0' || strchr(err, '\n'))) {
        fprintf(stderr, "fuzz_csv: an error message that is empty or not one line: %s\n", err);
        abort();
    }
    return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char delim = data[0] == ';' || data[0] == '\t' || data[0] == '|' ? (char)data[0] : ',';
    data++;
    size--;
    /* fmemopen wants a writable buffer and a non-zero size. */
    char *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    FILE *f = fmemopen(copy, size ? size : 1, "rb");
    if (!f) {
        free(copy);
        return 0;
    }
    if (size == 0)
        getc(f); /* a one-byte stream positioned at its end: an empty file */
    nn_csv *c = nn_csv_open(f, "fuzz.csv", delim);
    if (c) {
        pass a = read_all(c, 1);
        if (nn_csv_rewind(c) == 0 && size > 0) {
            pass b = read_all(c, 0);
            if (a.records != b.records || a.fields != b.fields || a.hash != b.hash ||
                a.status != b.status || a.line != b.line) {
                fprintf(stderr, "fuzz_csv: the second pass differs: %ld/%ld records, %ld/%ld "
                        "fields, status %d/%d, line %ld/%ld\n",
                        a.records, b.records, a.fields, b.fields, a.status, b.status, a.line,
                        b.line);
                abort();
            }
        }
        nn_csv_close(c);
    }
    fclose(f);
    free(copy);
    return 0;
}
