/*
 * test_intake_visit.c - unit tests for the pure parts of intake's registry
 * reads and visits: visit rules (mode vs risk grade, time window, findings),
 * list cursors, jurisdiction code ranges, ILIKE patterns and page sizes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "intake/intake_business.h"
#include "intake/intake_visit.h"
#include "period.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define DAY          86400

static void test_mode_vs_grade(void **state)
{
    (void)state;
    assert_true(intake_visit_mode_valid("on_site"));
    assert_true(intake_visit_mode_valid("joint"));
    assert_true(intake_visit_mode_valid("video"));
    assert_false(intake_visit_mode_valid("phone"));
    assert_false(intake_visit_mode_valid("On_site"));
    assert_false(intake_visit_mode_valid(""));
    assert_false(intake_visit_mode_valid(NULL));
    static const char *grades[] = {"A", "B", "C"};
    for (size_t i = 0; i < ARRAY_LEN(grades); i++) {
        assert_true(intake_visit_mode_allowed("on_site", grades[i]));
        assert_true(intake_visit_mode_allowed("joint", grades[i]));
        assert_true(intake_visit_mode_allowed("video", grades[i]));
    }
    assert_true(intake_visit_mode_allowed("on_site", "D"));
    assert_false(intake_visit_mode_allowed("joint", "D"));
    assert_false(intake_visit_mode_allowed("video", "D"));
    assert_false(intake_visit_mode_allowed("phone", "A"));
}

static void test_time_window(void **state)
{
    (void)state;
    int64_t now = 1795000000, age = 30 * DAY;
    assert_int_equal(intake_visit_time_check(now, now, age), VISIT_TIME_OK);
    assert_int_equal(intake_visit_time_check(now - age, now, age), VISIT_TIME_OK);
    assert_int_equal(intake_visit_time_check(now - age - 1, now, age), VISIT_TIME_TOO_OLD);
    assert_int_equal(intake_visit_time_check(now + VISIT_FUTURE_SKEW_S, now, age), VISIT_TIME_OK);
    assert_int_equal(intake_visit_time_check(now + VISIT_FUTURE_SKEW_S + 1, now, age),
                     VISIT_TIME_FUTURE);
    assert_int_equal(intake_visit_time_check(now + DAY, now, age), VISIT_TIME_FUTURE);
}

/* A request for business 7 at `at` with the given findings. */
static Lz__RecordVisitRequest s_req(char *at, Lz__VisitFinding **f, size_t nf)
{
    Lz__RecordVisitRequest r = LZ__RECORD_VISIT_REQUEST__INIT;
    r.has_business_id = 1;
    r.business_id = 7;
    r.visited_at = at;
    r.findings = f;
    r.n_findings = nf;
    return r;
}

static void test_check_ok(void **state)
{
    (void)state;
    int64_t now;
    assert_int_equal(rfc3339_parse("2026-11-30T10:00:00+08:00", &now), 0);
    Lz__VisitFinding f1 = LZ__VISIT_FINDING__INIT, f2 = LZ__VISIT_FINDING__INIT;
    f1.description = "冷柜温度超标";
    f2.description = "餐具未消毒";
    f2.action = "当场消毒";
    f2.has_fixed = 1;
    f2.fixed = 1;
    Lz__VisitFinding *fs[] = {&f1, &f2};
    Lz__RecordVisitRequest r = s_req("2026-11-29T09:30:00+08:00", fs, 2);
    visit_checked_t out;
    Lz__Status st = LZ__STATUS__OK;
    char field[64] = "", msg[160] = "";
    assert_int_equal(
        intake_visit_check(&r, now, 30 * DAY, &out, &st, field, sizeof field, msg, sizeof msg), 0);
    assert_string_equal(out.mode, "on_site");
    assert_int_equal(out.problems_open, 1);
    assert_int_equal(out.visited_at, now - DAY - 1800);
    r.mode = "video";
    assert_int_equal(
        intake_visit_check(&r, now, 30 * DAY, &out, &st, field, sizeof field, msg, sizeof msg), 0);
    assert_string_equal(out.mode, "video");
}

/* Expect intake_visit_check to refuse r with status st naming field. */
static void s_refused(const Lz__RecordVisitRequest *r, int64_t now, Lz__Status st,
                      const char *field)
{
    visit_checked_t out;
    Lz__Status got = LZ__STATUS__OK;
    char f[64] = "", msg[160] = "";
    assert_int_equal(intake_visit_check(r, now, 30 * DAY, &out, &got, f, sizeof f, msg, sizeof msg),
                     -1);
    assert_int_equal(got, st);
    assert_string_equal(f, field);
    assert_true(msg[0] != '\0');
}

static void test_check_refusals(void **state)
{
    (void)state;
    int64_t now;
    assert_int_equal(rfc3339_parse("2026-11-30T10:00:00+08:00", &now), 0);
    Lz__RecordVisitRequest r = s_req("2026-11-29T09:30:00+08:00", NULL, 0);

    Lz__RecordVisitRequest x = r;
    x.has_business_id = 0;
    s_refused(&x, now, LZ__STATUS__MISSING_FIELD, "business_id");
    x = r;
    x.business_id = 0;
    s_refused(&x, now, LZ__STATUS__INVALID_FIELD, "business_id");
    x = r;
    x.has_cadre_id = 1;
    x.cadre_id = -3;
    s_refused(&x, now, LZ__STATUS__INVALID_FIELD, "cadre_id");
    x = r;
    x.visited_at = NULL;
    s_refused(&x, now, LZ__STATUS__MISSING_FIELD, "visited_at");
    x.visited_at = "2026-11-29 09:30";
    s_refused(&x, now, LZ__STATUS__INVALID_FIELD, "visited_at");
    x.visited_at = "2026-12-01T10:00:00+08:00"; /* tomorrow */
    s_refused(&x, now, LZ__STATUS__INVALID_FIELD, "visited_at");
    x.visited_at = "2026-10-01T10:00:00+08:00"; /* 60 days ago */
    s_refused(&x, now, LZ__STATUS__INVALID_FIELD, "visited_at");
    x = r;
    x.mode = "phone";
    s_refused(&x, now, LZ__STATUS__INVALID_FIELD, "mode");

    char note[VISIT_NOTE_MAX + 2];
    memset(note, 'n', sizeof note - 1);
    note[sizeof note - 1] = '\0';
    x = r;
    x.note = note;
    s_refused(&x, now, LZ__STATUS__INVALID_FIELD, "note");

    Lz__VisitFinding ok = LZ__VISIT_FINDING__INIT, bad = LZ__VISIT_FINDING__INIT;
    ok.description = "ok";
    Lz__VisitFinding *fs[] = {&ok, &bad};
    x = r;
    x.findings = fs;
    x.n_findings = 2;
    s_refused(&x, now, LZ__STATUS__MISSING_FIELD, "findings[1].description");
    bad.description = "  \t";
    s_refused(&x, now, LZ__STATUS__INVALID_FIELD, "findings[1].description");
    bad.description = "fixed at once";
    bad.has_fixed = 1;
    bad.fixed = 1;
    s_refused(&x, now, LZ__STATUS__MISSING_FIELD, "findings[1].action");
    char action[VISIT_ACTION_MAX + 2];
    memset(action, 'a', sizeof action - 1);
    action[sizeof action - 1] = '\0';
    bad.action = action;
    s_refused(&x, now, LZ__STATUS__INVALID_FIELD, "findings[1].action");

    Lz__VisitFinding *many[VISIT_FINDINGS_MAX + 1];
    for (size_t i = 0; i < ARRAY_LEN(many); i++)
        many[i] = &ok;
    x = r;
    x.findings = many;
    x.n_findings = ARRAY_LEN(many);
    s_refused(&x, now, LZ__STATUS__INVALID_FIELD, "findings");
}

static void test_cursor(void **state)
{
    (void)state;
    char buf[INTAKE_CURSOR_MAX + 1];
    int64_t one = 18018, back = 0;
    assert_int_equal(intake_cursor_encode(&one, 1, buf, sizeof buf), 0);
    assert_null(strchr(buf, '='));
    assert_null(strchr(buf, '+'));
    assert_null(strchr(buf, '/'));
    assert_int_equal(intake_cursor_decode(buf, &back, 1), 0);
    assert_int_equal(back, 18018);

    int64_t two[2] = {1795000000, INT64_MAX}, got[2] = {0, 0};
    assert_int_equal(intake_cursor_encode(two, 2, buf, sizeof buf), 0);
    assert_int_equal(intake_cursor_decode(buf, got, 2), 0);
    assert_int_equal(got[0], 1795000000);
    assert_true(got[1] == INT64_MAX);
    /* a cursor of two keys is not a cursor of one */
    back = 5;
    assert_int_equal(intake_cursor_decode(buf, &back, 1), -1);
    assert_int_equal(back, 5);

    int64_t neg = -42;
    assert_int_equal(intake_cursor_encode(&neg, 1, buf, sizeof buf), 0);
    assert_int_equal(intake_cursor_decode(buf, &back, 1), 0);
    assert_int_equal(back, -42);

    /* base64url of "v2.1", "v1.x", "v1.", "v1.1.", "v1.99999999999999999999", "1" */
    static const char *bad[] = {"djIuMQ",
                                "djEueA",
                                "djEu",
                                "djEuMS4",
                                "djEuOTk5OTk5OTk5OTk5OTk5OTk5OTk",
                                "MQ",
                                "",
                                "not base64!",
                                "djEuMQ==",
                                "0000000000000000000000000000000000000000000000000000000000000000"
                                "0"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        back = 5;
        assert_int_equal(intake_cursor_decode(bad[i], &back, 1), -1);
        assert_int_equal(back, 5);
    }
    assert_int_equal(intake_cursor_decode(NULL, &back, 1), -1);
    assert_int_equal(intake_cursor_decode("djEuMQ", &back, 1), 0); /* "v1.1" */
    assert_int_equal(back, 1);
    assert_int_equal(intake_cursor_encode(&one, 0, buf, sizeof buf), -1);
    assert_int_equal(intake_cursor_encode(&one, 1, buf, 4), -1);
}

static void test_region_range(void **state)
{
    (void)state;
    static const struct {
        const char *code, *lo, *hi;
    } cases[] = {
        {"970000000000", "970000000000", "979999999999"},
        {"970100000000", "970100000000", "970199999999"},
        {"970101000000", "970101000000", "970101999999"},
        {"970101001000", "970101001000", "970101001999"},
        {"970101001002", "970101001002", "970101001002"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char lo[REGION_CODE_LEN + 1], hi[REGION_CODE_LEN + 1];
        assert_int_equal(intake_region_range(cases[i].code, lo, hi), 0);
        assert_string_equal(lo, cases[i].lo);
        assert_string_equal(hi, cases[i].hi);
    }
    char lo[REGION_CODE_LEN + 1], hi[REGION_CODE_LEN + 1];
    assert_int_equal(intake_region_range("97010100100", lo, hi), -1);
    assert_int_equal(intake_region_range("0001010010001", lo, hi), -1);
    assert_int_equal(intake_region_range("abcdefghijkl", lo, hi), -1);
    assert_int_equal(intake_region_range(NULL, lo, hi), -1);
}

static void test_like_and_limit(void **state)
{
    (void)state;
    char buf[2 * INTAKE_Q_MAX + 3];
    assert_int_equal(intake_like_pattern("饭店", buf, sizeof buf), 0);
    assert_string_equal(buf, "%饭店%");
    assert_int_equal(intake_like_pattern("100%_a\\b", buf, sizeof buf), 0);
    assert_string_equal(buf, "%100\\%\\_a\\\\b%");
    char q[INTAKE_Q_MAX + 2];
    memset(q, '%', sizeof q - 1);
    q[INTAKE_Q_MAX] = '\0';
    assert_int_equal(intake_like_pattern(q, buf, sizeof buf), 0); /* worst case fits */
    q[INTAKE_Q_MAX] = '%';
    q[INTAKE_Q_MAX + 1] = '\0';
    assert_int_equal(intake_like_pattern(q, buf, sizeof buf), -1);
    assert_int_equal(intake_like_pattern("abc", buf, 4), -1);

    int n = 0;
    assert_int_equal(intake_limit(false, 0, &n), 0);
    assert_int_equal(n, INTAKE_LIMIT_DEFAULT);
    assert_int_equal(intake_limit(true, 2, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(intake_limit(true, INTAKE_LIMIT_MAX, &n), 0);
    assert_int_equal(intake_limit(true, INTAKE_LIMIT_MAX + 1, &n), -1);
    assert_int_equal(intake_limit(true, 0, &n), -1);
    assert_int_equal(intake_limit(true, -1, &n), -1);

    assert_true(intake_business_type_valid("small_workshop"));
    assert_false(intake_business_type_valid("restaurant"));
    assert_true(intake_risk_grade_valid("D"));
    assert_false(intake_risk_grade_valid("E"));
    assert_false(intake_risk_grade_valid("d"));
    assert_true(intake_business_status_valid("suspended"));
    assert_false(intake_business_status_valid(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mode_vs_grade),  cmocka_unit_test(test_time_window),
        cmocka_unit_test(test_check_ok),       cmocka_unit_test(test_check_refusals),
        cmocka_unit_test(test_cursor),         cmocka_unit_test(test_region_range),
        cmocka_unit_test(test_like_and_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
