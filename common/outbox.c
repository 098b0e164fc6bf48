/*
 * outbox.c - events written with the change that caused them, relayed to
 * Redis streams, read by consumer groups.  See outbox.h for the guarantees.
 *
 * Three Lua scripts do what must be atomic on the Redis side: the guarded
 * append of the relay, the reclaim that also reports delivery counts, and
 * the move of an entry to its :dead stream.  They run by EVALSHA; their
 * digests are learnt with SCRIPT LOAD once per thread and again after a
 * NOSCRIPT answer (a restarted or flushed server).
 */
#include "outbox.h"
#include "buf.h"
#include "log.h"
#include "mem.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_CHUNK_EVENTS 256               /* events per relay script call */
#define S_CHUNK_BYTES  (8 * 1024 * 1024) /* payload bytes per relay script call */
#define S_UNLINK_CHUNK 1000
#define S_PURGE_BATCH  10000
#define S_COUNT_MAX    1000

/* ---- scripts ---- */

/* KEYS: per event its guard key, then its stream key.  ARGV[1] guard ttl,
 * ARGV[2] maxlen, then per event: outbox id, key, payload, at.  Answers per
 * event the new entry id, or 0 when the guard was already set.  A failed
 * append removes its guard again so the event is not skipped later. */
static const char s_relay_lua[] =
    "local out = {}\n"
    "for i = 1, #KEYS / 2 do\n"
    "  local a = 2 + (i - 1) * 4\n"
    "  if redis.call('SET', KEYS[2 * i - 1], '1', 'NX', 'EX', ARGV[1]) then\n"
    "    local r = redis.pcall('XADD', KEYS[2 * i], 'MAXLEN', '~', ARGV[2], '*',\n"
    "      'id', ARGV[a + 1], 'key', ARGV[a + 2], 'payload', ARGV[a + 3], 'at', ARGV[a + 4])\n"
    "    if type(r) == 'table' and r.err then\n"
    "      redis.call('DEL', KEYS[2 * i - 1])\n"
    "      return r\n"
    "    end\n"
    "    out[i] = r\n"
    "  else\n"
    "    out[i] = 0\n"
    "  end\n"
    "end\n"
    "return out\n";

/* KEYS[1] stream.  ARGV: group, consumer, min idle ms, cursor, count.
 * Answers {next cursor, entries, delivery counts, deleted ids}. */
static const char s_claim_lua[] =
    "local r = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4],\n"
    "  'COUNT', ARGV[5])\n"
    "local counts = {}\n"
    "for i, e in ipairs(r[2]) do\n"
    "  local p = redis.call('XPENDING', KEYS[1], ARGV[1], e[1], e[1], 1)\n"
    "  counts[i] = p[1] and p[1][4] or 0\n"
    "end\n"
    "return {r[1], r[2], counts, r[3] or {}}\n";

/* KEYS[1] stream, KEYS[2] dead stream.  ARGV: group, entry id, maxlen, then
 * field/value pairs.  Appends to the dead stream and acknowledges, both or
 * neither; 0 when the entry is no longer pending (someone else acked it). */
static const char s_dead_lua[] =
    "local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)\n"
    "if #p == 0 then return 0 end\n"
    "local args = {'XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*'}\n"
    "for i = 4, #ARGV do args[#args + 1] = ARGV[i] end\n"
    "redis.call(unpack(args))\n"
    "redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])\n"
    "return 1\n";

enum { S_RELAY, S_CLAIM, S_DEAD, S_NSCRIPTS };

static const struct {
    const char *name;
    const char *src;
} s_scripts[S_NSCRIPTS] = {
    {"relay", s_relay_lua},
    {"claim", s_claim_lua},
    {"dead-letter", s_dead_lua},
};

/* digests as SCRIPT LOAD answered them; per thread, since each thread has its own connection */
static _Thread_local char s_sha[S_NSCRIPTS][41];

static int s_script_load(rds_t *rds, int which)
{
    redisReply *r = rds_cmd(rds, "SCRIPT LOAD %s", s_scripts[which].src);
    if (!r || r->type != REDIS_REPLY_STRING || r->len != 40) {
        log_error("could not load the outbox %s script into redis: %s", s_scripts[which].name,
                  r ? "unexpected reply" : rds_errmsg(rds));
        rds_free(&r);
        return -1;
    }
    memcpy(s_sha[which], r->str, 40);
    s_sha[which][40] = '\0';
    rds_free(&r);
    return 0;
}

/* Run script which; argv[0] and argv[1] are filled here (EVALSHA, digest),
 * argv[2] onwards hold numkeys, keys and arguments.  The reply (caller
 * frees) or NULL (logged). */
static redisReply *s_script(rds_t *rds, int which, int argc, const char **argv, size_t *lens)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!s_sha[which][0] && s_script_load(rds, which) != 0)
            return NULL;
        argv[0] = "EVALSHA";
        lens[0] = 7;
        argv[1] = s_sha[which];
        lens[1] = 40;
        redisReply *r = rds_cmd_argv(rds, argc, argv, lens);
        if (r)
            return r;
        if (strncmp(rds_errmsg(rds), "NOSCRIPT", 8) != 0)
            break;
        s_sha[which][0] = '\0'; /* the server lost it: load it again */
    }
    log_error("outbox %s script failed: %s", s_scripts[which].name, rds_errmsg(rds));
    return NULL;
}

/* ---- pure helpers ---- */

bool outbox_topic_valid(const char *topic)
{
    if (!topic || !(topic[0] >= 'a' && topic[0] <= 'z'))
        return false;
    size_t n = 1;
    for (const char *p = topic + 1; *p; p++, n++) {
        char ch = *p;
        if (n >= 63)
            return false;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '.'))
            return false;
    }
    return true;
}

/* Parse a decimal int64 of exactly len bytes; 0 or -1. */
static int s_parse_i64(const char *s, size_t len, int64_t *out)
{
    char tmp[24];
    if (len == 0 || len >= sizeof tmp)
        return -1;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    char *end;
    errno = 0;
    long long v = strtoll(tmp, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

static bool s_is_str(const redisReply *r)
{
    return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS);
}

static bool s_field_is(const redisReply *f, const char *name)
{
    size_t n = strlen(name);
    return f->len == n && memcmp(f->str, name, n) == 0;
}

int outbox_event_parse(const redisReply *entry, outbox_event_t *ev)
{
    memset(ev, 0, sizeof *ev);
    if (!entry || entry->type != REDIS_REPLY_ARRAY || entry->elements != 2 ||
        !s_is_str(entry->element[0]))
        return -1;
    const redisReply *fields = entry->element[1];
    if (!fields || fields->type != REDIS_REPLY_ARRAY || fields->elements % 2 != 0)
        return -1;
    ev->stream_id = entry->element[0]->str;
    ev->key = "";
    bool have_payload = false;
    for (size_t i = 0; i < fields->elements; i += 2) {
        const redisReply *f = fields->element[i], *v = fields->element[i + 1];
        if (!s_is_str(f) || !s_is_str(v))
            return -1;
        if (s_field_is(f, "id")) {
            if (s_parse_i64(v->str, v->len, &ev->outbox_id) != 0)
                return -1;
        } else if (s_field_is(f, "key")) {
            ev->key = v->str;
        } else if (s_field_is(f, "payload")) {
            ev->payload = (const uint8_t *)v->str;
            ev->payload_len = v->len;
            have_payload = true;
        } else if (s_field_is(f, "at")) {
            if (s_parse_i64(v->str, v->len, &ev->at_ms) != 0)
                return -1;
        }
    }
    return ev->outbox_id > 0 && have_payload ? 0 : -1;
}

bool outbox_over_attempts(int64_t deliveries, int max_attempts)
{
    return deliveries > max_attempts;
}

outbox_verdict_t outbox_verdict(int64_t deliveries, int max_attempts, int handler_rc)
{
    if (handler_rc == 0)
        return OUTBOX_ACK;
    return deliveries >= max_attempts ? OUTBOX_DEAD : OUTBOX_RETRY;
}

/* "\x" followed by the hex digits of p: bytea's text input form.  Caller frees. */
static char *s_bytea_hex(const void *p, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    const uint8_t *b = p;
    char *out = xmalloc(2 + 2 * len + 1);
    out[0] = '\\';
    out[1] = 'x';
    for (size_t i = 0; i < len; i++) {
        out[2 + 2 * i] = digits[b[i] >> 4];
        out[3 + 2 * i] = digits[b[i] & 15];
    }
    out[2 + 2 * len] = '\0';
    return out;
}

/* ---- writing ---- */

int outbox_write(pg_t *pg, const char *topic, const char *key, const void *payload, size_t len)
{
    if (!pg_in_transaction(pg)) {
        log_error("outbox_write outside a transaction (topic \"%s\"): refused", topic);
        return -1;
    }
    if (!outbox_topic_valid(topic)) {
        log_error("outbox topic \"%.80s\" is not valid", topic ? topic : "(null)");
        return -1;
    }
    if (!key)
        key = "";
    if (strlen(key) > OUTBOX_KEY_MAX) {
        log_error("outbox key of topic \"%s\" is longer than %d bytes", topic, OUTBOX_KEY_MAX);
        return -1;
    }
    if (len > OUTBOX_PAYLOAD_MAX || (len > 0 && !payload)) {
        log_error("outbox payload of topic \"%s\" is missing or longer than %d bytes (%zu)", topic,
                  OUTBOX_PAYLOAD_MAX, len);
        return -1;
    }
    char *hex = s_bytea_hex(payload, len);
    const char *params[3] = {topic, key, hex};
    PGresult *res = pg_query_prepared(
        pg, "lz_outbox_write",
        "INSERT INTO outbox (topic, key, payload) VALUES ($1, $2, $3::bytea)", 3, params);
    free(hex);
    if (!res)
        return -1;
    pg_free(&res);
    return 0;
}

/* ---- relaying ---- */

void outbox_relay_opts_default(outbox_relay_opts_t *opts)
{
    opts->batch_max = 500;
    opts->stream_maxlen = OUTBOX_STREAM_MAXLEN_DEFAULT;
    opts->dedupe_ttl_s = OUTBOX_DEDUPE_TTL_DEFAULT_S;
}

typedef struct {
    const char *id; /* these three point into the PGresult */
    const char *key;
    const char *at;
    unsigned char *payload; /* PQunescapeBytea's, PQfreemem */
    size_t payload_len;
    char *guard;  /* lz:outbox:relayed:<id> */
    char *stream; /* lz:stream:<topic> */
} s_row_t;

static void s_rows_free(s_row_t *rows, int n)
{
    for (int i = 0; i < n; i++) {
        if (rows[i].payload)
            PQfreemem(rows[i].payload);
        free(rows[i].guard);
        free(rows[i].stream);
    }
    free(rows);
}

/* Append rows[0..n) through the relay script.  Counts appended and skipped
 * (guard already set); 0 or -1 (logged). */
static int s_relay_chunk(rds_t *rds, const outbox_relay_opts_t *opts, const s_row_t *rows, int n,
                         int *added, int *skipped)
{
    int argc = 3 + 2 * n + 2 + 4 * n;
    const char **argv = xcalloc((size_t)argc, sizeof *argv);
    size_t *lens = xcalloc((size_t)argc, sizeof *lens);
    char nkeys[16], ttl[24], maxlen[24];
    snprintf(nkeys, sizeof nkeys, "%d", 2 * n);
    snprintf(ttl, sizeof ttl, "%" PRId64, opts->dedupe_ttl_s);
    snprintf(maxlen, sizeof maxlen, "%ld", opts->stream_maxlen);
    int k = 2;
    argv[k] = nkeys;
    lens[k++] = strlen(nkeys);
    for (int i = 0; i < n; i++) {
        argv[k] = rows[i].guard;
        lens[k++] = strlen(rows[i].guard);
        argv[k] = rows[i].stream;
        lens[k++] = strlen(rows[i].stream);
    }
    argv[k] = ttl;
    lens[k++] = strlen(ttl);
    argv[k] = maxlen;
    lens[k++] = strlen(maxlen);
    for (int i = 0; i < n; i++) {
        argv[k] = rows[i].id;
        lens[k++] = strlen(rows[i].id);
        argv[k] = rows[i].key;
        lens[k++] = strlen(rows[i].key);
        argv[k] = (const char *)rows[i].payload;
        lens[k++] = rows[i].payload_len;
        argv[k] = rows[i].at;
        lens[k++] = strlen(rows[i].at);
    }
    redisReply *r = s_script(rds, S_RELAY, argc, argv, lens);
    free(argv);
    free(lens);
    if (!r)
        return -1;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != (size_t)n) {
        log_error("outbox relay script answered %zu items for %d events", r->elements, n);
        rds_free(&r);
        return -1;
    }
    for (size_t i = 0; i < r->elements; i++) {
        if (r->element[i]->type == REDIS_REPLY_STRING)
            (*added)++;
        else
            (*skipped)++;
    }
    rds_free(&r);
    return 0;
}

/* Remove the guards of rows whose relaying is committed; failures only cost memory until expiry. */
static void s_release_guards(rds_t *rds, const s_row_t *rows, int n)
{
    for (int start = 0; start < n; start += S_UNLINK_CHUNK) {
        int m = n - start < S_UNLINK_CHUNK ? n - start : S_UNLINK_CHUNK;
        const char **argv = xcalloc((size_t)m + 1, sizeof *argv);
        size_t *lens = xcalloc((size_t)m + 1, sizeof *lens);
        argv[0] = "UNLINK";
        lens[0] = 6;
        for (int i = 0; i < m; i++) {
            argv[i + 1] = rows[start + i].guard;
            lens[i + 1] = strlen(rows[start + i].guard);
        }
        redisReply *r = rds_cmd_argv(rds, m + 1, argv, lens);
        if (!r)
            log_warn("could not remove outbox relay guards (they expire): %s", rds_errmsg(rds));
        rds_free(&r);
        free(argv);
        free(lens);
    }
}

/* Load the selected rows; NULL (logged) when a payload cannot be decoded. */
static s_row_t *s_rows_load(const PGresult *res, int n)
{
    s_row_t *rows = xcalloc((size_t)n, sizeof *rows);
    for (int i = 0; i < n; i++) {
        rows[i].id = pg_str(res, i, 0);
        rows[i].key = pg_str(res, i, 2);
        rows[i].at = pg_str(res, i, 4);
        rows[i].guard = xasprintf("lz:outbox:relayed:%s", rows[i].id);
        rows[i].stream = xasprintf("lz:stream:%s", pg_str(res, i, 1));
        rows[i].payload =
            PQunescapeBytea((const unsigned char *)pg_str(res, i, 3), &rows[i].payload_len);
        if (!rows[i].payload) {
            log_error("could not decode the payload of outbox event %s", rows[i].id);
            s_rows_free(rows, i + 1);
            return NULL;
        }
    }
    return rows;
}

/* Mark rows relayed in the open transaction; 0 or -1. */
static int s_mark_relayed(pg_t *pg, const s_row_t *rows, int n)
{
    buf_t *ids = buf_new((size_t)n * 24 + 16);
    buf_putc(ids, '{');
    for (int i = 0; i < n; i++)
        buf_printf(ids, "%s%s", i ? "," : "", rows[i].id);
    buf_putc(ids, '}');
    const char *params[1] = {buf_data(ids)};
    int rc =
        pg_exec(pg, "UPDATE outbox SET relayed_at = now() WHERE id = ANY($1::bigint[])", 1, params);
    buf_destroy(&ids);
    return rc;
}

static bool s_relay_opts_ok(const outbox_relay_opts_t *opts)
{
    return opts->batch_max >= 1 && opts->batch_max <= OUTBOX_BATCH_MAX &&
           opts->stream_maxlen >= 1 && opts->dedupe_ttl_s >= 60;
}

int outbox_relay_once_opts(pg_t *pg, rds_t *rds, const outbox_relay_opts_t *opts)
{
    if (!s_relay_opts_ok(opts)) {
        log_error("outbox relay options out of range (batch %d, maxlen %ld, ttl %" PRId64 ")",
                  opts->batch_max, opts->stream_maxlen, opts->dedupe_ttl_s);
        return -1;
    }
    if (pg_in_transaction(pg)) {
        log_error("outbox relay called inside a transaction: refused");
        return -1;
    }
    if (pg_begin(pg) != 0)
        return -1;
    char limit[16];
    snprintf(limit, sizeof limit, "%d", opts->batch_max);
    const char *params[1] = {limit};
    PGresult *res = pg_query_prepared(
        pg, "lz_outbox_pending",
        "SELECT id, topic, key, payload, (extract(epoch FROM created_at) * 1000)::bigint"
        " FROM outbox WHERE relayed_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
        1, params);
    if (!res) {
        pg_rollback(pg);
        return -1;
    }
    int n = PQntuples(res);
    if (n == 0) {
        pg_free(&res);
        pg_rollback(pg);
        return 0;
    }
    s_row_t *rows = s_rows_load(res, n);
    if (!rows) {
        pg_free(&res);
        pg_rollback(pg);
        return -1;
    }
    int added = 0, skipped = 0, rc = 0;
    for (int start = 0; start < n && rc == 0;) {
        int m = 0;
        size_t bytes = 0;
        while (start + m < n && m < S_CHUNK_EVENTS &&
               (m == 0 || bytes + rows[start + m].payload_len <= S_CHUNK_BYTES))
            bytes += rows[start + m++].payload_len;
        rc = s_relay_chunk(rds, opts, rows + start, m, &added, &skipped);
        start += m;
    }
    if (rc == 0)
        rc = s_mark_relayed(pg, rows, n);
    if (rc == 0)
        rc = pg_commit(pg);
    if (rc != 0) {
        pg_rollback(pg);
        log_warn("outbox relay of %d events rolled back (%d appended stay guarded)", n, added);
    } else {
        s_release_guards(rds, rows, n);
        if (skipped > 0)
            log_info("outbox relay: %d of %d events were already in their stream (an earlier "
                     "relay stopped before its commit); marked relayed",
                     skipped, n);
        log_debug("outbox relay: %d events relayed", n);
    }
    s_rows_free(rows, n);
    pg_free(&res);
    return rc == 0 ? n : -1;
}

int outbox_relay_once(pg_t *pg, rds_t *rds, int batch_max)
{
    outbox_relay_opts_t opts;
    outbox_relay_opts_default(&opts);
    opts.batch_max = batch_max;
    return outbox_relay_once_opts(pg, rds, &opts);
}

int outbox_purge(pg_t *pg, int64_t older_than_s)
{
    if (older_than_s < 0) {
        log_error("outbox purge age must not be negative (%" PRId64 ")", older_than_s);
        return -1;
    }
    char age[24], batch[16];
    snprintf(age, sizeof age, "%" PRId64, older_than_s);
    snprintf(batch, sizeof batch, "%d", S_PURGE_BATCH);
    const char *params[2] = {age, batch};
    int64_t total = 0;
    for (;;) {
        PGresult *res = pg_query(
            pg,
            "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE relayed_at IS NOT NULL"
            " AND relayed_at < now() - make_interval(secs => $1::double precision)"
            " ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)",
            2, params);
        if (!res)
            return -1;
        int64_t n = strtoll(PQcmdTuples(res), NULL, 10);
        pg_free(&res);
        total += n;
        if (n < S_PURGE_BATCH)
            break;
    }
    return total > INT_MAX ? INT_MAX : (int)total;
}

/* ---- consuming ---- */

struct outbox_consumer_s {
    rds_t *rds; /* borrowed */
    char *topic;
    char *group;
    char *name;
    char *stream; /* lz:stream:<topic> */
    char *dead;   /* lz:stream:<topic>:dead */
    int max_attempts;
    int64_t claim_idle_ms;
    char cursor[64]; /* XAUTOCLAIM position, "0-0" to start over */
    char error[256]; /* what the current handler call reported */
};

static bool s_name_ok(const char *s)
{
    return s && s[0] && strlen(s) <= OUTBOX_NAME_MAX;
}

static int s_create_group(outbox_consumer_t *self)
{
    redisReply *r = rds_cmd(self->rds, "XGROUP CREATE %s %s 0 MKSTREAM", self->stream, self->group);
    if (r) {
        rds_free(&r);
        log_info("created consumer group %s of %s", self->group, self->stream);
        return 0;
    }
    if (strncmp(rds_errmsg(self->rds), "BUSYGROUP", 9) == 0)
        return 0;
    log_error("could not create consumer group %s of %s: %s", self->group, self->stream,
              rds_errmsg(self->rds));
    return -1;
}

outbox_consumer_t *outbox_consumer_new(rds_t *rds, const char *topic, const char *group,
                                       const char *consumer, int max_attempts,
                                       int64_t claim_idle_ms)
{
    if (!rds || !outbox_topic_valid(topic) || !s_name_ok(group) || !s_name_ok(consumer) ||
        max_attempts < 1 || claim_idle_ms < 1) {
        log_error("outbox consumer arguments out of range (topic \"%.80s\")",
                  topic ? topic : "(null)");
        return NULL;
    }
    outbox_consumer_t *self = xcalloc(1, sizeof *self);
    self->rds = rds;
    self->topic = xstrdup(topic);
    self->group = xstrdup(group);
    self->name = xstrdup(consumer);
    self->stream = xasprintf("lz:stream:%s", topic);
    self->dead = xasprintf("lz:stream:%s:dead", topic);
    self->max_attempts = max_attempts;
    self->claim_idle_ms = claim_idle_ms;
    snprintf(self->cursor, sizeof self->cursor, "0-0");
    if (s_create_group(self) != 0)
        outbox_consumer_destroy(&self);
    return self;
}

void outbox_consumer_destroy(outbox_consumer_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    outbox_consumer_t *self = *self_p;
    free(self->topic);
    free(self->group);
    free(self->name);
    free(self->stream);
    free(self->dead);
    free(self);
    *self_p = NULL;
}

void outbox_consumer_set_error(outbox_consumer_t *self, const char *msg)
{
    snprintf(self->error, sizeof self->error, "%s", msg ? msg : "");
}

/* Move one entry to the dead stream and acknowledge it; 0 or -1. */
static int s_dead_letter(outbox_consumer_t *self, const redisReply *entry, int64_t deliveries,
                         const char *why)
{
    const redisReply *fields = entry->elements == 2 && entry->element[1]->type == REDIS_REPLY_ARRAY
                                   ? entry->element[1]
                                   : NULL;
    size_t nf = fields ? fields->elements : 0;
    int argc = (int)(2 + 1 + 2 + 3 + nf + 10);
    const char **argv = xcalloc((size_t)argc, sizeof *argv);
    size_t *lens = xcalloc((size_t)argc, sizeof *lens);
    char maxlen[24], attempts[24];
    snprintf(maxlen, sizeof maxlen, "%ld", OUTBOX_DEAD_MAXLEN);
    snprintf(attempts, sizeof attempts, "%" PRId64, deliveries);
    const char *id = entry->element[0]->str;
    const char *fixed[] = {"2", self->stream, self->dead, self->group, id, maxlen};
    int k = 2;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++, k++) {
        argv[k] = fixed[i];
        lens[k] = strlen(fixed[i]);
    }
    for (size_t i = 0; i < nf; i++, k++) {
        argv[k] = fields->element[i]->str;
        lens[k] = fields->element[i]->len;
    }
    const char *extra[] = {"stream_id", id,         "group",  self->group, "consumer",
                           self->name,  "attempts", attempts, "error",     why};
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++, k++) {
        argv[k] = extra[i];
        lens[k] = strlen(extra[i]);
    }
    redisReply *r = s_script(self->rds, S_DEAD, k, argv, lens);
    free(argv);
    free(lens);
    if (!r)
        return -1;
    log_warn("outbox event %s of %s moved to %s after %" PRId64 " deliveries: %s", id, self->stream,
             self->dead, deliveries, why);
    rds_free(&r);
    return 0;
}

/* Acknowledge ids[0..n); 0 or -1 (logged). */
static int s_ack(outbox_consumer_t *self, const char **ids, int n)
{
    if (n == 0)
        return 0;
    const char **argv = xcalloc((size_t)n + 3, sizeof *argv);
    size_t *lens = xcalloc((size_t)n + 3, sizeof *lens);
    argv[0] = "XACK";
    argv[1] = self->stream;
    argv[2] = self->group;
    for (int i = 0; i < n; i++)
        argv[i + 3] = ids[i];
    for (int i = 0; i < n + 3; i++)
        lens[i] = strlen(argv[i]);
    redisReply *r = rds_cmd_argv(self->rds, n + 3, argv, lens);
    free(argv);
    free(lens);
    if (!r) {
        log_error("could not acknowledge %d entries of %s: %s", n, self->stream,
                  rds_errmsg(self->rds));
        return -1;
    }
    rds_free(&r);
    return 0;
}

/* Deal with entries (an array of stream entries), delivered counts[i] times
 * (NULL: once).  Returns how many were dealt with, or -1. */
static int s_handle(outbox_consumer_t *self, const redisReply *entries, const redisReply *counts,
                    outbox_handler_fn *fn, void *ctx)
{
    int n = (int)entries->elements, done = 0, nack = 0, rc = 0;
    const char **acks = xcalloc((size_t)n + 1, sizeof *acks);
    for (int i = 0; i < n && rc == 0; i++) {
        const redisReply *e = entries->element[i];
        int64_t deliveries = 1;
        if (counts && (size_t)i < counts->elements &&
            counts->element[i]->type == REDIS_REPLY_INTEGER)
            deliveries = counts->element[i]->integer;
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 1 || !s_is_str(e->element[0]))
            continue; /* not an entry at all: nothing to acknowledge it by */
        outbox_event_t ev;
        if (outbox_event_parse(e, &ev) != 0) {
            if (e->elements == 2 && e->element[1]->type != REDIS_REPLY_ARRAY) {
                /* trimmed away while pending: nothing left to handle */
                log_warn("outbox entry %s of %s was deleted before it was handled",
                         e->element[0]->str, self->stream);
                acks[nack++] = e->element[0]->str;
            } else {
                rc = s_dead_letter(self, e, deliveries, "malformed entry");
                done++;
            }
            continue;
        }
        ev.topic = self->topic;
        ev.deliveries = deliveries;
        if (outbox_over_attempts(deliveries, self->max_attempts)) {
            rc = s_dead_letter(self, e, deliveries,
                               "delivered too often without an answer (crash or timeout)");
            done++;
            continue;
        }
        self->error[0] = '\0';
        int hrc = fn(ctx, &ev);
        done++;
        switch (outbox_verdict(deliveries, self->max_attempts, hrc)) {
        case OUTBOX_ACK:
            acks[nack++] = ev.stream_id;
            break;
        case OUTBOX_DEAD:
            rc =
                s_dead_letter(self, e, deliveries, self->error[0] ? self->error : "handler failed");
            break;
        case OUTBOX_RETRY:
            log_debug("outbox event %" PRId64 " of %s failed (delivery %" PRId64 "): %s",
                      ev.outbox_id, self->stream, deliveries,
                      self->error[0] ? self->error : "handler failed");
            break;
        }
    }
    if (s_ack(self, acks, nack) != 0)
        rc = -1;
    free(acks);
    return rc == 0 ? done : -1;
}

/* Reclaim idle entries and deal with them; count dealt with, or -1. */
static int s_reclaim(outbox_consumer_t *self, int count, outbox_handler_fn *fn, void *ctx)
{
    char idle[24], cnt[16];
    snprintf(idle, sizeof idle, "%" PRId64, self->claim_idle_ms);
    snprintf(cnt, sizeof cnt, "%d", count);
    const char *argv[9] = {NULL,       NULL, "1",          self->stream, self->group,
                           self->name, idle, self->cursor, cnt};
    size_t lens[9];
    for (int i = 2; i < 9; i++)
        lens[i] = strlen(argv[i]);
    redisReply *r = s_script(self->rds, S_CLAIM, 9, argv, lens);
    if (!r)
        return -1;
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 3 || !s_is_str(r->element[0]) ||
        r->element[1]->type != REDIS_REPLY_ARRAY || r->element[2]->type != REDIS_REPLY_ARRAY) {
        log_error("unexpected reply to the outbox claim script on %s", self->stream);
        rds_free(&r);
        return -1;
    }
    snprintf(self->cursor, sizeof self->cursor, "%s", r->element[0]->str);
    if (r->elements >= 4 && r->element[3]->type == REDIS_REPLY_ARRAY && r->element[3]->elements)
        log_warn("%zu pending entries of %s were trimmed before they were handled",
                 r->element[3]->elements, self->stream);
    int rc = 0;
    if (r->element[1]->elements > 0)
        rc = s_handle(self, r->element[1], r->element[2], fn, ctx);
    rds_free(&r);
    return rc;
}

/* Read new entries and deal with them; count dealt with, or -1. */
static int s_read_new(outbox_consumer_t *self, int count, int block_ms, outbox_handler_fn *fn,
                      void *ctx)
{
    redisReply *r;
    if (block_ms > 0)
        r = rds_cmd(self->rds, "XREADGROUP GROUP %s %s COUNT %d BLOCK %d STREAMS %s >", self->group,
                    self->name, count, block_ms, self->stream);
    else
        r = rds_cmd(self->rds, "XREADGROUP GROUP %s %s COUNT %d STREAMS %s >", self->group,
                    self->name, count, self->stream);
    if (!r) {
        if (strncmp(rds_errmsg(self->rds), "NOGROUP", 7) == 0) {
            log_warn("consumer group %s of %s disappeared: creating it again", self->group,
                     self->stream);
            s_create_group(self);
        } else {
            log_error("could not read %s: %s", self->stream, rds_errmsg(self->rds));
        }
        return -1;
    }
    int rc = 0;
    /* [[stream, [entries]]], or nil when nothing came */
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
        r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements == 2 &&
        r->element[0]->element[1]->type == REDIS_REPLY_ARRAY)
        rc = s_handle(self, r->element[0]->element[1], NULL, fn, ctx);
    else if (r->type != REDIS_REPLY_NIL) {
        log_error("unexpected reply to XREADGROUP on %s", self->stream);
        rc = -1;
    }
    rds_free(&r);
    return rc;
}

int outbox_consume(outbox_consumer_t *self, outbox_handler_fn *fn, void *ctx, int count,
                   int block_ms)
{
    if (count < 1 || count > S_COUNT_MAX) {
        log_error("outbox consume count %d out of range 1..%d", count, S_COUNT_MAX);
        return -1;
    }
    if (block_ms > OUTBOX_BLOCK_MAX_MS)
        block_ms = OUTBOX_BLOCK_MAX_MS;
    int claimed = s_reclaim(self, count, fn, ctx);
    if (claimed < 0)
        return -1;
    if (claimed >= count)
        return claimed;
    int fresh = s_read_new(self, count - claimed, claimed > 0 ? 0 : block_ms, fn, ctx);
    if (fresh < 0)
        return -1;
    return claimed + fresh;
}
