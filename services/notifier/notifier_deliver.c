/*
 * notifier_deliver.c - the deliverer: from the request stream to the
 * provider, once per dedupe key.
 *
 * 1. Ingest.  Each lz.NotifyRequest read from lz:stream:<topic> (consumer
 *    group "notifier") is recorded in one statement: its dedupe key goes
 *    into notify_keys (unique), and only a new key makes a deliveries row
 *    (status queued).  The delivery id is then put in the sorted set
 *    <prefix>:due scored by when it is due, and only then is the stream
 *    entry acknowledged.  A repeat of the key finds the row and re-adds it
 *    to the set if it is still open (ZADD NX), so a crash between the
 *    insert and the ZADD loses nothing.
 * 2. Claim.  A Lua script takes the due ids and re-scores them now + lease:
 *    any number of notifier processes claim disjoint ids, and the ids of a
 *    process that dies come due again when the lease runs out.
 * 3. Gate.  Quiet hours and the daily SMS cap (notifier_policy.c; the cap
 *    counted atomically in <prefix>:sms:<day>:<phone> on a first attempt)
 *    hold a message: status held, next_at, re-scored.
 * 4. Send.  status sending, attempts + 1; the transfer joins a curl multi
 *    handle (up to LZ_NOTIFY_INFLIGHT at once).  The dedupe key goes with it
 *    (SessionContext, X-Lz-Dedupe-Key, Message-ID).
 * 5. Finish.  The attempt is recorded with its outcome and the delivery's
 *    status set in one statement; then the id leaves the set (sent, failed,
 *    dead) or is re-scored after a back-off with jitter (transient).
 *
 * A process killed after the provider accepted a message but before step 5
 * committed leaves it "sending"; when its lease runs out another process
 * sends it again with the same dedupe key (at least once towards the
 * provider; a provider that honours the key drops the repeat).
 */
#include "notifier_email.h"
#include "notifier_render.h"
#include "notifier_server.h"
#include "notifier_webhook.h"
#include "notify.pb-c.h"

#include "clock.h"
#include "log.h"
#include "mem.h"
#include "outbox.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ANSWER_MAX    (64 * 1024) /* bytes of a provider's answer kept */
#define TEMPLATES_MAX 64
#define DETAIL_MAX    300

static const char *s_claim_lua =
    "local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, "
    "tonumber(ARGV[2])) "
    "for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], ARGV[3], id) end "
    "return ids";

/* Count one SMS to a phone today unless over the cap (urgent ones always);
 * returns the count before this one. */
static const char *s_cap_lua = "local n = tonumber(redis.call('GET', KEYS[1]) or '0') "
                               "if ARGV[1] == '1' or n < tonumber(ARGV[2]) then "
                               "redis.call('INCR', KEYS[1]) redis.call('EXPIRE', KEYS[1], 172800) "
                               "end return n";

typedef struct {
    char name[64];
    char *title;
    char *body;
} s_template_t;

typedef struct s_job_s {
    struct s_job_s *next;
    int64_t id;
    int attempt;
    char channel[16];
    CURL *easy;
    struct curl_slist *headers;
    struct curl_slist *rcpt;
    char *body; /* request body or e-mail message; owned */
    size_t body_len, body_off;
    char *answer;
    size_t answer_len;
    int64_t t0_ms;
    char errbuf[CURL_ERROR_SIZE];
} s_job_t;

typedef struct {
    const notifier_conf_t *conf;
    pg_t *pg;
    rds_t *rds;
    outbox_consumer_t *consumer;
    CURLM *multi;
    s_job_t *jobs;
    int inflight;
    char due_key[160];
    s_template_t templates[TEMPLATES_MAX];
    size_t ntemplates;
    int64_t templates_at_ms;
    uint64_t sent, failed, dead, retried, held;
    /* one consume round is recorded in one transaction (see s_ingest_flush) */
    char **acks; /* stream entry ids to acknowledge after the commit */
    size_t nacks, nacks_kept, acks_cap;
    char (*sched)[24]; /* delivery ids to put in the due set after the commit */
    int64_t *sched_at;
    size_t nsched, sched_cap;
    bool round_failed;
} s_deliverer_t;

int64_t notifier_now_ms(const notifier_conf_t *conf)
{
    return clock_now_ms() + conf->clock_offset_s * 1000;
}

/* ---- templates ---------------------------------------------------------------------------- */

static void s_templates_clear(s_deliverer_t *d)
{
    for (size_t i = 0; i < d->ntemplates; i++) {
        free(d->templates[i].title);
        free(d->templates[i].body);
    }
    d->ntemplates = 0;
}

/* Reload the templates when the cache is older than its ttl; 0 or -1 (cache kept). */
static int s_templates_refresh(s_deliverer_t *d, int64_t mono_ms)
{
    if (d->templates_at_ms && mono_ms - d->templates_at_ms < d->conf->template_ttl_ms)
        return 0;
    PGresult *res =
        pg_query_prepared(d->pg, "nt_templates",
                          "SELECT name, title, body FROM notify_templates ORDER BY name", 0, NULL);
    if (!res)
        return -1;
    s_templates_clear(d);
    for (int i = 0; i < PQntuples(res) && d->ntemplates < TEMPLATES_MAX; i++) {
        s_template_t *t = &d->templates[d->ntemplates++];
        snprintf(t->name, sizeof t->name, "%s", pg_str(res, i, 0));
        t->title = xstrdup(pg_str(res, i, 1));
        t->body = xstrdup(pg_str(res, i, 2));
    }
    pg_free(&res);
    d->templates_at_ms = mono_ms;
    return 0;
}

static const s_template_t *s_template(const s_deliverer_t *d, const char *name)
{
    for (size_t i = 0; i < d->ntemplates; i++)
        if (!strcmp(d->templates[i].name, name))
            return &d->templates[i];
    return NULL;
}

/* ---- ingest ------------------------------------------------------------------------------- */

static bool s_channel_valid(const char *c)
{
    return c && (!strcmp(c, "sms") || !strcmp(c, "webhook") || !strcmp(c, "email"));
}

static bool s_name_valid(const char *s)
{
    if (!s || !*s || strlen(s) > 63 || !(s[0] >= 'a' && s[0] <= 'z'))
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return false;
    return true;
}

static int s_schedule(s_deliverer_t *d, const char *id, int64_t at_ms, bool only_new)
{
    return rds_do(d->rds, only_new ? "ZADD %s NX %lld %s" : "ZADD %s %lld %s", d->due_key,
                  (long long)at_ms, id);
}

static void s_ack_later(s_deliverer_t *d, const char *stream_id)
{
    if (d->nacks == d->acks_cap) {
        d->acks_cap = d->acks_cap ? 2 * d->acks_cap : 256;
        d->acks = xrealloc(d->acks, d->acks_cap * sizeof *d->acks);
    }
    d->acks[d->nacks++] = xstrdup(stream_id);
}

static void s_schedule_later(s_deliverer_t *d, const char *id, int64_t at_ms)
{
    if (d->nsched == d->sched_cap) {
        d->sched_cap = d->sched_cap ? 2 * d->sched_cap : 256;
        d->sched = xrealloc(d->sched, d->sched_cap * sizeof *d->sched);
        d->sched_at = xrealloc(d->sched_at, d->sched_cap * sizeof *d->sched_at);
    }
    snprintf(d->sched[d->nsched], sizeof d->sched[0], "%s", id);
    d->sched_at[d->nsched++] = at_ms;
}

/* Forget the round's work after a rollback (dead-lettered entries stay to be acknowledged). */
static void s_round_abandon(s_deliverer_t *d)
{
    pg_rollback(d->pg);
    for (size_t i = d->nacks_kept; i < d->nacks; i++)
        free(d->acks[i]);
    d->nacks = d->nacks_kept;
    d->nsched = 0;
    d->round_failed = true;
}

/* Move an entry that can never be delivered to lz:stream:<topic>:dead (acknowledged later). */
static void s_refuse(s_deliverer_t *d, const outbox_event_t *ev, const char *why)
{
    char dead[160], id[24];
    snprintf(dead, sizeof dead, "lz:stream:%s:dead", d->conf->topic);
    snprintf(id, sizeof id, "%" PRId64, ev->outbox_id);
    if (rds_do(d->rds, "XADD %s MAXLEN ~ 100000 * id %s key %s payload %b error %s", dead, id,
               ev->key, ev->payload, ev->payload_len, why) != 0)
        return; /* stays pending, tried again */
    /* keep it out of the part a rollback forgets */
    s_ack_later(d, ev->stream_id);
    if (d->nacks_kept + 1 < d->nacks) {
        char *t = d->acks[d->nacks_kept];
        d->acks[d->nacks_kept] = d->acks[d->nacks - 1];
        d->acks[d->nacks - 1] = t;
    }
    d->nacks_kept++;
}

/*
 * Record one request inside the round's transaction.  Always answers -1,
 * so outbox_consume leaves the entry pending: s_ingest_flush commits the
 * round and only then acknowledges its entries, so a crash between the two
 * makes them come back (and the dedupe key makes that harmless).
 */
static int s_ingest(void *ctx, const outbox_event_t *ev)
{
    s_deliverer_t *d = ctx;
    if (d->round_failed)
        return -1;
    Lz__NotifyRequest *r = lz__notify_request__unpack(NULL, ev->payload_len, ev->payload);
    const char *why = NULL;
    if (!r)
        why = "payload is not an lz.NotifyRequest";
    else if (!r->dedupe_key || !r->dedupe_key[0] || strlen(r->dedupe_key) > 200)
        why = "dedupe_key is missing or longer than 200 bytes";
    else if (!s_name_valid(r->template_))
        why = "template is missing or not a template name";
    else if (!s_channel_valid(r->channel))
        why = "channel must be sms, webhook or email";
    else if (!r->to || !r->to[0] || strlen(r->to) > 500)
        why = "to is missing or longer than 500 bytes";
    if (why) {
        log_warn("notify request %" PRId64 " refused: %s", ev->outbox_id, why);
        s_refuse(d, ev, why);
        if (r)
            lz__notify_request__free_unpacked(r, NULL);
        return -1;
    }
    if (!pg_in_transaction(d->pg) && pg_begin(d->pg) != 0) {
        s_round_abandon(d);
        lz__notify_request__free_unpacked(r, NULL);
        return -1;
    }
    size_t hlen = 2 * ev->payload_len + 3;
    char *hex = xmalloc(hlen);
    hex[0] = '\\';
    hex[1] = 'x';
    sodium_bin2hex(hex + 2, hlen - 2, ev->payload, ev->payload_len);
    char bid[24], cid[24], tid[24], lid[24], now[24];
    snprintf(bid, sizeof bid, "%" PRId64, r->business_id);
    snprintf(cid, sizeof cid, "%" PRId64, r->cadre_id);
    snprintf(tid, sizeof tid, "%" PRId64, r->task_id);
    snprintf(lid, sizeof lid, "%" PRId64, r->letter_id);
    int64_t now_ms = notifier_now_ms(d->conf);
    snprintf(now, sizeof now, "%" PRId64, now_ms);
    const char *params[] = {r->dedupe_key,
                            r->template_,
                            r->channel,
                            r->to,
                            r->has_urgent && r->urgent ? "true" : "false",
                            r->has_business_id ? bid : NULL,
                            r->has_cadre_id ? cid : NULL,
                            r->region_code && strlen(r->region_code) == 12 ? r->region_code : NULL,
                            r->has_task_id ? tid : NULL,
                            r->has_letter_id ? lid : NULL,
                            hex,
                            now};
    PGresult *res = pg_query_prepared(
        d->pg, "nt_ingest",
        "WITH k AS (INSERT INTO notify_keys (dedupe_key, delivery_id) VALUES ($1, "
        "nextval('deliveries_id_seq')) ON CONFLICT DO NOTHING RETURNING delivery_id) "
        "INSERT INTO deliveries (id, dedupe_key, template, channel, recipient, urgent, "
        "business_id, cadre_id, region_code, task_id, letter_id, request, next_at) "
        "SELECT k.delivery_id, $1, $2, $3, $4, $5::bool, $6::bigint, $7::bigint, $8, $9::bigint, "
        "$10::bigint, $11::bytea, to_timestamp($12::double precision / 1000) FROM k RETURNING id",
        12, params);
    free(hex);
    if (!res)
        goto failed;
    if (PQntuples(res) == 1) {
        s_schedule_later(d, pg_str(res, 0, 0), now_ms);
    } else {
        /* seen before: make sure an open one is scheduled (a crash may have come between) */
        pg_free(&res);
        const char *kp[] = {r->dedupe_key};
        res = pg_query_prepared(d->pg, "nt_ingest_seen",
                                "SELECT d.id, d.status, (extract(epoch FROM coalesce(d.next_at, "
                                "now())) * 1000)::bigint FROM notify_keys k JOIN deliveries d ON "
                                "d.id = k.delivery_id WHERE k.dedupe_key = $1",
                                1, kp);
        if (!res)
            goto failed;
        log_debug("notify request %s seen before", r->dedupe_key);
        if (PQntuples(res) == 1 && !notifier_status_final(pg_str(res, 0, 1)))
            s_schedule_later(d, pg_str(res, 0, 0), pg_int(res, 0, 2));
    }
    s_ack_later(d, ev->stream_id);
    pg_free(&res);
    lz__notify_request__free_unpacked(r, NULL);
    return -1;
failed:
    outbox_consumer_set_error(d->consumer, "database unavailable");
    s_round_abandon(d);
    lz__notify_request__free_unpacked(r, NULL);
    return -1;
}

/* Commit the round, schedule its deliveries, then acknowledge its entries. */
static void s_ingest_flush(s_deliverer_t *d)
{
    if (pg_in_transaction(d->pg) && pg_commit(d->pg) != 0)
        s_round_abandon(d);
    for (size_t i = 0; i < d->nsched; i++)
        rds_append(d->rds, "ZADD %s NX %lld %s", d->due_key, (long long)d->sched_at[i],
                   d->sched[i]);
    bool scheduled = true;
    for (size_t i = 0; i < d->nsched; i++) {
        redisReply *r = rds_get_reply(d->rds);
        if (!r)
            scheduled = false;
        rds_free(&r);
    }
    if (d->nacks && scheduled) {
        char stream[160];
        snprintf(stream, sizeof stream, "lz:stream:%s", d->conf->topic);
        const char **argv = xcalloc(d->nacks + 3, sizeof *argv);
        argv[0] = "XACK";
        argv[1] = stream;
        argv[2] = "notifier";
        for (size_t i = 0; i < d->nacks; i++)
            argv[3 + i] = d->acks[i];
        redisReply *r = rds_cmd_argv(d->rds, (int)d->nacks + 3, argv, NULL);
        rds_free(&r);
        free(argv);
    }
    for (size_t i = 0; i < d->nacks; i++)
        free(d->acks[i]);
    d->nacks = d->nacks_kept = d->nsched = 0;
    d->round_failed = false;
}

/* ---- recording outcomes ------------------------------------------------------------------- */

/* Record attempt (outcome, http status, detail) and set the delivery's status; 0 or -1. */
static int s_record(s_deliverer_t *d, int64_t id, int attempt, const char *outcome, long http,
                    const char *detail, int64_t duration_ms, const char *status,
                    const char *provider_ref, int64_t next_at_ms)
{
    char sid[24], sat[16], shttp[16], sdur[24], snext[24];
    snprintf(sid, sizeof sid, "%" PRId64, id);
    snprintf(sat, sizeof sat, "%d", attempt);
    snprintf(shttp, sizeof shttp, "%ld", http);
    snprintf(sdur, sizeof sdur, "%" PRId64, duration_ms);
    snprintf(snext, sizeof snext, "%" PRId64, next_at_ms);
    const char *p[] = {sid,  sat,    outcome,      http ? shttp : NULL,      detail,
                       sdur, status, provider_ref, next_at_ms ? snext : NULL};
    return pg_exec(d->pg,
                   "WITH a AS (INSERT INTO delivery_attempts (delivery_id, attempt, outcome, "
                   "http_status, detail, duration_ms) VALUES ($1::bigint, $2::int, $3, $4::int, "
                   "$5, $6::int)) "
                   "UPDATE deliveries SET status = $7, "
                   "last_error = CASE WHEN $3 = 'ok' THEN NULL ELSE $5 END, "
                   "provider_ref = coalesce($8, provider_ref), "
                   "sent_at = CASE WHEN $7 = 'sent' THEN now() ELSE sent_at END, "
                   "next_at = to_timestamp($9::double precision / 1000), updated_at = now() "
                   "WHERE id = $1::bigint",
                   9, p);
}

static void s_unschedule(s_deliverer_t *d, int64_t id)
{
    rds_do(d->rds, "ZREM %s %lld", d->due_key, (long long)id);
}

static void s_reschedule(s_deliverer_t *d, int64_t id, int64_t at_ms)
{
    char sid[24];
    snprintf(sid, sizeof sid, "%" PRId64, id);
    s_schedule(d, sid, at_ms, false);
}

/*
 * Record attempt number attempt of delivery id with outcome; sets *next and
 * *at (when a retry is due).  0, or -1 (the delivery stays "sending" and
 * its lease brings it back).
 */
static int s_settle_record(s_deliverer_t *d, int64_t id, int attempt, notifier_outcome_t outcome,
                           long http, const char *detail, int64_t duration_ms,
                           const char *provider_ref, notifier_next_t *next, int64_t *at)
{
    const notifier_conf_t *c = d->conf;
    *next = notifier_after_attempt(&c->policy, outcome, attempt);
    *at = 0;
    if (*next == NT_NEXT_RETRY)
        *at = notifier_now_ms(c) + notifier_backoff_ms(&c->policy, attempt, randombytes_random());
    return s_record(d, id, attempt, notifier_outcome_name(outcome), http, detail, duration_ms,
                    notifier_next_status(*next), provider_ref, *at);
}

/* After the record is committed: out of the due set, or back in it for a retry. */
static void s_settle_schedule(s_deliverer_t *d, int64_t id, int attempt, notifier_next_t next,
                              int64_t at, const char *detail)
{
    switch (next) {
    case NT_NEXT_SENT:
        d->sent++;
        s_unschedule(d, id);
        break;
    case NT_NEXT_RETRY:
        d->retried++;
        s_reschedule(d, id, at);
        break;
    case NT_NEXT_FAILED:
        d->failed++;
        log_warn("delivery %" PRId64 " failed: %s", id, detail);
        s_unschedule(d, id);
        break;
    case NT_NEXT_DEAD:
        d->dead++;
        log_warn("delivery %" PRId64 " dead after %d attempts: %s", id, attempt, detail);
        s_unschedule(d, id);
        break;
    }
}

/* Settle one attempt on its own (record, then schedule). */
static void s_settle(s_deliverer_t *d, int64_t id, int attempt, notifier_outcome_t outcome,
                     long http, const char *detail, int64_t duration_ms, const char *provider_ref)
{
    notifier_next_t next;
    int64_t at;
    if (s_settle_record(d, id, attempt, outcome, http, detail, duration_ms, provider_ref, &next,
                        &at) == 0)
        s_settle_schedule(d, id, attempt, next, at, detail);
}

/* ---- sending ------------------------------------------------------------------------------ */

static size_t s_write_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
    s_job_t *j = ud;
    size_t n = size * nmemb;
    if (j->answer_len + n > ANSWER_MAX)
        return n; /* keep the beginning only */
    j->answer = xrealloc(j->answer, j->answer_len + n + 1);
    memcpy(j->answer + j->answer_len, ptr, n);
    j->answer_len += n;
    j->answer[j->answer_len] = '\0';
    return n;
}

static size_t s_read_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
    s_job_t *j = ud;
    size_t n = size * nmemb, left = j->body_len - j->body_off;
    if (n > left)
        n = left;
    memcpy(ptr, j->body + j->body_off, n);
    j->body_off += n;
    return n;
}

static void s_job_free(s_job_t *j)
{
    if (!j)
        return;
    if (j->easy)
        curl_easy_cleanup(j->easy);
    curl_slist_free_all(j->headers);
    curl_slist_free_all(j->rcpt);
    free(j->body);
    free(j->answer);
    free(j);
}

/* Build the key/value list of req's params plus to_name. */
static render_kv_t *s_kv(const Lz__NotifyRequest *r, size_t *n)
{
    render_kv_t *kv = xcalloc(r->n_params + 1, sizeof *kv);
    size_t k = 0;
    for (size_t i = 0; i < r->n_params; i++)
        if (r->params[i]->key) {
            kv[k].key = r->params[i]->key;
            kv[k++].value = r->params[i]->value ? r->params[i]->value : "";
        }
    kv[k].key = "to_name";
    kv[k++].value = r->to_name ? r->to_name : "";
    *n = k;
    return kv;
}

/* Prepare j's transfer for req; 0, or -1 with a permanent reason in why. */
static int s_prepare(s_deliverer_t *d, s_job_t *j, const Lz__NotifyRequest *r,
                     const s_template_t *t, char *why, size_t wlen)
{
    const notifier_conf_t *c = d->conf;
    size_t nkv;
    render_kv_t *kv = s_kv(r, &nkv);
    CURL *e = j->easy;
    char hdr[640];
    int rc = -1;
    if (!strcmp(r->channel, "sms")) {
        char tid[64];
        if (notifier_sms_template_id(c->sms_templates, r->template_, tid, sizeof tid) != 0) {
            snprintf(why, wlen, "no SMS template id for %s (LZ_SMS_TEMPLATE_IDS)", r->template_);
            goto out;
        }
        char names[RENDER_PARAMS_MAX][RENDER_NAME_MAX + 1];
        size_t np = notifier_template_params(t->body, names, RENDER_PARAMS_MAX);
        char *vals[RENDER_PARAMS_MAX];
        for (size_t i = 0; i < np; i++) {
            const char *v = "";
            for (size_t k = 0; k < nkv; k++)
                if (!strcmp(kv[k].key, names[i])) {
                    v = kv[k].value;
                    break;
                }
            vals[i] = notifier_escape(v, RENDER_SMS);
        }
        j->body =
            notifier_sms_body(&c->sms, tid, r->to, (const char *const *)vals, np, r->dedupe_key);
        for (size_t i = 0; i < np; i++)
            free(vals[i]);
        j->body_len = strlen(j->body);
        int64_t ts = clock_now_s(); /* the provider checks the real clock */
        char auth[512];
        notifier_tc3_authorization(&c->sms, SMS_ACTION, ts, j->body, auth, sizeof auth);
        snprintf(hdr, sizeof hdr, "Authorization: %s", auth);
        j->headers = curl_slist_append(j->headers, hdr);
        j->headers = curl_slist_append(j->headers, "Content-Type: " SMS_CONTENT_TYPE);
        snprintf(hdr, sizeof hdr, "Host: %s", c->sms_host);
        j->headers = curl_slist_append(j->headers, hdr);
        j->headers = curl_slist_append(j->headers, "X-TC-Action: " SMS_ACTION);
        j->headers = curl_slist_append(j->headers, "X-TC-Version: " SMS_VERSION);
        snprintf(hdr, sizeof hdr, "X-TC-Timestamp: %" PRId64, ts);
        j->headers = curl_slist_append(j->headers, hdr);
        snprintf(hdr, sizeof hdr, "X-TC-Region: %s", c->sms.region);
        j->headers = curl_slist_append(j->headers, hdr);
        j->headers = curl_slist_append(j->headers, "Expect:");
        curl_easy_setopt(e, CURLOPT_URL, c->sms_url);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, j->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)j->body_len);
    } else if (!strcmp(r->channel, "webhook")) {
        if (strncmp(r->to, "http://", 7) != 0 && strncmp(r->to, "https://", 8) != 0) {
            snprintf(why, wlen, "webhook address must be an http(s) URL");
            goto out;
        }
        char *text = notifier_render(t->body, kv, nkv, RENDER_PLAIN);
        j->body = notifier_webhook_body(r, t->title, text);
        free(text);
        j->body_len = strlen(j->body);
        int64_t ts = clock_now_s();
        char sig[65];
        notifier_webhook_signature(c->webhook_secret, ts, j->body, j->body_len, sig);
        snprintf(hdr, sizeof hdr, "X-Lz-Timestamp: %" PRId64, ts);
        j->headers = curl_slist_append(j->headers, hdr);
        snprintf(hdr, sizeof hdr, "X-Lz-Signature: %s", sig);
        j->headers = curl_slist_append(j->headers, hdr);
        snprintf(hdr, sizeof hdr, "X-Lz-Dedupe-Key: %.200s", r->dedupe_key);
        j->headers = curl_slist_append(j->headers, hdr);
        j->headers = curl_slist_append(j->headers, "Content-Type: application/json");
        j->headers = curl_slist_append(j->headers, "Expect:");
        curl_easy_setopt(e, CURLOPT_URL, r->to);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, j->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)j->body_len);
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    } else {
        if (!notifier_email_valid(r->to)) {
            snprintf(why, wlen, "not an e-mail address");
            goto out;
        }
        char *html = notifier_render(t->body, kv, nkv, RENDER_HTML);
        char *page = notifier_html_page(t->title, html);
        free(html);
        j->body = notifier_email_message(c->smtp_from, r->to, t->title, page, r->dedupe_key,
                                         notifier_now_ms(c));
        free(page);
        j->body_len = strlen(j->body);
        j->rcpt = curl_slist_append(NULL, r->to);
        curl_easy_setopt(e, CURLOPT_URL, c->smtp_url);
        curl_easy_setopt(e, CURLOPT_MAIL_FROM, c->smtp_from);
        curl_easy_setopt(e, CURLOPT_MAIL_RCPT, j->rcpt);
        curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(e, CURLOPT_READFUNCTION, s_read_cb);
        curl_easy_setopt(e, CURLOPT_READDATA, j);
        if (c->smtp_user[0]) {
            curl_easy_setopt(e, CURLOPT_USERNAME, c->smtp_user);
            curl_easy_setopt(e, CURLOPT_PASSWORD, c->smtp_password);
        }
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, j->headers);
    rc = 0;
out:
    free(kv);
    return rc;
}

/* Claim-time work for delivery id: gate, mark sending, start the transfer. */
static void s_start(s_deliverer_t *d, int64_t id)
{
    const notifier_conf_t *c = d->conf;
    char sid[24];
    snprintf(sid, sizeof sid, "%" PRId64, id);
    const char *p[] = {sid};
    PGresult *res = pg_query_prepared(d->pg, "nt_load",
                                      "SELECT status, attempts, encode(request, 'hex') FROM "
                                      "deliveries WHERE id = $1::bigint",
                                      1, p);
    if (!res)
        return; /* the lease brings it back */
    if (PQntuples(res) != 1 || notifier_status_final(pg_str(res, 0, 0))) {
        pg_free(&res);
        s_unschedule(d, id);
        return;
    }
    int attempts = (int)pg_int(res, 0, 1);
    const char *hex = pg_str(res, 0, 2);
    size_t hl = strlen(hex), bl = 0;
    uint8_t *bin = xmalloc(hl / 2 + 1);
    Lz__NotifyRequest *r = NULL;
    if (sodium_hex2bin(bin, hl / 2 + 1, hex, hl, NULL, &bl, NULL) == 0)
        r = lz__notify_request__unpack(NULL, bl, bin);
    free(bin);
    pg_free(&res);
    int64_t now = notifier_now_ms(c);
    if (!r) {
        s_settle(d, id, attempts + 1, NT_OUT_PERMANENT, 0, "stored request does not parse", 0,
                 NULL);
        return;
    }
    bool urgent = r->has_urgent && r->urgent;
    bool sms = !strcmp(r->channel, "sms");
    int64_t until = 0;
    notifier_gate_t g = notifier_gate(&c->policy, urgent, false, 0, now, &until);
    if (g == NT_GATE_SEND && sms && attempts == 0) {
        char key[200];
        snprintf(key, sizeof key, "%s:sms:%d:%.40s", c->key_prefix, notifier_local_day(now), r->to);
        redisReply *rr = rds_cmd(d->rds, "EVAL %s 1 %s %s %d", s_cap_lua, key, urgent ? "1" : "0",
                                 c->policy.sms_daily_cap);
        if (!rr) {
            lz__notify_request__free_unpacked(r, NULL);
            return;
        }
        int before = rr->type == REDIS_REPLY_INTEGER ? (int)rr->integer : 0;
        rds_free(&rr);
        g = notifier_gate(&c->policy, urgent, true, before, now, &until);
    }
    if (g != NT_GATE_SEND) {
        char detail[96];
        snprintf(detail, sizeof detail, "%s",
                 g == NT_GATE_HOLD_QUIET ? "quiet hours" : "daily SMS cap reached");
        if (s_record(d, id, attempts, "held", 0, detail, 0, "held", NULL, until) == 0) {
            d->held++;
            s_reschedule(d, id, until);
        }
        lz__notify_request__free_unpacked(r, NULL);
        return;
    }
    res = pg_query_prepared(d->pg, "nt_sending",
                            "UPDATE deliveries SET status = 'sending', attempts = attempts + 1, "
                            "updated_at = now() WHERE id = $1::bigint AND status IN ('queued', "
                            "'held', 'sending') RETURNING attempts",
                            1, p);
    if (!res || PQntuples(res) != 1) {
        pg_free(&res);
        lz__notify_request__free_unpacked(r, NULL);
        return;
    }
    int attempt = (int)pg_int(res, 0, 0);
    pg_free(&res);
    const s_template_t *t = s_template(d, r->template_);
    char why[160];
    s_job_t *j = xcalloc(1, sizeof *j);
    j->id = id;
    j->attempt = attempt;
    snprintf(j->channel, sizeof j->channel, "%s", r->channel);
    j->easy = curl_easy_init();
    if (!t) {
        snprintf(why, sizeof why, "no template %s", r->template_);
    } else if (s_prepare(d, j, r, t, why, sizeof why) == 0) {
        why[0] = '\0';
    }
    lz__notify_request__free_unpacked(r, NULL);
    if (why[0] || !j->easy) {
        s_settle(d, id, attempt, NT_OUT_PERMANENT, 0, why[0] ? why : "curl unavailable", 0, NULL);
        s_job_free(j);
        return;
    }
    curl_easy_setopt(j->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(j->easy, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
    curl_easy_setopt(j->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)(c->timeout_ms / 2 + 1));
    curl_easy_setopt(j->easy, CURLOPT_WRITEFUNCTION, s_write_cb);
    curl_easy_setopt(j->easy, CURLOPT_WRITEDATA, j);
    curl_easy_setopt(j->easy, CURLOPT_ERRORBUFFER, j->errbuf);
    curl_easy_setopt(j->easy, CURLOPT_PRIVATE, j);
    j->t0_ms = clock_mono_ms();
    curl_multi_add_handle(d->multi, j->easy);
    j->next = d->jobs;
    d->jobs = j;
    d->inflight++;
}

/* What a finished transfer came to, between its record and its schedule. */
typedef struct {
    int64_t id;
    int attempt;
    notifier_next_t next;
    int64_t at;
    char detail[DETAIL_MAX];
} s_done_t;

/* A transfer ended: classify it and record it (in the open transaction). 0 or -1. */
static int s_finish(s_deliverer_t *d, s_job_t *j, CURLcode cc, s_done_t *out)
{
    long http = 0;
    curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &http);
    int64_t dur = clock_mono_ms() - j->t0_ms;
    char *serial = NULL;
    notifier_outcome_t o;
    if (cc != CURLE_OK) {
        /* SMTP says 5xx for a mailbox that does not exist: permanent */
        o = !strcmp(j->channel, "email") && http >= 500 ? NT_OUT_PERMANENT : NT_OUT_TRANSIENT;
        snprintf(out->detail, sizeof out->detail, "%s%s%s", curl_easy_strerror(cc),
                 j->errbuf[0] ? ": " : "", j->errbuf);
    } else if (!strcmp(j->channel, "sms")) {
        o = notifier_sms_classify(http, j->answer, j->answer_len, &serial, out->detail,
                                  sizeof out->detail);
    } else if (!strcmp(j->channel, "webhook")) {
        o = notifier_http_outcome(http);
        snprintf(out->detail, sizeof out->detail, "http %ld", http);
    } else {
        o = NT_OUT_OK;
        snprintf(out->detail, sizeof out->detail, "smtp %ld", http);
    }
    out->id = j->id;
    out->attempt = j->attempt;
    int rc = s_settle_record(d, j->id, j->attempt, o, http, out->detail, dur, serial, &out->next,
                             &out->at);
    free(serial);
    return rc;
}

/* Settle every finished transfer: records in one transaction, then the due set. */
static void s_reap(s_deliverer_t *d)
{
    CURLMsg *m;
    int left;
    s_done_t *done = NULL;
    size_t n = 0, cap = 0;
    bool ok = true, tx = false;
    while ((m = curl_multi_info_read(d->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        s_job_t *j = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&j);
        CURLcode cc = m->data.result;
        curl_multi_remove_handle(d->multi, m->easy_handle);
        if (!tx)
            tx = ok = pg_begin(d->pg) == 0;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            done = xrealloc(done, cap * sizeof *done);
        }
        if (ok && s_finish(d, j, cc, &done[n]) == 0)
            n++;
        else
            ok = false;
        for (s_job_t **pp = &d->jobs; *pp; pp = &(*pp)->next)
            if (*pp == j) {
                *pp = j->next;
                break;
            }
        s_job_free(j);
        d->inflight--;
    }
    if (tx && (!ok || pg_commit(d->pg) != 0)) {
        pg_rollback(d->pg); /* left "sending": their leases bring them back */
        n = 0;
    }
    for (size_t i = 0; i < n; i++)
        s_settle_schedule(d, done[i].id, done[i].attempt, done[i].next, done[i].at, done[i].detail);
    free(done);
}

/* Claim up to n due deliveries and start them; returns how many were claimed. */
static int s_claim(s_deliverer_t *d, int n)
{
    int64_t now = notifier_now_ms(d->conf);
    redisReply *r = rds_cmd(d->rds, "EVAL %s 1 %s %lld %d %lld", s_claim_lua, d->due_key,
                            (long long)now, n, (long long)(now + d->conf->lease_ms));
    if (!r)
        return 0;
    int claimed = 0;
    bool tx = r->type == REDIS_REPLY_ARRAY && r->elements > 0 && pg_begin(d->pg) == 0;
    if (r->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i < r->elements; i++) {
            if (r->element[i]->type != REDIS_REPLY_STRING)
                continue;
            int64_t id = strtoll(r->element[i]->str, NULL, 10);
            claimed++;
            s_start(d, id);
        }
    }
    /* the transfers only start in curl_multi_perform, after this commit */
    if (tx && pg_commit(d->pg) != 0)
        pg_rollback(d->pg);
    rds_free(&r);
    return claimed;
}

int notifier_deliver_run(const notifier_conf_t *conf, atomic_bool *stop)
{
    s_deliverer_t d;
    memset(&d, 0, sizeof d);
    d.conf = conf;
    snprintf(d.due_key, sizeof d.due_key, "%s:due", conf->key_prefix);
    d.pg = pg_connect(conf->pg_url, 60, 500);
    d.rds = d.pg ? rds_connect(conf->redis_host, conf->redis_port, 5000) : NULL;
    if (d.rds)
        d.consumer = outbox_consumer_new(d.rds, conf->topic, "notifier", conf->consumer, 1000,
                                         conf->claim_idle_ms);
    d.multi = curl_multi_init();
    if (!d.consumer || !d.multi) {
        log_error("deliverer could not start");
        outbox_consumer_destroy(&d.consumer);
        rds_destroy(&d.rds);
        pg_destroy(&d.pg);
        if (d.multi)
            curl_multi_cleanup(d.multi);
        return -1;
    }
    log_info("deliverer %s reading lz:stream:%s, %d in flight", conf->consumer, conf->topic,
             conf->inflight);
    int64_t last_log = clock_mono_ms();
    while (!atomic_load(stop)) {
        int64_t mono = clock_mono_ms();
        s_templates_refresh(&d, mono);
        int claimed = 0;
        if (d.inflight < conf->inflight)
            claimed = s_claim(&d, conf->inflight - d.inflight);
        int block = d.inflight == 0 && claimed == 0 ? 100 : 0;
        int want = conf->inflight * 2;
        if (want > 1000)
            want = 1000;
        int got = outbox_consume(d.consumer, s_ingest, &d, want, block);
        s_ingest_flush(&d);
        if (got < 0 && d.inflight == 0)
            clock_sleep_ms(200);
        int running = 0;
        curl_multi_perform(d.multi, &running);
        s_reap(&d);
        if (d.inflight > 0 && got <= 0 && claimed == 0)
            curl_multi_poll(d.multi, NULL, 0, 5, NULL);
        if (mono - last_log >= 60000) {
            log_info("deliveries: %" PRIu64 " sent, %" PRIu64 " retried, %" PRIu64 " held, %" PRIu64
                     " failed, %" PRIu64 " dead",
                     d.sent, d.retried, d.held, d.failed, d.dead);
            last_log = mono;
        }
    }
    /* let what is in flight finish (bounded by the transfer timeout) */
    int64_t until = clock_mono_ms() + conf->timeout_ms;
    while (d.inflight > 0 && clock_mono_ms() < until) {
        int running = 0;
        curl_multi_perform(d.multi, &running);
        s_reap(&d);
        curl_multi_poll(d.multi, NULL, 0, 20, NULL);
    }
    while (d.jobs) {
        s_job_t *j = d.jobs;
        d.jobs = j->next;
        curl_multi_remove_handle(d.multi, j->easy);
        s_job_free(j);
    }
    curl_multi_cleanup(d.multi);
    s_templates_clear(&d);
    free(d.acks);
    free(d.sched);
    free(d.sched_at);
    outbox_consumer_destroy(&d.consumer);
    rds_destroy(&d.rds);
    pg_destroy(&d.pg);
    return 0;
}
