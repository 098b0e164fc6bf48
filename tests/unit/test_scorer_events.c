/*
 * test_scorer_events.c - decoding the events the scorer consumes: every topic's
 * payload into a scorer_event_t (quarter of the period or of the time,
 * ledger kind and lateness, visit findings, inspection outcome, warning
 * times), both shapes of problem.opened, malformed and foreign payloads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "business.pb-c.h"
#include "ledger.pb-c.h"
#include "notify.pb-c.h"
#include "sampler.pb-c.h"
#include "scorer/scorer_events.h"

static uint8_t *s_pack(const ProtobufCMessage *m, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(*len + 1);
    assert_non_null(buf);
    protobuf_c_message_pack(m, buf);
    return buf;
}

static void test_ledger(void **state)
{
    (void)state;
    Lz__LedgerAccepted m = LZ__LEDGER_ACCEPTED__INIT;
    m.has_business_id = 1;
    m.business_id = 42;
    m.region_code = "340705001001";
    m.kind = "weekly";
    m.period = "2026-W01"; /* Monday 2025-12-29: the quarter is 2025-Q4 */
    m.status = "late";
    size_t len;
    uint8_t *p = s_pack(&m.base, &len);
    scorer_event_t ev;
    assert_int_equal(scorer_event_decode("ledger.accepted", p, len, 7, &ev), 0);
    assert_int_equal(ev.type, SEV_LEDGER);
    assert_int_equal(ev.outbox_id, 7);
    assert_int_equal(ev.business_id, 42);
    assert_int_equal(ev.kind, 1);
    assert_true(ev.late);
    assert_string_equal(ev.quarter, "2025-Q4");
    assert_string_equal(ev.region, "340705001001");
    free(p);
    /* a period that is not one: malformed */
    m.period = "2026-W60";
    p = s_pack(&m.base, &len);
    assert_int_equal(scorer_event_decode("ledger.accepted", p, len, 7, &ev), -1);
    free(p);
    /* garbage and a missing outbox id */
    const uint8_t junk[] = {0xff, 0xff, 0xff};
    assert_int_equal(scorer_event_decode("ledger.accepted", junk, 3, 7, &ev), -1);
    assert_int_equal(scorer_event_decode("ledger.accepted", junk, 0, 0, &ev), -1);
    /* a topic the scorer does not read */
    assert_int_equal(scorer_event_decode("registry.imported", junk, 3, 7, &ev), 1);
}

static void test_problems(void **state)
{
    (void)state;
    size_t len;
    scorer_event_t ev;
    Lz__ProblemEvent a = LZ__PROBLEM_EVENT__INIT; /* ledgers: item as text in field 6 */
    a.has_problem_id = a.has_business_id = 1;
    a.problem_id = 9;
    a.business_id = 42;
    a.source = "ledger";
    a.item = "D07";
    uint8_t *p = s_pack(&a.base, &len);
    assert_int_equal(scorer_event_decode("problem.opened", p, len, 8, &ev), 0);
    assert_int_equal(ev.type, SEV_PROBLEM_OPENED);
    assert_int_equal(ev.problem_id, 9);
    assert_int_equal(ev.business_id, 42);
    assert_int_equal(scorer_event_decode("problem.fixed", p, len, 8, &ev), 0);
    assert_int_equal(ev.type, SEV_PROBLEM_FIXED);
    free(p);
    Lz__ProblemOpenedEvent b = LZ__PROBLEM_OPENED_EVENT__INIT; /* visits: opened_at in 6 */
    b.has_problem_id = b.has_business_id = b.has_opened_at = 1;
    b.problem_id = 10;
    b.business_id = 43;
    b.opened_at = 1796000000;
    p = s_pack(&b.base, &len);
    assert_int_equal(scorer_event_decode("problem.opened", p, len, 9, &ev), 0);
    assert_int_equal(ev.problem_id, 10);
    assert_int_equal(ev.business_id, 43);
    free(p);
}

static void test_visit(void **state)
{
    (void)state;
    Lz__VisitRecordedEvent m = LZ__VISIT_RECORDED_EVENT__INIT;
    m.has_visit_id = m.has_cadre_id = m.has_business_id = m.has_visited_at = 1;
    m.has_findings = m.has_problems_open = 1;
    m.visit_id = 5;
    m.cadre_id = 6;
    m.business_id = 7;
    m.visited_at = local_midnight(2026, 7, 1) - 1; /* the last second of Q2 */
    m.findings = 3;
    m.problems_open = 5; /* more open than found: capped */
    size_t len;
    uint8_t *p = s_pack(&m.base, &len);
    scorer_event_t ev;
    assert_int_equal(scorer_event_decode("visit.recorded", p, len, 11, &ev), 0);
    assert_int_equal(ev.type, SEV_VISIT);
    assert_string_equal(ev.quarter, "2026-Q2");
    assert_int_equal(ev.findings, 3);
    assert_int_equal(ev.findings_open, 3);
    free(p);
    m.has_cadre_id = 0;
    p = s_pack(&m.base, &len);
    assert_int_equal(scorer_event_decode("visit.recorded", p, len, 11, &ev), -1);
    free(p);
}

static void test_inspection_and_warnings(void **state)
{
    (void)state;
    size_t len;
    scorer_event_t ev;
    Lz__InspectionRecordedEvent i = LZ__INSPECTION_RECORDED_EVENT__INIT;
    i.has_plan_id = i.has_business_id = i.has_inspected_at = 1;
    i.plan_id = 3;
    i.business_id = 42;
    i.inspected_at = local_midnight(2026, 10, 2);
    i.outcome = "pass_with_remarks";
    uint8_t *p = s_pack(&i.base, &len);
    assert_int_equal(scorer_event_decode("inspection.recorded", p, len, 12, &ev), 0);
    assert_int_equal(ev.type, SEV_INSPECTION);
    assert_int_equal(ev.outcome, SCORE_INSP_REMARKS);
    assert_string_equal(ev.quarter, "2026-Q4");
    free(p);
    i.outcome = "so-so";
    p = s_pack(&i.base, &len);
    assert_int_equal(scorer_event_decode("inspection.recorded", p, len, 12, &ev), -1);
    free(p);

    Lz__WarningIssuedEvent w = LZ__WARNING_ISSUED_EVENT__INIT;
    w.has_warning_id = w.has_business_id = w.has_issued_at_ms = w.has_rectify_by_ms = 1;
    w.warning_id = 77;
    w.business_id = 42;
    w.issued_at_ms = local_midnight(2026, 11, 1) * 1000 + 999;
    w.rectify_by_ms = local_midnight(2026, 11, 8) * 1000;
    p = s_pack(&w.base, &len);
    assert_int_equal(scorer_event_decode("warning.issued", p, len, 13, &ev), 0);
    assert_int_equal(ev.type, SEV_WARNING_ISSUED);
    assert_int_equal(ev.at, local_midnight(2026, 11, 1));
    assert_int_equal(ev.rectify_by, local_midnight(2026, 11, 8));
    free(p);
    Lz__WarningAnsweredEvent a = LZ__WARNING_ANSWERED_EVENT__INIT;
    a.has_warning_id = a.has_business_id = a.has_answered_at_ms = 1;
    a.warning_id = 77;
    a.business_id = 42;
    a.answered_at_ms = local_midnight(2026, 11, 3) * 1000;
    p = s_pack(&a.base, &len);
    assert_int_equal(scorer_event_decode("warning.answered", p, len, 14, &ev), 0);
    assert_int_equal(ev.type, SEV_WARNING_ANSWERED);
    assert_int_equal(ev.at, local_midnight(2026, 11, 3));
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ledger),
        cmocka_unit_test(test_problems),
        cmocka_unit_test(test_visit),
        cmocka_unit_test(test_inspection_and_warnings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
