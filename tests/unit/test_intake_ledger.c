/*
 * test_intake_ledger.c - unit tests for the ledger rules (services/intake/intake_rules.c):
 * kind and period, the future, on time / late / refused exactly at the window's
 * edges, items against the checklist (complete, unknown, twice, notes) and
 * problems against the failed items.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "intake/intake_ledger.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Returns the instant of y-m-d hh:mm:ss +08:00. */
static int64_t s_at(int y, int m, int d, int hh, int mm, int ss)
{
    return local_midnight(y, m, d) + hh * 3600 + mm * 60 + ss;
}

static period_t s_p(const char *s)
{
    period_t p;
    assert_int_equal(period_parse(s, &p), 0);
    return p;
}

static void test_daily_edges(void **state)
{
    (void)state;
    ledger_rules_t r;
    ledger_rules_default(&r);
    period_t p = s_p("2026-11-29");
    assert_int_equal(ledger_timing(&r, &p, s_at(2026, 11, 28, 23, 59, 59)), LEDGER_FUTURE);
    assert_int_equal(ledger_timing(&r, &p, s_at(2026, 11, 29, 0, 0, 0)), LEDGER_ON_TIME);
    assert_int_equal(ledger_timing(&r, &p, s_at(2026, 11, 29, 23, 59, 59)), LEDGER_ON_TIME);
    assert_int_equal(ledger_timing(&r, &p, s_at(2026, 11, 30, 0, 0, 0)), LEDGER_LATE);
    assert_int_equal(ledger_timing(&r, &p, s_at(2026, 12, 2, 23, 59, 59)), LEDGER_LATE);
    assert_int_equal(ledger_timing(&r, &p, s_at(2026, 12, 3, 0, 0, 0)), LEDGER_REFUSED);
    r.grace_s = 3600; /* a grace moves both edges */
    assert_int_equal(ledger_timing(&r, &p, s_at(2026, 11, 30, 0, 59, 59)), LEDGER_ON_TIME);
    assert_int_equal(ledger_timing(&r, &p, s_at(2026, 12, 3, 0, 59, 59)), LEDGER_LATE);
    assert_int_equal(ledger_timing(&r, &p, s_at(2026, 12, 3, 1, 0, 0)), LEDGER_REFUSED);
}

static void test_weekly_monthly_edges(void **state)
{
    (void)state;
    ledger_rules_t r;
    ledger_rules_default(&r);
    period_t w = s_p("2026-W48"); /* Mon 2026-11-23 .. Sun 2026-11-29 */
    assert_int_equal(ledger_timing(&r, &w, s_at(2026, 11, 22, 23, 59, 59)), LEDGER_FUTURE);
    assert_int_equal(ledger_timing(&r, &w, s_at(2026, 11, 29, 23, 59, 59)), LEDGER_ON_TIME);
    assert_int_equal(ledger_timing(&r, &w, s_at(2026, 11, 30, 0, 0, 0)), LEDGER_LATE);
    assert_int_equal(ledger_timing(&r, &w, s_at(2026, 12, 6, 23, 59, 59)), LEDGER_LATE);
    assert_int_equal(ledger_timing(&r, &w, s_at(2026, 12, 7, 0, 0, 0)), LEDGER_REFUSED);
    period_t m = s_p("2026-11");
    assert_int_equal(ledger_timing(&r, &m, s_at(2026, 11, 30, 23, 59, 59)), LEDGER_ON_TIME);
    assert_int_equal(ledger_timing(&r, &m, s_at(2026, 12, 10, 23, 59, 59)), LEDGER_LATE);
    assert_int_equal(ledger_timing(&r, &m, s_at(2026, 12, 11, 0, 0, 0)), LEDGER_REFUSED);
}

/* A request for daily 2026-11-29 with the given items. */
static Lz__SubmitRecordRequest s_req(const char *kind, const char *period, Lz__RecordItem **items,
                                     size_t n)
{
    Lz__SubmitRecordRequest in = LZ__SUBMIT_RECORD_REQUEST__INIT;
    in.has_business_id = 1;
    in.business_id = 42;
    in.kind = (char *)kind;
    in.period = (char *)period;
    in.submitted_by = "王芳";
    in.items = items;
    in.n_items = n;
    return in;
}

static void test_submission(void **state)
{
    (void)state;
    ledger_rules_t r;
    ledger_rules_default(&r);
    Lz__RecordItem a = LZ__RECORD_ITEM__INIT;
    a.code = "D01";
    a.has_ok = a.ok = 1;
    Lz__RecordItem *items[] = {&a};
    int64_t now = s_at(2026, 12, 2, 23, 59, 59);
    period_t p;
    bool late = false;
    ledger_error_t err;
    Lz__SubmitRecordRequest in = s_req("daily", "2026-11-29", items, 1);
    assert_int_equal(ledger_check_submission(&r, &in, now, &p, &late, &err), 0);
    assert_true(late);
    now = s_at(2026, 12, 3, 0, 0, 0);
    assert_int_equal(ledger_check_submission(&r, &in, now, &p, &late, &err), -1);
    assert_string_equal(err.field, "period");
    assert_non_null(strstr(err.message, "regulator"));
    in = s_req("quarterly", "2026-Q4", items, 1);
    assert_int_equal(ledger_check_submission(&r, &in, now, &p, &late, &err), -1);
    assert_string_equal(err.field, "kind");
    in = s_req("daily", "2026-W48", items, 1);
    assert_int_equal(ledger_check_submission(&r, &in, now, &p, &late, &err), -1);
    assert_string_equal(err.field, "period");
    in = s_req("weekly", "2026-W49", items, 1);
    assert_int_equal(ledger_check_submission(&r, &in, now, &p, &late, &err), 0);
    assert_false(late);
    in = s_req("daily", "2026-12-04", items, 1);
    assert_int_equal(ledger_check_submission(&r, &in, now, &p, &late, &err), -1);
    assert_non_null(strstr(err.message, "not begun"));
    in = s_req("daily", "2026-12-03", items, 1);
    in.summary = "周小结";
    assert_int_equal(ledger_check_submission(&r, &in, now, &p, &late, &err), -1);
    assert_string_equal(err.field, "summary");
    in = s_req("daily", "2026-12-03", items, 0);
    assert_int_equal(ledger_check_submission(&r, &in, now, &p, &late, &err), -1);
    assert_int_equal(err.status, LZ__STATUS__MISSING_FIELD);
    in = s_req("daily", "2026-12-03", items, 1);
    in.submitted_by = NULL;
    assert_int_equal(ledger_check_submission(&r, &in, now, &p, &late, &err), -1);
    assert_string_equal(err.field, "submitted_by");
}

static const ledger_item_def_t s_defs[] = {
    {"D01", true}, {"D02", true}, {"D03", false}, {"D07", true}};

static Lz__RecordItem s_item(const char *code, bool ok, const char *note)
{
    Lz__RecordItem it = LZ__RECORD_ITEM__INIT;
    it.code = (char *)code;
    it.has_ok = 1;
    it.ok = ok;
    it.note = (char *)note;
    return it;
}

static void test_items(void **state)
{
    (void)state;
    ledger_error_t err;
    Lz__RecordItem a = s_item("D01", true, NULL), b = s_item("D02", true, NULL),
                   c = s_item("D07", false, "冷柜温度 9℃"), d = s_item("D03", true, NULL);
    Lz__RecordItem *ok[] = {&a, &b, &c};
    assert_int_equal(ledger_check_items(s_defs, ARRAY_LEN(s_defs), ok, 3, &err), 0);
    Lz__RecordItem *all[] = {&a, &b, &c, &d};
    assert_int_equal(ledger_check_items(s_defs, ARRAY_LEN(s_defs), all, 4, &err), 0);

    Lz__RecordItem *missing[] = {&a, &c}; /* D02 required */
    assert_int_equal(ledger_check_items(s_defs, ARRAY_LEN(s_defs), missing, 2, &err), -1);
    assert_string_equal(err.field, "items");
    assert_non_null(strstr(err.message, "D02"));

    Lz__RecordItem u = s_item("Z99", true, NULL);
    Lz__RecordItem *unknown[] = {&a, &b, &c, &u};
    assert_int_equal(ledger_check_items(s_defs, ARRAY_LEN(s_defs), unknown, 4, &err), -1);
    assert_string_equal(err.field, "items[3].code");

    Lz__RecordItem *twice[] = {&a, &b, &c, &a};
    assert_int_equal(ledger_check_items(s_defs, ARRAY_LEN(s_defs), twice, 4, &err), -1);
    assert_string_equal(err.field, "items[3].code");
    assert_non_null(strstr(err.message, "twice"));

    Lz__RecordItem nonote = s_item("D07", false, NULL), empty = s_item("D07", false, "");
    Lz__RecordItem *nn[] = {&a, &b, &nonote};
    assert_int_equal(ledger_check_items(s_defs, ARRAY_LEN(s_defs), nn, 3, &err), -1);
    assert_string_equal(err.field, "items[2].note");
    assert_int_equal(err.status, LZ__STATUS__INVALID_FIELD);
    Lz__RecordItem *ne[] = {&empty, &a, &b};
    assert_int_equal(ledger_check_items(s_defs, ARRAY_LEN(s_defs), ne, 3, &err), -1);
    assert_string_equal(err.field, "items[0].note");

    Lz__RecordItem nook = LZ__RECORD_ITEM__INIT;
    nook.code = "D02";
    Lz__RecordItem *no[] = {&a, &nook, &c};
    assert_int_equal(ledger_check_items(s_defs, ARRAY_LEN(s_defs), no, 3, &err), -1);
    assert_string_equal(err.field, "items[1].ok");
    assert_int_equal(err.status, LZ__STATUS__MISSING_FIELD);
}

static void test_problems(void **state)
{
    (void)state;
    ledger_error_t err;
    Lz__RecordItem a = s_item("D01", true, NULL), c = s_item("D07", false, "9℃");
    Lz__RecordItem *items[] = {&a, &c};
    Lz__RecordProblem p = LZ__RECORD_PROBLEM__INIT;
    p.item = "D07";
    p.description = "冷柜温度超标";
    Lz__RecordProblem *ps[] = {&p, &p};
    assert_int_equal(ledger_check_problems(items, 2, ps, 1, &err), 0);
    assert_int_equal(ledger_check_problems(items, 2, ps, 2, &err), -1);
    assert_string_equal(err.field, "problems[1].item");
    p.item = "D01"; /* not failed */
    assert_int_equal(ledger_check_problems(items, 2, ps, 1, &err), -1);
    assert_string_equal(err.field, "problems[0].item");
    p.item = "D07";
    p.has_fixed = p.fixed = 1; /* fixed at once needs the action */
    assert_int_equal(ledger_check_problems(items, 2, ps, 1, &err), -1);
    assert_string_equal(err.field, "problems[0].action");
    p.action = "已调整并复测 3℃";
    assert_int_equal(ledger_check_problems(items, 2, ps, 1, &err), 0);

    Lz__SubmitRecordRequest in = LZ__SUBMIT_RECORD_REQUEST__INIT;
    in.problems = ps;
    in.n_problems = 1;
    assert_ptr_equal(ledger_problem_for(&in, "D07"), &p);
    assert_null(ledger_problem_for(&in, "D01"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_daily_edges), cmocka_unit_test(test_weekly_monthly_edges),
        cmocka_unit_test(test_submission),  cmocka_unit_test(test_items),
        cmocka_unit_test(test_problems),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
