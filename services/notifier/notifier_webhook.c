/*
 * notifier_webhook.c - signed JSON for webhook receivers.  Pure; see
 * notifier_webhook.h.
 */
#include "notifier_webhook.h"
#include "mem.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

void notifier_webhook_signature(const char *secret, int64_t timestamp, const char *body,
                                size_t body_len, char out[65])
{
    char ts[24];
    snprintf(ts, sizeof ts, "%lld.", (long long)timestamp);
    crypto_auth_hmacsha256_state st;
    uint8_t mac[32];
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts, strlen(ts));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, body_len);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_bin2hex(out, 65, mac, sizeof mac);
}

static void s_set_id(json_t *o, const char *k, protobuf_c_boolean has, int64_t v)
{
    if (has)
        json_object_set_new(o, k, json_integer(v));
}

static void s_set_str(json_t *o, const char *k, const char *v)
{
    json_t *s = v ? json_string(v) : NULL;
    if (s)
        json_object_set_new(o, k, s);
}

char *notifier_webhook_body(const Lz__NotifyRequest *req, const char *title, const char *text)
{
    json_t *o = json_object();
    s_set_str(o, "dedupe_key", req->dedupe_key);
    s_set_str(o, "template", req->template_);
    s_set_str(o, "to", req->to);
    s_set_str(o, "to_name", req->to_name);
    json_object_set_new(o, "urgent", json_boolean(req->has_urgent && req->urgent));
    s_set_str(o, "title", title);
    s_set_str(o, "text", text);
    s_set_id(o, "business_id", req->has_business_id, req->business_id);
    s_set_id(o, "cadre_id", req->has_cadre_id, req->cadre_id);
    s_set_str(o, "region_code", req->region_code);
    s_set_id(o, "task_id", req->has_task_id, req->task_id);
    s_set_id(o, "step", req->has_step, req->step);
    s_set_id(o, "letter_id", req->has_letter_id, req->letter_id);
    json_t *ps = json_object();
    for (size_t i = 0; i < req->n_params; i++)
        if (req->params[i]->key)
            s_set_str(ps, req->params[i]->key, req->params[i]->value ? req->params[i]->value : "");
    json_object_set_new(o, "params", ps);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s ? s : xstrdup("{}");
}

notifier_outcome_t notifier_http_outcome(long http_status)
{
    if (http_status >= 200 && http_status <= 299)
        return NT_OUT_OK;
    if (http_status == 408 || http_status == 429 || http_status >= 500)
        return NT_OUT_TRANSIENT;
    return NT_OUT_PERMANENT;
}
