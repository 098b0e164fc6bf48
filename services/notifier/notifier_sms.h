/*
 * notifier_sms.h - Tencent Cloud SMS (API 2021-01-11, action SendSms) with
 * TC3-HMAC-SHA256 request signing, and its delivery receipts.
 *
 * The request is a JSON POST to the provider's URL with the headers
 * X-TC-Action, X-TC-Version, X-TC-Timestamp, X-TC-Region and an
 * Authorization header signed over content-type, host and x-tc-action.  The
 * answer's Response.SendStatusSet[0].Code is "Ok" when the message was
 * accepted; Response.Error.Code when the whole request was refused.  The
 * dedupe key travels as SessionContext, so the provider's records and its
 * receipts name the delivery.  Pure functions (no I/O).
 */
#ifndef LZ_NOTIFIER_SMS_H
#define LZ_NOTIFIER_SMS_H

#include "notifier_policy.h"

#include <stddef.h>
#include <stdint.h>

#define SMS_ACTION  "SendSms"
#define SMS_VERSION "2021-01-11"
#define SMS_SERVICE "sms"

typedef struct {
    const char *secret_id;
    const char *secret_key;
    const char *host;       /* the Host header, e.g. sms.tencentcloudapi.com */
    const char *sdk_app_id; /* SmsSdkAppId */
    const char *sign_name;  /* SignName */
    const char *region;     /* X-TC-Region, e.g. ap-guangzhou */
} sms_account_t;

/* Return "+86" + phone for an 11-digit mainland number, else phone as given;
 * caller frees. */
char *notifier_sms_e164(const char *phone);

/*
 * Return the SendSms JSON body (caller frees): PhoneNumberSet [phone in E.164],
 * SmsSdkAppId, SignName, TemplateId, TemplateParamSet (n values, each already
 * escaped for SMS by the caller), SessionContext.
 */
char *notifier_sms_body(const sms_account_t *acc, const char *template_id, const char *phone,
                        const char *const *params, size_t n, const char *session);

/*
 * Write the Authorization header value for a POST of body at unix time
 * timestamp (seconds) to out (len >= 512): TC3-HMAC-SHA256 Credential=...,
 * SignedHeaders=content-type;host;x-tc-action, Signature=<hex>.  0, or -1 when
 * out is too small.
 */
int notifier_tc3_authorization(const sms_account_t *acc, const char *action, int64_t timestamp,
                               const char *body, char *out, size_t len);

/* The content type the signature covers (sent as it is). */
#define SMS_CONTENT_TYPE "application/json; charset=utf-8"

/*
 * Classify the provider's answer: HTTP status and body.  Sets *serial (the
 * SerialNo, caller frees, may stay NULL) and writes the provider's code and
 * message to detail.  2xx with SendStatusSet Code "Ok": NT_OUT_OK; 5xx, 429,
 * InternalError.*, LimitExceeded.*, RequestLimitExceeded*: NT_OUT_TRANSIENT;
 * anything else (invalid number, bad signature, unknown template):
 * NT_OUT_PERMANENT.
 */
notifier_outcome_t notifier_sms_classify(long http_status, const char *body, size_t body_len,
                                         char **serial, char *detail, size_t dlen);

/* Returns the outcome of one provider code ("Ok", "InternalError.Timeout", ...). */
notifier_outcome_t notifier_sms_code_outcome(const char *code);

/*
 * Find the template id for name in spec "name=id,name=id,..." (the
 * LZ_SMS_TEMPLATE_IDS setting) and copy it to out; 0, or -1 when absent.
 */
int notifier_sms_template_id(const char *spec, const char *name, char *out, size_t len);

#endif
