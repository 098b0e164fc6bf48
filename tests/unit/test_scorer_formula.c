/*
 * test_scorer_formula.c - hand-computed scores for small fixtures: owed
 * ledgers in a quarter (creation, rest days, grace, ISO weeks), business
 * compliance, risk grades and their bands, cadre evaluation and standings,
 * red and notice list criteria, including the edge cases (nothing owed yet,
 * a cadre with no businesses, every problem fixed).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "scorer/scorer_formula.h"

#define DAY  86400
#define HOUR 3600

static period_t s_q(const char *text)
{
    period_t q;
    assert_int_equal(period_parse(text, &q), 0);
    return q;
}

static const score_component_t *s_find(const score_result_t *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++)
        if (!strcmp(r->comp[i].name, name))
            return &r->comp[i];
    fail_msg("no component %s", name);
    return NULL;
}

static void test_quarter_of(void **state)
{
    (void)state;
    char q[PERIOD_TEXT_MAX];
    assert_int_equal(score_quarter_of_text("2026-11-29", q), 0);
    assert_string_equal(q, "2026-Q4");
    assert_int_equal(score_quarter_of_text("2026-W01", q), 0); /* Monday 2025-12-29 */
    assert_string_equal(q, "2025-Q4");
    assert_int_equal(score_quarter_of_text("2026-03", q), 0);
    assert_string_equal(q, "2026-Q1");
    assert_int_equal(score_quarter_of_text("2026-13", q), -1);
    assert_int_equal(score_quarter_of_time(local_midnight(2026, 7, 1) - 1, q), 0);
    assert_string_equal(q, "2026-Q2");
}

static void test_owed(void **state)
{
    (void)state;
    period_t q = s_q("2026-Q4");
    int64_t before = local_midnight(2026, 1, 1);
    int64_t asof = local_midnight(2026, 10, 11) + 10 * HOUR;
    /* Oct 1..10 are due by Oct 11 10:00 */
    assert_int_equal(score_owed(PERIOD_DAILY, &q, before, asof, 0, NULL, 0), 10);
    /* rest days Oct 3 and 4 are not owed; Sep 30 is outside the quarter */
    int64_t rest[] = {local_midnight(2026, 10, 3), local_midnight(2026, 9, 30),
                      local_midnight(2026, 10, 4)};
    assert_int_equal(score_owed(PERIOD_DAILY, &q, before, asof, 0, rest, 3), 8);
    /* created Oct 5 15:00: Oct 5..10 */
    assert_int_equal(
        score_owed(PERIOD_DAILY, &q, local_midnight(2026, 10, 5) + 15 * HOUR, asof, 0, NULL, 0), 6);
    /* created after the horizon: nothing */
    assert_int_equal(score_owed(PERIOD_DAILY, &q, asof + DAY, asof, 0, NULL, 0), 0);
    /* a grace of 12 h: Oct 10 is not due before Oct 11 12:00 */
    assert_int_equal(score_owed(PERIOD_DAILY, &q, before, asof, 12 * HOUR, NULL, 0), 9);
    /* no owed ledgers yet: the quarter has just begun */
    assert_int_equal(
        score_owed(PERIOD_DAILY, &q, before, local_midnight(2026, 10, 1) + HOUR, 0, NULL, 0), 0);
    /* weeks by their Monday: W41 (Oct 5) is the first of Q4; not due on Oct 11 */
    assert_int_equal(score_owed(PERIOD_WEEKLY, &q, before, asof, 0, NULL, 0), 0);
    assert_int_equal(
        score_owed(PERIOD_WEEKLY, &q, before, local_midnight(2026, 10, 19), 0, NULL, 0), 2);
    assert_int_equal(
        score_owed(PERIOD_MONTHLY, &q, before, local_midnight(2026, 11, 1), 0, NULL, 0), 1);
    /* the whole quarter: 92 days, 13 weeks (the last, of Dec 28, ends Jan 4), 3 months */
    int64_t after = local_midnight(2027, 1, 5);
    assert_int_equal(score_owed(PERIOD_DAILY, &q, before, after, 0, NULL, 0), 92);
    assert_int_equal(score_owed(PERIOD_WEEKLY, &q, before, after, 0, NULL, 0), 13);
    assert_int_equal(score_owed(PERIOD_MONTHLY, &q, before, after, 0, NULL, 0), 3);
    /* not a quarter */
    period_t d = s_q("2026-10-01");
    assert_int_equal(score_owed(PERIOD_DAILY, &d, before, after, 0, NULL, 0), 0);
}

static void test_not_due_from(void **state)
{
    (void)state;
    period_t q = s_q("2026-Q4");
    int64_t asof = local_midnight(2026, 10, 11) + 10 * HOUR;
    assert_int_equal(score_not_due_from(PERIOD_DAILY, &q, asof, 0), local_midnight(2026, 10, 11));
    assert_int_equal(score_not_due_from(PERIOD_DAILY, &q, asof, 12 * HOUR),
                     local_midnight(2026, 10, 10));
    assert_int_equal(score_not_due_from(PERIOD_WEEKLY, &q, asof, 0), local_midnight(2026, 10, 5));
    assert_int_equal(score_not_due_from(PERIOD_MONTHLY, &q, asof, 0), local_midnight(2026, 10, 1));
    assert_int_equal(score_not_due_from(PERIOD_DAILY, &q, local_midnight(2027, 1, 5), 0),
                     period_end(&q));
}

static void test_business_compliance(void **state)
{
    (void)state;
    score_settings_t s;
    score_settings_default(&s);
    score_business_in_t in;
    memset(&in, 0, sizeof in);
    in.ledger[0] = (score_ledger_t){60, 54, 4}; /* (54 + 2) / 60 * 40 = 37.33 */
    in.ledger[1] = (score_ledger_t){8, 6, 1};   /* 6.5 / 8 * 15 = 12.1875 -> 12.19 */
    in.ledger[2] = (score_ledger_t){2, 2, 0};   /* 15 */
    in.problems_opened = 4;                     /* 3 / 4 * 15 = 11.25 */
    in.problems_fixed = 3;
    in.inspection = SCORE_INSP_REMARKS; /* 0.5 * 15 = 7.5 */
    in.warnings_unanswered = 1;         /* -5 */
    score_result_t r;
    score_business(&in, &s, &r);
    assert_int_equal(r.n, 6);
    assert_float_equal(s_find(&r, "daily_ledgers")->points, 37.33, 1e-9);
    assert_float_equal(s_find(&r, "daily_ledgers")->value, 0.9333, 1e-9);
    assert_float_equal(s_find(&r, "weekly_ledgers")->points, 12.19, 1e-9);
    assert_float_equal(s_find(&r, "monthly_ledgers")->points, 15.0, 1e-9);
    assert_float_equal(s_find(&r, "problems_rectified")->points, 11.25, 1e-9);
    assert_float_equal(s_find(&r, "latest_inspection")->points, 7.5, 1e-9);
    assert_float_equal(s_find(&r, "unanswered_warnings")->points, -5.0, 1e-9);
    assert_float_equal(r.score, 78.27, 1e-9);
    assert_string_equal(s_find(&r, "daily_ledgers")->detail,
                        "owed 60, on time 54, late 4 (late counts 50%)");

    /* edge: nothing owed yet, no problem, no inspection: full marks */
    memset(&in, 0, sizeof in);
    score_business(&in, &s, &r);
    assert_float_equal(r.score, 100.0, 1e-9);
    /* edge: every problem fixed; a fix seen before its opening never gives more */
    in.problems_opened = 3;
    in.problems_fixed = 3;
    score_business(&in, &s, &r);
    assert_float_equal(s_find(&r, "problems_rectified")->points, 15.0, 1e-9);
    in.problems_opened = 1;
    in.problems_fixed = 2;
    score_business(&in, &s, &r);
    assert_float_equal(r.score, 100.0, 1e-9);
    /* only late ledgers: half credit; early ledgers never pass what is owed */
    memset(&in, 0, sizeof in);
    in.ledger[0] = (score_ledger_t){10, 0, 10};
    in.ledger[1] = (score_ledger_t){2, 3, 0};
    score_business(&in, &s, &r);
    assert_float_equal(s_find(&r, "daily_ledgers")->points, 20.0, 1e-9);
    assert_float_equal(s_find(&r, "weekly_ledgers")->points, 15.0, 1e-9);
    assert_float_equal(r.score, 80.0, 1e-9);
    /* everything wrong: clamped at 0 */
    in.ledger[0] = (score_ledger_t){10, 0, 0};
    in.ledger[1] = (score_ledger_t){2, 0, 0};
    in.ledger[2] = (score_ledger_t){1, 0, 0};
    in.problems_opened = 2;
    in.inspection = SCORE_INSP_FAIL;
    in.warnings_unanswered = 3;
    score_business(&in, &s, &r);
    assert_float_equal(r.score, 0.0, 1e-9);
    /* weights are settings */
    s.w_ledger[0] = 50;
    s.w_inspection = 5;
    memset(&in, 0, sizeof in);
    in.ledger[0] = (score_ledger_t){4, 3, 0}; /* 37.5 */
    score_business(&in, &s, &r);
    assert_float_equal(r.score, 37.5 + 15 + 15 + 15 + 5, 1e-9);
}

static void test_risk(void **state)
{
    (void)state;
    score_settings_t s;
    score_settings_default(&s);
    score_result_t r;
    char g = '?';
    /* catering 20 + small 5; (100 - 78.27) * 0.45 = 9.7785 -> 9.78; remarks 5 */
    score_risk(score_type_index("catering"), score_scale_index("small"), 78.27, SCORE_INSP_REMARKS,
               &s, &r, &g);
    assert_float_equal(r.score, 39.78, 1e-9);
    assert_int_equal(g, 'B');
    assert_float_equal(s_find(&r, "dynamic_compliance")->points, 9.78, 1e-9);
    /* production large: 25 + 15 = 40, perfect running: B */
    score_risk(score_type_index("production"), score_scale_index("large"), 100, SCORE_INSP_NONE, &s,
               &r, &g);
    assert_float_equal(r.score, 40.0, 1e-9);
    assert_int_equal(g, 'B');
    /* compliance 60 and a failed inspection: 40 + 18 + 15 = 73: D */
    score_risk(score_type_index("production"), score_scale_index("large"), 60, SCORE_INSP_FAIL, &s,
               &r, &g);
    assert_float_equal(r.score, 73.0, 1e-9);
    assert_int_equal(g, 'D');
    /* sales micro 10: A */
    score_risk(score_type_index("sales"), score_scale_index("micro"), 100, SCORE_INSP_NONE, &s, &r,
               &g);
    assert_int_equal(g, 'A');
    /* bands: 30 is A, 30.01 is B, 60 is C, 60.01 is D */
    assert_int_equal(score_grade_of(30.0, &s), 'A');
    assert_int_equal(score_grade_of(30.01, &s), 'B');
    assert_int_equal(score_grade_of(45.0, &s), 'B');
    assert_int_equal(score_grade_of(60.0, &s), 'C');
    assert_int_equal(score_grade_of(60.01, &s), 'D');
    /* the static part is capped */
    s.static_max = 30;
    score_risk(score_type_index("production"), score_scale_index("large"), 100, SCORE_INSP_NONE, &s,
               &r, &g);
    assert_float_equal(r.score, 30.0, 1e-9);
    assert_float_equal(s_find(&r, "static_scale")->points, 5.0, 1e-9);
    /* the dynamic part is capped at 60 */
    score_settings_default(&s);
    s.dyn_fail = 20;
    score_risk(score_type_index("sales"), score_scale_index("micro"), 0, SCORE_INSP_FAIL, &s, &r,
               &g);
    assert_float_equal(r.score, 10 + 60, 1e-9);
    assert_float_equal(s_find(&r, "dynamic_inspection")->points, 15.0, 1e-9);
    /* an unknown type gives no static points */
    score_risk(-1, -1, 100, SCORE_INSP_NONE, &s, &r, &g);
    assert_float_equal(r.score, 0.0, 1e-9);
    score_insp_t i;
    assert_int_equal(score_insp_parse("pass_with_remarks", &i), 0);
    assert_int_equal(i, SCORE_INSP_REMARKS);
    assert_int_equal(score_insp_parse("failed", &i), -1);
}

static void test_cadre(void **state)
{
    (void)state;
    score_settings_t s;
    score_settings_default(&s);
    score_cadre_in_t in = {.visits_owed = 10,
                           .visits_done = 7, /* 0.7 * 40 = 28 */
                           .visits = 10,
                           .findings = 1, /* expected 2: 0.5 * 10 = 5 */
                           .findings_fixed = 1,
                           .overdue_tasks = 2, /* 0.6 * 15 = 9 */
                           .insp_pass = 1,
                           .insp_remarks = 1}; /* 0.75 * 15 = 11.25 */
    score_result_t r;
    score_cadre(&in, &s, &r);
    assert_float_equal(s_find(&r, "visit_completion")->points, 28.0, 1e-9);
    assert_float_equal(s_find(&r, "problems_found")->points, 5.0, 1e-9);
    assert_float_equal(s_find(&r, "rectification")->points, 20.0, 1e-9);
    assert_float_equal(s_find(&r, "overdue_tasks")->points, 9.0, 1e-9);
    assert_float_equal(s_find(&r, "inspections")->points, 11.25, 1e-9);
    assert_float_equal(r.score, 73.25, 1e-9);
    /* edge: a cadre with no businesses owes nothing: full marks */
    memset(&in, 0, sizeof in);
    score_cadre(&in, &s, &r);
    assert_float_equal(r.score, 100.0, 1e-9);
    /* many overdue tasks floor at 0 */
    in.overdue_tasks = 9;
    score_cadre(&in, &s, &r);
    assert_float_equal(r.score, 85.0, 1e-9);
}

static void test_standings(void **state)
{
    (void)state;
    score_settings_t s;
    score_settings_default(&s);
    double sc[] = {90, 80, 80, 50, 70};
    score_standing_t st[5];
    score_standings(sc, 5, &s, st);
    assert_int_equal(st[0].rank, 1);
    assert_int_equal(st[1].rank, 2);
    assert_int_equal(st[2].rank, 2);
    assert_int_equal(st[4].rank, 4);
    assert_int_equal(st[3].rank, 5);
    assert_true(st[0].commended);
    assert_false(st[1].commended);
    assert_true(st[3].on_notice);  /* bottom 10 % (one of five) and below 60 */
    assert_false(st[4].on_notice); /* 70, fourth */
    s.notice_floor = 75;
    score_standings(sc, 5, &s, st);
    assert_true(st[4].on_notice);
    /* everyone equal: all first, all commended, nobody on notice */
    double eq[] = {100, 100, 100};
    score_settings_default(&s);
    score_standings(eq, 3, &s, st);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(st[i].rank, 1);
        assert_true(st[i].commended);
        assert_false(st[i].on_notice);
    }
    /* a lone cadre is commended, not on notice */
    double one[] = {80};
    score_standings(one, 1, &s, st);
    assert_true(st[0].commended);
    assert_false(st[0].on_notice);
}

static void test_lists(void **state)
{
    (void)state;
    score_settings_t s;
    score_settings_default(&s);
    score_reasons_t why;
    assert_true(score_red_eligible(96, 0, false, true, &s, &why));
    assert_true(score_red_eligible(95, 0, false, true, &s, &why));
    assert_false(score_red_eligible(94.99, 0, false, true, &s, &why));
    /* an uninsured business and one with an open problem are excluded */
    assert_false(score_red_eligible(100, 0, false, false, &s, &why));
    assert_int_equal(why.n, 1);
    assert_string_equal(why.r[0], "not insured");
    assert_false(score_red_eligible(100, 1, false, true, &s, &why));
    assert_string_equal(why.r[0], "1 open problems");
    assert_false(score_red_eligible(100, 0, true, true, &s, &why));
    assert_string_equal(why.r[0], "failed inspection");

    assert_true(score_notice_listed(59.99, false, 0, &s, &why));
    assert_string_equal(why.r[0], "compliance 59.99 below 60");
    assert_false(score_notice_listed(60, false, 0, &s, &why));
    assert_true(score_notice_listed(80, true, 0, &s, &why));
    assert_true(score_notice_listed(80, false, 1, &s, &why));
    assert_string_equal(why.r[0], "1 unanswered warnings");
    assert_true(score_notice_listed(10, true, 2, &s, &why));
    assert_int_equal(why.n, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quarter_of),   cmocka_unit_test(test_owed),
        cmocka_unit_test(test_not_due_from), cmocka_unit_test(test_business_compliance),
        cmocka_unit_test(test_risk),         cmocka_unit_test(test_cadre),
        cmocka_unit_test(test_standings),    cmocka_unit_test(test_lists),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
