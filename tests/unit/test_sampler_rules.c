/*
 * test_sampler_rules.c - unit tests for the sampler's pure rules: plan settings over the
 * defaults, strata of a business, seeds, inspection outcomes and findings, the published CSV.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "sampler/sampler_inspect.h"
#include "sampler/sampler_plan.h"

static const sampler_defaults_t s_def = {6, false, true, {1, 2, 3, 4}, true};

static void test_settings(void **state)
{
    (void)state;
    sampler_settings_t s;
    char f[64], m[160];
    assert_int_equal(sampler_settings_resolve(NULL, &s_def, &s, f, sizeof f, m, sizeof m), 0);
    assert_int_equal(s.n_per_stratum, 6);
    assert_false(s.township);
    assert_int_equal(sampler_weight_of(&s, 'D'), 4);
    assert_int_equal(sampler_weight_of(&s, 'A'), 1);
    Lz__PlanSettings in = LZ__PLAN_SETTINGS__INIT;
    in.has_n_per_stratum = 1;
    in.n_per_stratum = 3;
    in.stratum_level = "township";
    in.has_weight_d = 1;
    in.weight_d = 9;
    in.has_exclude_previous = 1;
    in.exclude_previous = 0;
    assert_int_equal(sampler_settings_resolve(&in, &s_def, &s, f, sizeof f, m, sizeof m), 0);
    assert_int_equal(s.n_per_stratum, 3);
    assert_true(s.township);
    assert_int_equal(sampler_weight_of(&s, 'D'), 9);
    assert_false(s.exclude_previous);
    in.has_weighted = 1;
    in.weighted = 0;
    assert_int_equal(sampler_settings_resolve(&in, &s_def, &s, f, sizeof f, m, sizeof m), 0);
    assert_int_equal(sampler_weight_of(&s, 'D'), 1);
    in.weight_d = 0;
    assert_int_equal(sampler_settings_resolve(&in, &s_def, &s, f, sizeof f, m, sizeof m), -1);
    assert_string_equal(f, "settings.weight_d");
    in.weight_d = 2;
    in.stratum_level = "village";
    assert_int_equal(sampler_settings_resolve(&in, &s_def, &s, f, sizeof f, m, sizeof m), -1);
    assert_string_equal(f, "settings.stratum_level");
    in.stratum_level = NULL;
    in.n_per_stratum = 0;
    assert_int_equal(sampler_settings_resolve(&in, &s_def, &s, f, sizeof f, m, sizeof m), -1);
    assert_string_equal(f, "settings.n_per_stratum");
}

static void test_strata_and_seeds(void **state)
{
    (void)state;
    char out[13];
    sampler_stratum_of("340705001002", false, out);
    assert_string_equal(out, "340705001002");
    sampler_stratum_of("340705001002", true, out);
    assert_string_equal(out, "340705001000");
    assert_true(sampler_seed_valid("2026-10-08 双色球 02 09 14 + 11"));
    assert_false(sampler_seed_valid(""));
    assert_false(sampler_seed_valid(NULL));
    assert_false(sampler_seed_valid("a\nb"));
    char long_seed[SAMPLE_SEED_MAX + 2];
    memset(long_seed, 'x', sizeof long_seed - 1);
    long_seed[sizeof long_seed - 1] = '\0';
    assert_false(sampler_seed_valid(long_seed));
    long_seed[SAMPLE_SEED_MAX] = '\0';
    assert_true(sampler_seed_valid(long_seed));
}

static void test_inspection_rules(void **state)
{
    (void)state;
    const int64_t now = 1795000000;
    Lz__InspectionFinding open = LZ__INSPECTION_FINDING__INIT, fixed = LZ__INSPECTION_FINDING__INIT;
    open.description = "冷库温度超标";
    fixed.description = "台账缺失";
    fixed.action = "当场补录";
    fixed.has_fixed = fixed.fixed = 1;
    Lz__InspectionFinding *both[] = {&open, &fixed};
    Lz__InspectionAnswer ans = LZ__INSPECTION_ANSWER__INIT;
    ans.code = "I01";
    ans.has_ok = ans.ok = 1;
    Lz__InspectionAnswer *answers[] = {&ans};
    Lz__RecordInspectionRequest in = LZ__RECORD_INSPECTION_REQUEST__INIT;
    inspection_checked_t out;
    Lz__Status st;
    char f[64], m[160];
    assert_int_equal(sampler_inspection_check(&in, now, &out, &st, f, sizeof f, m, sizeof m), -1);
    assert_string_equal(f, "plan_id");
    in.has_plan_id = in.has_business_id = 1;
    in.plan_id = 3;
    in.business_id = 4;
    assert_int_equal(sampler_inspection_check(&in, now, &out, &st, f, sizeof f, m, sizeof m), -1);
    assert_string_equal(f, "answers"); /* the checklist must be answered */
    assert_int_equal(st, LZ__STATUS__INVALID_FIELD);
    in.answers = answers;
    in.n_answers = 1;
    in.outcome = "passed";
    assert_int_equal(sampler_inspection_check(&in, now, &out, &st, f, sizeof f, m, sizeof m), -1);
    assert_string_equal(f, "outcome");
    in.outcome = NULL; /* optional: derived from the answers */
    assert_int_equal(sampler_inspection_check(&in, now, &out, &st, f, sizeof f, m, sizeof m), 0);
    assert_null(out.outcome);
    assert_int_equal(out.inspected_at, now);
    in.outcome = "pass";
    in.findings = both;
    in.n_findings = 2;
    assert_int_equal(sampler_inspection_check(&in, now, &out, &st, f, sizeof f, m, sizeof m), 0);
    assert_string_equal(out.outcome, "pass");
    assert_int_equal(out.problems_open, 1);
    open.item_code = fixed.item_code = "I04";
    assert_int_equal(sampler_inspection_check(&in, now, &out, &st, f, sizeof f, m, sizeof m), -1);
    assert_string_equal(f, "findings[1].item_code"); /* one finding per item */
    fixed.item_code = NULL;
    in.has_checklist_version = 1;
    in.checklist_version = 0;
    assert_int_equal(sampler_inspection_check(&in, now, &out, &st, f, sizeof f, m, sizeof m), -1);
    assert_string_equal(f, "checklist_version");
    in.checklist_version = 2;
    fixed.action = NULL;
    assert_int_equal(sampler_inspection_check(&in, now, &out, &st, f, sizeof f, m, sizeof m), -1);
    assert_string_equal(f, "findings[1].action");
    fixed.action = "当场补录";
    in.inspected_at = "2026-11-29T10:00:00+09:99";
    assert_int_equal(sampler_inspection_check(&in, now, &out, &st, f, sizeof f, m, sizeof m), -1);
    assert_string_equal(f, "inspected_at");
    in.inspected_at = "2099-01-01T00:00:00+08:00";
    assert_int_equal(sampler_inspection_check(&in, now, &out, &st, f, sizeof f, m, sizeof m), -1);
    assert_string_equal(f, "inspected_at");
    assert_true(sampler_outcome_valid("pass_with_remarks"));
    assert_false(sampler_outcome_valid("PASS"));
}

static void test_public_csv(void **state)
{
    (void)state;
    Lz__PublicItem a = LZ__PUBLIC_ITEM__INIT;
    a.business_id = 7;
    a.business_name = "老王\"好味\",小吃";
    a.license_no = "JY1";
    a.region_code = "340705001001";
    a.stratum = "340705001001";
    a.outcome = "fail";
    a.inspected_at = "2026-11-29T10:00:00+08:00";
    a.findings = 2;
    Lz__PublicItem *items[] = {&a};
    Lz__PublicPlan p = LZ__PUBLIC_PLAN__INIT;
    p.id = 12;
    p.quarter = "2026-Q4";
    p.items = items;
    p.n_items = 1;
    size_t len;
    char *csv = sampler_public_csv(&p, &len);
    assert_string_equal(csv, "plan_id,quarter,stratum,business_id,business_name,license_no,"
                             "region_code,outcome,inspected_at,findings\r\n"
                             "12,2026-Q4,340705001001,7,\"老王\"\"好味\"\",小吃\",JY1,"
                             "340705001001,fail,2026-11-29T10:00:00+08:00,2\r\n");
    assert_int_equal(len, strlen(csv));
    free(csv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_settings),
        cmocka_unit_test(test_strata_and_seeds),
        cmocka_unit_test(test_inspection_rules),
        cmocka_unit_test(test_public_csv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
