/*
 * test_csv.c - the RFC 4180 reader.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "csv.h"

#include <string.h>

static void test_plain_and_quoted(void **state)
{
    (void)state;
    const char *text = "\xEF\xBB\xBF"
                       "code,name\r\n"
                       "1,\"铜陵, 市\"\r\n"
                       "2,\"say \"\"hi\"\"\"\n"
                       "\n"
                       "3,\"two\nlines\"\n"
                       "4,\n";
    csv_t *c = csv_new(text, strlen(text), 8, 64);
    const char *const *f;
    assert_int_equal(csv_next(c, &f), 2);
    assert_string_equal(f[0], "code");
    assert_int_equal(csv_line(c), 1);
    assert_int_equal(csv_next(c, &f), 2);
    assert_string_equal(f[1], "铜陵, 市");
    assert_int_equal(csv_next(c, &f), 2);
    assert_string_equal(f[1], "say \"hi\"");
    assert_int_equal(csv_next(c, &f), 2);
    assert_string_equal(f[1], "two\nlines");
    assert_int_equal(csv_line(c), 5);
    assert_int_equal(csv_next(c, &f), 2);
    assert_string_equal(f[0], "4");
    assert_string_equal(f[1], "");
    assert_int_equal(csv_line(c), 7);
    assert_int_equal(csv_next(c, &f), 0);
    csv_destroy(&c);
    assert_null(c);
}

static void test_no_final_newline(void **state)
{
    (void)state;
    const char *text = "a,b\nc,d";
    csv_t *c = csv_new(text, strlen(text), 4, 8);
    const char *const *f;
    assert_int_equal(csv_next(c, &f), 2);
    assert_int_equal(csv_next(c, &f), 2);
    assert_string_equal(f[1], "d");
    assert_int_equal(csv_next(c, &f), 0);
    csv_destroy(&c);
}

static void test_errors(void **state)
{
    (void)state;
    struct {
        const char *text;
        const char *why;
    } cases[] = {
        {"a,b\n\"open,b\n", "line 2: unterminated quoted field"},
        {"a,b\nx\"y,b\n", "line 2: quote inside an unquoted field"},
        {"\"a\"b,c\n", "line 1: characters after a closing quote"},
        {"a,b,c,d,e\n", "line 1: too many fields"},
        {"123456789\n", "line 1: field too long"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        csv_t *c = csv_new(cases[i].text, strlen(cases[i].text), 4, 8);
        const char *const *f;
        int n;
        while ((n = csv_next(c, &f)) > 0)
            ;
        assert_int_equal(n, -1);
        assert_string_equal(csv_error(c), cases[i].why);
        assert_int_equal(csv_next(c, &f), -1);
        csv_destroy(&c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_and_quoted),
        cmocka_unit_test(test_no_final_newline),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
