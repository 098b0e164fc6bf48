/*
 * test_buf.c - bounded buffers never pass their maximum.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "buf.h"

#include <stdlib.h>
#include <string.h>

static void test_append_within_max(void **state)
{
    (void)state;
    buf_t *b = buf_new(10);
    assert_int_equal(buf_append_str(b, "hello"), 0);
    assert_int_equal(buf_append_str(b, "world"), 0);
    assert_int_equal(buf_len(b), 10);
    assert_string_equal(buf_data(b), "helloworld");
    assert_false(buf_overflowed(b));
    buf_destroy(&b);
    assert_null(b);
}

static void test_append_over_max_refused_unchanged(void **state)
{
    (void)state;
    buf_t *b = buf_new(8);
    assert_int_equal(buf_append_str(b, "12345"), 0);
    assert_int_equal(buf_append_str(b, "6789"), -1);
    assert_true(buf_overflowed(b));
    assert_int_equal(buf_len(b), 5);
    assert_string_equal(buf_data(b), "12345");
    assert_int_equal(buf_putc(b, 'x'), 0);
    assert_int_equal(buf_printf(b, "%d", 123), -1);
    assert_int_equal(buf_printf(b, "%d", 12), 0);
    assert_int_equal(buf_len(b), 8);
    assert_int_equal(buf_putc(b, 'y'), -1);
    buf_reset(b);
    assert_false(buf_overflowed(b));
    assert_int_equal(buf_len(b), 0);
    buf_destroy(&b);
}

static void test_grows_to_large_max(void **state)
{
    (void)state;
    buf_t *b = buf_new(1 << 20);
    char chunk[1000];
    memset(chunk, 'a', sizeof chunk);
    size_t total = 0;
    while (buf_append(b, chunk, sizeof chunk) == 0)
        total += sizeof chunk;
    assert_int_equal(total, 1048000);
    assert_int_equal(buf_len(b), total);
    assert_true(buf_overflowed(b));
    size_t len;
    char *s = buf_steal(b, &len);
    assert_int_equal(len, total);
    assert_int_equal(s[len], '\0');
    free(s);
    assert_int_equal(buf_len(b), 0);
    buf_destroy(&b);
}

static void test_binary_safe(void **state)
{
    (void)state;
    buf_t *b = buf_new(16);
    const char bin[] = {'a', 0, 'b', 0};
    assert_int_equal(buf_append(b, bin, sizeof bin), 0);
    assert_int_equal(buf_len(b), 4);
    assert_memory_equal(buf_data(b), bin, 4);
    buf_destroy(&b);
    buf_destroy(&b); /* NULL is fine */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_within_max),
        cmocka_unit_test(test_append_over_max_refused_unchanged),
        cmocka_unit_test(test_grows_to_large_max),
        cmocka_unit_test(test_binary_safe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
