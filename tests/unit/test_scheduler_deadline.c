/*
 * test_scheduler_deadline.c - unit tests for the scheduler's pure logic: which deadlines fall
 * in a window, visit periods, who owes a ledger, bitmaps, per-region counts and their roll-up,
 * ladders (defaults, validation, step timing) and letter numbers and bodies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scheduler/scheduler_deadline.h"
#include "scheduler/scheduler_ladder.h"

static int64_t s_at(const char *rfc)
{
    int64_t t;
    assert_int_equal(rfc3339_parse(rfc, &t), 0);
    return t;
}

static void test_daily_window(void **state)
{
    (void)state;
    deadline_t d[8];
    /* (2026-12-19 00:00, 2026-12-20 00:00]: only the 19th's deadline */
    int n = deadline_ledger_list(PERIOD_DAILY, 0, s_at("2026-12-19T00:00:00+08:00"),
                                 s_at("2026-12-20T00:00:00+08:00"), d, 8);
    assert_int_equal(n, 1);
    assert_string_equal(d[0].period, "2026-12-19");
    assert_int_equal(d[0].deadline, s_at("2026-12-20T00:00:00+08:00"));
    /* an empty and a reversed window */
    assert_int_equal(deadline_ledger_list(PERIOD_DAILY, 0, 100, 100, d, 8), 0);
    /* three days; the window's start is exclusive, its end inclusive */
    n = deadline_ledger_list(PERIOD_DAILY, 0, s_at("2026-12-20T00:00:00+08:00"),
                             s_at("2026-12-23T00:00:00+08:00"), d, 8);
    assert_int_equal(n, 3);
    assert_string_equal(d[0].period, "2026-12-20");
    assert_string_equal(d[2].period, "2026-12-22");
    /* too many for the room given */
    assert_int_equal(
        deadline_ledger_list(PERIOD_DAILY, 0, 0, s_at("2026-12-23T00:00:00+08:00"), d, 8), -1);
    /* a grace of an hour moves the deadline */
    n = deadline_ledger_list(PERIOD_DAILY, 3600, s_at("2026-12-19T12:00:00+08:00"),
                             s_at("2026-12-20T00:30:00+08:00"), d, 8);
    assert_int_equal(n, 0);
    n = deadline_ledger_list(PERIOD_DAILY, 3600, s_at("2026-12-19T12:00:00+08:00"),
                             s_at("2026-12-20T01:00:00+08:00"), d, 8);
    assert_int_equal(n, 1);
}

static void test_weekly_monthly_window(void **state)
{
    (void)state;
    deadline_t d[8];
    /* 2026-12-21 is a Monday: week 51 ends then */
    int n = deadline_ledger_list(PERIOD_WEEKLY, 0, s_at("2026-12-20T00:00:00+08:00"),
                                 s_at("2026-12-21T00:00:00+08:00"), d, 8);
    assert_int_equal(n, 1);
    assert_string_equal(d[0].period, "2026-W51");
    n = deadline_ledger_list(PERIOD_MONTHLY, 0, s_at("2026-12-01T00:00:00+08:00"),
                             s_at("2027-01-01T00:00:00+08:00"), d, 8);
    assert_int_equal(n, 1);
    assert_string_equal(d[0].period, "2026-12");
}

static void test_visit_periods(void **state)
{
    (void)state;
    char text[16];
    int64_t start, end;
    visit_freq_t f;
    assert_int_equal(visit_freq_parse("halfyearly", &f), 0);
    assert_int_equal(f, VISIT_HALFYEARLY);
    assert_int_equal(visit_freq_parse("weekly", &f), -1);
    assert_int_equal(visit_period_of(VISIT_QUARTERLY, s_at("2026-11-30T10:00:00+08:00"), text,
                                     sizeof text, &start, &end),
                     0);
    assert_string_equal(text, "2026-Q4");
    assert_int_equal(start, s_at("2026-10-01T00:00:00+08:00"));
    assert_int_equal(end, s_at("2027-01-01T00:00:00+08:00"));
    visit_period_of(VISIT_HALFYEARLY, s_at("2026-03-01T00:00:00+08:00"), text, sizeof text, &start,
                    &end);
    assert_string_equal(text, "2026-H1");
    assert_int_equal(end, s_at("2026-07-01T00:00:00+08:00"));
    visit_period_of(VISIT_MONTHLY, s_at("2026-12-31T23:59:59+08:00"), text, sizeof text, &start,
                    &end);
    assert_string_equal(text, "2026-12");
    visit_period_of(VISIT_YEARLY, s_at("2026-06-01T00:00:00+08:00"), text, sizeof text, &start,
                    &end);
    assert_string_equal(text, "2026");
    deadline_t d[8];
    int n = deadline_visit_list(VISIT_MONTHLY, 0, s_at("2026-10-15T00:00:00+08:00"),
                                s_at("2027-01-01T00:00:00+08:00"), d, 8);
    assert_int_equal(n, 3);
    assert_string_equal(d[0].period, "2026-10");
    assert_string_equal(d[2].period, "2026-12");
    assert_string_equal(d[2].kind, "visit");
}

static void test_owes(void **state)
{
    (void)state;
    int64_t dl = s_at("2026-12-20T00:00:00+08:00");
    owe_facts_t f = {.active = true, .created_at = dl - 86400, .changed_at = dl - 86400};
    assert_true(deadline_owes(&f, dl));
    f.rest_day = true;
    assert_false(deadline_owes(&f, dl)); /* a declared rest day */
    f.rest_day = false;
    f.created_at = dl; /* did not exist yet */
    assert_false(deadline_owes(&f, dl));
    f.created_at = dl - 86400;
    f.active = false; /* closed before the deadline */
    f.changed_at = dl - 3600;
    assert_false(deadline_owes(&f, dl));
    f.changed_at = dl + 3600; /* closed after it: it was active then */
    assert_true(deadline_owes(&f, dl));
}

static void test_bitmap(void **state)
{
    (void)state;
    unsigned char bm[4] = {0};
    bitmap_set(bm, sizeof bm, 0);
    bitmap_set(bm, sizeof bm, 9);
    bitmap_set(bm, sizeof bm, 99); /* past the end: ignored */
    assert_int_equal(bm[0], 0x80); /* Redis SETBIT order: bit 0 is the high bit */
    assert_int_equal(bm[1], 0x40);
    assert_true(bitmap_test(bm, sizeof bm, 9));
    assert_false(bitmap_test(bm, sizeof bm, 8));
    assert_false(bitmap_test(bm, sizeof bm, 1000));
    assert_false(bitmap_test(NULL, 0, 0));
}

static void test_region_counts(void **state)
{
    (void)state;
    region_counts_t *rc = region_counts_new();
    assert_null(region_counts_get(rc, "bad"));
    region_count_t *a = region_counts_get(rc, "340705001001");
    a->owed = 3;
    a->missing = 1;
    region_count_t *b = region_counts_get(rc, "340705002001");
    b->owed = 2;
    /* many communities force the table to grow */
    char code[16];
    for (int i = 0; i < 3000; i++) {
        snprintf(code, sizeof code, "3407%02d%03d%03d", 10 + i % 50, 1 + i / 50 % 900, 1 + i % 7);
        region_counts_get(rc, code)->owed += 1;
    }
    region_counts_rollup(rc);
    assert_int_equal(region_counts_get(rc, "340705001000")->owed, 3);
    assert_int_equal(region_counts_get(rc, "340705000000")->owed, 5);
    assert_int_equal(region_counts_get(rc, "340705000000")->missing, 1);
    assert_int_equal(region_counts_get(rc, "340700000000")->owed, 5 + 3000);
    assert_int_equal(region_counts_get(rc, "340000000000")->owed, 5 + 3000);
    size_t cur = 0, n = 0;
    while (region_counts_next(rc, &cur))
        n++;
    assert_int_equal(n, region_counts_size(rc));
    region_counts_destroy(&rc);
    assert_null(rc);
    region_counts_destroy(&rc);
}

static void test_ladder_defaults_and_timing(void **state)
{
    (void)state;
    ladder_t l;
    char field[64], msg[160];
    assert_true(ladder_default("ledger", &l));
    assert_int_equal(ladder_validate(&l, field, sizeof field, msg, sizeof msg), 0);
    assert_int_equal(l.nsteps, 4);
    assert_string_equal(l.steps[2].letter, "rectification_notice");
    assert_true(ladder_default("visit", &l));
    assert_int_equal(ladder_validate(&l, field, sizeof field, msg, sizeof msg), 0);
    assert_int_equal(l.steps[3].delay_s, 30 * 86400);
    assert_false(ladder_default("nope", &l));

    ladder_default("ledger", &l);
    int64_t dl = 1000000;
    int64_t due;
    assert_true(ladder_next_due(&l, dl, 0, &due));
    assert_int_equal(due, dl);
    assert_true(ladder_next_due(&l, dl, 1, &due));
    assert_int_equal(due, dl + 86400);
    assert_false(ladder_next_due(&l, dl, 4, &due));
    assert_int_equal(ladder_due_count(&l, dl, 0, dl - 1), 0);
    assert_int_equal(ladder_due_count(&l, dl, 0, dl), 1);
    assert_int_equal(ladder_due_count(&l, dl, 1, dl + 86400), 1);
    /* after downtime every missed step is due, in order, once */
    assert_int_equal(ladder_due_count(&l, dl, 0, dl + 8 * 86400), 4);
    assert_int_equal(ladder_due_count(&l, dl, 2, dl + 8 * 86400), 2);
    assert_int_equal(ladder_due_count(&l, dl, 4, dl + 80 * 86400), 0);
}

static void test_ladder_validate(void **state)
{
    (void)state;
    ladder_t l;
    char field[64], msg[160];
    ladder_default("ledger", &l);
    snprintf(l.steps[1].r[0].role, sizeof l.steps[1].r[0].role, "boss");
    assert_int_equal(ladder_validate(&l, field, sizeof field, msg, sizeof msg), -1);
    assert_string_equal(field, "steps.recipients.role");
    ladder_default("ledger", &l);
    l.steps[2].delay_s = 10; /* before step 2 */
    assert_int_equal(ladder_validate(&l, field, sizeof field, msg, sizeof msg), -1);
    assert_string_equal(field, "steps.delay_s");
    ladder_default("ledger", &l);
    snprintf(l.steps[0].r[0].template_, sizeof l.steps[0].r[0].template_, "spam");
    assert_int_equal(ladder_validate(&l, field, sizeof field, msg, sizeof msg), -1);
    assert_string_equal(field, "steps.recipients.template");
    ladder_default("ledger", &l);
    snprintf(l.steps[0].letter, sizeof l.steps[0].letter, "love_letter");
    assert_int_equal(ladder_validate(&l, field, sizeof field, msg, sizeof msg), -1);
    ladder_default("ledger", &l);
    l.steps[3].step = 7;
    assert_int_equal(ladder_validate(&l, field, sizeof field, msg, sizeof msg), -1);
    ladder_default("ledger", &l);
    l.steps[0].nrecipients = 0;
    assert_int_equal(ladder_validate(&l, field, sizeof field, msg, sizeof msg), -1);
    l.nsteps = 0;
    assert_int_equal(ladder_validate(&l, field, sizeof field, msg, sizeof msg), -1);

    ladder_role_t r;
    assert_int_equal(ladder_role_parse("cadre:village", &r), 0);
    assert_int_equal(r.kind, ROLE_CADRE_AT);
    assert_string_equal(r.level, "village");
    assert_int_equal(ladder_role_parse("regulator:district", &r), 0);
    assert_int_equal(r.kind, ROLE_REGULATOR);
    assert_int_equal(ladder_role_parse("regulator:village", &r), -1);
    assert_int_equal(ladder_role_parse("cadre:", &r), -1);
}

static void test_letters(void **state)
{
    (void)state;
    char buf[128];
    assert_true(ladder_letter_number("铜官区", 2026, "reminder_letter", 12, buf, sizeof buf) > 0);
    assert_string_equal(buf, "铜官区〔2026〕提醒书第12号");
    assert_true(ladder_letter_number("铜官区", 2026, "rectification_notice", 3, buf, sizeof buf) >
                0);
    assert_string_equal(buf, "铜官区〔2026〕整改通知书第3号");
    assert_int_equal(ladder_letter_number("铜官区", 2026, "nope", 1, buf, sizeof buf), 0);
    assert_int_equal(ladder_letter_number("铜官区", 2026, "reminder_letter", 1, buf, 8), 0);
    assert_string_equal(ladder_letter_title("interview_summons"), "约谈函");
    assert_null(ladder_letter_title(NULL));
    ladder_letter_t l = {.kind = "rectification_notice",
                         .recipient = "周一",
                         .issuer = "甲区",
                         .subject = "一号饭店",
                         .owed = "日管控记录（2026-12-19）",
                         .deadline = "2026年12月27日",
                         .date = "2026年12月23日"};
    char *body = ladder_letter_body(&l);
    assert_non_null(strstr(body, "整改通知书"));
    assert_non_null(strstr(body, "一号饭店"));
    assert_non_null(strstr(body, "日管控记录（2026-12-19）"));
    assert_non_null(strstr(body, "2026年12月27日"));
    free(body);
}

static void test_level_by_grade(void **state)
{
    (void)state;
    char lv[4][16];
    assert_int_equal(visit_level_by_grade_parse("A:village,B:village,C:township,D:county", lv), 0);
    assert_string_equal(lv[0], "village");
    assert_string_equal(lv[1], "village");
    assert_string_equal(lv[2], "township");
    assert_string_equal(lv[3], "county");
    assert_int_equal(visit_level_by_grade_parse("D:city", lv), 0);
    assert_string_equal(lv[0], "");
    assert_string_equal(lv[3], "city");
    assert_int_equal(visit_level_by_grade_parse("", lv), 0);
    assert_string_equal(lv[2], "");
    assert_int_equal(visit_level_by_grade_parse("E:village", lv), -1);
    assert_int_equal(visit_level_by_grade_parse("A:street", lv), -1);
    assert_int_equal(visit_level_by_grade_parse("A:village,A:county", lv), -1);
    assert_int_equal(visit_level_by_grade_parse("A:village,", lv), -1);
    assert_int_equal(visit_level_by_grade_parse("A village", lv), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_daily_window),
        cmocka_unit_test(test_weekly_monthly_window),
        cmocka_unit_test(test_visit_periods),
        cmocka_unit_test(test_owes),
        cmocka_unit_test(test_bitmap),
        cmocka_unit_test(test_region_counts),
        cmocka_unit_test(test_ladder_defaults_and_timing),
        cmocka_unit_test(test_ladder_validate),
        cmocka_unit_test(test_letters),
        cmocka_unit_test(test_level_by_grade),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
