/*
 * test_schedule.c - learning-rate schedules against torch.optim.lr_scheduler
 * (PyTorch 1.13): StepLR, MultiStepLR, CosineAnnealingLR with and without a
 * LinearLR warm-up through SequentialLR, per epoch and per iteration,
 * ExponentialLR and TF's staircase decay, and ReduceLROnPlateau fed fixed
 * losses (patience, rel and abs thresholds, cooldown, min_lr, the 1e-8
 * rule, NaN and inf). Every rate within 1e-6 relative; the worst is
 * printed. Also: the spec parser, config checks, and a plateau state saved
 * and restored mid-run continuing exactly.
 *
 * Fixtures come from tools/schedule_reference.py through
 * CZ_SCHEDULE_FIXTURES; without it those tests are skipped.
 */
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"
#include "train/schedule.h"

#define RTOL 1e-6

static double worst_rel; /* over every fixture case */

static const char *fixture_path(const char *name)
{
    return tu_fixture("CZ_SCHEDULE_FIXTURES", name);
}

/* |got - want| relative to |want| (absolute when want is 0). */
static double rel_err(float got, double want)
{
    double d = fabs((double)got - want);
    return want != 0 ? d / fabs(want) : d;
}

static FILE *open_fixture(const char *name)
{
    FILE *f = fopen(fixture_path(name), "r");
    if (!f)
        fail_msg("cannot open %s", fixture_path(name));
    return f;
}

/* ------------------------------------------------------------ torch */

/* sched NAME BASE_LR TOTAL_EPOCHS STEPS_PER_EPOCH SPEC FILE */
static void sched_case(char **words, int n)
{
    assert_int_equal(n, 7);
    const char *name = words[1];
    float base = strtof(words[2], NULL);
    int total = atoi(words[3]), spe = atoi(words[4]);
    cz_schedule_config cfg;
    tu_check(cz_schedule_parse(words[5], base, total, &cfg));
    cfg.steps_per_epoch = spe;
    cz_schedule s;
    tu_check(cz_schedule_init(&s, &cfg));
    FILE *f = open_fixture(words[6]);
    double worst = 0;
    int count = 0;
    for (int e = 0; e < total; e++)
        for (long k = 0; k < (spe > 0 ? spe : 1); k++) {
            double want;
            if (fscanf(f, "%lf", &want) != 1)
                fail_msg("%s: %s ends at epoch %d step %ld", name, words[6], e, k);
            float got = cz_schedule_lr(&s, e, k);
            double err = rel_err(got, want);
            if (!(err <= RTOL))
                fail_msg("%s (%s): epoch %d step %ld: lr %.9g, torch %.17g (rel %.3g)", name,
                         words[5], e, k, (double)got, want, err);
            worst = fmax(worst, err);
            count++;
            cz_schedule_epoch_end(&s, 1.0); /* a no-op for these kinds */
        }
    fclose(f);
    worst_rel = fmax(worst_rel, worst);
    print_message("%-22s %-24s %5d rates, max rel err %.3g\n", name, words[5], count, worst);
}

static void test_torch_schedules(void **state)
{
    (void)state;
    int cases = tu_for_each_line(fixture_path("manifest.txt"), "sched", sched_case);
    assert_true(cases >= 10);
    print_message("all schedules: max rel err %.3g\n", worst_rel);
}

/* plateau NAME BASE_LR SPEC FILE */
static void plateau_case(char **words, int n)
{
    assert_int_equal(n, 5);
    float base = strtof(words[2], NULL);
    cz_schedule_config cfg;
    tu_check(cz_schedule_parse(words[3], base, 100, &cfg));
    cz_schedule s;
    tu_check(cz_schedule_init(&s, &cfg));
    assert_true(cz_schedule_lr(&s, 0, 0) == base);
    FILE *f = open_fixture(words[4]);
    double loss, want, worst = 0;
    int epoch = 0, changes = 0;
    float prev = base;
    while (fscanf(f, "%lf %lf", &loss, &want) == 2) {
        cz_schedule_epoch_end(&s, loss);
        epoch++;
        float got = cz_schedule_lr(&s, epoch, 0);
        double err = rel_err(got, want);
        if (!(err <= RTOL))
            fail_msg("plateau %s (%s): after epoch %d (loss %.17g): lr %.9g, torch %.17g",
                     words[1], words[3], epoch, loss, (double)got, want, err);
        worst = fmax(worst, err);
        changes += got != prev;
        prev = got;
    }
    fclose(f);
    assert_true(epoch >= 10);
    assert_true(changes >= 1);
    worst_rel = fmax(worst_rel, worst);
    print_message("plateau %-16s %-32s %3d epochs, %2d reductions, max rel err %.3g\n", words[1],
                  words[3], epoch, changes, worst);
}

static void test_torch_plateau(void **state)
{
    (void)state;
    int cases = tu_for_each_line(fixture_path("manifest.txt"), "plateau", plateau_case);
    assert_true(cases >= 4);
    print_message("all plateaus: max rel err %.3g\n", worst_rel);
}

/* ------------------------------------------------------------ closed forms */

static void test_cosine_warmup_per_step(void **state)
{
    (void)state;
    cz_schedule_config cfg;
    tu_check(cz_schedule_parse("cosine:2:0:0.001", 0.1f, 10, &cfg));
    cfg.steps_per_epoch = 4;
    cz_schedule s;
    tu_check(cz_schedule_init(&s, &cfg));
    /* warm-up from 0: 8 steps, lr = 0.1 * p / 8 (torch's LinearLR cannot
     * start at 0; the closed form can) */
    for (long p = 0; p < 8; p++)
        assert_true(rel_err(cz_schedule_lr(&s, (int)(p / 4), p % 4), 0.1f * (double)p / 8) <= RTOL);
    assert_true(cz_schedule_lr(&s, 2, 0) == 0.1f);
    /* half-way through the 32 cosine steps: (base + eta_min) / 2 */
    assert_true(rel_err(cz_schedule_lr(&s, 6, 0), ((double)0.1f + 0.001f) / 2) <= RTOL);
    /* a pure function: asking again, or out of order, changes nothing */
    float a = cz_schedule_lr(&s, 7, 3);
    cz_schedule_lr(&s, 1, 0);
    assert_true(cz_schedule_lr(&s, 7, 3) == a);
}

static void test_exponential_fractional(void **state)
{
    (void)state;
    cz_schedule_config cfg;
    tu_check(cz_schedule_parse("exp:0.97:2.4", 0.256f, 350, &cfg));
    cz_schedule s;
    tu_check(cz_schedule_init(&s, &cfg));
    /* per epoch: floor(e / 2.4), exact at the multiples 12, 24, ... */
    for (int e = 0; e < 350; e++) {
        int decays = (e * 5) / 12;
        double want = 0.256f * pow(0.97f, decays);
        assert_true(rel_err(cz_schedule_lr(&s, e, 0), want) <= RTOL);
    }
    /* per step: 1000 steps an epoch decay every 2400 steps */
    cfg.steps_per_epoch = 1000;
    tu_check(cz_schedule_init(&s, &cfg));
    assert_true(rel_err(cz_schedule_lr(&s, 2, 399), 0.256f) <= RTOL);
    assert_true(rel_err(cz_schedule_lr(&s, 2, 400), 0.256f * 0.97f) <= RTOL);
    assert_true(rel_err(cz_schedule_lr(&s, 349, 999), 0.256f * pow(0.97f, 145)) <= RTOL);
}

/* ------------------------------------------------------------ state */

static void test_plateau_state_resume(void **state)
{
    (void)state;
    cz_schedule_config cfg;
    tu_check(cz_schedule_parse("plateau:0.5:2:0.01:rel:3:0.001", 0.1f, 100, &cfg));
    double losses[80];
    for (int i = 0; i < 80; i++) /* stalls with noise, some better epochs */
        losses[i] = 1.0 / (1 + i / 10) + 0.02 * sin(i * 1.7);
    cz_schedule whole, first, resumed;
    tu_check(cz_schedule_init(&whole, &cfg));
    tu_check(cz_schedule_init(&first, &cfg));
    float want[80];
    for (int i = 0; i < 80; i++) {
        cz_schedule_epoch_end(&whole, losses[i]);
        want[i] = cz_schedule_lr(&whole, i + 1, 0);
    }
    for (int cut = 1; cut < 80; cut += 7) {
        tu_check(cz_schedule_init(&first, &cfg));
        for (int i = 0; i < cut; i++)
            cz_schedule_epoch_end(&first, losses[i]);
        double saved[CZ_SCHEDULE_STATE_LEN + 1];
        int n = cz_schedule_state(&first, saved, CZ_SCHEDULE_STATE_LEN + 1);
        assert_int_equal(n, CZ_SCHEDULE_STATE_LEN);
        assert_int_equal(cz_schedule_state(&first, NULL, 0), n); /* sizing call */
        tu_check(cz_schedule_init(&resumed, &cfg));
        tu_check(cz_schedule_set_state(&resumed, saved, n));
        for (int i = cut; i < 80; i++) {
            cz_schedule_epoch_end(&resumed, losses[i]);
            float got = cz_schedule_lr(&resumed, i + 1, 0);
            if (got != want[i])
                fail_msg("resumed after %d epochs: epoch %d lr %.9g, uninterrupted %.9g", cut,
                         i + 1, (double)got, (double)want[i]);
        }
    }
    /* the run did reduce, and cooldown happened */
    assert_true(want[79] < 0.1f);
    /* stateless kinds have no state, and ignore one */
    cz_schedule c;
    tu_check(cz_schedule_parse("step:3", 0.1f, 10, &cfg));
    tu_check(cz_schedule_init(&c, &cfg));
    double junk[CZ_SCHEDULE_STATE_LEN] = {1, 2, 3, 4, 5};
    assert_int_equal(cz_schedule_state(&c, junk, CZ_SCHEDULE_STATE_LEN), 0);
    tu_check(cz_schedule_set_state(&c, junk, CZ_SCHEDULE_STATE_LEN));
    assert_float_equal(cz_schedule_lr(&c, 0, 0), 0.1f, 0);
}

/* A plateau state from a file is checked before it is taken: a counter
 * beyond int (undefined to convert) or at INT_MAX (the next epoch would
 * overflow it), a fraction, a NaN, a rate beyond float or a wrong count
 * is an error naming the value, and the schedule is left as it was. */
static void test_plateau_state_rejects(void **state)
{
    (void)state;
    cz_schedule_config cfg;
    cz_schedule s;
    tu_check(cz_schedule_parse("plateau", 0.1f, 10, &cfg));
    tu_check(cz_schedule_init(&s, &cfg));
    const double bad[][CZ_SCHEDULE_STATE_LEN] = {
        {0.1, 1, 1e300, 0, 1}, {0.1, 1, 0, 2.5, 1}, {0.1, 1, 0, 0, -1},
        {NAN, 1, 0, 0, 1},     {-0.1, 1, 0, 0, 1},  {0.1, NAN, 0, 0, 1},
        {0.1, 1, 0, 0, 2147483647.0}, {1e300, 1, 0, 0, 1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(cz_schedule_set_state(&s, bad[i], CZ_SCHEDULE_STATE_LEN), CZ_ERR_FORMAT);
        assert_non_null(strstr(cz_last_error(), "plateau schedule state"));
        assert_float_equal(cz_schedule_lr(&s, 0, 0), 0.1f, 0);
        assert_int_equal(s.last_epoch, 0);
    }
    double two[2] = {0.1, 1};
    assert_int_equal(cz_schedule_set_state(&s, two, 2), CZ_ERR_FORMAT);
    assert_int_equal(cz_schedule_set_state(&s, bad[0], CZ_SCHEDULE_STATE_LEN), CZ_ERR_FORMAT);
    assert_non_null(strstr(cz_last_error(), "num_bad_epochs is 1.0000000000000001e+300"));
    const double ok[CZ_SCHEDULE_STATE_LEN] = {0.01, INFINITY, 3, 1, 2147483646.0};
    tu_check(cz_schedule_set_state(&s, ok, CZ_SCHEDULE_STATE_LEN));
    assert_int_equal(s.last_epoch, INT_MAX - 1);
    assert_float_equal(cz_schedule_lr(&s, 0, 0), 0.01f, 0);
}

/* ------------------------------------------------------------ parsing */

static void test_parse_accepts(void **state)
{
    (void)state;
    cz_schedule_config c;
    tu_check(cz_schedule_parse("constant", 0.1f, 10, &c));
    assert_int_equal(c.kind, CZ_SCHED_CONSTANT);
    assert_float_equal(c.base_lr, 0.1f, 0);

    tu_check(cz_schedule_parse("step:30:0.2", 0.1f, 90, &c));
    assert_int_equal(c.kind, CZ_SCHED_STEP);
    assert_int_equal(c.step_size, 30);
    assert_float_equal(c.gamma, 0.2f, 0);
    tu_check(cz_schedule_parse("step:7", 0.1f, 90, &c));
    assert_float_equal(c.gamma, 0.1f, 0);

    tu_check(cz_schedule_parse("multistep:30,60,80:0.1", 0.1f, 90, &c));
    assert_int_equal(c.kind, CZ_SCHED_MULTISTEP);
    assert_int_equal(c.n_milestones, 3);
    assert_int_equal(c.milestones[2], 80);
    tu_check(cz_schedule_parse("multistep:5", 0.1f, 90, &c));
    assert_int_equal(c.n_milestones, 1);

    tu_check(cz_schedule_parse("plateau:0.1:10", 0.1f, 90, &c));
    assert_int_equal(c.kind, CZ_SCHED_PLATEAU);
    assert_float_equal(c.factor, 0.1f, 0);
    assert_int_equal(c.patience, 10);
    assert_float_equal(c.threshold, 1e-4f, 0);
    assert_false(c.threshold_abs);
    tu_check(cz_schedule_parse("plateau:0.5:3:0.02:abs:4:1e-5", 0.1f, 90, &c));
    assert_float_equal(c.threshold, 0.02f, 0);
    assert_true(c.threshold_abs);
    assert_int_equal(c.cooldown, 4);
    assert_float_equal(c.min_lr, 1e-5f, 0);
    tu_check(cz_schedule_parse("plateau", 0.1f, 90, &c));
    assert_int_equal(c.patience, 10);

    tu_check(cz_schedule_parse("cosine:5", 0.3f, 90, &c));
    assert_int_equal(c.kind, CZ_SCHED_COSINE);
    assert_int_equal(c.warmup_epochs, 5);
    assert_int_equal(c.total_epochs, 90);
    assert_int_equal(c.steps_per_epoch, 0);
    assert_float_equal(c.warmup_start_lr, 0.1f, 1e-8);
    tu_check(cz_schedule_parse("cosine", 0.3f, 90, &c));
    assert_int_equal(c.warmup_epochs, 0);
    assert_float_equal(c.eta_min, 0, 0);

    tu_check(cz_schedule_parse("exp:0.97:2.4", 0.256f, 350, &c));
    assert_int_equal(c.kind, CZ_SCHED_EXPONENTIAL);
    assert_float_equal(c.gamma, 0.97f, 0);
    assert_float_equal(c.decay_epochs, 2.4f, 0);
}

static void test_parse_rejects(void **state)
{
    (void)state;
    static const struct { const char *spec, *part; } bad[] = {
        {"", "unknown schedule"},
        {"linear:3", "unknown schedule"},
        {"step", "step takes 1 to 2 parameters, not 0"},
        {"step:30:0.1:9", "not 3"},
        {"step:x", "STEP_SIZE 'x' is not an integer"},
        {"step:30:", "an empty field"},
        {"step::0.1", "an empty field"},
        {"step:0", "step_size 0 must be >= 1"},
        {"step:3:0.1x", "GAMMA '0.1x' is not a number"},
        {"step:3:-1", "gamma -1 must be > 0"},
        {"multistep:30,,60", "an empty milestone"},
        {"multistep:30,60,", "an empty milestone"},
        {"multistep:60,30", "strictly increasing"},
        {"multistep:a", "milestone 'a' is not an integer"},
        {"multistep:1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17", "more than 16 milestones"},
        {"plateau:1.5", "factor 1.5 must be in (0, 1)"},
        {"plateau:0.1:-1", "patience -1 must be >= 0"},
        {"plateau:0.1:3:0.01:relative", "threshold mode must be rel or abs"},
        {"plateau:0.1:3:0.01:abs:2:0:7", "plateau takes 0 to 6 parameters, not 7"},
        {"plateau:0.1:3:0.01:abs:2:0:7:8", "too many fields"},
        {"plateau:0.1:3:nan", "THRESHOLD 'nan' is not a number"},
        {"cosine:90", "warmup_epochs 90 must be >= 0 and < total_epochs 90"},
        {"cosine:-1", "warmup_epochs -1"},
        {"cosine:5:0.1:-0.1", "eta_min -0.1 must be >= 0"},
        {"exp", "exp takes 1 to 2 parameters"},
        {"exp:0.97:0", "decay_epochs 0 must be > 0"},
        {"constant:1", "constant takes 0 to 0 parameters, not 1"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cz_schedule_config c;
        cz_status st = cz_schedule_parse(bad[i].spec, 0.1f, 90, &c);
        char quoted[128];
        snprintf(quoted, sizeof quoted, "'%s'", bad[i].spec);
        tu_expect_error(st, CZ_ERR_ARG, bad[i].part, quoted);
    }
    /* the syntax errors list the accepted forms */
    cz_schedule_config c;
    tu_expect_error(cz_schedule_parse("warm", 0.1f, 9, &c), CZ_ERR_ARG, "expected constant",
                    "exp:GAMMA[:DECAY_EPOCHS]");
    tu_expect_error(cz_schedule_parse("step:3", 0, 9, &c), CZ_ERR_ARG, "base_lr 0 must be > 0",
                    NULL);
}

static void test_init_rejects(void **state)
{
    (void)state;
    cz_schedule s;
    cz_schedule_config c = {.kind = CZ_SCHED_COSINE, .base_lr = 0.1f, .total_epochs = 10,
                            .steps_per_epoch = -1};
    tu_expect_error(cz_schedule_init(&s, &c), CZ_ERR_ARG, "steps_per_epoch -1", NULL);
    c = (cz_schedule_config){.kind = CZ_SCHED_MULTISTEP, .base_lr = 0.1f, .gamma = 0.1f};
    tu_expect_error(cz_schedule_init(&s, &c), CZ_ERR_ARG, "n_milestones 0", NULL);
    c = (cz_schedule_config){.kind = CZ_SCHED_PLATEAU, .base_lr = 0.1f, .factor = 0.5f,
                             .threshold = 1.0f};
    tu_expect_error(cz_schedule_init(&s, &c), CZ_ERR_ARG, "threshold 1 must be >= 0", NULL);
    c.threshold_abs = true; /* an absolute threshold of 1 is fine */
    tu_check(cz_schedule_init(&s, &c));
    c = (cz_schedule_config){.kind = (cz_sched_kind)42, .base_lr = 0.1f};
    tu_expect_error(cz_schedule_init(&s, &c), CZ_ERR_ARG, "unknown kind 42", NULL);
    c = (cz_schedule_config){.kind = CZ_SCHED_STEP, .base_lr = NAN, .step_size = 1,
                             .gamma = 0.1f};
    tu_expect_error(cz_schedule_init(&s, &c), CZ_ERR_ARG, "base_lr", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_torch_schedules),
        cmocka_unit_test(test_torch_plateau),
        cmocka_unit_test(test_cosine_warmup_per_step),
        cmocka_unit_test(test_exponential_fractional),
        cmocka_unit_test(test_plateau_state_resume),
        cmocka_unit_test(test_plateau_state_rejects),
        cmocka_unit_test(test_parse_accepts),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_init_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
