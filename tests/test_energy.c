/* test_energy.c: the RAPL reader and the CPU-time estimate of nn_energy.h, on a fake powercap
 * tree written here: which directories count (packages only: not their parts, not a psys
 * domain, not one whose counter cannot be read), the increase across a wrap-around of a
 * counter, NN_TEST_POWERCAP_DIR, and the estimate as CPU seconds x W. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "nn_energy.h"

static char root[256];

static void put(const char *dom, const char *file, const char *text)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", root, dom);
    mkdir(p, 0755);
    if (!file)
        return;
    snprintf(p, sizeof p, "%s/%s/%s", root, dom, file);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* A domain: name, counter and range (NULL: the file is left out). */
static void domain(const char *dom, const char *name, const char *uj, const char *range)
{
    put(dom, NULL, NULL);
    if (name)
        put(dom, "name", name);
    if (uj)
        put(dom, "energy_uj", uj);
    if (range)
        put(dom, "max_energy_range_uj", range);
}

static int setup(void **s)
{
    (void)s;
    snprintf(root, sizeof root, "%s/nn-test-energy.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(root));
    domain("intel-rapl:0", "package-0\n", "900\n", "1000\n");
    domain("intel-rapl:0:0", "core\n", "5\n", "1000\n");          /* a part of package 0 */
    domain("intel-rapl:1", "psys\n", "77\n", "1000\n");           /* the platform: overlaps */
    domain("intel-rapl:2", "package-1\n", "10\n", "5000\n");
    domain("intel-rapl:3", "package-2\n", NULL, "1000\n");        /* no readable counter */
    domain("intel-rapl", "package-9\n", "1\n", "1000\n");         /* not a domain name */
    domain("intel-rapl:4", "package-3\n", "12\n", "0\n");         /* no range */
    return 0;
}

static int teardown(void **s)
{
    (void)s;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_delta(void **s)
{
    (void)s;
    assert_int_equal(nn_rapl_delta(100, 350, 1000), 250);
    assert_int_equal(nn_rapl_delta(900, 100, 1000), 200); /* wrapped at 1000 */
    assert_int_equal(nn_rapl_delta(999, 0, 1000), 1);
    assert_int_equal(nn_rapl_delta(5, 5, 1000), 0);
    /* a real counter: max_energy_range_uj 262143328850 */
    assert_int_equal(nn_rapl_delta(262143000000ULL, 1000000ULL, 262143328850ULL), 328850ULL + 1000000ULL);
}

static void test_packages_and_wrap(void **s)
{
    (void)s;
    nn_rapl r;
    assert_int_equal(nn_rapl_open(&r, root), 2); /* intel-rapl:0 and :2 */
    assert_non_null(strstr(r.path[0], "intel-rapl:0/energy_uj"));
    assert_non_null(strstr(r.path[1], "intel-rapl:2/energy_uj"));
    assert_true(r.uj == 0.0);
    put("intel-rapl:0", "energy_uj", "100\n"); /* wrapped: 1000 - 900 + 100 */
    put("intel-rapl:2", "energy_uj", "60\n");  /* +50 */
    put("intel-rapl:0:0", "energy_uj", "999\n"); /* parts and psys are not counted */
    put("intel-rapl:1", "energy_uj", "999\n");
    assert_int_equal(nn_rapl_update(&r), 0);
    assert_true(r.uj == 250.0);
    assert_int_equal(nn_rapl_update(&r), 0); /* no change */
    assert_true(r.uj == 250.0);
    put("intel-rapl:0", "energy_uj", "400\n"); /* +300 */
    assert_int_equal(nn_rapl_update(&r), 0);
    assert_true(r.uj == 550.0);
    char p[512];
    snprintf(p, sizeof p, "%s/intel-rapl:2/energy_uj", root);
    unlink(p); /* a counter that cannot be read: -1, and it adds nothing */
    put("intel-rapl:0", "energy_uj", "450\n");
    assert_int_equal(nn_rapl_update(&r), -1);
    assert_true(r.uj == 600.0);
    put("intel-rapl:2", "energy_uj", "60\n");
}

static void test_env_and_missing(void **s)
{
    (void)s;
    nn_rapl r;
    setenv("NN_TEST_POWERCAP_DIR", root, 1);
    assert_int_equal(nn_rapl_open(&r, NULL), 2);
    char none[300];
    snprintf(none, sizeof none, "%s/no-such-dir", root);
    setenv("NN_TEST_POWERCAP_DIR", none, 1);
    assert_int_equal(nn_rapl_open(&r, NULL), 0);
    nn_energy e; /* no counters: the estimate */
    nn_energy_start(&e, 7.0, 1);
    assert_int_equal(e.measured, 0);
    unsetenv("NN_TEST_POWERCAP_DIR");
}

/* The estimate is this process's CPU seconds since the start x W. */
static void test_estimate(void **s)
{
    (void)s;
    nn_energy e;
    setenv("NN_TEST_POWERCAP_DIR", root, 1);
    nn_energy_start(&e, 12.5, 0); /* use_rapl 0: the estimate even with counters */
    unsetenv("NN_TEST_POWERCAP_DIR");
    assert_int_equal(e.measured, 0);
    volatile double x = 0.0;
    double c0 = nn_cpu_seconds();
    while (nn_cpu_seconds() - c0 < 0.05) /* burn some CPU: the clock ticks in microseconds */
        for (int i = 0; i < 100000; i++)
            x += sqrt((double)i);
    double before = (nn_cpu_seconds() - e.cpu0) * 12.5, j = nn_energy_joules(&e);
    double after = (nn_cpu_seconds() - e.cpu0) * 12.5;
    if (!(j >= before && j <= after && j >= 0.05 * 12.5))
        fail_msg("estimate %.6g J, expected within [%.6g, %.6g] (CPU seconds x 12.5 W)", j, before,
                 after);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delta),
        cmocka_unit_test(test_packages_and_wrap),
        cmocka_unit_test(test_env_and_missing),
        cmocka_unit_test(test_estimate),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
