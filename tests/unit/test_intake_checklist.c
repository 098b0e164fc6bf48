/*
 * test_intake_checklist.c - unit tests for the pure rules of
 * services/intake/intake_checklist.c: a new checklist version's type, kind and
 * items (codes, duplicates, texts in characters, bounds), and declared rest days
 * (format, real dates, today or later in Asia/Shanghai, at most 366 ahead, count).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "intake/intake_checklist.h"

static Lz__ChecklistItem s_it(const char *code, const char *text, const char *cat)
{
    Lz__ChecklistItem it = LZ__CHECKLIST_ITEM__INIT;
    it.code = (char *)code;
    it.text = (char *)text;
    it.category = (char *)cat;
    return it;
}

/* Check n items; returns the rule's result and leaves the error in *err. */
static int s_check(const char *type, const char *kind, Lz__ChecklistItem *items, size_t n,
                   ledger_error_t *err)
{
    Lz__ChecklistItem *ptrs[128];
    for (size_t i = 0; i < n; i++)
        ptrs[i] = &items[i];
    memset(err, 0, sizeof *err);
    return checklist_check(type, kind, ptrs, n, err);
}

static void test_checklist_ok(void **state)
{
    (void)state;
    ledger_error_t err;
    Lz__ChecklistItem items[] = {s_it("D01", "晨检", "人员管理"), s_it("D02", "冷藏温度", "贮存"),
                                 s_it("X9Z", "其他", "其他")};
    assert_int_equal(s_check("catering", "daily", items, 3, &err), 0);
    assert_int_equal(s_check("small_workshop", "monthly", items, 1, &err), 0);
}

static void test_checklist_type_kind(void **state)
{
    (void)state;
    ledger_error_t err;
    Lz__ChecklistItem items[] = {s_it("D01", "晨检", "人员管理")};
    assert_int_equal(s_check("pharmacy", "daily", items, 1, &err), -1);
    assert_string_equal(err.field, "type");
    assert_int_equal(s_check(NULL, "daily", items, 1, &err), -1);
    assert_int_equal(err.status, LZ__STATUS__MISSING_FIELD);
    assert_int_equal(s_check("sales", "hourly", items, 1, &err), -1);
    assert_string_equal(err.field, "kind");
    assert_int_equal(s_check("sales", "quarterly", items, 1, &err), -1);
    assert_int_equal(s_check("sales", "daily", items, 0, &err), -1);
    assert_string_equal(err.field, "items");
}

static void test_checklist_codes(void **state)
{
    (void)state;
    ledger_error_t err;
    const char *bad[] = {"d01", "D", "1D", "D01234567", "D-1", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        Lz__ChecklistItem items[] = {s_it("D01", "甲", "类"), s_it(bad[i], "乙", "类")};
        assert_int_equal(s_check("sales", "daily", items, 2, &err), -1);
        assert_string_equal(err.field, "items[1].code");
    }
    Lz__ChecklistItem ok8[] = {s_it("D0123456", "甲", "类")};
    assert_int_equal(s_check("sales", "daily", ok8, 1, &err), 0);
    Lz__ChecklistItem dup[] = {s_it("D01", "甲", "类"), s_it("D02", "乙", "类"),
                               s_it("D01", "丙", "类")};
    assert_int_equal(s_check("sales", "daily", dup, 3, &err), -1);
    assert_string_equal(err.field, "items[2].code");
}

static void test_checklist_texts(void **state)
{
    (void)state;
    ledger_error_t err;
    Lz__ChecklistItem e[] = {s_it("D01", "", "类")};
    assert_int_equal(s_check("sales", "daily", e, 1, &err), -1);
    assert_string_equal(err.field, "items[0].text");
    Lz__ChecklistItem nc[] = {s_it("D01", "甲", NULL)};
    assert_int_equal(s_check("sales", "daily", nc, 1, &err), -1);
    assert_string_equal(err.field, "items[0].category");
    /* 200 Chinese characters (600 bytes) pass, 201 do not */
    char text[800];
    size_t len = 0;
    for (int i = 0; i < 200; i++, len += 3)
        memcpy(text + len, "检", 3);
    text[len] = '\0';
    Lz__ChecklistItem t200[] = {s_it("D01", text, "类")};
    assert_int_equal(s_check("sales", "daily", t200, 1, &err), 0);
    memcpy(text + len, "检", 4); /* with its terminating NUL */
    assert_int_equal(s_check("sales", "daily", t200, 1, &err), -1);
    assert_string_equal(err.field, "items[0].text");
    Lz__ChecklistItem ctl[] = {s_it("D01", "a\tb", "类")};
    assert_int_equal(s_check("sales", "daily", ctl, 1, &err), -1);
    Lz__ChecklistItem many[101];
    char codes[101][16];
    for (int i = 0; i < 101; i++) {
        snprintf(codes[i], sizeof codes[i], "D%03d", i);
        many[i] = s_it(codes[i], "甲", "类");
    }
    assert_int_equal(s_check("sales", "daily", many, 100, &err), 0);
    assert_int_equal(s_check("sales", "daily", many, 101, &err), -1);
    assert_string_equal(err.field, "items");
}

static void test_rest_days(void **state)
{
    (void)state;
    ledger_error_t err;
    /* 2026-11-29 00:30 +08:00 is still 2026-11-28 in UTC: today is the 29th */
    int64_t now = local_midnight(2026, 11, 29) + 1800;
    char *ok[] = {"2026-11-29", "2026-11-30", "2027-11-30"};
    assert_int_equal(rest_check_days(ok, 3, now, &err), 0);
    char *past[] = {"2026-11-30", "2026-11-28"};
    assert_int_equal(rest_check_days(past, 2, now, &err), -1);
    assert_string_equal(err.field, "days[1]");
    char *far[] = {"2027-12-01"};
    assert_int_equal(rest_check_days(far, 1, now, &err), -1);
    assert_string_equal(err.field, "days[0]");
    char *bad[] = {"2026-02-30", "2026-1-5", "20261201", "2026-W48", NULL};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(rest_check_days(&bad[i], 1, now, &err), -1);
        assert_string_equal(err.field, "days[0]");
    }
    assert_int_equal(rest_check_days(ok, 0, now, &err), -1);
    assert_string_equal(err.field, "days");
    char *many[63];
    for (int i = 0; i < 63; i++)
        many[i] = "2026-12-01";
    assert_int_equal(rest_check_days(many, 62, now, &err), 0);
    assert_int_equal(rest_check_days(many, 63, now, &err), -1);
    assert_string_equal(err.field, "days");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checklist_ok),    cmocka_unit_test(test_checklist_type_kind),
        cmocka_unit_test(test_checklist_codes), cmocka_unit_test(test_checklist_texts),
        cmocka_unit_test(test_rest_days),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
