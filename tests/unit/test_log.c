/*
 * test_log.c - log lines: level check, request id, phones masked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "log.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Run fn with stderr redirected into out. */
static void s_capture(void (*fn)(void), char *out, size_t len)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    int saved = dup(STDERR_FILENO);
    dup2(fds[1], STDERR_FILENO);
    fn();
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fds[1]);
    ssize_t n = read(fds[0], out, len - 1);
    out[n > 0 ? n : 0] = '\0';
    close(fds[0]);
}

static int s_formatted;
static const char *s_counted(void)
{
    s_formatted++;
    return "x";
}

static void s_levels(void)
{
    log_init("test", LZ_LOG_WARN);
    log_info("hidden %s", s_counted());
    log_warn("shown %s", "warn");
}

static void test_level_checked_before_formatting(void **state)
{
    (void)state;
    char out[1024];
    s_formatted = 0;
    s_capture(s_levels, out, sizeof out);
    assert_int_equal(s_formatted, 0);
    assert_null(strstr(out, "hidden"));
    assert_non_null(strstr(out, " WARN test["));
    assert_non_null(strstr(out, "shown warn\n"));
    assert_non_null(strstr(out, "+08:00 "));
}

static void s_masked(void)
{
    log_init("test", LZ_LOG_DEBUG);
    log_set_request_id("req-42");
    log_info("sms to 13812345678 and 19900001111, order 123456789012");
    log_set_request_id(NULL);
    log_info("no rid");
}

static void test_phones_masked_and_rid(void **state)
{
    (void)state;
    char out[1024];
    s_capture(s_masked, out, sizeof out);
    assert_null(strstr(out, "13812345678"));
    assert_non_null(strstr(out, "138****5678"));
    assert_non_null(strstr(out, "199****1111"));
    assert_non_null(strstr(out, "123456789012"));
    assert_non_null(strstr(out, "rid=req-42: sms"));
    assert_non_null(strstr(out, "]: no rid"));
}

static void test_level_parse(void **state)
{
    (void)state;
    log_level_t l;
    assert_int_equal(log_level_parse("debug", &l), 0);
    assert_int_equal(l, LZ_LOG_DEBUG);
    assert_int_equal(log_level_parse("ERROR", &l), 0);
    assert_int_equal(l, LZ_LOG_ERROR);
    assert_int_equal(log_level_parse("loud", &l), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_level_checked_before_formatting),
        cmocka_unit_test(test_phones_masked_and_rid),
        cmocka_unit_test(test_level_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
