/*
 * test_notifier_policy.c - quiet hours, the daily SMS cap, back-off with
 * jitter and bounded attempts (services/notifier/notifier_policy.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "notifier/notifier_policy.h"
#include "period.h"

/* unix ms of a local (+08:00) time */
static int64_t s_at(const char *rfc3339)
{
    int64_t t = 0;
    assert_int_equal(rfc3339_parse(rfc3339, &t), 0);
    return t * 1000;
}

static void test_hhmm(void **state)
{
    (void)state;
    int m = -1;
    assert_int_equal(notifier_parse_hhmm("22:00", &m), 0);
    assert_int_equal(m, 1320);
    assert_int_equal(notifier_parse_hhmm("07:05", &m), 0);
    assert_int_equal(m, 425);
    assert_int_equal(notifier_parse_hhmm("24:00", &m), -1);
    assert_int_equal(notifier_parse_hhmm("7:00", &m), -1);
    assert_int_equal(notifier_parse_hhmm("07:60", &m), -1);
    assert_int_equal(notifier_parse_hhmm(NULL, &m), -1);
}

static void test_quiet_hours(void **state)
{
    (void)state;
    notifier_policy_t p;
    notifier_policy_default(&p);
    assert_false(notifier_in_quiet_hours(&p, s_at("2026-11-29T21:59:59+08:00")));
    assert_true(notifier_in_quiet_hours(&p, s_at("2026-11-29T22:00:00+08:00")));
    assert_true(notifier_in_quiet_hours(&p, s_at("2026-11-29T23:00:00+08:00")));
    assert_true(notifier_in_quiet_hours(&p, s_at("2026-11-30T03:00:00+08:00")));
    assert_true(notifier_in_quiet_hours(&p, s_at("2026-11-30T06:59:59+08:00")));
    assert_false(notifier_in_quiet_hours(&p, s_at("2026-11-30T07:00:00+08:00")));
    assert_false(notifier_in_quiet_hours(&p, s_at("2026-11-30T12:00:00+08:00")));
    /* 23:00 is held until 07:00 the next morning; 03:00 until 07:00 the same day */
    assert_int_equal(notifier_quiet_end_after(&p, s_at("2026-11-29T23:00:00+08:00")),
                     s_at("2026-11-30T07:00:00+08:00"));
    assert_int_equal(notifier_quiet_end_after(&p, s_at("2026-11-30T03:00:00+08:00")),
                     s_at("2026-11-30T07:00:00+08:00"));
    /* 23:00 local is 15:00 UTC: the local day matters, not the UTC one */
    assert_int_equal(notifier_local_day(s_at("2026-11-30T00:30:00+08:00")), 20261130);
    assert_int_equal(notifier_local_day(s_at("2026-12-31T23:59:59+08:00")), 20261231);
    assert_int_equal(notifier_local_day(s_at("2028-02-29T08:00:00+08:00")), 20280229);
    /* a daytime window works too, and start == end means none */
    p.quiet_start_min = 12 * 60;
    p.quiet_end_min = 14 * 60;
    assert_true(notifier_in_quiet_hours(&p, s_at("2026-11-30T13:00:00+08:00")));
    assert_false(notifier_in_quiet_hours(&p, s_at("2026-11-30T23:00:00+08:00")));
    p.quiet_end_min = p.quiet_start_min;
    assert_false(notifier_in_quiet_hours(&p, s_at("2026-11-30T12:00:00+08:00")));
}

static void test_gate(void **state)
{
    (void)state;
    notifier_policy_t p;
    notifier_policy_default(&p);
    int64_t until = 0, day = s_at("2026-11-30T10:00:00+08:00"),
            night = s_at("2026-11-30T23:00:00+08:00");
    assert_int_equal(notifier_gate(&p, false, true, 4, day, &until), NT_GATE_SEND);
    assert_int_equal(notifier_gate(&p, false, true, 5, day, &until), NT_GATE_HOLD_CAP);
    assert_int_equal(until, s_at("2026-12-01T07:00:00+08:00"));
    assert_int_equal(notifier_gate(&p, false, false, 99, day, &until), NT_GATE_SEND);
    assert_int_equal(notifier_gate(&p, true, true, 99, day, &until), NT_GATE_SEND);
    assert_int_equal(notifier_gate(&p, false, true, 0, night, &until), NT_GATE_HOLD_QUIET);
    assert_int_equal(until, s_at("2026-12-01T07:00:00+08:00"));
    assert_int_equal(notifier_gate(&p, true, true, 0, night, &until), NT_GATE_SEND);
}

static void test_backoff(void **state)
{
    (void)state;
    notifier_policy_t p;
    notifier_policy_default(&p);
    p.backoff_base_ms = 1000;
    p.backoff_max_ms = 10000;
    /* attempt 1: 1 s with jitter in [0.5 s, 1 s]; doubling; capped */
    assert_int_equal(notifier_backoff_ms(&p, 1, 0), 500);
    assert_int_equal(notifier_backoff_ms(&p, 1, 500), 1000);
    assert_int_equal(notifier_backoff_ms(&p, 3, 0), 2000);
    assert_int_equal(notifier_backoff_ms(&p, 3, 2000), 4000);
    assert_int_equal(notifier_backoff_ms(&p, 10, 0), 5000);
    assert_int_equal(notifier_backoff_ms(&p, 60, 5000), 10000);
    for (uint32_t r = 0; r < 100000; r += 7919) {
        int64_t d = notifier_backoff_ms(&p, 2, r);
        assert_true(d >= 1000 && d <= 2000);
    }
}

static void test_after_attempt(void **state)
{
    (void)state;
    notifier_policy_t p;
    notifier_policy_default(&p);
    p.max_attempts = 3;
    assert_int_equal(notifier_after_attempt(&p, NT_OUT_OK, 3), NT_NEXT_SENT);
    assert_int_equal(notifier_after_attempt(&p, NT_OUT_PERMANENT, 1), NT_NEXT_FAILED);
    assert_int_equal(notifier_after_attempt(&p, NT_OUT_TRANSIENT, 1), NT_NEXT_RETRY);
    assert_int_equal(notifier_after_attempt(&p, NT_OUT_TRANSIENT, 2), NT_NEXT_RETRY);
    assert_int_equal(notifier_after_attempt(&p, NT_OUT_TRANSIENT, 3), NT_NEXT_DEAD);
    assert_string_equal(notifier_next_status(NT_NEXT_RETRY), "queued");
    assert_string_equal(notifier_next_status(NT_NEXT_DEAD), "dead");
    assert_true(notifier_status_final("delivered"));
    assert_false(notifier_status_final("held"));
    assert_true(notifier_status_valid("sending"));
    assert_false(notifier_status_valid("lost"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hhmm),          cmocka_unit_test(test_quiet_hours),
        cmocka_unit_test(test_gate),          cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_after_attempt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
