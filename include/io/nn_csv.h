/* nn_csv.h: a streaming CSV reader (RFC 4180) for nn-data. It hands out one record at a time
 * from a FILE*, so memory is bounded by the longest record, never by the file.
 *
 * Accepted: fields separated by one delimiter byte (',' by default); records ended by LF or
 * CRLF (the last one may lack it); fields in double quotes may hold the delimiter, CR, LF and
 * doubled quotes (""), which stand for one quote. Blank lines are skipped. A UTF-8 byte-order
 * mark at the start of the file is skipped. Every record must have as many fields as the first
 * one (a "ragged" record is an error naming its line and both counts). */
#ifndef NN_CSV_H
#define NN_CSV_H

#include <stddef.h>
#include <stdio.h>

typedef struct nn_csv nn_csv;

enum { NN_CSV_ERROR = -1, NN_CSV_EOF = 0, NN_CSV_RECORD = 1 };

/* The longest record accepted, in bytes: a longer one is reported as an error instead of
 * growing the buffer without limit (a binary file, or a quote that never closes). */
#define NN_CSV_MAX_RECORD ((size_t)64 << 20)

/* Starts reading records from f, which stays the caller's (nn_csv_close does not close it).
 * name is used in messages ("name:line: ..."); delim is the field separator. NULL if out of
 * memory. */
nn_csv *nn_csv_open(FILE *f, const char *name, char delim);
void nn_csv_close(nn_csv *c); /* accepts NULL */

/* Reads the next record. NN_CSV_RECORD: *fields points at *nfields NUL-terminated strings
 * (quotes removed), valid until the next call. NN_CSV_EOF: no more records. NN_CSV_ERROR: one
 * line in err, "name:line: what; expected what" (unterminated quote, a character after a
 * closing quote, a ragged record, a record over NN_CSV_MAX_RECORD, a read error, a NUL byte
 * in a field, a CR without LF outside quotes - CR-only line ends are named as such - or a
 * byte-order mark after the start of the file). */
int nn_csv_next(nn_csv *c, const char *const **fields, size_t *nfields, char *err,
                size_t errlen);

/* The 1-based line on which the last record returned began. */
long nn_csv_line(const nn_csv *c);

/* Goes back to the start of the file for another pass (the field count of the first record is
 * learnt again). 0, or -1 when the stream cannot seek (a pipe). */
int nn_csv_rewind(nn_csv *c);

/* What a field holds as a number. */
typedef enum {
    NN_NUM_OK,        /* a finite number */
    NN_NUM_EMPTY,     /* empty or only blanks: a missing value */
    NN_NUM_NONFINITE, /* nan, inf, infinity (any case, signed), or beyond double's range */
    NN_NUM_BAD,       /* anything else: not a number */
} nn_num_kind;

/* Parses a field as a decimal number (strtod's syntax in the C locale, surrounding blanks
 * allowed) into *v. */
nn_num_kind nn_csv_number(const char *s, double *v);

#endif
