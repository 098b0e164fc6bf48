/*
 * test_notifier_channels.c - the channels' pure parts: Tencent Cloud
 * SendSms body and TC3-HMAC-SHA256 signature (checked against a vector
 * computed independently with Python's hmac/hashlib), answer
 * classification, template ids; webhook signatures; e-mail messages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "notifier/notifier_email.h"
#include "notifier/notifier_sms.h"
#include "notifier/notifier_webhook.h"

static const sms_account_t s_acc = {.secret_id = "AKIDtest",
                                    .secret_key = "tc3-test-key",
                                    .host = "sms.tencentcloudapi.com",
                                    .sdk_app_id = "1400000001",
                                    .sign_name = "两责",
                                    .region = "ap-guangzhou"};

static void test_sms_body(void **state)
{
    (void)state;
    const char *params[] = {"a"};
    char *b = notifier_sms_body(&s_acc, "1001", "13800000000", params, 1, "k1");
    assert_string_equal(
        b, "{\"PhoneNumberSet\":[\"+8613800000000\"],\"SmsSdkAppId\":\"1400000001\","
           "\"SignName\":\"两责\",\"TemplateId\":\"1001\",\"TemplateParamSet\":[\"a\"],"
           "\"SessionContext\":\"k1\"}");
    free(b);
    char *e = notifier_sms_e164("+85291234567");
    assert_string_equal(e, "+85291234567");
    free(e);
}

static void test_tc3_signature(void **state)
{
    (void)state;
    const char *body = "{\"PhoneNumberSet\":[\"+8613800000000\"],\"SmsSdkAppId\":\"1400000001\","
                       "\"SignName\":\"两责\",\"TemplateId\":\"1001\",\"TemplateParamSet\":[\"a\"],"
                       "\"SessionContext\":\"k1\"}";
    char auth[512];
    assert_int_equal(
        notifier_tc3_authorization(&s_acc, "SendSms", 1764400000, body, auth, sizeof auth), 0);
    assert_string_equal(
        auth, "TC3-HMAC-SHA256 Credential=AKIDtest/2025-11-29/sms/tc3_request, "
              "SignedHeaders=content-type;host;x-tc-action, "
              "Signature=d916e39fbc680ffb7f73e9cf60e5b398ab34ec8a94b297bf18988d0980f0d26b");
    char small[16];
    assert_int_equal(notifier_tc3_authorization(&s_acc, "SendSms", 1, body, small, sizeof small),
                     -1);
}

static void test_sms_classify(void **state)
{
    (void)state;
    char detail[200], *serial = NULL;
    const char *ok = "{\"Response\":{\"SendStatusSet\":[{\"SerialNo\":\"2028:1\",\"Code\":\"Ok\","
                     "\"Message\":\"send success\"}],\"RequestId\":\"r\"}}";
    assert_int_equal(notifier_sms_classify(200, ok, strlen(ok), &serial, detail, sizeof detail),
                     NT_OUT_OK);
    assert_string_equal(serial, "2028:1");
    free(serial);
    const char *bad = "{\"Response\":{\"SendStatusSet\":[{\"Code\":"
                      "\"InvalidParameterValue.IncorrectPhoneNumber\",\"Message\":\"x\"}]}}";
    assert_int_equal(notifier_sms_classify(200, bad, strlen(bad), &serial, detail, sizeof detail),
                     NT_OUT_PERMANENT);
    assert_null(serial);
    const char *lim =
        "{\"Response\":{\"Error\":{\"Code\":\"RequestLimitExceeded\",\"Message\":\"m\"}}}";
    assert_int_equal(notifier_sms_classify(200, lim, strlen(lim), &serial, detail, sizeof detail),
                     NT_OUT_TRANSIENT);
    assert_string_equal(detail, "RequestLimitExceeded: m");
    const char *auth = "{\"Response\":{\"Error\":{\"Code\":\"AuthFailure.SignatureFailure\"}}}";
    assert_int_equal(notifier_sms_classify(200, auth, strlen(auth), &serial, detail, sizeof detail),
                     NT_OUT_PERMANENT);
    assert_int_equal(notifier_sms_classify(502, "", 0, &serial, detail, sizeof detail),
                     NT_OUT_TRANSIENT);
    assert_int_equal(notifier_sms_classify(403, "", 0, &serial, detail, sizeof detail),
                     NT_OUT_PERMANENT);
    assert_int_equal(notifier_sms_classify(200, "<html>", 6, &serial, detail, sizeof detail),
                     NT_OUT_TRANSIENT);
    assert_int_equal(notifier_sms_code_outcome("InternalError.Timeout"), NT_OUT_TRANSIENT);
    assert_int_equal(notifier_sms_code_outcome("LimitExceeded.PhoneNumberDailyLimit"),
                     NT_OUT_TRANSIENT);
    assert_int_equal(notifier_sms_code_outcome("FailedOperation.TemplateIncorrectOrUnapproved"),
                     NT_OUT_PERMANENT);
}

static void test_template_ids(void **state)
{
    (void)state;
    char id[32];
    const char *spec = "ledger_reminder=1001, warning=1009,overdue_warning=1002";
    assert_int_equal(notifier_sms_template_id(spec, "warning", id, sizeof id), 0);
    assert_string_equal(id, "1009");
    assert_int_equal(notifier_sms_template_id(spec, "overdue_warning", id, sizeof id), 0);
    assert_string_equal(id, "1002");
    assert_int_equal(notifier_sms_template_id(spec, "warn", id, sizeof id), -1);
    assert_int_equal(notifier_sms_template_id("", "warning", id, sizeof id), -1);
    assert_int_equal(notifier_sms_template_id(spec, "ledger_reminder", id, 3), -1);
}

static void test_webhook(void **state)
{
    (void)state;
    char sig[65];
    notifier_webhook_signature("hook-secret", 1764400000, "{\"a\":1}", 7, sig);
    assert_string_equal(sig, "aa48d0eae64512a82e527714e4d1ac73108bc651b4c9b37911ee54bea9ee95a8");
    Lz__NotifyRequest r = LZ__NOTIFY_REQUEST__INIT;
    r.dedupe_key = "task:1:step:2";
    r.template_ = "cadre_notice";
    r.has_task_id = 1;
    r.task_id = 1;
    char *b = notifier_webhook_body(&r, "标题", "正文\"<");
    assert_non_null(strstr(b, "\"text\":\"正文\\\"<\""));
    assert_non_null(strstr(b, "\"task_id\":1"));
    assert_null(strstr(b, "business_id"));
    free(b);
    assert_int_equal(notifier_http_outcome(204), NT_OUT_OK);
    assert_int_equal(notifier_http_outcome(429), NT_OUT_TRANSIENT);
    assert_int_equal(notifier_http_outcome(503), NT_OUT_TRANSIENT);
    assert_int_equal(notifier_http_outcome(404), NT_OUT_PERMANENT);
}

static void test_email(void **state)
{
    (void)state;
    assert_true(notifier_email_valid("office@example.org"));
    assert_false(notifier_email_valid("office@"));
    assert_false(notifier_email_valid("a@b@c"));
    assert_false(notifier_email_valid("a b@c.d"));
    assert_false(notifier_email_valid("a@c.d\r\nRCPT TO:<x@y>"));
    char *m = notifier_email_message("from@x.cn", "to@y.cn", "提醒书", "<p>hi</p>", "k", 0);
    assert_non_null(strstr(m, "Subject: =?UTF-8?B?5o+Q6YaS5Lmm?=\r\n"));
    assert_non_null(strstr(m, "Date: Thu, 01 Jan 1970 08:00:00 +0800\r\n"));
    assert_non_null(strstr(m, "\r\n\r\nPHA+aGk8L3A+\r\n"));
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sms_body),     cmocka_unit_test(test_tc3_signature),
        cmocka_unit_test(test_sms_classify), cmocka_unit_test(test_template_ids),
        cmocka_unit_test(test_webhook),      cmocka_unit_test(test_email),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
