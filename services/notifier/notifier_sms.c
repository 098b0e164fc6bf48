/*
 * notifier_sms.c - Tencent Cloud SendSms: body, TC3-HMAC-SHA256 signature,
 * answer classification.  Pure; see notifier_sms.h.
 */
#include "notifier_sms.h"
#include "mem.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

char *notifier_sms_e164(const char *phone)
{
    if (phone && strlen(phone) == 11 && phone[0] == '1')
        return xasprintf("+86%s", phone);
    return xstrdup(phone ? phone : "");
}

char *notifier_sms_body(const sms_account_t *acc, const char *template_id, const char *phone,
                        const char *const *params, size_t n, const char *session)
{
    json_t *o = json_object();
    json_t *phones = json_array();
    char *e164 = notifier_sms_e164(phone);
    json_array_append_new(phones, json_string(e164));
    free(e164);
    json_object_set_new(o, "PhoneNumberSet", phones);
    json_object_set_new(o, "SmsSdkAppId", json_string(acc->sdk_app_id ? acc->sdk_app_id : ""));
    json_object_set_new(o, "SignName", json_string(acc->sign_name ? acc->sign_name : ""));
    json_object_set_new(o, "TemplateId", json_string(template_id ? template_id : ""));
    json_t *ps = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_string(params[i] ? params[i] : "");
        json_array_append_new(ps, v ? v : json_string(""));
    }
    json_object_set_new(o, "TemplateParamSet", ps);
    if (session)
        json_object_set_new(o, "SessionContext", json_string(session));
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!s)
        s = xstrdup("{}");
    return s;
}

static void s_hmac(const uint8_t *key, size_t klen, const char *msg, uint8_t out[32])
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, klen);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg, strlen(msg));
    crypto_auth_hmacsha256_final(&st, out);
}

static void s_sha256_hex(const char *msg, char hex[65])
{
    uint8_t h[32];
    crypto_hash_sha256(h, (const unsigned char *)msg, strlen(msg));
    sodium_bin2hex(hex, 65, h, sizeof h);
}

static void s_lower(const char *in, char *out, size_t len)
{
    size_t i = 0;
    for (; in[i] && i + 1 < len; i++)
        out[i] = (char)((in[i] >= 'A' && in[i] <= 'Z') ? in[i] + 32 : in[i]);
    out[i] = '\0';
}

int notifier_tc3_authorization(const sms_account_t *acc, const char *action, int64_t timestamp,
                               const char *body, char *out, size_t len)
{
    if (sodium_init() < 0)
        return -1;
    char action_lc[64], payload_hex[65], canon_hex[65], date[16];
    s_lower(action, action_lc, sizeof action_lc);
    time_t t = (time_t)timestamp;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(date, sizeof date, "%Y-%m-%d", &tm);
    s_sha256_hex(body, payload_hex);
    char *canon = xasprintf("POST\n/\n\ncontent-type:%s\nhost:%s\nx-tc-action:%s\n\n"
                            "content-type;host;x-tc-action\n%s",
                            SMS_CONTENT_TYPE, acc->host, action_lc, payload_hex);
    s_sha256_hex(canon, canon_hex);
    free(canon);
    char scope[64];
    snprintf(scope, sizeof scope, "%s/%s/tc3_request", date, SMS_SERVICE);
    char *to_sign =
        xasprintf("TC3-HMAC-SHA256\n%lld\n%s\n%s", (long long)timestamp, scope, canon_hex);
    char *k0 = xasprintf("TC3%s", acc->secret_key ? acc->secret_key : "");
    uint8_t kdate[32], kservice[32], ksigning[32], sig[32];
    s_hmac((const uint8_t *)k0, strlen(k0), date, kdate);
    s_hmac(kdate, 32, SMS_SERVICE, kservice);
    s_hmac(kservice, 32, "tc3_request", ksigning);
    s_hmac(ksigning, 32, to_sign, sig);
    sodium_memzero(k0, strlen(k0));
    free(k0);
    free(to_sign);
    char sig_hex[65];
    sodium_bin2hex(sig_hex, sizeof sig_hex, sig, sizeof sig);
    int n =
        snprintf(out, len,
                 "TC3-HMAC-SHA256 Credential=%s/%s, SignedHeaders=content-type;host;x-tc-action, "
                 "Signature=%s",
                 acc->secret_id ? acc->secret_id : "", scope, sig_hex);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

notifier_outcome_t notifier_sms_code_outcome(const char *code)
{
    if (!code)
        return NT_OUT_PERMANENT;
    if (!strcmp(code, "Ok"))
        return NT_OUT_OK;
    static const char *const transient[] = {"InternalError", "LimitExceeded",
                                            "RequestLimitExceeded", "ResourceUnavailable"};
    for (size_t i = 0; i < sizeof transient / sizeof transient[0]; i++)
        if (!strncmp(code, transient[i], strlen(transient[i])))
            return NT_OUT_TRANSIENT;
    return NT_OUT_PERMANENT;
}

notifier_outcome_t notifier_sms_classify(long http_status, const char *body, size_t body_len,
                                         char **serial, char *detail, size_t dlen)
{
    *serial = NULL;
    if (http_status >= 500 || http_status == 429 || http_status == 408) {
        snprintf(detail, dlen, "http %ld", http_status);
        return NT_OUT_TRANSIENT;
    }
    if (http_status < 200 || http_status > 299) {
        snprintf(detail, dlen, "http %ld", http_status);
        return NT_OUT_PERMANENT;
    }
    json_error_t err;
    json_t *root = body ? json_loadb(body, body_len, 0, &err) : NULL;
    json_t *resp = root ? json_object_get(root, "Response") : NULL;
    if (!json_is_object(resp)) {
        snprintf(detail, dlen, "answer without Response");
        json_decref(root);
        return NT_OUT_TRANSIENT; /* a proxy's page, a cut answer: try again */
    }
    json_t *error = json_object_get(resp, "Error");
    const char *code, *msg;
    if (json_is_object(error)) {
        code = json_string_value(json_object_get(error, "Code"));
        msg = json_string_value(json_object_get(error, "Message"));
    } else {
        json_t *set = json_object_get(resp, "SendStatusSet");
        json_t *first = json_is_array(set) ? json_array_get(set, 0) : NULL;
        code = first ? json_string_value(json_object_get(first, "Code")) : NULL;
        msg = first ? json_string_value(json_object_get(first, "Message")) : NULL;
        const char *sn = first ? json_string_value(json_object_get(first, "SerialNo")) : NULL;
        if (sn && code && !strcmp(code, "Ok"))
            *serial = xstrdup(sn);
    }
    snprintf(detail, dlen, "%s: %s", code ? code : "no code", msg ? msg : "");
    notifier_outcome_t o = code ? notifier_sms_code_outcome(code) : NT_OUT_TRANSIENT;
    json_decref(root);
    return o;
}

int notifier_sms_template_id(const char *spec, const char *name, char *out, size_t len)
{
    size_t nl = strlen(name);
    for (const char *p = spec ? spec : ""; *p;) {
        while (*p == ',' || *p == ' ')
            p++;
        const char *end = strchr(p, ',');
        size_t item = end ? (size_t)(end - p) : strlen(p);
        if (item > nl + 1 && !strncmp(p, name, nl) && p[nl] == '=') {
            size_t vl = item - nl - 1;
            if (vl + 1 > len)
                return -1;
            memcpy(out, p + nl + 1, vl);
            out[vl] = '\0';
            return 0;
        }
        p += item;
    }
    return -1;
}
