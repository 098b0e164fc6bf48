/*
 * test_visit.c - visit frequencies: names, periods, and the settings that
 * choose them per cadre level (common/visit.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "period.h"
#include "visit.h"

#include <string.h>

static const cfg_spec_t spec[] = {
    {"LZ_VISIT_PRESET", CFG_STR, "default", 1, 16, false, "preset"},
    {"LZ_VISIT_FREQ_CITY", CFG_STR, "", 0, 16, false, "city"},
    {"LZ_VISIT_FREQ_COUNTY", CFG_STR, "", 0, 16, false, "county"},
    {"LZ_VISIT_FREQ_TOWNSHIP", CFG_STR, "", 0, 16, false, "township"},
    {"LZ_VISIT_FREQ_VILLAGE", CFG_STR, "", 0, 16, false, "village"},
};

/* visit_freqs_from_cfg over env; its return value, out filled. */
static int s_freqs(char *const *env, visit_freq_t out[VISIT_LEVELS])
{
    char err[256];
    cfg_t *c = cfg_load(spec, sizeof spec / sizeof spec[0], env, err, sizeof err);
    assert_non_null(c);
    int rc = visit_freqs_from_cfg(c, out);
    cfg_destroy(&c);
    return rc;
}

static void test_presets(void **state)
{
    (void)state;
    visit_freq_t f[VISIT_LEVELS];
    char *none[] = {NULL};
    assert_int_equal(s_freqs(none, f), 0);
    for (int i = 0; i < VISIT_LEVELS; i++)
        assert_int_equal(f[i], VISIT_QUARTERLY);
    char *national[] = {"LZ_VISIT_PRESET=national", NULL};
    assert_int_equal(s_freqs(national, f), 0);
    assert_int_equal(f[0], VISIT_HALFYEARLY);
    assert_int_equal(f[1], VISIT_HALFYEARLY);
    assert_int_equal(f[2], VISIT_QUARTERLY);
    assert_int_equal(f[3], VISIT_MONTHLY);
    char *override[] = {"LZ_VISIT_PRESET=national", "LZ_VISIT_FREQ_TOWNSHIP=yearly", NULL};
    assert_int_equal(s_freqs(override, f), 0);
    assert_int_equal(f[2], VISIT_YEARLY);
    assert_int_equal(f[3], VISIT_MONTHLY);
}

static void test_bad_settings(void **state)
{
    (void)state;
    visit_freq_t f[VISIT_LEVELS];
    char *preset[] = {"LZ_VISIT_PRESET=weekly", NULL};
    assert_int_equal(s_freqs(preset, f), -1);
    char *freq[] = {"LZ_VISIT_FREQ_VILLAGE=daily", NULL};
    assert_int_equal(s_freqs(freq, f), -1);
}

static void test_names_and_periods(void **state)
{
    (void)state;
    visit_freq_t f;
    assert_int_equal(visit_freq_parse("halfyearly", &f), 0);
    assert_int_equal(f, VISIT_HALFYEARLY);
    assert_int_equal(visit_freq_parse("weekly", &f), -1);
    assert_int_equal(visit_freq_parse(NULL, &f), -1);
    assert_string_equal(visit_freq_name(VISIT_MONTHLY), "monthly");
    char text[16];
    int64_t s, e;
    assert_int_equal(
        visit_period_of(VISIT_HALFYEARLY, local_midnight(2026, 11, 29), text, sizeof text, &s, &e),
        0);
    assert_string_equal(text, "2026-H2");
    assert_int_equal(s, local_midnight(2026, 7, 1));
    assert_int_equal(e, local_midnight(2027, 1, 1));
    char small[4];
    assert_int_equal(
        visit_period_of(VISIT_MONTHLY, local_midnight(2026, 11, 29), small, sizeof small, &s, &e),
        -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_presets),
        cmocka_unit_test(test_bad_settings),
        cmocka_unit_test(test_names_and_periods),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
