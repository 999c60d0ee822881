/* test_encode.c: the encoder of raw records (src/core/encode.c, nn_encode.h) by hand: one
 * record of each kind of field to its outputs (numbers, fills and indicators, categories,
 * other, missing, values never seen, NA markers in any case and with blanks), the outputs'
 * names, label classes, the text form's round trip with awkward strings (blanks, '%',
 * control bytes, the empty string, UTF-8), and malformed texts refused with one line (a
 * checkpoint carries the text, so a damaged one must fail cleanly, never crash). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_encode.h"

/* age: numeric, fill 36.5, indicator; city: categorical Lima, Oslo + other + missing;
 * zip: categorical 0100, 0200, no other, no missing; income: numeric, no fill. */
static const char *const TEXT = "nn-encoder 1\n"
                                "na 2 NA ?\n"
                                "label churn classify 2 no yes\n"
                                "numeric age fill 36.5 indicator 1\n"
                                "categorical city other 1 missing 1 categories 2 Oslo Lima\n"
                                "categorical zip other 0 missing 0 categories 2 0100 0200\n"
                                "numeric income fill none indicator 0\n"
                                "end\n";

static void parse(nn_encoder *e, const char *text)
{
    char err[256] = "";
    int rc = nn_enc_from_text(e, text, err, sizeof err);
    if (rc != 0)
        fail_msg("%s", err);
}

static void encodes_records(void **state)
{
    (void)state;
    nn_encoder e;
    parse(&e, TEXT);
    assert_int_equal(e.ncol, 4);
    assert_int_equal(e.d, 2 + 4 + 2 + 1); /* age+ind, Oslo Lima other missing, zip x2, income */
    float x[9];
    int bad = -1;
    size_t unseen = 0;
    const char *r1[] = {" 30 ", "Lima", "0200", "1e3"};
    assert_int_equal(nn_enc_row(&e, r1, x, &bad, &unseen), NN_ENC_OK);
    const float w1[] = {30, 0, 0, 1, 0, 0, 0, 1, 1000};
    assert_memory_equal(x, w1, sizeof w1);
    /* NA markers in any case and with blanks; a category never seen; a missing category */
    const char *r2[] = {" na ", " Oslo ", "0300", "7"};
    assert_int_equal(nn_enc_row(&e, r2, x, &bad, &unseen), NN_ENC_OK);
    const float w2[] = {36.5f, 1, 1, 0, 0, 0, 0, 0, 7};
    assert_memory_equal(x, w2, sizeof w2);
    assert_int_equal(unseen, 1);
    const char *r3[] = {"?", "Quito", "", "-2.5"};
    assert_int_equal(nn_enc_row(&e, r3, x, &bad, &unseen), NN_ENC_OK);
    const float w3[] = {36.5f, 1, 0, 0, 1, 0, 0, 0, -2.5f}; /* Quito: other; zip '': zeros */
    assert_memory_equal(x, w3, sizeof w3);
    assert_int_equal(unseen, 3);
    const char *r4[] = {"", "", "0100", "1"};
    assert_int_equal(nn_enc_row(&e, r4, x, &bad, NULL), NN_ENC_OK);
    const float w4[] = {36.5f, 1, 0, 0, 0, 1, 1, 0, 1}; /* city '': its missing category */
    assert_memory_equal(x, w4, sizeof w4);
    /* the errors, with the column */
    const char *b1[] = {"x1", "Lima", "0100", "1"};
    assert_int_equal(nn_enc_row(&e, b1, x, &bad, NULL), NN_ENC_NOT_A_NUMBER);
    assert_int_equal(bad, 0);
    const char *b2[] = {"1", "Lima", "0100", "NA"};
    assert_int_equal(nn_enc_row(&e, b2, x, &bad, NULL), NN_ENC_NO_FILL);
    assert_int_equal(bad, 3);
    const char *b3[] = {"1e39", "Lima", "0100", "1"};
    assert_int_equal(nn_enc_row(&e, b3, x, &bad, NULL), NN_ENC_NONFINITE);
    const char *b4[] = {"1", "Lima", "0100", "inf"};
    assert_int_equal(nn_enc_row(&e, b4, x, &bad, NULL), NN_ENC_NONFINITE);
    assert_int_equal(bad, 3);
    nn_enc_free(&e);
}

static void names_and_classes(void **state)
{
    (void)state;
    nn_encoder e;
    parse(&e, TEXT);
    const char *want[] = {"age", "age=(missing)", "city=Oslo", "city=Lima", "city=(other)",
                          "city=(missing)", "zip=0100", "zip=0200", "income"};
    char buf[64];
    for (int j = 0; j < e.d; j++)
        assert_string_equal(nn_enc_output_name(&e, j, buf, sizeof buf), want[j]);
    assert_int_equal(nn_enc_class_of(&e, "yes"), 1);
    assert_int_equal(nn_enc_class_of(&e, "no"), 0);
    assert_int_equal(nn_enc_class_of(&e, "maybe"), -1);
    nn_encoder n;
    parse(&n, "nn-encoder 1\nna 0\nlabel y classify 2 1 2.5\nnumeric a fill none indicator 0\n"
              "end\n");
    assert_int_equal(nn_enc_class_of(&n, "1.0"), 0); /* equal as numbers */
    assert_int_equal(nn_enc_class_of(&n, "2.50"), 1);
    assert_int_equal(nn_enc_is_na(&n, "  "), 1);   /* empty is always missing */
    assert_int_equal(nn_enc_is_na(&n, "NA"), 0);   /* no markers given */
    nn_enc_free(&n);
    nn_enc_free(&e);
}

static void text_round_trip(void **state)
{
    (void)state;
    nn_encoder e;
    nn_enc_init(&e);
    char *cats[] = {"a b", "100%", "tab\there", "", "S\xc3\xa3o Paulo", "x%20y"};
    e.ncol = 2;
    e.col = calloc(2, sizeof *e.col);
    assert_non_null(e.col);
    e.col[0] = (nn_enc_col){.name = strdup("the city"), .kind = NN_ENC_CATEGORICAL,
                            .ncat = 6, .other = 1};
    e.col[0].cat = calloc(6, sizeof(char *));
    for (int i = 0; i < 6; i++)
        e.col[0].cat[i] = strdup(cats[i]);
    e.col[1] = (nn_enc_col){.name = strdup("v"), .kind = NN_ENC_NUMERIC, .has_fill = 1,
                            .fill = 0.1f, .indicator = 1};
    e.nna = 1;
    e.na = calloc(1, sizeof(char *));
    e.na[0] = strdup("n/a");
    assert_int_equal(nn_enc_layout(&e), 0);
    char *text = nn_enc_to_text(&e);
    assert_non_null(text);
    nn_encoder r;
    parse(&r, text);
    assert_int_equal(r.d, e.d);
    assert_int_equal(r.col[0].ncat, 6);
    for (int i = 0; i < 6; i++)
        assert_string_equal(r.col[0].cat[i], cats[i]);
    assert_string_equal(r.col[0].name, "the city");
    assert_true(r.col[1].fill == 0.1f); /* %.9g: the same float32 */
    char *again = nn_enc_to_text(&r);
    assert_string_equal(again, text);
    /* a category with blanks inside is found; "" as a value is missing, never the category */
    float x[9];
    int bad;
    size_t unseen = 0;
    const char *row[] = {" a b ", "1"};
    assert_int_equal(nn_enc_row(&r, row, x, &bad, &unseen), NN_ENC_OK);
    assert_true(x[0] == 1.0f && unseen == 0);
    free(text);
    free(again);
    nn_enc_free(&r);
    nn_enc_free(&e);
}

static void malformed_texts(void **state)
{
    (void)state;
    const char *bad[] = {
        "",
        "nn-encoder 2\nna 0\nnumeric a fill none indicator 0\nend\n",
        "nn-encoder 1\nna 0\nend\n",                                         /* no column */
        "nn-encoder 1\nna 0\nnumeric a fill none indicator 0\n",             /* no end */
        "nn-encoder 1\nna 0\nnumeric a fill nan indicator 0\nend\n",         /* fill not finite */
        "nn-encoder 1\nna 0\nnumeric a fill x indicator 0\nend\n",
        "nn-encoder 1\nna 0\nnumeric a fill 1 indicator 2\nend\n",
        "nn-encoder 1\nna 3 a b\nnumeric a fill 1 indicator 0\nend\n",        /* short list */
        "nn-encoder 1\nna 0\ncategorical c other 0 missing 0 categories 0\nend\n", /* no output */
        "nn-encoder 1\nna 0\ncategorical c other 0 missing 0 categories 3 a b\nend\n",
        "nn-encoder 1\nna 0\ncategorical c other 0 missing 0 categories -1\nend\n",
        "nn-encoder 1\nna 0\ncategorical c other 0 missing 0 categories 1 a%4\nend\n",
        "nn-encoder 1\nna 0\ncategorical c other 0 missing 0 categories 1 a%00\nend\n",
        "nn-encoder 1\nna 0\nlabel y maybe\nnumeric a fill 1 indicator 0\nend\n",
        "nn-encoder 1\nna 0\nlabel y classify 0\nnumeric a fill 1 indicator 0\nend\n",
        "nn-encoder 1\nna 0\nordinal a\nend\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        nn_encoder e;
        char err[256] = "";
        assert_int_equal(nn_enc_from_text(&e, bad[i], err, sizeof err), -1);
        assert_non_null(strstr(err, "the encoder's text is malformed at "));
        assert_null(strchr(err, '\n'));
        assert_int_equal(e.ncol, 0); /* left empty */
        nn_enc_free(&e);
    }
}

static void numbers(void **state)
{
    (void)state;
    double v;
    assert_int_equal(nn_enc_number(" 2.5 ", &v), NN_ENC_NUM_OK);
    assert_true(v == 2.5);
    assert_int_equal(nn_enc_number("0.1", &v), NN_ENC_NUM_OK);
    assert_true(v == strtod("0.1", NULL));
    assert_int_equal(nn_enc_number("123456789012345678901234567890", &v), NN_ENC_NUM_OK);
    assert_true(v == strtod("123456789012345678901234567890", NULL));
    assert_int_equal(nn_enc_number("", &v), NN_ENC_NUM_EMPTY);
    assert_int_equal(nn_enc_number("-inf", &v), NN_ENC_NUM_NONFINITE);
    assert_int_equal(nn_enc_number("1e999", &v), NN_ENC_NUM_NONFINITE);
    assert_int_equal(nn_enc_number("1,5", &v), NN_ENC_NUM_BAD);
    assert_int_equal(nn_enc_number("12abc", &v), NN_ENC_NUM_BAD);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(encodes_records),
        cmocka_unit_test(names_and_classes),
        cmocka_unit_test(text_round_trip),
        cmocka_unit_test(malformed_texts),
        cmocka_unit_test(numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
