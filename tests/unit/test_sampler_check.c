/*
 * test_sampler_check.c - unit tests for the pure part of an inspection's check: the ledger
 * record over a quarter (owed, rest days, weeks by their Monday, on time/late/missing/
 * extra), visits against their frequency, checklist answers and the derived outcome.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "sampler/sampler_check.h"

static period_t s_q4(void)
{
    period_t q;
    assert_int_equal(period_parse("2026-Q4", &q), 0);
    return q;
}

static void test_ledgers(void **state)
{
    (void)state;
    period_t q = s_q4();
    int64_t as_of = local_midnight(2026, 10, 15);
    char *rest[] = {"2026-10-03"};
    check_record_t recs[] = {
        {0, "2026-10-01", false}, {0, "2026-10-02", true}, {0, "2026-10-03", false},
        {0, "2026-10-20", false}, {1, "2026-W41", true},
    };
    ledger_tally_t t[3];
    assert_int_equal(check_ledgers(&q, as_of, 0, true, rest, 1, recs, 5, t), 0);
    /* days 1..14 Oct (the 14th ended at as_of), less the rest day */
    assert_int_equal(t[0].owed, 13);
    assert_int_equal(t[0].submitted, 2);
    assert_int_equal(t[0].on_time, 1);
    assert_int_equal(t[0].late, 1);
    assert_int_equal(t[0].missing, 11);
    assert_int_equal(t[0].extra, 2); /* the rest day's record and one not yet due */
    assert_int_equal(t[0].nmissing_list, 11);
    assert_string_equal(t[0].missing_list[0], "2026-10-04");
    /* W40 begins on Monday 28 Sep (Q3); W41 (5-11 Oct) is due, W42 is not */
    assert_int_equal(t[1].owed, 1);
    assert_int_equal(t[1].late, 1);
    assert_int_equal(t[1].missing, 0);
    assert_int_equal(t[2].owed, 0);
    /* one second earlier the 14th is not due yet */
    assert_int_equal(check_ledgers(&q, as_of - 1, 0, true, rest, 1, recs, 5, t), 0);
    assert_int_equal(t[0].owed, 12);
    /* a grace delays what is owed */
    assert_int_equal(check_ledgers(&q, as_of, 3600, true, rest, 1, recs, 5, t), 0);
    assert_int_equal(t[0].owed, 12);
    /* the whole quarter: 92 days, W41..W52 (W53 begins 28 Dec and ends in 2027), 3 months */
    assert_int_equal(check_ledgers(&q, period_end(&q), 0, true, NULL, 0, NULL, 0, t), 0);
    assert_int_equal(t[0].owed, 92);
    assert_int_equal(t[1].owed, 12);
    assert_int_equal(t[2].owed, 3);
    assert_int_equal(t[2].missing, 3);
    assert_int_equal(t[0].nmissing_list, 92);
    /* a business not active owes nothing; its records are extra */
    assert_int_equal(check_ledgers(&q, as_of, 0, false, rest, 1, recs, 5, t), 0);
    assert_int_equal(t[0].owed + t[1].owed + t[2].owed, 0);
    assert_int_equal(t[0].extra + t[1].extra, 5);
    period_t m;
    assert_int_equal(period_parse("2026-11", &m), 0);
    assert_int_equal(check_ledgers(&m, as_of, 0, true, NULL, 0, NULL, 0, t), -1);
}

static void test_visits(void **state)
{
    (void)state;
    period_t q = s_q4();
    int64_t oct10 = local_midnight(2026, 10, 10), aug1 = local_midnight(2026, 8, 1);
    int64_t at[] = {aug1, oct10};
    visit_tally_t t;
    check_assignment_t a = {VISIT_QUARTERLY, local_midnight(2026, 1, 1), 0};
    check_visits(&q, local_midnight(2026, 10, 15), &a, at, 2, &t);
    assert_int_equal(t.owed, 0);
    assert_int_equal(t.visits, 1);
    assert_string_equal(t.current_period, "2026-Q4");
    assert_int_equal(t.current_visits, 1);
    check_visits(&q, period_end(&q), &a, at, 2, &t);
    assert_int_equal(t.owed, 1);
    assert_int_equal(t.met, 1);
    assert_string_equal(t.current_period, ""); /* the quarter is over: nothing runs in it */
    assert_int_equal(t.current_visits, 0);
    a.freq = VISIT_MONTHLY;
    check_visits(&q, local_midnight(2026, 12, 15), &a, at, 2, &t);
    assert_int_equal(t.owed, 2);
    assert_int_equal(t.met, 1);
    assert_string_equal(t.current_period, "2026-12");
    a.since = local_midnight(2026, 11, 1); /* assigned from November: October not owed */
    check_visits(&q, local_midnight(2026, 12, 15), &a, at, 2, &t);
    assert_int_equal(t.owed, 1);
    assert_int_equal(t.met, 0);
    a.since = 0;
    a.until = local_midnight(2026, 11, 10); /* ended in November: December not owed */
    check_visits(&q, period_end(&q), &a, at, 2, &t);
    assert_int_equal(t.owed, 2);
    assert_int_equal(t.met, 1);
    a.until = 0;
    a.freq = VISIT_HALFYEARLY;
    check_visits(&q, local_midnight(2026, 12, 15), &a, at, 2, &t);
    assert_int_equal(t.owed, 0);
    assert_string_equal(t.current_period, "2026-H2");
    assert_int_equal(t.current_visits, 2); /* August counts for the half year */
    assert_int_equal(t.visits, 1);         /* but not for the quarter */
    visit_freq_t f;
    assert_int_equal(visit_freq_parse("halfyearly", &f), 0);
    assert_int_equal(f, VISIT_HALFYEARLY);
    assert_int_equal(visit_freq_parse("weekly", &f), -1);
    char text[16];
    int64_t s, e;
    assert_int_equal(visit_period_of(VISIT_YEARLY, oct10, text, sizeof text, &s, &e), 0);
    assert_string_equal(text, "2026");
    assert_int_equal(e, local_midnight(2027, 1, 1));
}

static void test_answers_and_outcome(void **state)
{
    (void)state;
    const check_item_t items[] = {{"I01", true}, {"I02", true}, {"I09", false}, {"I10", false}};
    Lz__InspectionAnswer a1 = LZ__INSPECTION_ANSWER__INIT, a2 = LZ__INSPECTION_ANSWER__INIT,
                         a3 = LZ__INSPECTION_ANSWER__INIT;
    a1.code = "I01";
    a1.has_ok = a1.ok = 1;
    a2.code = "I02";
    a2.has_ok = a2.ok = 1;
    a3.code = "I09";
    a3.has_ok = 1;
    a3.ok = 0;
    a3.note = "冷藏温度8℃";
    Lz__InspectionAnswer *all[] = {&a1, &a2, &a3};
    check_answers_t sum;
    char f[64], m[160];
    assert_int_equal(check_answers(items, 4, all, 3, &sum, f, sizeof f, m, sizeof m), 0);
    assert_int_equal(sum.answered, 3);
    assert_int_equal(sum.failed, 1);
    assert_int_equal(sum.key_failed, 0);
    assert_string_equal(check_outcome(sum.key_failed, sum.failed - sum.key_failed, 0, 3),
                        "pass_with_remarks");
    /* a key item not answered */
    assert_int_equal(check_answers(items, 4, all + 1, 2, &sum, f, sizeof f, m, sizeof m), -1);
    assert_string_equal(f, "answers");
    assert_non_null(strstr(m, "I01"));
    /* a failed item without a note (blank counts as none) */
    a3.note = "  ";
    assert_int_equal(check_answers(items, 4, all, 3, &sum, f, sizeof f, m, sizeof m), -1);
    assert_string_equal(f, "answers[2].note");
    a3.note = "冷藏温度8℃";
    /* an item of no such checklist, an item twice, ok missing */
    a3.code = "D01";
    assert_int_equal(check_answers(items, 4, all, 3, &sum, f, sizeof f, m, sizeof m), -1);
    assert_string_equal(f, "answers[2].code");
    a3.code = "I01";
    assert_int_equal(check_answers(items, 4, all, 3, &sum, f, sizeof f, m, sizeof m), -1);
    assert_string_equal(f, "answers[2].code");
    a3.code = "I09";
    a2.has_ok = 0;
    assert_int_equal(check_answers(items, 4, all, 3, &sum, f, sizeof f, m, sizeof m), -1);
    assert_string_equal(f, "answers[1].ok");
    a2.has_ok = 1;
    a1.ok = 0;
    a1.note = "缺10天记录";
    assert_int_equal(check_answers(items, 4, all, 3, &sum, f, sizeof f, m, sizeof m), 0);
    assert_int_equal(sum.key_failed, 1);
    assert_string_equal(check_outcome(sum.key_failed, sum.failed - sum.key_failed, 0, 3), "fail");
    /* the rule itself */
    assert_string_equal(check_outcome(0, 0, 0, 3), "pass");
    assert_string_equal(check_outcome(0, 0, 1, 3), "pass_with_remarks");
    assert_string_equal(check_outcome(0, 2, 0, 3), "pass_with_remarks");
    assert_string_equal(check_outcome(0, 3, 0, 3), "fail");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ledgers),
        cmocka_unit_test(test_visits),
        cmocka_unit_test(test_answers_and_outcome),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
