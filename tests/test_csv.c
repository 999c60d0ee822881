/* test_csv.c: the streaming CSV reader (src/io/csv.c) on in-memory files (fmemopen): quotes,
 * delimiters and newlines inside quotes, CRLF, empty fields, blank lines, ragged records,
 * a missing final newline, malformed quotes, rewinding, and the number parser. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_csv.h"

typedef struct {
    FILE *f;
    char *text; /* the stream's buffer, freed after fclose */
    nn_csv *c;
    char err[512];
} reader;

static void open_text(reader *r, const char *text, char delim)
{
    /* fmemopen on a copy: the reader must not depend on the literal's storage. */
    size_t n = strlen(text);
    char *copy = malloc(n + 1);
    assert_non_null(copy);
    memcpy(copy, text, n + 1);
    r->text = copy;
    r->f = n ? fmemopen(copy, n, "r") : fopen("/dev/null", "r");
    assert_non_null(r->f);
    r->c = nn_csv_open(r->f, "t.csv", delim);
    assert_non_null(r->c);
    r->err[0] = '\0';
}

static void close_text(reader *r)
{
    nn_csv_close(r->c);
    fclose(r->f);
    free(r->text);
}

/* Reads the next record and checks it equals the nf expected fields (and its line). */
static void expect_record(reader *r, long line, size_t nf, ...)
{
    const char *const *fld;
    size_t n;
    int rc = nn_csv_next(r->c, &fld, &n, r->err, sizeof r->err);
    if (rc != NN_CSV_RECORD)
        fail_msg("expected a record on line %ld, got status %d (%s)", line, rc, r->err);
    assert_int_equal(nn_csv_line(r->c), line);
    assert_int_equal(n, nf);
    va_list ap;
    va_start(ap, nf);
    for (size_t i = 0; i < nf; i++) {
        const char *want = va_arg(ap, const char *);
        if (strcmp(fld[i], want) != 0)
            fail_msg("line %ld field %zu: got '%s', expected '%s'", line, i, fld[i], want);
    }
    va_end(ap);
}

static void expect_eof(reader *r)
{
    const char *const *fld;
    size_t n;
    assert_int_equal(nn_csv_next(r->c, &fld, &n, r->err, sizeof r->err), NN_CSV_EOF);
    /* and it stays at the end */
    assert_int_equal(nn_csv_next(r->c, &fld, &n, r->err, sizeof r->err), NN_CSV_EOF);
}

static void expect_error(reader *r, const char *needle)
{
    const char *const *fld;
    size_t n;
    int rc = nn_csv_next(r->c, &fld, &n, r->err, sizeof r->err);
    if (rc != NN_CSV_ERROR)
        fail_msg("expected an error containing '%s', got status %d", needle, rc);
    if (!strstr(r->err, needle))
        fail_msg("error '%s' lacks '%s'", r->err, needle);
}

static void test_plain(void **state)
{
    (void)state;
    reader r;
    open_text(&r, "a,b,c\n1,2,3\n4,5,6\n", ',');
    expect_record(&r, 1, 3, "a", "b", "c");
    expect_record(&r, 2, 3, "1", "2", "3");
    expect_record(&r, 3, 3, "4", "5", "6");
    expect_eof(&r);
    close_text(&r);
}

static void test_quotes(void **state)
{
    (void)state;
    reader r;
    /* a delimiter, a doubled quote, a newline and CRLF inside quotes; an empty quoted field */
    open_text(&r,
              "name,note,x\n"
              "\"Smith, J\",\"said \"\"hi\"\"\",1\n"
              "\"two\nlines\",\"\",\"3.5\"\n"
              "\"cr\r\nlf\",plain,4\n",
              ',');
    expect_record(&r, 1, 3, "name", "note", "x");
    expect_record(&r, 2, 3, "Smith, J", "said \"hi\"", "1");
    expect_record(&r, 3, 3, "two\nlines", "", "3.5");
    expect_record(&r, 5, 3, "cr\r\nlf", "plain", "4"); /* line counting saw the quoted LF */
    expect_eof(&r);
    close_text(&r);
}

static void test_crlf_and_trailing_newline(void **state)
{
    (void)state;
    reader r;
    open_text(&r, "a,b\r\n1,2\r\n3,4\r\n", ',');
    expect_record(&r, 1, 2, "a", "b");
    expect_record(&r, 2, 2, "1", "2");
    expect_record(&r, 3, 2, "3", "4"); /* no stray '\r' at the end of the last field */
    expect_eof(&r);
    close_text(&r);
    /* no newline at the end of the file, LF and CRLF */
    open_text(&r, "a,b\n1,2", ',');
    expect_record(&r, 1, 2, "a", "b");
    expect_record(&r, 2, 2, "1", "2");
    expect_eof(&r);
    close_text(&r);
    open_text(&r, "a,b\r\n1,\"2\"\r", ',');
    expect_record(&r, 1, 2, "a", "b");
    expect_record(&r, 2, 2, "1", "2");
    expect_eof(&r);
    close_text(&r);
    /* an empty file has no records */
    open_text(&r, "", ',');
    expect_eof(&r);
    close_text(&r);
}

static void test_empty_fields_and_blank_lines(void **state)
{
    (void)state;
    reader r;
    open_text(&r, "\xef\xbb\xbf" "a,b,c\n,,\n\n1,,3\r\n\r\n,2,\n\n", ',');
    expect_record(&r, 1, 3, "a", "b", "c"); /* byte-order mark skipped */
    expect_record(&r, 2, 3, "", "", "");
    expect_record(&r, 4, 3, "1", "", "3"); /* blank line 3 skipped, numbering kept */
    expect_record(&r, 6, 3, "", "2", "");
    expect_eof(&r);
    close_text(&r);
}

static void test_ragged(void **state)
{
    (void)state;
    reader r;
    open_text(&r, "a,b,c\n1,2,3\n4,5\n6,7,8\n", ',');
    expect_record(&r, 1, 3, "a", "b", "c");
    expect_record(&r, 2, 3, "1", "2", "3");
    expect_error(&r, "t.csv:3: 2 field(s); expected 3 as on line 1");
    close_text(&r);
    open_text(&r, "a,b\n1,2,3\n", ',');
    expect_record(&r, 1, 2, "a", "b");
    expect_error(&r, "t.csv:2: 3 field(s); expected 2");
    close_text(&r);
    /* a trailing delimiter is one more (empty) field, hence ragged here */
    open_text(&r, "a,b\n1,2,\n", ',');
    expect_record(&r, 1, 2, "a", "b");
    expect_error(&r, "t.csv:2: 3 field(s)");
    close_text(&r);
}

static void test_bad_quotes(void **state)
{
    (void)state;
    reader r;
    open_text(&r, "a,b\n\"open,2\n3,4\n", ',');
    expect_record(&r, 1, 2, "a", "b");
    expect_error(&r, "never closes");
    close_text(&r);
    open_text(&r, "a,b\n\"x\"y,2\n", ',');
    expect_record(&r, 1, 2, "a", "b");
    expect_error(&r, "t.csv:2: field 0: unexpected 'y' after the closing quote");
    close_text(&r);
    /* a quote inside an unquoted field is kept as text */
    open_text(&r, "a,b\n5\"5,2\n", ',');
    expect_record(&r, 1, 2, "a", "b");
    expect_record(&r, 2, 2, "5\"5", "2");
    close_text(&r);
}

static void test_other_delimiter_and_rewind(void **state)
{
    (void)state;
    reader r;
    open_text(&r, "a;b\n\"1;5\";2,5\n", ';');
    expect_record(&r, 1, 2, "a", "b");
    expect_record(&r, 2, 2, "1;5", "2,5");
    expect_eof(&r);
    assert_int_equal(nn_csv_rewind(r.c), 0);
    expect_record(&r, 1, 2, "a", "b");
    close_text(&r);
    open_text(&r, "x\ty\n1\t2\n", '\t');
    expect_record(&r, 1, 2, "x", "y");
    expect_record(&r, 2, 2, "1", "2");
    close_text(&r);
}

static void test_long_record(void **state)
{
    (void)state;
    /* fields and records far larger than the reader's initial buffers and its 64 KiB block */
    size_t nf = 30000;
    char *text = malloc(nf * 8 + 16);
    assert_non_null(text);
    size_t o = 0;
    for (size_t i = 0; i < nf; i++)
        o += (size_t)sprintf(text + o, "%s%zu", i ? "," : "", i);
    text[o++] = '\n';
    text[o] = '\0';
    reader r;
    open_text(&r, text, ',');
    const char *const *fld;
    size_t n;
    assert_int_equal(nn_csv_next(r.c, &fld, &n, r.err, sizeof r.err), NN_CSV_RECORD);
    assert_int_equal(n, nf);
    assert_string_equal(fld[0], "0");
    assert_string_equal(fld[12345], "12345");
    assert_string_equal(fld[nf - 1], "29999");
    expect_eof(&r);
    close_text(&r);
    free(text);
}

static void test_numbers(void **state)
{
    (void)state;
    double v = -1;
    assert_int_equal(nn_csv_number("1.5", &v), NN_NUM_OK);
    assert_true(v == 1.5);
    assert_int_equal(nn_csv_number("  -2e3 ", &v), NN_NUM_OK);
    assert_true(v == -2000);
    assert_int_equal(nn_csv_number("", &v), NN_NUM_EMPTY);
    assert_int_equal(nn_csv_number("   ", &v), NN_NUM_EMPTY);
    assert_int_equal(nn_csv_number("nan", &v), NN_NUM_NONFINITE);
    assert_int_equal(nn_csv_number("NaN", &v), NN_NUM_NONFINITE);
    assert_int_equal(nn_csv_number("-inf", &v), NN_NUM_NONFINITE);
    assert_int_equal(nn_csv_number("Infinity", &v), NN_NUM_NONFINITE);
    assert_int_equal(nn_csv_number("1e999", &v), NN_NUM_NONFINITE);
    assert_int_equal(nn_csv_number("abc", &v), NN_NUM_BAD);
    assert_int_equal(nn_csv_number("1.5x", &v), NN_NUM_BAD);
    assert_int_equal(nn_csv_number("1,5", &v), NN_NUM_BAD);
    assert_int_equal(nn_csv_number("NA", &v), NN_NUM_BAD);
    assert_int_equal(nn_csv_number("1e", &v), NN_NUM_BAD);
    assert_int_equal(nn_csv_number(".", &v), NN_NUM_BAD);
    assert_int_equal(nn_csv_number("-", &v), NN_NUM_BAD);
    assert_int_equal(nn_csv_number("0x1A", &v), NN_NUM_OK); /* strtod's syntax */
    assert_true(v == 26);
    assert_int_equal(nn_csv_number("-0.0", &v), NN_NUM_OK);
    assert_true(v == 0 && signbit(v));
}

/* The parser's fast path for plain decimals must give exactly strtod's double: random values
 * printed in many styles (fixed, %g at every precision, exponents, leading zeros, signs). */
static void test_numbers_match_strtod(void **state)
{
    (void)state;
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    static const char *const fmts[] = {"%.0f", "%.1f", "%.6f", "%.3e", "%.9g", "%.15g",
                                       "%.16g", "%.17g", "%+.4f", "%.12e", "%.20f", "%016.5f"};
    char buf[128];
    size_t checked = 0;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        /* magnitudes from 1e-30 to 1e30, both signs */
        double mant = (double)(x >> 11) * 0x1.0p-53;
        double val = (mant - 0.5) * pow(10.0, (double)((int)(x % 61) - 30));
        snprintf(buf, sizeof buf, fmts[i % (sizeof fmts / sizeof fmts[0])], val);
        double want = strtod(buf, NULL), got = -12345;
        assert_int_equal(nn_csv_number(buf, &got), NN_NUM_OK);
        if (memcmp(&got, &want, sizeof got) != 0)
            fail_msg("'%s': parsed %.17g, strtod gives %.17g", buf, got, want);
        checked++;
    }
    /* integers near the fast path's limit of 2^53, and powers of ten near 1e22 */
    static const char *const edge[] = {"9007199254740992", "9007199254740993",
                                       "9007199254740993.0", "18446744073709551615",
                                       "1e22", "1e23", "123456789e-22", "123456789e-23",
                                       "0.0000000000000000000000001", "1234567890123456789",
                                       "12345678901234567890", "4.9e-324", "1.7976931348623157e308"};
    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++) {
        double want = strtod(edge[i], NULL), got = -1;
        assert_int_equal(nn_csv_number(edge[i], &got), NN_NUM_OK);
        if (memcmp(&got, &want, sizeof got) != 0)
            fail_msg("'%s': parsed %.17g, strtod gives %.17g", edge[i], got, want);
    }
    assert_true(checked == 200000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain),
        cmocka_unit_test(test_quotes),
        cmocka_unit_test(test_crlf_and_trailing_newline),
        cmocka_unit_test(test_empty_fields_and_blank_lines),
        cmocka_unit_test(test_ragged),
        cmocka_unit_test(test_bad_quotes),
        cmocka_unit_test(test_other_delimiter_and_rewind),
        cmocka_unit_test(test_long_record),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_numbers_match_strtod),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
