/* test_optim.c: each optimizer's update against values worked out by hand.
 *
 * Adam, lr 0.1, betas (0.9, 0.999), eps 1e-8, p0 = 1:
 *   step 1, g = 0.5:   m = 0.05, v = 0.00025, m^ = 0.5, v^ = 0.25  -> p = 1 - 0.1*0.5/0.5 = 0.9
 *   step 2, g = -0.25: m = 0.02, v = 0.00031225, m^ = 0.02/0.19 = 0.1052632,
 *                      v^ = 0.00031225/0.001999 = 0.1562031, sqrt = 0.3952254
 *                      -> p = 0.9 - 0.1*0.1052632/0.3952254 = 0.8733663
 * SGD, lr 0.1, momentum 0.9, p0 = 1, g = 0.5 twice: buf 0.5 -> p 0.95; buf 0.95 -> p 0.855.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>

#include "nn_optim.h"

#define NEAR(a, b) assert_true(fabs((double)(a) - (double)(b)) < 1e-6)

static nn_opt_hparams hp(nn_opt_kind k)
{
    return (nn_opt_hparams){.kind = k, .lr = 0.1f, .momentum = 0.9f, .beta1 = 0.9f,
                            .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.1f};
}

static void test_adam_two_steps(void **s)
{
    (void)s;
    nn_opt_hparams h = hp(NN_OPT_ADAM);
    nn_opt_decay none = {0, 0, 0};
    float p = 1.0f, m = 0.0f, v = 0.0f, g = 0.5f;
    nn_adam_update(&p, &g, &m, &v, 1, 1.0f, &h, none, 1);
    NEAR(m, 0.05);
    NEAR(v, 0.00025);
    NEAR(p, 0.9);
    g = -0.25f;
    nn_adam_update(&p, &g, &m, &v, 1, 1.0f, &h, none, 2);
    NEAR(m, 0.02);
    NEAR(v, 0.00031225);
    NEAR(p, 0.8733663);
}

static void test_adam_grad_scale(void **s)
{
    (void)s;
    /* The raw gradient is a sum over a batch of 4; grad_scale 1/4 makes it the mean 0.5. */
    nn_opt_hparams h = hp(NN_OPT_ADAM);
    float p = 1.0f, m = 0.0f, v = 0.0f, g = 2.0f;
    nn_adam_update(&p, &g, &m, &v, 1, 0.25f, &h, (nn_opt_decay){0, 0, 0}, 1);
    NEAR(m, 0.05);
    NEAR(p, 0.9);
}

static void test_adamw_decay(void **s)
{
    (void)s;
    /* Decoupled: p = 1*(1 - 0.1*0.1) - 0.1*1 = 0.89 for g = 0.5 at step 1; a bias (no decay)
     * with the same gradient goes to 0.9. */
    nn_opt_hparams h = hp(NN_OPT_ADAMW);
    float p[2] = {1.0f, 1.0f}, m[2] = {0}, v[2] = {0}, g[2] = {0.5f, 0.5f};
    nn_adam_update(&p[0], &g[0], &m[0], &v[0], 1, 1.0f, &h, (nn_opt_decay){0, 0, 0.1f}, 1);
    nn_adam_update(&p[1], &g[1], &m[1], &v[1], 1, 1.0f, &h, (nn_opt_decay){0, 0, 0}, 1);
    NEAR(p[0], 0.89);
    NEAR(p[1], 0.9);
}

static void test_sgd_momentum(void **s)
{
    (void)s;
    nn_opt_hparams h = hp(NN_OPT_SGD);
    float p = 1.0f, buf = 0.0f, g = 0.5f;
    nn_sgd_update(&p, &g, &buf, 1, 1.0f, &h, (nn_opt_decay){0, 0, 0});
    NEAR(buf, 0.5);
    NEAR(p, 0.95);
    nn_sgd_update(&p, &g, &buf, 1, 1.0f, &h, (nn_opt_decay){0, 0, 0});
    NEAR(buf, 0.95);
    NEAR(p, 0.855);
}

static void test_gd_plain(void **s)
{
    (void)s;
    /* No momentum buffer: p -= lr * g * scale = 1 - 0.1 * (4 * 0.25) = 0.9 */
    nn_opt_hparams h = hp(NN_OPT_GD);
    h.momentum = 0.0f;
    float p = 1.0f, g = 4.0f;
    nn_sgd_update(&p, &g, NULL, 1, 0.25f, &h, (nn_opt_decay){0, 0, 0});
    NEAR(p, 0.9);
}

static void test_penalties(void **s)
{
    (void)s;
    /* p = 2, g = 0, l1 = 0.1, l2 = 0.5: d/dp = 0.1*sign(2) + 0.5*2 = 1.1 -> p = 2 - 0.11 = 1.89.
     * p = -2: -0.1 - 1.0 = -1.1 -> p = -1.89. At p = 0 the L1 term is 0 (sign(0) = 0). */
    nn_opt_hparams h = hp(NN_OPT_GD);
    h.momentum = 0.0f;
    float p[3] = {2.0f, -2.0f, 0.0f}, g[3] = {0, 0, 0};
    nn_sgd_update(p, g, NULL, 3, 1.0f, &h, (nn_opt_decay){0.1f, 0.5f, 0});
    NEAR(p[0], 1.89);
    NEAR(p[1], -1.89);
    NEAR(p[2], 0.0);
    NEAR(nn_reg_term(3.0f, 0.1f, 0.5f), 1.6);
}

static void test_names(void **s)
{
    (void)s;
    assert_int_equal(nn_opt_from_name("adamw"), NN_OPT_ADAMW);
    assert_int_equal(nn_opt_from_name("gd"), NN_OPT_GD);
    assert_int_equal(nn_opt_from_name("rmsprop"), -1);
    assert_string_equal(nn_opt_name(NN_OPT_SGD), "sgd");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adam_two_steps), cmocka_unit_test(test_adam_grad_scale),
        cmocka_unit_test(test_adamw_decay),    cmocka_unit_test(test_sgd_momentum),
        cmocka_unit_test(test_gd_plain),       cmocka_unit_test(test_penalties),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
