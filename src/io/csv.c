/* csv.c: the streaming CSV reader of nn_csv.h. The file is read through a 64 KiB buffer; a
 * record's fields are packed, NUL-terminated, into one growable byte buffer, and pointers to
 * them are made once the record is complete (the buffer may move while it grows). */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn_csv.h"
#include "nn_encode.h"

#define IN_SIZE 65536

struct nn_csv {
    FILE *f;
    const char *name;
    char delim;
    unsigned char in[IN_SIZE]; /* read buffer: in[pos..len) not yet consumed */
    size_t pos, len;
    int eof;          /* fread hit end of file or an error */
    long line;        /* current line, 1-based */
    long rec_line;    /* line where the last record began */
    char *buf;        /* the record's fields, each NUL-terminated */
    size_t blen, bcap;
    size_t *off;      /* start of each field in buf */
    const char **fp;  /* the same as pointers, handed to the caller */
    size_t nf, fcap;
    size_t width;     /* fields in the first record (0: none read yet) */
    long width_line;  /* its line */
    int started;      /* a byte-order mark may only come first */
    int lf_seen;      /* a line feed was read: the file does not use CR-only line ends */
    int maybe_bom;    /* the record holds a 0xef byte, perhaps of a byte-order mark */
};

nn_csv *nn_csv_open(FILE *f, const char *name, char delim)
{
    nn_csv *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->f = f;
    c->name = name;
    c->delim = delim;
    c->line = 1;
    return c;
}

void nn_csv_close(nn_csv *c)
{
    if (!c)
        return;
    free(c->buf);
    free(c->off);
    free(c->fp);
    free(c);
}

long nn_csv_line(const nn_csv *c) { return c->rec_line; }

int nn_csv_rewind(nn_csv *c)
{
    if (fseek(c->f, 0, SEEK_SET) != 0)
        return -1;
    clearerr(c->f);
    c->pos = c->len = 0;
    c->eof = 0;
    c->line = 1;
    c->rec_line = 0;
    c->width = 0;
    c->started = 0;
    c->lf_seen = 0;
    return 0;
}

static int refill(nn_csv *c)
{
    if (c->eof)
        return 0;
    c->pos = 0;
    c->len = fread(c->in, 1, IN_SIZE, c->f);
    if (c->len == 0)
        c->eof = 1;
    return c->len > 0;
}

/* The next byte, or EOF. */
static inline int get(nn_csv *c)
{
    if (c->pos == c->len && !refill(c))
        return EOF;
    return c->in[c->pos++];
}

static inline int peek(nn_csv *c)
{
    if (c->pos == c->len && !refill(c))
        return EOF;
    return c->in[c->pos];
}

static int put(nn_csv *c, char ch)
{
    if (c->blen == c->bcap) {
        if (c->bcap >= NN_CSV_MAX_RECORD)
            return -1;
        size_t cap = c->bcap ? 2 * c->bcap : 4096;
        char *b = realloc(c->buf, cap);
        if (!b)
            return -1;
        c->buf = b;
        c->bcap = cap;
    }
    c->buf[c->blen++] = ch;
    return 0;
}

static int start_field(nn_csv *c)
{
    if (c->nf == c->fcap) {
        size_t cap = c->fcap ? 2 * c->fcap : 64;
        size_t *o = realloc(c->off, cap * sizeof *o);
        if (!o)
            return -1;
        c->off = o;
        const char **p = realloc(c->fp, cap * sizeof *p);
        if (!p)
            return -1;
        c->fp = p;
        c->fcap = cap;
    }
    c->off[c->nf++] = c->blen;
    return 0;
}

/* A CR not followed by LF, outside quotes. */
static int bare_cr(const nn_csv *c, char *err, size_t errlen)
{
    if (!c->lf_seen)
        snprintf(err, errlen, "%s:%ld: a carriage return (CR) without a line feed: the file uses "
                 "CR-only line ends (old Mac); expected LF or CRLF line ends (convert it with "
                 "tr '\\r' '\\n')", c->name, c->line);
    else
        snprintf(err, errlen, "%s:%ld: column %zu: a carriage return (CR) alone inside the "
                 "line; expected LF or CRLF line ends (quote a field that holds a CR)",
                 c->name, c->line, c->nf - 1);
    return NN_CSV_ERROR;
}

static int nul_byte(const nn_csv *c, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s:%ld: column %zu: a NUL byte (0x00) in the field; expected text "
             "(a binary file, or UTF-16?)", c->name, c->line, c->nf - 1);
    return NN_CSV_ERROR;
}

/* A UTF-8 byte-order mark inside the record just read (only the file's first bytes may be
 * one: two files joined with cat?). 0, or NN_CSV_ERROR with the message. */
static int bom_inside(const nn_csv *c, char *err, size_t errlen)
{
    static const char bom[3] = {'\xef', '\xbb', '\xbf'};
    for (size_t i = 0; i < c->nf; i++) {
        const char *f = c->buf + c->off[i];
        for (const char *p = strchr(f, bom[0]); p; p = strchr(p + 1, bom[0]))
            if (memcmp(p, bom, 3) == 0) {
                snprintf(err, errlen, "%s:%ld: column %zu: a byte-order mark (U+FEFF) in the "
                         "middle of the file at line %ld; expected one at most, at the very "
                         "start (were two files joined?)", c->name, c->rec_line, i, c->rec_line);
                return NN_CSV_ERROR;
            }
    }
    return 0;
}

/* A byte for a message: printable as itself, else as a hex escape. */
static const char *show(int ch, char tmp[8])
{
    if (ch >= 0x20 && ch < 0x7f)
        snprintf(tmp, 8, "'%c'", ch);
    else
        snprintf(tmp, 8, "0x%02x", ch & 0xff);
    return tmp;
}

/* At the very start of the file: a UTF-8 byte-order mark is passed over. */
static void skip_bom(nn_csv *c)
{
    static const unsigned char bom[3] = {0xef, 0xbb, 0xbf};
    c->started = 1;
    if (peek(c) == bom[0] && c->len - c->pos >= 3 && memcmp(c->in + c->pos, bom, 3) == 0)
        c->pos += 3;
}

/* Skips blank lines (LF or CRLF; a CR at the start of a line is dropped). The next byte, or
 * EOF, not consumed; c->rec_line is its line. */
static int skip_blank_lines(nn_csv *c)
{
    for (;;) {
        c->rec_line = c->line;
        int ch = peek(c);
        if (ch == '\n') {
            c->pos++;
            c->line++;
            c->lf_seen = 1;
        } else if (ch == '\r') {
            c->pos++;
        } else {
            return ch;
        }
    }
}

static int read_error(const nn_csv *c, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s:%ld: read error: %s", c->name, c->line, strerror(errno));
    return NN_CSV_ERROR;
}

/* The record outgrew NN_CSV_MAX_RECORD, or memory. */
static int too_long(const nn_csv *c, char *err, size_t errlen)
{
    if (c->bcap >= NN_CSV_MAX_RECORD)
        snprintf(err, errlen, "%s:%ld: a record longer than %zu MiB; expected a text CSV file",
                 c->name, c->rec_line, NN_CSV_MAX_RECORD >> 20);
    else
        snprintf(err, errlen, "%s:%ld: out of memory reading this record", c->name,
                 c->rec_line);
    return NN_CSV_ERROR;
}

/* A quoted field whose opening quote was just read: its text, up to the closing quote, into
 * the record. *end: the byte after the closing quote (the delimiter, LF or EOF; the CR of a
 * CRLF is passed over). 0, or NN_CSV_ERROR with the message. */
static int quoted_field(nn_csv *c, int *end, char *err, size_t errlen)
{
    long qline = c->line;
    int ch;
    for (;;) {
        ch = get(c);
        if (ch == EOF) {
            snprintf(err, errlen,
                     "%s:%ld: field %zu: the quote opened on line %ld never closes; "
                     "expected a closing \"",
                     c->name, c->rec_line, c->nf - 1, qline);
            return NN_CSV_ERROR;
        }
        if (ch == '"') {
            if (peek(c) != '"')
                break;
            c->pos++;
        } else if (ch == '\n') {
            c->line++;
            c->lf_seen = 1;
        } else if (ch == 0) {
            return nul_byte(c, err, errlen);
        } else if (ch == 0xef) {
            c->maybe_bom = 1;
        }
        if (put(c, (char)ch) != 0)
            return too_long(c, err, errlen);
    }
    ch = get(c);
    if (ch == '\r' && (peek(c) == '\n' || peek(c) == EOF))
        ch = get(c);
    else if (ch == '\r' && c->delim != '\r')
        return bare_cr(c, err, errlen);
    if (ch != c->delim && ch != '\n' && ch != EOF) {
        char tmp[8];
        snprintf(err, errlen,
                 "%s:%ld: field %zu: unexpected %s after the closing quote; expected "
                 "the delimiter or the end of the line (write a quote inside a quoted "
                 "field as \"\")",
                 c->name, c->line, c->nf - 1, show(ch, tmp));
        return NN_CSV_ERROR;
    }
    *end = ch;
    return 0;
}

/* An unquoted field whose first byte ch was just read: its text into the record. *end: the
 * byte that ended it (the delimiter, LF or EOF; the CR of a CRLF is passed over). 0, or
 * NN_CSV_ERROR with the message. */
static int plain_field(nn_csv *c, int ch, int *end, char *err, size_t errlen)
{
    while (ch != c->delim && ch != '\n' && ch != EOF) {
        if (ch == '\r' || ch == 0 || ch == 0xef) { /* rare: checked apart */
            if (ch == '\r' && (peek(c) == '\n' || peek(c) == EOF)) {
                ch = get(c);
                break;
            }
            if (ch == '\r')
                return bare_cr(c, err, errlen);
            if (ch == 0)
                return nul_byte(c, err, errlen);
            c->maybe_bom = 1;
        }
        if (put(c, (char)ch) != 0)
            return too_long(c, err, errlen);
        ch = get(c);
    }
    *end = ch;
    return 0;
}

/* Reads the record's fields, one per iteration, until one ends at a line end or EOF. 0, or
 * NN_CSV_ERROR with the message. */
static int read_fields(nn_csv *c, char *err, size_t errlen)
{
    c->blen = 0;
    c->nf = 0;
    c->maybe_bom = 0;
    int end;
    do {
        if (start_field(c) != 0)
            return too_long(c, err, errlen);
        int ch = get(c), rc = ch == '"' ? quoted_field(c, &end, err, errlen)
                                        : plain_field(c, ch, &end, err, errlen);
        if (rc != 0)
            return rc;
        if (put(c, '\0') != 0)
            return too_long(c, err, errlen);
        if (end == '\n') {
            c->line++;
            c->lf_seen = 1;
        }
    } while (end == c->delim);
    return 0;
}

/* The whole record read: a byte-order mark inside it, or a field count other than the first
 * record's, is an error. 0, or NN_CSV_ERROR with the message. */
static int check_record(nn_csv *c, char *err, size_t errlen)
{
    if (c->maybe_bom && bom_inside(c, err, errlen) != 0)
        return NN_CSV_ERROR;
    if (c->width == 0) {
        c->width = c->nf;
        c->width_line = c->rec_line;
    } else if (c->nf != c->width) {
        snprintf(err, errlen, "%s:%ld: %zu field(s); expected %zu as on line %ld (a ragged row)",
                 c->name, c->rec_line, c->nf, c->width, c->width_line);
        return NN_CSV_ERROR;
    }
    return 0;
}

int nn_csv_next(nn_csv *c, const char *const **fields, size_t *nfields, char *err,
                size_t errlen)
{
    if (!c->started)
        skip_bom(c);
    if (skip_blank_lines(c) == EOF)
        return ferror(c->f) ? read_error(c, err, errlen) : NN_CSV_EOF;
    if (read_fields(c, err, errlen) != 0)
        return NN_CSV_ERROR;
    if (ferror(c->f))
        return read_error(c, err, errlen);
    if (check_record(c, err, errlen) != 0)
        return NN_CSV_ERROR;
    for (size_t i = 0; i < c->nf; i++)
        c->fp[i] = c->buf + c->off[i];
    *fields = c->fp;
    *nfields = c->nf;
    return NN_CSV_RECORD;
}

/* The parser is the encoder's (nn_encode.h), so that the importer and nn-predict --csv read
 * a number the same way; nn_num_kind has the same values. */
nn_num_kind nn_csv_number(const char *s, double *v) { return (nn_num_kind)nn_enc_number(s, v); }
