/* test_serve_json.c: nn-serve's strict JSON over jsmn (src/nn-serve/json.c). Valid texts are
 * accepted and invalid ones refused with the byte offset (checked against a table of RFC 8259
 * cases); the fast number conversions agree bit for bit with the C library's correctly
 * rounded strtof and strtod on random decimal strings, float32 values printed in 9 and 17
 * digits, and numbers next to float32 rounding ties. */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json.h"

static int parses(const char *text)
{
    nn_json j;
    char err[256];
    int rc = nn_json_parse(&j, text, strlen(text), err, sizeof err);
    if (rc == 0)
        nn_json_free(&j);
    else
        assert_non_null(strstr(err, "malformed JSON at byte"));
    return rc == 0;
}

static void test_grammar(void **state)
{
    (void)state;
    const char *good[] = {"{}", "[]", " {\"a\" : [1, -2.5e3, 0, 0.0, -0, true, false, null]} ",
                          "{\"a\":{\"b\":[[],{}]}}", "[\"\\u00e9\\n\\\"\"]", "[1E+2,1e-2]",
                          "\"s\""};
    const char *bad[] = {"", " ", "{", "[1,]", "[,1]", "[1 2]", "{\"a\" 1}", "{\"a\":1,}",
                         "{\"a\":1 \"b\":2}", "{1:2}", "[\"a\":1]", "[01]", "[1.]", "[.5]",
                         "[-]", "[+1]", "[1e]", "[tru]", "[nul]", "[True]", "[\"\x01\"]",
                         "[1]]", "[[1]", "{}{}", "{} x", "{\"a\":1:2}", "[NaN]", "[Infinity]",
                         "[0x10]", "[1,,2]", "{\"a\"}", "[\"\\x\"]",
                         "{\"a\": }", "{\"a\":}", "{\"a\" \r}", "1{\"a\"b\":1}", "{1:2}"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        if (!parses(good[i]))
            fail_msg("refused valid JSON %s", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (parses(bad[i]))
            fail_msg("accepted invalid JSON '%s'", bad[i]);
}

static void test_depth_limit(void **state)
{
    (void)state;
    char deep[2 * NN_JSON_MAX_DEPTH + 8], err[256];
    size_t n = 0;
    for (int i = 0; i <= NN_JSON_MAX_DEPTH; i++)
        deep[n++] = '[';
    for (int i = 0; i <= NN_JSON_MAX_DEPTH; i++)
        deep[n++] = ']';
    nn_json j;
    assert_int_equal(nn_json_parse(&j, deep, n, err, sizeof err), -1);
    assert_non_null(strstr(err, "nested deeper than"));
    /* one level less is fine */
    assert_int_equal(nn_json_parse(&j, deep + 1, n - 2, err, sizeof err), 0);
    nn_json_free(&j);
}

static void test_walk(void **state)
{
    (void)state;
    const char *t = "{\"x\":[1,[2,3],{\"k\":4},5],\"id\":\"q\\\"1\",\"n\":null}";
    nn_json j;
    char err[128];
    assert_int_equal(nn_json_parse(&j, t, strlen(t), err, sizeof err), 0);
    int x = nn_json_get(&j, 0, "x");
    assert_int_equal(nn_json_type_of(&j, x), NN_JSON_ARRAY);
    assert_int_equal(nn_json_size(&j, x), 4);
    int e = nn_json_first(&j, x), seen = 0;
    nn_json_type want[] = {NN_JSON_NUMBER, NN_JSON_ARRAY, NN_JSON_OBJECT, NN_JSON_NUMBER};
    for (; e >= 0; e = nn_json_next(&j, e))
        assert_int_equal(nn_json_type_of(&j, e), want[seen++]);
    assert_int_equal(seen, 4);
    size_t at, len = nn_json_raw(&j, nn_json_get(&j, 0, "id"), &at);
    assert_int_equal(len, 6);
    assert_memory_equal(t + at, "\"q\\\"1\"", 6);
    assert_int_equal(nn_json_type_of(&j, nn_json_get(&j, 0, "n")), NN_JSON_NULL);
    assert_int_equal(nn_json_get(&j, 0, "missing"), -1);
    nn_json_free(&j);
}

/* One number through both conversions, against the C library. */
static void same_as_libc(const char *num)
{
    char text[160];
    snprintf(text, sizeof text, "[%s]", num);
    nn_json j;
    char err[256];
    assert_int_equal(nn_json_parse(&j, text, strlen(text), err, sizeof err), 0);
    float f, want = strtof(num, NULL);
    double d = nn_json_number(&j, 1), wantd = strtod(num, NULL);
    int rc = nn_json_float(&j, 1, &f);
    if (isfinite(want)) {
        if (rc != 0 || memcmp(&f, &want, sizeof f) != 0)
            fail_msg("%s: float %.9g (rc %d), strtof %.9g", num, (double)f, rc, (double)want);
    } else if (rc == 0) {
        fail_msg("%s: accepted as float %.9g; strtof overflows", num, (double)f);
    }
    if (memcmp(&d, &wantd, sizeof d) != 0)
        fail_msg("%s: double %.17g, strtod %.17g", num, d, wantd);
    nn_json_free(&j);
}

static uint64_t rng = 88172645463325252ULL;
static uint64_t next(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

static void test_numbers_match_libc(void **state)
{
    (void)state;
    const char *fixed[] = {"0", "-0", "0.0", "1", "-1", "0.1", "3.4028235e38", "3.4028236e38",
                           "1e39", "1.17549435e-38", "1e-45", "1.4e-45", "7e-46", "1e-50",
                           "123456789012345678901234567890", "0.30000000000000004",
                           "16777217", "16777219", "9007199254740993", "1e22", "1e23",
                           "4.9406564584124654e-324", "2.2250738585072014e-308", "1e400"};
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        same_as_libc(fixed[i]);
    char num[96];
    for (int i = 0; i < 200000; i++) {
        uint64_t r = next();
        uint32_t u = (uint32_t)r;
        float f;
        memcpy(&f, &u, sizeof f);
        switch (i % 4) {
        case 0: /* a float32, printed shortest-ish and as Python's repr of it */
        case 1:
            if (!isfinite(f))
                continue;
            snprintf(num, sizeof num, i % 4 ? "%.17g" : "%.9g", (double)f);
            break;
        case 2: /* random digits, random point and exponent */
            snprintf(num, sizeof num, "%s%llu.%llue%d", r >> 63 ? "-" : "",
                     (unsigned long long)(next() % 100000000000ULL),
                     (unsigned long long)(next() % 10000000000000ULL),
                     (int)(next() % 90) - 45);
            break;
        default: { /* next to a float32 rounding tie: the midpoint of two floats, nudged */
            if (!isfinite(f) || f == 0)
                continue;
            double a = fabs((double)f), b = (double)nextafterf(fabsf(f), INFINITY);
            double mid = a + (b - a) / 2 + (double)((int)(next() % 5) - 2) * ldexp(a, -60);
            snprintf(num, sizeof num, "%.*g", 17 + (int)(next() % 4), mid);
        }
        }
        same_as_libc(num);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grammar),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_walk),
        cmocka_unit_test(test_numbers_match_libc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
