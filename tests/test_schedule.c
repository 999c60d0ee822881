/* test_schedule.c: learning-rate schedules at chosen steps (values worked out by hand) and
 * early stopping on a scripted validation curve. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>

#include "nn_schedule.h"

#define NEAR(a, b) assert_true(fabs((a) - (b)) < 1e-12)

static void test_constant_and_warmup(void **s)
{
    (void)s;
    /* 10 steps per epoch, 2 warm-up epochs = 20 steps: lr = 0.1 * (step + 1) / 20. */
    nn_lr_schedule c = {NN_LR_CONSTANT, 0.1, 0, 0.1, 10, 2.0, 10, 50};
    NEAR(nn_lr_at(&c, 0), 0.005);
    NEAR(nn_lr_at(&c, 9), 0.05);
    NEAR(nn_lr_at(&c, 19), 0.1);
    NEAR(nn_lr_at(&c, 20), 0.1);
    NEAR(nn_lr_at(&c, 499), 0.1);
    c.warmup_epochs = 0;
    NEAR(nn_lr_at(&c, 0), 0.1);
}

static void test_step(void **s)
{
    (void)s;
    /* decay by 0.5 every 3 epochs of 10 steps: epochs 0-2 -> 1, 3-5 -> 0.5, 6-8 -> 0.25 */
    nn_lr_schedule c = {NN_LR_STEP, 1.0, 0, 0.5, 3, 0, 10, 20};
    NEAR(nn_lr_at(&c, 0), 1.0);
    NEAR(nn_lr_at(&c, 29), 1.0);
    NEAR(nn_lr_at(&c, 30), 0.5);
    NEAR(nn_lr_at(&c, 59), 0.5);
    NEAR(nn_lr_at(&c, 60), 0.25);
}

static void test_cosine(void **s)
{
    (void)s;
    /* 10 epochs x 10 steps, 1 warm-up epoch: p = (step - 10) / 90.
     * step 10: p = 0 -> base; step 55: p = 0.5 -> (base + min) / 2; step 100: p = 1 -> min.
     * step 40: p = 1/3, cos(pi/3) = 0.5 -> min + 0.75 (base - min). */
    nn_lr_schedule c = {NN_LR_COSINE, 0.2, 0.02, 0, 0, 1.0, 10, 10};
    NEAR(nn_lr_at(&c, 4), 0.2 * 5 / 10);
    NEAR(nn_lr_at(&c, 10), 0.2);
    NEAR(nn_lr_at(&c, 55), 0.11);
    NEAR(nn_lr_at(&c, 40), 0.02 + 0.75 * 0.18);
    NEAR(nn_lr_at(&c, 100), 0.02);
    NEAR(nn_lr_at(&c, 150), 0.02); /* beyond the planned run: stays at the floor */
}

static void test_early_stop(void **s)
{
    (void)s;
    /* val loss by epoch: 1.0 0.8 0.85 0.9 0.7 0.75 0.71 0.72, patience 3:
     * bests at epochs 1, 2, 5; after epoch 5 three epochs without improvement -> stop at 8. */
    double curve[] = {1.0, 0.8, 0.85, 0.9, 0.7, 0.75, 0.71, 0.72};
    int want_best[] = {1, 1, 0, 0, 1, 0, 0, 0}, want_stop[] = {0, 0, 0, 0, 0, 0, 0, 1};
    nn_early_stop e;
    nn_early_stop_init(&e);
    for (int i = 0; i < 8; i++) {
        int stop = -1;
        int best = nn_early_stop_update(&e, i + 1, curve[i], 3, &stop);
        assert_int_equal(best, want_best[i]);
        assert_int_equal(stop, want_stop[i]);
    }
    assert_int_equal(e.best_epoch, 5);
    NEAR(e.best, 0.7);
    /* patience 0: never stops; NaN never improves */
    nn_early_stop_init(&e);
    int stop;
    assert_int_equal(nn_early_stop_update(&e, 1, NAN, 0, &stop), 0);
    assert_int_equal(stop, 0);
}

static void test_names(void **s)
{
    (void)s;
    assert_int_equal(nn_lr_kind_from_name("cosine"), NN_LR_COSINE);
    assert_int_equal(nn_lr_kind_from_name("linear"), -1);
    assert_string_equal(nn_lr_kind_name(NN_LR_STEP), "step");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_constant_and_warmup), cmocka_unit_test(test_step),
        cmocka_unit_test(test_cosine), cmocka_unit_test(test_early_stop),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
