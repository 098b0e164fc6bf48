/*
 * test_outbox.c - unit tests for the pure parts of common/outbox: topic
 * names, parsing stream entries (binary payloads, missing and malformed
 * fields) and the attempt-counting rules that decide between acknowledging,
 * retrying and dead-lettering.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "outbox.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- hand-built replies, shaped as hiredis builds them ---- */

static redisReply *s_str(const char *s, size_t len)
{
    redisReply *r = calloc(1, sizeof *r);
    r->type = REDIS_REPLY_STRING;
    r->str = malloc(len + 1);
    memcpy(r->str, s, len);
    r->str[len] = '\0';
    r->len = len;
    return r;
}

static redisReply *s_cstr(const char *s)
{
    return s_str(s, strlen(s));
}

static redisReply *s_arr(size_t n, redisReply **items)
{
    redisReply *r = calloc(1, sizeof *r);
    r->type = REDIS_REPLY_ARRAY;
    r->elements = n;
    r->element = calloc(n ? n : 1, sizeof *r->element);
    for (size_t i = 0; i < n; i++)
        r->element[i] = items[i];
    return r;
}

static redisReply *s_nil(void)
{
    redisReply *r = calloc(1, sizeof *r);
    r->type = REDIS_REPLY_NIL;
    return r;
}

/* An entry [id, [f1, v1, ...]] from NUL-terminated field/value texts. */
static redisReply *s_entry(const char *id, size_t n, const char *const *fv)
{
    redisReply **items = calloc(n ? n : 1, sizeof *items);
    for (size_t i = 0; i < n; i++)
        items[i] = s_cstr(fv[i]);
    redisReply *pair[2] = {s_cstr(id), s_arr(n, items)};
    free(items);
    return s_arr(2, pair);
}

static void s_free(redisReply *r)
{
    freeReplyObject(r);
}

/* ---- topics ---- */

static void test_topic_valid(void **state)
{
    (void)state;
    assert_true(outbox_topic_valid("a"));
    assert_true(outbox_topic_valid("ledger.accepted"));
    assert_true(outbox_topic_valid("task_overdue.v2"));
    char longest[64];
    memset(longest, 'x', 63);
    longest[63] = '\0';
    assert_true(outbox_topic_valid(longest));
}

static void test_topic_invalid(void **state)
{
    (void)state;
    const char *bad[] = {"",       "A",   "1abc", ".x", "ledger-accepted", "ledger accepted",
                         "Ledger", "x:y", "x*",   "ü"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        assert_false(outbox_topic_valid(bad[i]));
    assert_false(outbox_topic_valid(NULL));
    char too_long[65];
    memset(too_long, 'x', 64);
    too_long[64] = '\0';
    assert_false(outbox_topic_valid(too_long));
}

/* ---- parsing entries ---- */

static void test_parse_full_entry(void **state)
{
    (void)state;
    const char *fv[] = {"id", "42", "key", "biz:7", "payload", "x", "at", "1795954538868"};
    redisReply *e = s_entry("1795954538868-0", ARRAY_LEN(fv), fv);
    /* a binary payload with a NUL, CR LF and high bytes */
    static const char bin[] = {'\0', '\r', '\n', (char)0xff, 'z'};
    free(e->element[1]->element[5]->str);
    e->element[1]->element[5]->str = malloc(sizeof bin + 1);
    memcpy(e->element[1]->element[5]->str, bin, sizeof bin);
    e->element[1]->element[5]->len = sizeof bin;

    outbox_event_t ev;
    assert_int_equal(outbox_event_parse(e, &ev), 0);
    assert_string_equal(ev.stream_id, "1795954538868-0");
    assert_int_equal(ev.outbox_id, 42);
    assert_string_equal(ev.key, "biz:7");
    assert_int_equal(ev.payload_len, sizeof bin);
    assert_memory_equal(ev.payload, bin, sizeof bin);
    assert_int_equal(ev.at_ms, 1795954538868LL);
    assert_null(ev.topic);
    assert_int_equal(ev.deliveries, 0);
    s_free(e);
}

static void test_parse_defaults_and_extra_fields(void **state)
{
    (void)state;
    /* no key, no at, and the extra fields a :dead entry carries */
    const char *fv[] = {"payload", "", "id", "9", "error", "handler failed", "attempts", "3"};
    redisReply *e = s_entry("1-1", ARRAY_LEN(fv), fv);
    outbox_event_t ev;
    assert_int_equal(outbox_event_parse(e, &ev), 0);
    assert_int_equal(ev.outbox_id, 9);
    assert_string_equal(ev.key, "");
    assert_int_equal(ev.payload_len, 0);
    assert_non_null(ev.payload);
    assert_int_equal(ev.at_ms, 0);
    s_free(e);
}

static void test_parse_rejects_missing_or_bad_id(void **state)
{
    (void)state;
    const char *no_id[] = {"key", "k", "payload", "p"};
    const char *bad_id[] = {"id", "12x", "payload", "p"};
    const char *zero_id[] = {"id", "0", "payload", "p"};
    const char *neg_id[] = {"id", "-5", "payload", "p"};
    const char *huge_id[] = {"id", "99999999999999999999999", "payload", "p"};
    const char *no_payload[] = {"id", "5", "key", "k"};
    const char *bad_at[] = {"id", "5", "payload", "p", "at", "soon"};
    const char *const *cases[] = {no_id, bad_id, zero_id, neg_id, huge_id, no_payload, bad_at};
    size_t lens[] = {4, 4, 4, 4, 4, 4, 6};
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        redisReply *e = s_entry("1-0", lens[i], cases[i]);
        outbox_event_t ev;
        assert_int_equal(outbox_event_parse(e, &ev), -1);
        s_free(e);
    }
}

static void test_parse_rejects_bad_shapes(void **state)
{
    (void)state;
    outbox_event_t ev;
    assert_int_equal(outbox_event_parse(NULL, &ev), -1);

    redisReply *s = s_cstr("1-0");
    assert_int_equal(outbox_event_parse(s, &ev), -1);
    s_free(s);

    /* a trimmed entry as XAUTOCLAIM reported it before Redis 7: [id, nil] */
    redisReply *pair[2] = {s_cstr("1-0"), s_nil()};
    redisReply *trimmed = s_arr(2, pair);
    assert_int_equal(outbox_event_parse(trimmed, &ev), -1);
    s_free(trimmed);

    /* an odd number of field items */
    const char *odd[] = {"id", "1", "payload"};
    redisReply *e = s_entry("1-0", ARRAY_LEN(odd), odd);
    assert_int_equal(outbox_event_parse(e, &ev), -1);
    s_free(e);

    /* a field value that is not a string */
    const char *fv[] = {"id", "1", "payload", "p"};
    e = s_entry("1-0", ARRAY_LEN(fv), fv);
    freeReplyObject(e->element[1]->element[3]);
    e->element[1]->element[3] = s_nil();
    assert_int_equal(outbox_event_parse(e, &ev), -1);
    s_free(e);
}

/* ---- attempts ---- */

static void test_verdict_success_always_acks(void **state)
{
    (void)state;
    for (int64_t d = 1; d <= 10; d++)
        assert_int_equal(outbox_verdict(d, 3, 0), OUTBOX_ACK);
}

static void test_verdict_failure_retries_then_dead(void **state)
{
    (void)state;
    assert_int_equal(outbox_verdict(1, 3, -1), OUTBOX_RETRY);
    assert_int_equal(outbox_verdict(2, 3, -1), OUTBOX_RETRY);
    assert_int_equal(outbox_verdict(3, 3, -1), OUTBOX_DEAD);
    assert_int_equal(outbox_verdict(4, 3, -1), OUTBOX_DEAD);
    /* one attempt only: the first failure is final */
    assert_int_equal(outbox_verdict(1, 1, -1), OUTBOX_DEAD);
    /* any non-zero answer is a failure */
    assert_int_equal(outbox_verdict(1, 3, 7), OUTBOX_RETRY);
}

static void test_over_attempts(void **state)
{
    (void)state;
    /* the handler runs on deliveries 1..max; a delivery beyond that means
     * the earlier ones crashed or timed out without answering */
    assert_false(outbox_over_attempts(1, 3));
    assert_false(outbox_over_attempts(3, 3));
    assert_true(outbox_over_attempts(4, 3));
    assert_true(outbox_over_attempts(2, 1));
}

/* A simulated life of one always-failing event: handled exactly max times. */
static void test_poison_runs_exactly_max_times(void **state)
{
    (void)state;
    for (int max = 1; max <= 5; max++) {
        int runs = 0;
        for (int64_t d = 1;; d++) {
            if (outbox_over_attempts(d, max))
                break;
            runs++;
            if (outbox_verdict(d, max, -1) == OUTBOX_DEAD)
                break;
        }
        assert_int_equal(runs, max);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_topic_valid),
        cmocka_unit_test(test_topic_invalid),
        cmocka_unit_test(test_parse_full_entry),
        cmocka_unit_test(test_parse_defaults_and_extra_fields),
        cmocka_unit_test(test_parse_rejects_missing_or_bad_id),
        cmocka_unit_test(test_parse_rejects_bad_shapes),
        cmocka_unit_test(test_verdict_success_always_acks),
        cmocka_unit_test(test_verdict_failure_retries_then_dead),
        cmocka_unit_test(test_over_attempts),
        cmocka_unit_test(test_poison_runs_exactly_max_times),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
