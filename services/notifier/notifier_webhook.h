/*
 * notifier_webhook.h - the webhook channel: a JSON POST signed with
 * HMAC-SHA256 over timestamp + "." + body, sent as the headers
 * X-Lz-Timestamp (unix seconds) and X-Lz-Signature (lower-case hex), with the
 * dedupe key as X-Lz-Dedupe-Key so a receiver can drop a repeat.  Pure.
 */
#ifndef LZ_NOTIFIER_WEBHOOK_H
#define LZ_NOTIFIER_WEBHOOK_H

#include "notifier_policy.h"
#include "notify.pb-c.h"

#include <stddef.h>
#include <stdint.h>

/* Write the hex signature (64 digits and NUL) of body at timestamp with secret to out. */
void notifier_webhook_signature(const char *secret, int64_t timestamp, const char *body,
                                size_t body_len, char out[65]);

/*
 * Return the JSON body for req with its rendered title and text (caller
 * frees): dedupe_key, template, to, to_name, urgent, title, text,
 * business_id, cadre_id, region_code, task_id, step, letter_id, params {}.
 */
char *notifier_webhook_body(const Lz__NotifyRequest *req, const char *title, const char *text);

/* 2xx: ok; 408, 429 and 5xx: transient; other 4xx and the rest: permanent. */
notifier_outcome_t notifier_http_outcome(long http_status);

#endif
