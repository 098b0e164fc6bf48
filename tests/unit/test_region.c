/*
 * test_region.c - unit tests for common/region: code validity, levels, jurisdiction
 * containment and parent chains of 12-digit statistical division codes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "region.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static void test_levels(void **state)
{
    (void)state;
    static const struct {
        const char *code;
        region_level_t level;
    } cases[] = {
        {"340000000000", REGION_PROVINCE},  {"110000000000", REGION_PROVINCE},
        {"340700000000", REGION_CITY},      {"110100000000", REGION_CITY},
        {"340705000000", REGION_DISTRICT},  {"340711000000", REGION_DISTRICT},
        {"340705001000", REGION_TOWNSHIP},  {"340705100000", REGION_TOWNSHIP},
        {"340705010000", REGION_TOWNSHIP},  {"441900003000", REGION_TOWNSHIP},
        {"340705001001", REGION_COMMUNITY}, {"340705001200", REGION_COMMUNITY},
        {"340705000001", REGION_COMMUNITY}, {"999999999999", REGION_COMMUNITY},
        {"010000000000", REGION_PROVINCE},  {"340000000001", REGION_COMMUNITY},
        {"340000001000", REGION_TOWNSHIP},  {"340001000000", REGION_DISTRICT},
    };
    static const size_t prefix[] = {2, 4, 6, 9, 12};
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        region_level_t l = REGION_PROVINCE;
        assert_true(region_code_valid(cases[i].code));
        if (region_level_of(cases[i].code, &l) != 0 || l != cases[i].level)
            fail_msg("%s: level %d, want %d", cases[i].code, (int)l, (int)cases[i].level);
        assert_int_equal(region_prefix_len(l), prefix[cases[i].level]);
    }
}

static void test_invalid_codes(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",
        "34070500100",   /* 11 digits */
        "3407050010010", /* 13 digits */
        "000000000000",
        "001234000000",
        "34070500100a",
        "34070500100 ",
        " 34070500100",
        "3407050-1001",
        "+34070500100",
        "\xef\xbc\x93\xef\xbc\x94"
        "0705001001", /* full-width "34" is not ASCII digits */
        "340705001001\n",
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        region_level_t l = REGION_CITY;
        char parent[REGION_CODE_LEN + 1] = "unchanged";
        if (region_code_valid(bad[i]))
            fail_msg("accepted invalid code \"%s\"", bad[i]);
        assert_int_equal(region_level_of(bad[i], &l), -1);
        assert_int_equal(l, REGION_CITY);
        assert_int_equal(region_parent(bad[i], parent), -1);
        assert_string_equal(parent, "unchanged");
        assert_false(region_contains(bad[i], "340705001001"));
        assert_false(region_contains("340000000000", bad[i]));
    }
    region_level_t l;
    assert_false(region_code_valid(NULL));
    assert_int_equal(region_level_of(NULL, &l), -1);
    assert_false(region_contains(NULL, NULL));
    assert_int_equal(region_prefix_len((region_level_t)5), 0);
}

static void test_contains(void **state)
{
    (void)state;
    static const struct {
        const char *scope, *code;
        bool want;
    } cases[] = {
        {"340705000000", "340705001001", true},  {"340705000000", "340706001001", false},
        {"340705000000", "340705000000", true},  {"340705000000", "340705001000", true},
        {"340705000000", "340700000000", false}, /* a parent is not inside its child */
        {"340705000000", "340000000000", false}, {"340700000000", "340705001001", true},
        {"340700000000", "340711000000", true},  {"340700000000", "340799999999", true},
        {"340700000000", "340700000000", true},  {"340700000000", "340800000000", false},
        {"340700000000", "340801001001", false}, {"340000000000", "340705001001", true},
        {"340000000000", "350705001001", false}, {"340705001000", "340705001001", true},
        {"340705001000", "340705001999", true},  {"340705001000", "340705002001", false},
        {"340705001000", "340705000000", false}, {"340705001001", "340705001001", true},
        {"340705001001", "340705001002", false}, {"441900000000", "441900003000", true},
        {"441900003000", "441900003001", true},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        if (region_contains(cases[i].scope, cases[i].code) != cases[i].want)
            fail_msg("contains(%s, %s) should be %s", cases[i].scope, cases[i].code,
                     cases[i].want ? "true" : "false");
    }
}

static void test_parent_chain(void **state)
{
    (void)state;
    static const struct {
        const char *code;
        const char *chain[5]; /* parents, nearest first, NULL-terminated */
    } cases[] = {
        {"340705001001", {"340705001000", "340705000000", "340700000000", "340000000000", NULL}},
        {"340705001000", {"340705000000", "340700000000", "340000000000", NULL}},
        {"340705000000", {"340700000000", "340000000000", NULL}},
        {"340700000000", {"340000000000", NULL}},
        {"340000000000", {NULL}},
        {"340705000001", {"340705000000", "340700000000", "340000000000", NULL}},
        {"441900003001", {"441900003000", "441900000000", "440000000000", NULL}},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char cur[REGION_CODE_LEN + 1];
        memcpy(cur, cases[i].code, sizeof cur);
        size_t k = 0;
        for (; cases[i].chain[k]; k++) {
            char parent[REGION_CODE_LEN + 1];
            if (region_parent(cur, parent) != 0)
                fail_msg("%s: no parent, want %s", cur, cases[i].chain[k]);
            assert_string_equal(parent, cases[i].chain[k]);
            assert_true(region_contains(parent, cur));
            assert_true(region_contains(parent, cases[i].code));
            assert_false(region_contains(cur, parent));
            region_level_t lc, lp;
            assert_int_equal(region_level_of(cur, &lc), 0);
            assert_int_equal(region_level_of(parent, &lp), 0);
            assert_true(lp < lc);
            memcpy(cur, parent, sizeof cur);
        }
        char parent[REGION_CODE_LEN + 1] = "unchanged";
        assert_int_equal(region_parent(cur, parent), -1);
        assert_string_equal(parent, "unchanged");
        region_level_t l;
        assert_int_equal(region_level_of(cur, &l), 0);
        assert_int_equal(l, REGION_PROVINCE);
    }
}

static void test_level_names(void **state)
{
    (void)state;
    static const char *names[] = {"province", "city", "district", "township", "community"};
    for (size_t i = 0; i < ARRAY_LEN(names); i++) {
        region_level_t l;
        assert_string_equal(region_level_name((region_level_t)i), names[i]);
        assert_int_equal(region_level_parse(names[i], &l), 0);
        assert_int_equal(l, (region_level_t)i);
    }
    static const char *bad[] = {"", "Province", "county", "village", "street", "city "};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        region_level_t l = REGION_CITY;
        assert_int_equal(region_level_parse(bad[i], &l), -1);
        assert_int_equal(l, REGION_CITY);
    }
    assert_int_equal(region_level_parse(NULL, NULL), -1);
    assert_null(region_level_name((region_level_t)5));
    assert_null(region_level_name((region_level_t)-1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_levels),      cmocka_unit_test(test_invalid_codes),
        cmocka_unit_test(test_contains),    cmocka_unit_test(test_parent_chain),
        cmocka_unit_test(test_level_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
