/* test_attack.c: the pure part of the attacks (nn_attack.h) on hand-computed cases: the signed
 * step and its projection onto the ball and the range (widened to include the clean value),
 * the names, and the input gradient of a confidently classified row, whose direction float32
 * would lose if the label's softmax entry p_y - 1 were rounded (it is -sum of the others). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "nn_attack.h"

static void test_names(void **state)
{
    (void)state;
    assert_int_equal(nn_attack_from_name("none"), NN_ATTACK_NONE);
    assert_int_equal(nn_attack_from_name("fgsm"), NN_ATTACK_FGSM);
    assert_int_equal(nn_attack_from_name("pgd"), NN_ATTACK_PGD);
    assert_int_equal(nn_attack_from_name("PGD"), -1);
    assert_string_equal(nn_attack_name(NN_ATTACK_PGD), "pgd");
}

/* One row of 6 features, range [0, 1], e 0.1, a 0.25 (a step larger than the ball). */
static void test_step_and_projection(void **state)
{
    (void)state;
    const float x0[6] = {0.5f, 0.95f, 1.2f, 1.2f, 0.05f, 0.5f};
    const float g[6] = {1.0f, 1.0f, 1.0f, -1.0f, -2.0f, 0.0f};
    const float e[6] = {0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f};
    const float a[6] = {0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f};
    const float lo[6] = {0}, hi[6] = {1, 1, 1, 1, 1, 1};
    /* the ball wins, the range wins, a value outside the range stays or moves back, not out;
     * no gradient: no move */
    const float want[6] = {0.5f + 0.1f, 1.0f, 1.2f, 1.2f - 0.1f, 0.0f, 0.5f};
    float x[6];
    memcpy(x, x0, sizeof x);
    nn_attack_step(x, x0, g, 1, 6, a, e, lo, hi);
    for (int j = 0; j < 6; j++)
        assert_float_equal(x[j], want[j], 0.0f);
    /* the projection alone brings any point back into the same box */
    float y[6] = {-5.0f, 5.0f, 5.0f, -5.0f, 0.07f, 0.52f};
    const float wanty[6] = {0.4f, 1.0f, 1.2f, 1.1f, 0.07f, 0.52f};
    nn_attack_project(y, x0, 1, 6, e, lo, hi);
    for (int j = 0; j < 6; j++)
        assert_float_equal(y[j], wanty[j], 1e-7f);
}

/* A linear 2-class model z = x W with W = [[s, -s]]: for label 0 the loss is
 * log(1 + exp(-2 s x)), and dL/dx = -2 s p_1 < 0. With s x = 12, p_1 = exp(-24) ~ 3.8e-11:
 * float32 rounds p_0 - 1 to 0, and without the fix the gradient would be +s p_1 > 0, the wrong
 * way. */
static void test_confident_row(void **state)
{
    (void)state;
    nn_layout lo;
    int sizes[2] = {1, 2};
    char err[128];
    assert_int_equal(nn_layout_init(&lo, sizes, 1, NN_ACT_RELU, NN_LOSS_XENT, err, sizeof err), 0);
    float params[4];
    const float s = 12.0f;
    params[lo.w_off[0]] = s;
    params[lo.w_off[0] + 1] = -s;
    params[lo.b_off[0]] = 0.0f;
    params[lo.b_off[0] + 1] = 0.0f;
    nn_work w;
    assert_int_equal(nn_work_init(&w, &lo, 4), 0);
    const float x[1] = {1.0f};
    int32_t label[1] = {0};
    nn_batch_y y = {label, NULL, NULL, NULL};
    float g[1], loss[1];
    nn_attack_grad(&lo, params, &w, x, y, 1, g, loss);
    double p1 = exp(-2.0 * s), want = -2.0 * s * p1 / (1.0 + p1);
    assert_true(g[0] < 0.0f);
    assert_true(fabs(g[0] - want) <= 1e-5 * fabs(want));
    assert_true(fabs(loss[0] - log1p(p1)) <= 1e-5 * log1p(p1));
    nn_work_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_step_and_projection),
        cmocka_unit_test(test_confident_row),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
