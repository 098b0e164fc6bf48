/*
 * test_ident.c - unit tests for common/ident: unified social credit code check
 * characters, mainland mobile numbers and phone masking.
 *
 * Check characters in the fixtures were computed independently (Python) from
 * GB 32100-2015; the first four are published codes of real companies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "ident.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const char *const s_valid_codes[] = {
    "91330100716105852F",                       /* Alibaba (China) Co., Ltd. */
    "91440300708461136T",                       /* Shenzhen Tencent Computer Systems */
    "914403001922038216",                       /* Huawei Technologies */
    "91110000802100433B", "91350100M000100Y43", /* the example in GB 32100-2015 */
    "91340700MA2N0X6K7H",                       /* synthetic, Tongling prefix */
    "9134070055448076G0",                       /* check character 0 (sum divisible by 31) */
    "9134070055448076TY",                       /* check character Y (value 30) */
    "000000000000000000",                       /* degenerate, but the sum is 0 */
};

static void test_credit_code_valid(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(s_valid_codes); i++) {
        if (!ident_credit_code_valid(s_valid_codes[i]))
            fail_msg("rejected valid code %s", s_valid_codes[i]);
        assert_int_equal(ident_credit_code_check(s_valid_codes[i]), s_valid_codes[i][17]);
    }
}

static void test_credit_code_invalid(void **state)
{
    (void)state;
    static const char *bad[] = {
        "91340700MA2N0X6K7X",  /* the brief's guess: check should be H */
        "91330100716105852E",  /* wrong check character */
        "91440300708461136U",  /* wrong check character */
        "914403001922038217",  /* wrong check digit */
        "9133010071610585F2",  /* last two swapped */
        "91330100716105825F",  /* transposed digits */
        "91330100716105852f",  /* lower-case check character */
        "91340700ma2n0x6k7h",  /* lower case */
        "91330100716105852",   /* 17 characters */
        "91330100716105852FF", /* 19 characters */
        "",
        "91340700MA2N0I6K7H", /* I is not in the set */
        "91340700MA2N0O6K7H", /* O */
        "91340700MA2N0Z6K7H", /* Z */
        "91340700MA2N0S6K7H", /* S */
        "91340700MA2N0V6K7H", /* V */
        "91340700MA2N0-6K7H",
        "91340700MA2N0 6K7H",
        " 91330100716105852F",
        "91330100716105852F ",
        "9134070055448076GO", /* O for 0 as the check character */
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        if (ident_credit_code_valid(bad[i]))
            fail_msg("accepted invalid code \"%s\"", bad[i]);
    }
    assert_false(ident_credit_code_valid(NULL));
}

static void test_credit_code_check(void **state)
{
    (void)state;
    static const struct {
        const char *first17;
        char check;
    } cases[] = {
        {"91340700MA2N0X6K7", 'H'},
        {"91330100716105852", 'F'},
        {"00000000000000000", '0'},
        {"YYYYYYYYYYYYYYYYY", 'T'},
        {"9134070055448076G", '0'},
        {"9134070055448076T", 'Y'},
        {"91330100716105852F", 'F'}, /* only the first 17 characters count */
        {"9133010071610585", 0},     /* too short */
        {"", 0},
        {"91340700MA2N0I6K7", 0}, /* I */
        {"91340700MA2N0S6K7", 0}, /* S */
        {"91340700ma2n0x6k7", 0}, /* lower case */
        {"9134070\x80MA2N0X6K7", 0},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char c = ident_credit_code_check(cases[i].first17);
        if (c != cases[i].check)
            fail_msg("check(%s) = %d, want %d", cases[i].first17, c, cases[i].check);
    }
    assert_int_equal(ident_credit_code_check(NULL), 0);
}

static void test_mobile_valid(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        bool want;
    } cases[] = {
        {"13812345678", true},   {"19912345678", true},    {"15000000000", true},
        {"13000000000", true},   {"12812345678", false},   {"10812345678", false},
        {"23812345678", false},  {"1381234567", false},    {"138123456789", false},
        {"1381234567a", false},  {"138 1234 5678", false}, {"+8613812345678", false},
        {" 13812345678", false}, {"13812345678 ", false},  {"", false},
        {"1381234567\n", false},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        if (ident_mobile_valid(cases[i].s) != cases[i].want)
            fail_msg("mobile_valid(\"%s\") should be %s", cases[i].s,
                     cases[i].want ? "true" : "false");
    }
    assert_false(ident_mobile_valid(NULL));
}

static void test_mask_phones(void **state)
{
    (void)state;
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"13812345678", "138****5678"},
        {"", ""},
        {"no phone here", "no phone here"},
        {"call 13812345678 now", "call 138****5678 now"},
        {"a:13812345678,b:19987654321.", "a:138****5678,b:199****4321."},
        {"1381234567813812345678", "1381234567813812345678"}, /* one 22-digit run */
        {"+8613812345678", "+8613812345678"},                 /* 13-digit run */
        {"138123456789", "138123456789"},                     /* 12 digits */
        {"1381234567", "1381234567"},                         /* 10 digits */
        {"12812345678", "12812345678"},                       /* not a mobile */
        {"tel=13812345678&x=1", "tel=138****5678&x=1"},
        {"13812345678x13812345678", "138****5678x138****5678"},
        {"id 340705001001 tel 15000000000", "id 340705001001 tel 150****0000"},
        {"\xe7\x94\xb5\xe8\xaf\x9d" /* UTF-8 text */ "13812345678", "\xe7\x94\xb5\xe8\xaf\x9d"
                                                                    "138****5678"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char out[128];
        size_t n = ident_mask_phones(cases[i].in, out, sizeof out);
        assert_string_equal(out, cases[i].want);
        assert_int_equal(n, strlen(cases[i].want));
    }
}

static void test_mask_phones_truncation(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t outlen;
        const char *want;
    } cases[] = {
        {"13812345678", 12, "138****5678"},
        {"13812345678", 11, "138****567"},
        {"13812345678", 8, "138****"},
        {"13812345678", 6, "138**"}, /* never leaks a masked digit */
        {"13812345678", 4, "138"},
        {"13812345678", 1, ""},
        {"ab13812345678", 5, "ab13"},
        {"1381234567890", 8, "1381234"}, /* a longer run is not masked, even cut short */
        {"hello", 3, "he"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char out[32];
        memset(out, 'z', sizeof out);
        size_t n = ident_mask_phones(cases[i].in, out, cases[i].outlen);
        assert_string_equal(out, cases[i].want);
        assert_int_equal(n, strlen(cases[i].want));
        assert_true(n < cases[i].outlen);
        /* Nothing written past outlen. */
        assert_int_equal(out[cases[i].outlen], 'z');
    }
    char out[4] = "zzz";
    assert_int_equal(ident_mask_phones("13812345678", out, 0), 0);
    assert_string_equal(out, "zzz");
    assert_int_equal(ident_mask_phones("13812345678", NULL, 10), 0);
    assert_int_equal(ident_mask_phones(NULL, out, sizeof out), 0);
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_credit_code_valid), cmocka_unit_test(test_credit_code_invalid),
        cmocka_unit_test(test_credit_code_check), cmocka_unit_test(test_mobile_valid),
        cmocka_unit_test(test_mask_phones),       cmocka_unit_test(test_mask_phones_truncation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
