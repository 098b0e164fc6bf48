/*
 * intake_ledger.c - ledger methods: submit records (group commit), fix and
 * list problems, list records, read checklists; the Redis done-bitmaps and
 * region counters.
 *
 * intake.submit_record is a batch method.  For a batch of requests:
 *   1. decode each; ONE query looks up every business (scope: 404 outside
 *      it), the latest checklist of its type and kind, and takes a record id
 *      and the problem ids from the sequences (committed asynchronously:
 *      the write's synchronous commit flushes them);
 *   2. check the rules (intake_rules.c) against that checklist (its items
 *      cached by the worker per version); a request refused by the rules
 *      whose request id was answered before gets that stored answer instead
 *      (and its Redis marks again, idempotent);
 *   3. inside the batch, a repeated request id shares the first one's
 *      answer and a second record for the same business/kind/period is 409;
 *   4. usually: ONE statement (s_write_fast, one implicit transaction)
 *      writes the whole group: claims carrying their stored answers,
 *      records, problems, outbox events (ledger.accepted, problem.opened),
 *      audit entries, all built beforehand from the ids of step 1;
 *   5. when a request id or a record exists already that statement fails
 *      whole; then stored answers are looked up, and the rest is written
 *      step by step in ONE transaction (s_write): claim the request ids
 *      (ON CONFLICT DO NOTHING: a concurrent worker that claimed one first
 *      gives its stored answer), insert the records (ON CONFLICT DO NOTHING
 *      RETURNING: a record that exists already is 409 and its claim is
 *      dropped), the problems, the stored answers, the events, the audit
 *      entries; COMMIT;
 *   6. if that group transaction fails, each record is written alone, so a
 *      record the database refuses fails only itself;
 *   7. after COMMIT: the Redis marks, one pipeline of EVALSHA per batch (a
 *      failure is logged, never answered: `liangze cache rebuild` restores
 *      them), then every reply.
 */
#include "intake_ledger.h"
#include "audit.h"
#include "buf.h"
#include "clock.h"
#include "idem.h"
#include "intake_server.h"
#include "intake_write.h"
#include "log.h"
#include "mem.h"
#include "outbox.h"
#include "region.h"
#include "scope.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_METHOD_SUBMIT "intake.submit_record"
#define S_METHOD_FIX    "intake.fix_problem"
#define S_LIST_DEFAULT  100
#define S_LIST_MAX      1000

/* ---- small helpers ------------------------------------------------------ */

/* Returns msg packed as lower-case hex (caller frees). */
static char *s_pack_hex(const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    uint8_t *bin = xmalloc(len ? len : 1);
    protobuf_c_message_pack(msg, bin);
    static const char digits[] = "0123456789abcdef";
    char *hex = xmalloc(2 * len + 1);
    for (size_t i = 0; i < len; i++) {
        hex[2 * i] = digits[bin[i] >> 4];
        hex[2 * i + 1] = digits[bin[i] & 15];
    }
    hex[2 * len] = '\0';
    free(bin);
    return hex;
}

/* Decode hex text into a new block (caller frees); *len gets its length. */
static uint8_t *s_unhex(const char *hex, size_t *len)
{
    size_t n = hex ? strlen(hex) / 2 : 0;
    uint8_t *out = xmalloc(n ? n : 1);
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
    *len = n;
    return out;
}

/* Parse an integer array literal "{1,2,3}" into a new array (caller frees *out). */
static void s_parse_ids(const char *lit, int64_t **out, size_t *n)
{
    size_t cap = 1;
    for (const char *p = lit; p && *p; p++)
        if (*p == ',')
            cap++;
    *out = xcalloc(cap, sizeof **out);
    *n = 0;
    const char *p = lit && *lit == '{' ? lit + 1 : "";
    while (*p && *p != '}' && *n < cap) {
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end == p)
            break;
        (*out)[(*n)++] = v;
        p = *end == ',' ? end + 1 : end;
    }
}

/* The caller as stored with a request id: "role:token_id". */
static void s_caller_key(const Lz__Caller *c, char *out, size_t len)
{
    snprintf(out, len, "%s:%" PRId64, c && c->role ? c->role : "none",
             c && c->has_token_id ? c->token_id : (int64_t)0);
}

/* Set rep to a stored answer (status and packed reply). */
static void s_reply_stored(rpc_reply_t *rep, int status, const char *hex)
{
    rpc_reply_clear(rep);
    rep->status = status == 201 ? LZ__STATUS__CREATED : LZ__STATUS__OK;
    rep->payload = s_unhex(hex, &rep->payload_len);
}

/* Copy src's answer into dst. */
static void s_reply_copy(rpc_reply_t *dst, const rpc_reply_t *src)
{
    rpc_reply_clear(dst);
    dst->status = src->status;
    dst->reason = src->reason ? xstrdup(src->reason) : NULL;
    dst->field = src->field ? xstrdup(src->field) : NULL;
    if (src->payload) {
        dst->payload = xmemdup(src->payload, src->payload_len);
        dst->payload_len = src->payload_len;
    }
}

/*
 * True if the caller may see business id in region: admin, its regulator,
 * the business itself, or a cadre currently assigned to it.
 */
static bool s_visible(intake_t *self, const Lz__Caller *c, int64_t id, const char *region)
{
    if (scope_business_visible(c, id, region))
        return true;
    if (!scope_has_role(c, "cadre") || !c->has_cadre_id)
        return false;
    char cid[24], bid[24];
    snprintf(cid, sizeof cid, "%" PRId64, c->cadre_id);
    snprintf(bid, sizeof bid, "%" PRId64, id);
    const char *params[] = {cid, bid};
    PGresult *res = pg_query_prepared(self->pg, "ledger_cadre_assigned",
                                      "SELECT 1 FROM assignments WHERE cadre_id = $1 "
                                      "AND business_id = $2 AND until IS NULL",
                                      2, params);
    bool ok = res && PQntuples(res) > 0;
    pg_free(&res);
    return ok;
}

/* Look up one business: 0 and its region (and type) , 1 when missing, -1 on failure. */
static int s_business(intake_t *self, int64_t id, char region[REGION_CODE_LEN + 1], char *type,
                      size_t typelen)
{
    char bid[24];
    snprintf(bid, sizeof bid, "%" PRId64, id);
    const char *params[] = {bid};
    PGresult *res =
        pg_query_prepared(self->pg, "ledger_business",
                          "SELECT region_code, type FROM businesses WHERE id = $1", 1, params);
    if (!res)
        return -1;
    int rc = 1;
    if (PQntuples(res) == 1) {
        snprintf(region, REGION_CODE_LEN + 1, "%s", pg_str(res, 0, 0));
        if (type)
            snprintf(type, typelen, "%s", pg_str(res, 0, 1));
        rc = 0;
    }
    pg_free(&res);
    return rc;
}

/* ---- Redis: done bitmaps and region counters ----------------------------- */

/*
 * The marks of committed records, one record or a whole group: KEYS are
 * (done bitmap, counters) pairs, ARGV four per record: bit, late (0/1),
 * failed items, regions "a,b,c".  Each record's bit is set first; the
 * counters of those that were new are summed per key and field and written
 * with one HINCRBY each.  Returns the old bits, in order.
 */
static const char s_mark_lua[] =
    "local olds, sums, order = {}, {}, {} "
    "for i = 1, #KEYS / 2 do "
    "  local a = 4 * (i - 1) "
    "  local old = redis.call('SETBIT', KEYS[2 * i - 1], ARGV[a + 1], 1) "
    "  olds[i] = old "
    "  if old == 0 then "
    "    local key, n = KEYS[2 * i], tonumber(ARGV[a + 3]) "
    "    local t = sums[key] "
    "    if not t then t = {}; sums[key] = t; order[#order + 1] = key end "
    "    for code in string.gmatch(ARGV[a + 4], '[^,]+') do "
    "      local f = code .. ':submitted' t[f] = (t[f] or 0) + 1 "
    "      if ARGV[a + 2] == '1' then f = code .. ':late' t[f] = (t[f] or 0) + 1 end "
    "      if n > 0 then f = code .. ':problems' t[f] = (t[f] or 0) + n end "
    "    end "
    "  end "
    "end "
    "for _, key in ipairs(order) do "
    "  for f, v in pairs(sums[key]) do redis.call('HINCRBY', key, f, v) end "
    "end "
    "return olds";

/* Write code and its ancestors, comma-separated, into out. */
static void s_region_chain(const char *code, char *out, size_t len)
{
    char cur[REGION_CODE_LEN + 1];
    snprintf(cur, sizeof cur, "%s", code);
    size_t used = 0;
    out[0] = '\0';
    for (int guard = 0; guard < 6; guard++) {
        int w = snprintf(out + used, len - used, "%s%s", used ? "," : "", cur);
        if (w < 0 || (size_t)w >= len - used)
            break;
        used += (size_t)w;
        char parent[REGION_CODE_LEN + 1];
        if (region_parent(cur, parent) != 0 || strcmp(parent, cur) == 0)
            break;
        memcpy(cur, parent, sizeof cur);
    }
}

/* Run the mark script on the given keys; 1 counted, 0 already set, -1 failure. */
static int s_mark_keys(rds_t *rds, const char *done, const char *cnt, int64_t business_id,
                       const char *region_code, bool late, int failed)
{
    char chain[6 * (REGION_CODE_LEN + 1) + 1];
    s_region_chain(region_code, chain, sizeof chain);
    redisReply *r = rds_cmd(rds, "EVAL %s 2 %s %s %lld %d %d %s", s_mark_lua, done, cnt,
                            (long long)business_id, late ? 1 : 0, failed, chain);
    if (!r)
        return -1;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 1) {
        rds_free(&r);
        return -1;
    }
    int rc = r->element[0]->type == REDIS_REPLY_INTEGER && r->element[0]->integer == 0 ? 1 : 0;
    rds_free(&r);
    return rc;
}

int ledger_cache_mark(rds_t *rds, int64_t business_id, const char *region_code, const char *kind,
                      const char *period, bool late, int failed)
{
    if (!rds)
        return -1;
    char *done = xasprintf("lz:done:%s:%s", kind, period);
    char *cnt = xasprintf("lz:cnt:%s:%s", kind, period);
    int rc = s_mark_keys(rds, done, cnt, business_id, region_code, late, failed);
    if (rc < 0)
        log_warn("could not mark %s %s of business %" PRId64 " in redis: %s", kind, period,
                 business_id, rds_errmsg(rds));
    free(done);
    free(cnt);
    return rc;
}

/* Load the mark script; its SHA1 into sha (41 bytes).  0 or -1. */
static int s_mark_sha(rds_t *rds, char sha[41])
{
    redisReply *r = rds_cmd(rds, "SCRIPT LOAD %s", s_mark_lua);
    int rc = r && r->type == REDIS_REPLY_STRING && r->len == 40 ? 0 : -1;
    if (rc == 0)
        snprintf(sha, 41, "%s", r->str);
    rds_free(&r);
    return rc;
}

/*
 * Mark rows [0, rows) of res (business_id, region_code, late, failed) into
 * the keys done/cnt, pipelined in chunks.  0 or -1.
 */
static int s_mark_rows(rds_t *rds, const char *sha, const char *done, const char *cnt,
                       const PGresult *res)
{
    int rows = PQntuples(res);
    for (int i = 0; i < rows;) {
        int k = 0;
        for (; i < rows && k < 1000; i++, k++) {
            char chain[6 * (REGION_CODE_LEN + 1) + 1];
            s_region_chain(pg_str(res, i, 1), chain, sizeof chain);
            if (rds_append(rds, "EVALSHA %s 2 %s %s %lld %d %d %s", sha, done, cnt,
                           (long long)pg_int(res, i, 0), pg_bool(res, i, 2) ? 1 : 0,
                           (int)pg_int(res, i, 3), chain) != 0)
                return -1;
        }
        int bad = 0;
        for (int j = 0; j < k; j++) {
            redisReply *r = rds_get_reply(rds);
            if (!r || r->type == REDIS_REPLY_ERROR)
                bad = 1;
            rds_free(&r);
        }
        if (bad)
            return -1;
    }
    return 0;
}

long ledger_cache_rebuild(pg_t *pg, rds_t *rds, const char *kind, const char *period)
{
    const char *params[] = {kind, period};
    PGresult *res = pg_query(pg,
                             "SELECT business_id, region_code, status = 'late', "
                             "cardinality(failed_codes), now() FROM records "
                             "WHERE kind = $1 AND period = $2",
                             2, params);
    if (!res)
        return -1;
    char *done = xasprintf("lz:done:%s:%s", kind, period);
    char *cnt = xasprintf("lz:cnt:%s:%s", kind, period);
    char *tdone = xasprintf("%s:rebuild", done);
    char *tcnt = xasprintf("%s:rebuild", cnt);
    char sha[41];
    PGresult *late = NULL;
    long n = -1;
    if (rds_do(rds, "DEL %s %s", tdone, tcnt) != 0 || s_mark_sha(rds, sha) != 0)
        goto out;
    int rows = PQntuples(res);
    if (s_mark_rows(rds, sha, tdone, tcnt, res) != 0) {
        log_error("could not rebuild %s: %s", done, rds_errmsg(rds));
        goto out;
    }
    /* swap the rebuilt keys in at once */
    redisReply *r = rds_cmd(rds, "EVAL %s 4 %s %s %s %s",
                            "redis.call('DEL', KEYS[2], KEYS[4]) "
                            "if redis.call('EXISTS', KEYS[1]) == 1 then "
                            "redis.call('RENAME', KEYS[1], KEYS[2]) end "
                            "if redis.call('EXISTS', KEYS[3]) == 1 then "
                            "redis.call('RENAME', KEYS[3], KEYS[4]) end return 1",
                            tdone, done, tcnt, cnt);
    if (!r) {
        log_error("could not swap in %s: %s", done, rds_errmsg(rds));
        goto out;
    }
    rds_free(&r);
    /* records committed while we read and swapped: their worker may have
     * marked the old keys; mark them again in the live ones (the script
     * counts a record only once) — anything submitted in the minute before
     * the read */
    const char *p2[] = {kind, period, rows ? pg_str(res, 0, 4) : "now"};
    late = pg_query(pg,
                    "SELECT business_id, region_code, status = 'late', "
                    "cardinality(failed_codes) FROM records WHERE kind = $1 AND period = $2 "
                    "AND submitted_at >= $3::timestamptz - interval '1 minute'",
                    3, p2);
    if (!late || s_mark_rows(rds, sha, done, cnt, late) != 0) {
        log_error("could not re-mark recent records of %s", done);
        goto out;
    }
    n = rows;
out:
    free(done);
    free(cnt);
    free(tdone);
    free(tcnt);
    pg_free(&res);
    pg_free(&late);
    return n;
}

/* ---- submit: one batch ---------------------------------------------------- */

typedef enum {
    S_CHECK,  /* still being checked */
    S_DONE,   /* answered (an error or a stored answer) */
    S_WRITE,  /* valid: to be written */
    S_SAME_AS /* the same request id as an earlier one of the batch: copy its answer */
} s_state_t;

typedef enum {
    W_NONE,
    W_INSERTED, /* record written: record_id, problems_open */
    W_CONFLICT, /* a record for this business/kind/period exists */
    W_STORED,   /* another worker answered this request id: stored_status, stored_hex */
    W_LOST      /* claimed by another worker that wrote nothing: retry */
} s_outcome_t;

typedef struct {
    const Lz__Envelope *env;
    rpc_reply_t *rep;
    Lz__SubmitRecordRequest *in;
    s_state_t state;
    size_t same_as;
    char caller[64];
    char region[REGION_CODE_LEN + 1];
    char type[32];
    period_t period;
    bool late;
    int64_t checklist_id;
    int failed;
    /* outcome of the write */
    s_outcome_t outcome;
    int64_t record_id;
    int problems_open;
    int stored_status;
    char *stored_hex;
    bool remark; /* a stored 201: mark Redis again (idempotent) */
    /* ids taken ahead from the sequences for the one-statement write */
    int64_t pre_record_id;    /* 0: none */
    int64_t *pre_problem_ids; /* one per failed item (n_pre_problems) */
    size_t n_pre_problems;
    bool rule_failed; /* refused by the rules (a stored answer wins over that) */
} s_sub_t;

/* A checklist version's items, kept by the worker: the check query says
 * which version is the latest for each submission, so an entry is used only
 * while it is the latest and reloaded when a new version is published. */
typedef struct {
    char type[32];
    char kind[16];
    int64_t id; /* the checklist version (0: slot unused) */
    size_t n;
    ledger_item_def_t *defs; /* codes owned (xstrdup) */
} s_list_t;

#define S_LISTS_MAX 32
/* One cache per intake_t (the worker's and each lane's): no locks. */
struct ledger_lists_s {
    s_list_t l[S_LISTS_MAX];
};

void ledger_lists_free(ledger_lists_t **lists_p)
{
    if (!lists_p || !*lists_p)
        return;
    for (size_t i = 0; i < S_LISTS_MAX; i++) {
        s_list_t *l = &(*lists_p)->l[i];
        for (size_t j = 0; j < l->n; j++)
            free((char *)l->defs[j].code);
        free(l->defs);
    }
    free(*lists_p);
    *lists_p = NULL;
}

static void s_fail(s_sub_t *s, Lz__Status st, const char *field, const char *msg)
{
    rpc_reply_error(s->rep, st, field && field[0] ? field : NULL, "%s", msg);
    s->state = S_DONE;
}

/* The items of checklist id (type, kind), from the cache or loaded; NULL on a
 * database failure. */
static s_list_t *s_checklist(intake_t *self, const char *type, const char *kind, int64_t id)
{
    if (!self->lists)
        self->lists = xcalloc(1, sizeof *self->lists);
    s_list_t *s_lists = self->lists->l;
    s_list_t *l = NULL;
    for (size_t i = 0; i < S_LISTS_MAX && !l; i++)
        if (s_lists[i].id && strcmp(s_lists[i].type, type) == 0 &&
            strcmp(s_lists[i].kind, kind) == 0)
            l = &s_lists[i];
    if (l && l->id == id)
        return l;
    for (size_t i = 0; i < S_LISTS_MAX && !l; i++)
        if (!s_lists[i].id)
            l = &s_lists[i];
    if (!l)
        l = &s_lists[(size_t)id % S_LISTS_MAX];
    char idtxt[24];
    snprintf(idtxt, sizeof idtxt, "%" PRId64, id);
    const char *params[] = {idtxt};
    PGresult *res = pg_query_prepared(self->pg, "ledger_checklist_items",
                                      "SELECT code, required FROM checklist_items "
                                      "WHERE checklist_id = $1 ORDER BY position",
                                      1, params);
    if (!res)
        return NULL;
    for (size_t i = 0; i < l->n; i++)
        free((char *)l->defs[i].code);
    free(l->defs);
    memset(l, 0, sizeof *l);
    snprintf(l->type, sizeof l->type, "%s", type);
    snprintf(l->kind, sizeof l->kind, "%s", kind);
    l->id = id;
    l->n = (size_t)PQntuples(res);
    l->defs = xcalloc(l->n ? l->n : 1, sizeof *l->defs);
    for (size_t i = 0; i < l->n; i++) {
        l->defs[i].code = xstrdup(pg_str(res, (int)i, 0));
        l->defs[i].required = pg_bool(res, (int)i, 1);
    }
    pg_free(&res);
    return l;
}

/*
 * Stored answers: the subs whose request id was answered before get that
 * answer (409 when another caller used the id).  Looks at the subs that
 * failed the rules (rule_failed) or at those still to write (S_WRITE).
 * The common case never gets here: a new request id is found out by the
 * claim of the one-statement write.  0, or -1 when the database failed.
 */
static int s_stored(intake_t *self, s_sub_t *subs, size_t n, bool rule_failed)
{
    buf_t *rids = intake_arr_new();
    size_t want = 0;
    for (size_t i = 0; i < n; i++)
        if (rule_failed ? subs[i].rule_failed : subs[i].state == S_WRITE) {
            intake_arr_text(rids, subs[i].env->request_id);
            want++;
        }
    char *ridlit = intake_arr_done(&rids);
    if (want == 0) {
        free(ridlit);
        return 0;
    }
    const char *p2[] = {S_METHOD_SUBMIT, ridlit};
    /* planned each time: a generic plan made while write_requests was small
     * would keep scanning it whole */
    PGresult *res = pg_query(self->pg,
                             "SELECT request_id, status, encode(reply, 'hex'), caller "
                             "FROM write_requests WHERE method = $1 "
                             "AND request_id = ANY($2::text[]) AND status <> 0",
                             2, p2);
    free(ridlit);
    if (!res)
        return -1;
    for (int r = 0; r < PQntuples(res); r++) {
        for (size_t i = 0; i < n; i++) {
            s_sub_t *s = &subs[i];
            if (!(rule_failed ? s->rule_failed : s->state == S_WRITE) ||
                strcmp(s->env->request_id, pg_str(res, r, 0)) != 0)
                continue;
            s->rule_failed = false;
            if (strcmp(s->caller, pg_str(res, r, 3)) != 0) {
                s_fail(s, LZ__STATUS__CONFLICT, "request_id",
                       "request_id was used by another caller");
                continue;
            }
            s_reply_stored(s->rep, (int)pg_int(res, r, 1), pg_str(res, r, 2));
            s->state = S_DONE;
            s->remark = true;
        }
    }
    pg_free(&res);
    return 0;
}

/* Steps 1-3: decode, scope, stored answers, rules.  Returns -1 when the database failed. */
static int s_check_all(intake_t *self, int64_t now, s_sub_t *subs, size_t n)
{
    /* decode; every business at once */
    buf_t *ids = intake_arr_new(), *nfs = intake_arr_new(), *kinds = intake_arr_new();
    size_t *pos = xcalloc(n ? n : 1, sizeof *pos); /* array position -> sub */
    size_t npos = 0;
    for (size_t i = 0; i < n; i++) {
        s_sub_t *s = &subs[i];
        s->in =
            (Lz__SubmitRecordRequest *)rpc_unpack(s->env, &lz__submit_record_request__descriptor);
        s_caller_key(s->env->caller, s->caller, sizeof s->caller);
        if (!s->in) {
            s_fail(s, LZ__STATUS__INVALID_FIELD, NULL, "request does not parse");
            continue;
        }
        if (!s->env->request_id || !s->env->request_id[0]) {
            s_fail(s, LZ__STATUS__MISSING_FIELD, "request_id", "request_id is required");
            continue;
        }
        if (!s->in->has_business_id) {
            s_fail(s, LZ__STATUS__MISSING_FIELD, "business_id", "business_id is required");
            continue;
        }
        intake_arr_int(ids, s->in->business_id);
        /* the failed items, each a problem: their ids are taken with the record's */
        int nf = 0;
        for (size_t k = 0; k < s->in->n_items; k++)
            if (!s->in->items[k]->ok)
                nf++;
        intake_arr_int(nfs, nf <= LEDGER_ITEMS_MAX ? nf : 0);
        intake_arr_text(kinds, s->in->kind ? s->in->kind : "");
        pos[npos++] = i;
    }
    char *idlit = intake_arr_done(&ids), *nflit = intake_arr_done(&nfs),
         *kindlit = intake_arr_done(&kinds);
    const char *p1[] = {idlit, nflit, kindlit};
    /* one row per submission (by position): its business, the latest
     * checklist of its type and kind, and a record id and the problem ids
     * taken from the sequences now, so that the answers, events and audit
     * entries are known before the one-statement write (unused ids are gaps).
     * Taking sequence values makes PostgreSQL flush the WAL at the end of
     * this read-only statement (an fsync per batch); it need not: the ids
     * are used only by the write, whose synchronous commit flushes the
     * sequence's WAL with its own, so this statement commits asynchronously. */
    PGresult *res = pg_query_prepared(
        self->pg, "ledger_businesses_ids",
        "SELECT t.i, b.id, b.region_code, b.type, b.status, nextval('records_id_seq'), "
        "ARRAY(SELECT nextval('problems_id_seq') FROM generate_series(1, t.nf)), "
        "(SELECT c.id FROM checklists c WHERE c.type = b.type AND c.kind = t.k "
        "ORDER BY c.version DESC LIMIT 1) "
        "FROM (SELECT set_config('synchronous_commit', 'off', true)) AS sc, "
        "unnest($1::bigint[], $2::int[], $3::text[]) WITH ORDINALITY AS t(id, nf, k, i) "
        "JOIN businesses b ON b.id = t.id",
        3, p1);
    free(idlit);
    free(nflit);
    free(kindlit);
    if (!res) {
        free(pos);
        return -1;
    }
    int *rowof = xcalloc(n ? n : 1, sizeof *rowof);
    for (size_t i = 0; i < n; i++)
        rowof[i] = -1;
    for (int r = 0; r < PQntuples(res); r++) {
        int64_t at = pg_int(res, r, 0);
        if (at >= 1 && (size_t)at <= npos)
            rowof[pos[at - 1]] = r;
    }
    free(pos);
    for (size_t i = 0; i < n; i++) {
        s_sub_t *s = &subs[i];
        if (s->state != S_CHECK)
            continue;
        int row = rowof[i]; /* columns: position, then the business's */
        if (row >= 0) {
            s->pre_record_id = pg_int(res, row, 5);
            s_parse_ids(pg_str(res, row, 6), &s->pre_problem_ids, &s->n_pre_problems);
            s->checklist_id = pg_str(res, row, 7) ? pg_int(res, row, 7) : 0;
        }
        if (row < 0 || !s_visible(self, s->env->caller, s->in->business_id, pg_str(res, row, 2))) {
            char msg[64];
            snprintf(msg, sizeof msg, "no business %" PRId64, s->in->business_id);
            s_fail(s, LZ__STATUS__NOT_FOUND, "business_id", msg);
            continue;
        }
        snprintf(s->region, sizeof s->region, "%s", pg_str(res, row, 2));
        snprintf(s->type, sizeof s->type, "%s", pg_str(res, row, 3));
        if (strcmp(pg_str(res, row, 4), "active") != 0) {
            s_fail(s, LZ__STATUS__INVALID_FIELD, "business_id",
                   "the business is not active: it owes no ledgers");
            continue;
        }
    }
    free(rowof);
    pg_free(&res);

    /* the rules */
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        s_sub_t *s = &subs[i];
        if (s->state != S_CHECK)
            continue;
        ledger_error_t err;
        s->rule_failed = true; /* until the rules pass */
        if (ledger_check_submission(&self->rules, s->in, now, &s->period, &s->late, &err) != 0) {
            s_fail(s, err.status, err.field, err.message);
            continue;
        }
        if (s->checklist_id == 0) {
            s_fail(s, LZ__STATUS__INTERNAL, NULL, "no checklist for this type and kind");
            continue;
        }
        s_list_t *l = s_checklist(self, s->type, s->in->kind, s->checklist_id);
        if (!l) {
            rc = -1;
            break;
        }
        if (ledger_check_items(l->defs, l->n, s->in->items, s->in->n_items, &err) != 0 ||
            ledger_check_problems(s->in->items, s->in->n_items, s->in->problems, s->in->n_problems,
                                  &err) != 0) {
            s_fail(s, err.status, err.field, err.message);
            continue;
        }
        s->checklist_id = l->id;
        s->failed = 0;
        for (size_t k = 0; k < s->in->n_items; k++)
            if (!s->in->items[k]->ok)
                s->failed++;
        s->state = S_WRITE;
        s->rule_failed = false;
    }
    /* a request seen before gets its first answer even when it would fail the rules now */
    if (rc == 0 && s_stored(self, subs, n, true) != 0) {
        for (size_t i = 0; i < n; i++)
            if (subs[i].rule_failed)
                s_fail(&subs[i], LZ__STATUS__UNAVAILABLE, NULL, "database unavailable");
        rc = -1;
    }
    return rc;
}

/* Step 4: a repeated request id shares the answer; a second record for one period is 409. */
static void s_dedupe(s_sub_t *subs, size_t n)
{
    for (size_t j = 0; j < n; j++) {
        s_sub_t *b = &subs[j];
        if (b->state != S_WRITE)
            continue;
        for (size_t i = 0; i < j; i++) {
            s_sub_t *a = &subs[i];
            if (a->state != S_WRITE)
                continue;
            if (strcmp(a->env->request_id, b->env->request_id) == 0) {
                b->state = S_SAME_AS;
                b->same_as = i;
                break;
            }
            if (a->in->business_id == b->in->business_id && strcmp(a->in->kind, b->in->kind) == 0 &&
                strcmp(a->in->period, b->in->period) == 0) {
                s_fail(b, LZ__STATUS__CONFLICT, "period",
                       "a record for this business, kind and period exists already");
                break;
            }
        }
    }
}

/* Array literals of outbox rows being gathered (topic, key, payload as hex). */
typedef struct {
    buf_t *topic, *key, *hex;
} s_events_t;

/* Array literals of audit rows being gathered. */
typedef struct {
    buf_t *role, *token, *name, *object, *detail;
} s_audits_t;

static void s_events_new(s_events_t *e)
{
    e->topic = intake_arr_new();
    e->key = intake_arr_new();
    e->hex = intake_arr_new();
}

static void s_audits_new(s_audits_t *a)
{
    a->role = intake_arr_new();
    a->token = intake_arr_new();
    a->name = intake_arr_new();
    a->object = intake_arr_new();
    a->detail = intake_arr_new();
}

/* The answer of sub s written as record record_id, packed as hex (caller frees). */
static char *s_answer_hex(const s_sub_t *s, int64_t record_id)
{
    Lz__SubmitRecordReply rep = LZ__SUBMIT_RECORD_REPLY__INIT;
    rep.has_id = rep.has_problems_open = 1;
    rep.id = record_id;
    rep.status = s->late ? "late" : "on_time";
    rep.problems_open = s->problems_open;
    return s_pack_hex(&rep.base);
}

/* Append the outbox event topic/key/payload to the event arrays. */
static void s_event(s_events_t *e, const char *topic, const char *key, const ProtobufCMessage *msg)
{
    char *hex = s_pack_hex(msg);
    intake_arr_text(e->topic, topic);
    intake_arr_text(e->key, key);
    intake_arr_text(e->hex, hex);
    free(hex);
}

/* Append ledger.accepted of sub s, written as record record_id at now. */
static void s_event_accepted(s_events_t *e, const s_sub_t *s, int64_t record_id, int64_t now)
{
    char key[24];
    snprintf(key, sizeof key, "%" PRId64, s->in->business_id);
    Lz__LedgerAccepted ev = LZ__LEDGER_ACCEPTED__INIT;
    ev.has_record_id = ev.has_business_id = ev.has_failed = ev.has_problems_open =
        ev.has_submitted_at = 1;
    ev.record_id = record_id;
    ev.business_id = s->in->business_id;
    ev.region_code = (char *)s->region;
    ev.kind = s->in->kind;
    ev.period = s->in->period;
    ev.status = s->late ? "late" : "on_time";
    ev.failed = s->failed;
    ev.problems_open = s->problems_open;
    ev.submitted_at = now;
    s_event(e, "ledger.accepted", key, &ev.base);
}

/* Append problem.opened of problem problem_id (item of record record_id). */
static void s_event_problem(s_events_t *e, int64_t problem_id, int64_t business_id,
                            const char *region, int64_t record_id, const char *item)
{
    char key[24];
    snprintf(key, sizeof key, "%" PRId64, business_id);
    Lz__ProblemEvent ev = LZ__PROBLEM_EVENT__INIT;
    ev.has_problem_id = ev.has_business_id = ev.has_source_id = 1;
    ev.problem_id = problem_id;
    ev.business_id = business_id;
    ev.region_code = (char *)region;
    ev.source = "ledger";
    ev.source_id = record_id;
    ev.item = (char *)item;
    s_event(e, "problem.opened", key, &ev.base);
}

/* Append the audit entry of sub s, written as record record_id. */
static void s_audit_row(s_audits_t *a, const s_sub_t *s, int64_t record_id)
{
    const Lz__Caller *c = s->env->caller;
    intake_arr_text(a->role, c && c->role ? c->role : "unknown");
    if (c && c->has_token_id)
        intake_arr_int(a->token, c->token_id);
    else
        intake_arr_text(a->token, NULL);
    intake_arr_text(a->name, c ? c->name : NULL);
    char obj[48];
    snprintf(obj, sizeof obj, "records/%" PRId64, record_id);
    intake_arr_text(a->object, obj);
    json_t *d = json_pack("{s:I,s:s,s:s,s:s,s:i,s:i}", "business_id",
                          (json_int_t)s->in->business_id, "kind", s->in->kind, "period",
                          s->in->period, "status", s->late ? "late" : "on_time", "failed",
                          s->failed, "problems_open", s->problems_open);
    char *dj = d ? json_dumps(d, JSON_COMPACT) : NULL;
    intake_arr_text(a->detail, dj ? dj : "{}");
    free(dj);
    json_decref(d);
}

/* Run a statement with text parameters; the result or NULL. */
static PGresult *s_q(intake_t *self, const char *name, const char *sql, int n, char **params)
{
    return pg_query_prepared(self->pg, name, sql, n, (const char *const *)params);
}

static void s_free_params(char **p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(p[i]);
}

/*
 * Step 5: write subs[idx[0..k)] in one transaction.  Sets each one's
 * outcome; 0 after COMMIT, -1 (rolled back, outcomes void) on failure.
 */
static int s_write(intake_t *self, int64_t now, s_sub_t *subs, const size_t *idx, size_t k)
{
    char nowtxt[24];
    snprintf(nowtxt, sizeof nowtxt, "%" PRId64, now);
    for (size_t j = 0; j < k; j++) {
        subs[idx[j]].outcome = W_NONE;
        xfree(&subs[idx[j]].stored_hex);
    }
    if (pg_begin(self->pg) != 0)
        return -1;
    PGresult *res = NULL;

    /* claim the request ids */
    buf_t *a = intake_arr_new(), *b = intake_arr_new();
    for (size_t j = 0; j < k; j++) {
        intake_arr_text(a, subs[idx[j]].env->request_id);
        intake_arr_text(b, subs[idx[j]].caller);
    }
    char *cp[3] = {intake_arr_done(&a), xstrdup(S_METHOD_SUBMIT), intake_arr_done(&b)};
    res = s_q(self, "ledger_claim",
              "INSERT INTO write_requests (request_id, method, caller, status) "
              "SELECT r, $2, c, 0 FROM unnest($1::text[], $3::text[]) AS t(r, c) ORDER BY r "
              "ON CONFLICT DO NOTHING RETURNING request_id",
              3, cp);
    s_free_params(cp, 3);
    if (!res)
        goto fail;
    size_t nclaimed = 0;
    for (size_t j = 0; j < k; j++) {
        s_sub_t *s = &subs[idx[j]];
        s->outcome = W_STORED;
        for (int r = 0; r < PQntuples(res); r++)
            if (strcmp(pg_str(res, r, 0), s->env->request_id) == 0) {
                s->outcome = W_NONE;
                nclaimed++;
            }
    }
    pg_free(&res);
    if (nclaimed < k) {
        /* claimed first by another worker, which has committed by now */
        a = intake_arr_new();
        for (size_t j = 0; j < k; j++)
            if (subs[idx[j]].outcome == W_STORED)
                intake_arr_text(a, subs[idx[j]].env->request_id);
        char *sp[2] = {xstrdup(S_METHOD_SUBMIT), intake_arr_done(&a)};
        res = s_q(self, "ledger_claimed",
                  "SELECT request_id, status, encode(reply, 'hex'), caller FROM write_requests "
                  "WHERE method = $1 AND request_id = ANY($2::text[])",
                  2, sp);
        s_free_params(sp, 2);
        if (!res)
            goto fail;
        for (size_t j = 0; j < k; j++) {
            s_sub_t *s = &subs[idx[j]];
            if (s->outcome != W_STORED)
                continue;
            s->outcome = W_LOST;
            for (int r = 0; r < PQntuples(res); r++)
                if (strcmp(pg_str(res, r, 0), s->env->request_id) == 0 && pg_int(res, r, 1) != 0 &&
                    strcmp(pg_str(res, r, 3), s->caller) == 0) {
                    s->outcome = W_STORED;
                    s->stored_status = (int)pg_int(res, r, 1);
                    s->stored_hex = xstrdup(pg_str(res, r, 2));
                }
        }
        pg_free(&res);
    }
    if (nclaimed == 0)
        return pg_commit(self->pg);

    /* the records */
    buf_t *ab = intake_arr_new(), *ar = intake_arr_new(), *ak = intake_arr_new(),
          *ap = intake_arr_new(), *aps = intake_arr_new(), *acl = intake_arr_new(),
          *ast = intake_arr_new(), *asb = intake_arr_new(), *afc = intake_arr_new(),
          *afn = intake_arr_new(), *asum = intake_arr_new(), *arid = intake_arr_new();
    for (size_t j = 0; j < k; j++) {
        s_sub_t *s = &subs[idx[j]];
        if (s->outcome != W_NONE)
            continue;
        intake_arr_int(ab, s->in->business_id);
        intake_arr_text(ar, s->region);
        intake_arr_text(ak, s->in->kind);
        intake_arr_text(ap, s->in->period);
        intake_arr_int(aps, period_start(&s->period));
        intake_arr_int(acl, s->checklist_id);
        intake_arr_text(ast, s->late ? "late" : "on_time");
        intake_arr_text(asb, s->in->submitted_by);
        buf_t *fc = intake_arr_new(), *fn = intake_arr_new();
        for (size_t i = 0; i < s->in->n_items; i++)
            if (!s->in->items[i]->ok) {
                intake_arr_text(fc, s->in->items[i]->code);
                intake_arr_text(fn, s->in->items[i]->note);
            }
        char *fcs = intake_arr_done(&fc), *fns = intake_arr_done(&fn);
        intake_arr_text(afc, fcs);
        intake_arr_text(afn, fns);
        free(fcs);
        free(fns);
        intake_arr_text(asum, s->in->summary);
        intake_arr_text(arid, s->env->request_id);
    }
    char *rp[13] = {intake_arr_done(&ab),  intake_arr_done(&ar),  intake_arr_done(&ak),
                    intake_arr_done(&ap),  intake_arr_done(&aps), intake_arr_done(&acl),
                    intake_arr_done(&ast), intake_arr_done(&asb), xstrdup(nowtxt),
                    intake_arr_done(&afc), intake_arr_done(&afn), intake_arr_done(&asum),
                    intake_arr_done(&arid)};
    res = s_q(self, "ledger_records",
              "INSERT INTO records (business_id, region_code, kind, period, period_start, "
              "checklist_id, status, submitted_by, submitted_at, failed_codes, failed_notes, "
              "summary, request_id) "
              "SELECT b, r, k, p, to_timestamp(ps), cl, st, sb, to_timestamp($9::float8), "
              "fc::text[], fn::text[], sm, rid "
              "FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[], "
              "$6::bigint[], $7::text[], $8::text[], $10::text[], $11::text[], $12::text[], "
              "$13::text[]) AS t(b, r, k, p, ps, cl, st, sb, fc, fn, sm, rid) "
              "ORDER BY b, k, p "
              "ON CONFLICT (business_id, kind, period, period_start) DO NOTHING "
              "RETURNING id, business_id, kind, period",
              13, rp);
    s_free_params(rp, 13);
    if (!res)
        goto fail;
    size_t ninserted = 0;
    for (size_t j = 0; j < k; j++) {
        s_sub_t *s = &subs[idx[j]];
        if (s->outcome != W_NONE)
            continue;
        s->outcome = W_CONFLICT;
        for (int r = 0; r < PQntuples(res); r++)
            if (pg_int(res, r, 1) == s->in->business_id &&
                strcmp(pg_str(res, r, 2), s->in->kind) == 0 &&
                strcmp(pg_str(res, r, 3), s->in->period) == 0) {
                s->outcome = W_INSERTED;
                s->record_id = pg_int(res, r, 0);
                ninserted++;
            }
    }
    pg_free(&res);
    if (ninserted < nclaimed) {
        /* nothing is kept for an error: drop the claims of the conflicts */
        a = intake_arr_new();
        for (size_t j = 0; j < k; j++)
            if (subs[idx[j]].outcome == W_CONFLICT)
                intake_arr_text(a, subs[idx[j]].env->request_id);
        char *dp[2] = {xstrdup(S_METHOD_SUBMIT), intake_arr_done(&a)};
        res = s_q(self, "ledger_unclaim",
                  "DELETE FROM write_requests WHERE method = $1 AND request_id = ANY($2::text[])",
                  2, dp);
        s_free_params(dp, 2);
        if (!res)
            goto fail;
        pg_free(&res);
    }
    if (ninserted == 0)
        return pg_commit(self->pg);

    /* the problems: one per failed item, open unless reported fixed */
    ab = intake_arr_new(), ar = intake_arr_new();
    buf_t *asrc = intake_arr_new(), *acode = intake_arr_new(), *adesc = intake_arr_new(),
          *aact = intake_arr_new(), *afix = intake_arr_new();
    size_t nprob = 0;
    for (size_t j = 0; j < k; j++) {
        s_sub_t *s = &subs[idx[j]];
        if (s->outcome != W_INSERTED)
            continue;
        s->problems_open = 0;
        for (size_t i = 0; i < s->in->n_items; i++) {
            const Lz__RecordItem *it = s->in->items[i];
            if (it->ok)
                continue;
            const Lz__RecordProblem *p = ledger_problem_for(s->in, it->code);
            bool fixed = p && p->has_fixed && p->fixed;
            intake_arr_int(ab, s->in->business_id);
            intake_arr_text(ar, s->region);
            intake_arr_int(asrc, s->record_id);
            intake_arr_text(acode, it->code);
            intake_arr_text(adesc,
                            p && p->description && p->description[0] ? p->description : it->note);
            intake_arr_text(aact, p && p->action ? p->action : "");
            intake_arr_bool(afix, fixed);
            if (!fixed)
                s->problems_open++;
            nprob++;
        }
    }
    char *pp[8] = {intake_arr_done(&ab),    intake_arr_done(&ar),    intake_arr_done(&asrc),
                   intake_arr_done(&acode), intake_arr_done(&adesc), intake_arr_done(&aact),
                   intake_arr_done(&afix),  xstrdup(nowtxt)};
    res = NULL;
    if (nprob > 0) {
        res = s_q(self, "ledger_problems",
                  "INSERT INTO problems (business_id, region_code, source, source_id, item_code, "
                  "description, action, opened_at, fixed_at, fixed_action) "
                  "SELECT b, r, 'ledger', s, c, d, a, to_timestamp($8::float8), "
                  "CASE WHEN f THEN to_timestamp($8::float8) END, CASE WHEN f THEN a END "
                  "FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::text[], "
                  "$6::text[], $7::bool[]) AS t(b, r, s, c, d, a, f) "
                  "RETURNING id, business_id, region_code, source_id, item_code, fixed_at IS NULL",
                  8, pp);
        if (!res) {
            s_free_params(pp, 8);
            goto fail;
        }
    }
    s_free_params(pp, 8);

    /* answers, events, audit */
    buf_t *wr = intake_arr_new(), *wh = intake_arr_new(), *urid = intake_arr_new();
    s_events_t ev;
    s_audits_t au;
    s_events_new(&ev);
    s_audits_new(&au);
    for (size_t j = 0; j < k; j++) {
        s_sub_t *s = &subs[idx[j]];
        if (s->outcome != W_INSERTED)
            continue;
        char *hex = s_answer_hex(s, s->record_id);
        intake_arr_text(wr, s->env->request_id);
        intake_arr_text(wh, hex);
        free(hex);
        s_event_accepted(&ev, s, s->record_id, now);
        s_audit_row(&au, s, s->record_id);
        intake_arr_text(urid, s->env->request_id);
    }
    for (int r = 0; res && r < PQntuples(res); r++)
        if (pg_bool(res, r, 5))
            s_event_problem(&ev, pg_int(res, r, 0), pg_int(res, r, 1), pg_str(res, r, 2),
                            pg_int(res, r, 3), pg_str(res, r, 4));
    pg_free(&res);
    char *ap2[3] = {xstrdup(S_METHOD_SUBMIT), intake_arr_done(&wr), intake_arr_done(&wh)};
    res = s_q(self, "ledger_answers",
              "UPDATE write_requests w SET status = 201, reply = decode(t.h, 'hex') "
              "FROM unnest($2::text[], $3::text[]) AS t(r, h) "
              "WHERE w.method = $1 AND w.request_id = t.r",
              3, ap2);
    s_free_params(ap2, 3);
    char *op[3] = {intake_arr_done(&ev.topic), intake_arr_done(&ev.key), intake_arr_done(&ev.hex)};
    char *up[6] = {intake_arr_done(&au.role), intake_arr_done(&au.token),
                   intake_arr_done(&au.name), intake_arr_done(&au.object),
                   intake_arr_done(&urid),    intake_arr_done(&au.detail)};
    if (!res)
        goto fail_free;
    pg_free(&res);
    /* the outbox and the audit log, many rows at once (the columns outbox_write
     * and audit_write fill, with the same defaults) */
    res = s_q(self, "ledger_outbox",
              "INSERT INTO outbox (topic, key, payload) "
              "SELECT t, k, decode(h, 'hex') FROM unnest($1::text[], $2::text[], $3::text[]) "
              "AS u(t, k, h)",
              3, op);
    if (!res)
        goto fail_free;
    pg_free(&res);
    res = s_q(self, "ledger_audit",
              "INSERT INTO audit_log (actor_role, actor_id, actor_name, action, object, "
              "request_id, detail) "
              "SELECT ro, ai, an, 'record.submit', o, r, d::jsonb FROM unnest($1::text[], "
              "$2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[]) "
              "AS t(ro, ai, an, o, r, d)",
              6, up);
    if (!res)
        goto fail_free;
    pg_free(&res);
    s_free_params(op, 3);
    s_free_params(up, 6);
    return pg_commit(self->pg);

fail_free:
    s_free_params(op, 3);
    s_free_params(up, 6);
fail:
    pg_rollback(self->pg);
    return -1;
}

/*
 * Step 5, the usual case: write subs[idx[0..k)] in ONE statement (one
 * implicit transaction, one round trip) with the ids taken in step 1:
 * claims carrying their stored answers, records, problems, outbox events,
 * audit entries.  Plain INSERTs (a speculative ON CONFLICT insert costs
 * twice as much): when a request id or a record already exists, the unique
 * violation rolls the whole statement back, -1 is returned and s_stored +
 * s_write answer each case.  lz_intake_assert (migration 0013) checks that
 * every claim and every record went in.  0 when committed (every outcome
 * W_INSERTED).
 */
static int s_write_fast(intake_t *self, int64_t now, s_sub_t *subs, const size_t *idx, size_t k)
{
    for (size_t j = 0; j < k; j++) {
        const s_sub_t *s = &subs[idx[j]];
        if (s->pre_record_id <= 0 || (size_t)s->failed != s->n_pre_problems)
            return -1;
    }
    char nowtxt[24], ktxt[24];
    snprintf(nowtxt, sizeof nowtxt, "%" PRId64, now);
    snprintf(ktxt, sizeof ktxt, "%zu", k);
    /* claims with their answers */
    buf_t *cr = intake_arr_new(), *cc = intake_arr_new(), *ch = intake_arr_new();
    /* records */
    buf_t *rid = intake_arr_new(), *rb = intake_arr_new(), *rr = intake_arr_new(),
          *rk = intake_arr_new(), *rp = intake_arr_new(), *rps = intake_arr_new(),
          *rcl = intake_arr_new(), *rst = intake_arr_new(), *rsb = intake_arr_new(),
          *rfc = intake_arr_new(), *rfn = intake_arr_new(), *rsum = intake_arr_new();
    /* problems */
    buf_t *pid = intake_arr_new(), *pb = intake_arr_new(), *pr = intake_arr_new(),
          *psrc = intake_arr_new(), *pcode = intake_arr_new(), *pdesc = intake_arr_new(),
          *pact = intake_arr_new(), *pfix = intake_arr_new();
    /* outbox: ledger.accepted, problem.opened (in the order s_write gives them) */
    s_events_t ev, pev;
    s_events_new(&ev);
    s_events_new(&pev);
    s_audits_t au;
    s_audits_new(&au);
    for (size_t j = 0; j < k; j++) {
        s_sub_t *s = &subs[idx[j]];
        const char *status = s->late ? "late" : "on_time";
        /* the record and its problems */
        intake_arr_int(rid, s->pre_record_id);
        intake_arr_int(rb, s->in->business_id);
        intake_arr_text(rr, s->region);
        intake_arr_text(rk, s->in->kind);
        intake_arr_text(rp, s->in->period);
        intake_arr_int(rps, period_start(&s->period));
        intake_arr_int(rcl, s->checklist_id);
        intake_arr_text(rst, status);
        intake_arr_text(rsb, s->in->submitted_by);
        buf_t *fc = intake_arr_new(), *fn = intake_arr_new();
        s->problems_open = 0;
        size_t np = 0;
        for (size_t i = 0; i < s->in->n_items; i++) {
            const Lz__RecordItem *it = s->in->items[i];
            if (it->ok)
                continue;
            intake_arr_text(fc, it->code);
            intake_arr_text(fn, it->note);
            const Lz__RecordProblem *p = ledger_problem_for(s->in, it->code);
            bool fixed = p && p->has_fixed && p->fixed;
            int64_t prob_id = s->pre_problem_ids[np++];
            intake_arr_int(pid, prob_id);
            intake_arr_int(pb, s->in->business_id);
            intake_arr_text(pr, s->region);
            intake_arr_int(psrc, s->pre_record_id);
            intake_arr_text(pcode, it->code);
            intake_arr_text(pdesc,
                            p && p->description && p->description[0] ? p->description : it->note);
            intake_arr_text(pact, p && p->action ? p->action : "");
            intake_arr_bool(pfix, fixed);
            if (fixed)
                continue;
            s->problems_open++;
            s_event_problem(&pev, prob_id, s->in->business_id, s->region, s->pre_record_id,
                            it->code);
        }
        char *fcs = intake_arr_done(&fc), *fns = intake_arr_done(&fn);
        intake_arr_text(rfc, fcs);
        intake_arr_text(rfn, fns);
        free(fcs);
        free(fns);
        intake_arr_text(rsum, s->in->summary);
        /* the claim with its answer, the event, the audit entry */
        char *hex = s_answer_hex(s, s->pre_record_id);
        intake_arr_text(cr, s->env->request_id);
        intake_arr_text(cc, s->caller);
        intake_arr_text(ch, hex);
        free(hex);
        s_event_accepted(&ev, s, s->pre_record_id, now);
        s_audit_row(&au, s, s->pre_record_id);
    }
    char *params[] = {xstrdup(S_METHOD_SUBMIT),
                      intake_arr_done(&cr),
                      intake_arr_done(&cc),
                      intake_arr_done(&ch),
                      intake_arr_done(&rid),
                      intake_arr_done(&rb),
                      intake_arr_done(&rr),
                      intake_arr_done(&rk),
                      intake_arr_done(&rp),
                      intake_arr_done(&rps),
                      intake_arr_done(&rcl),
                      intake_arr_done(&rst),
                      intake_arr_done(&rsb),
                      xstrdup(nowtxt),
                      intake_arr_done(&rfc),
                      intake_arr_done(&rfn),
                      intake_arr_done(&rsum),
                      intake_arr_done(&pid),
                      intake_arr_done(&pb),
                      intake_arr_done(&pr),
                      intake_arr_done(&psrc),
                      intake_arr_done(&pcode),
                      intake_arr_done(&pdesc),
                      intake_arr_done(&pact),
                      intake_arr_done(&pfix),
                      intake_arr_done(&ev.topic),
                      intake_arr_done(&ev.key),
                      intake_arr_done(&ev.hex),
                      intake_arr_done(&pev.topic),
                      intake_arr_done(&pev.key),
                      intake_arr_done(&pev.hex),
                      intake_arr_done(&au.role),
                      intake_arr_done(&au.token),
                      intake_arr_done(&au.name),
                      intake_arr_done(&au.object),
                      intake_arr_done(&au.detail),
                      xstrdup(ktxt)};
    size_t np = sizeof params / sizeof params[0];
    PGresult *res = s_q(
        self, "ledger_group_write",
        "WITH c AS (INSERT INTO write_requests (request_id, method, caller, status, reply) "
        "SELECT r, $1, c, 201, decode(h, 'hex') FROM unnest($2::text[], $3::text[], $4::text[]) "
        "AS t(r, c, h) ORDER BY r RETURNING 1), "
        "r AS (INSERT INTO records (id, business_id, region_code, kind, period, period_start, "
        "checklist_id, status, submitted_by, submitted_at, failed_codes, failed_notes, summary, "
        "request_id) "
        "SELECT id, b, r, k, p, to_timestamp(ps), cl, st, sb, to_timestamp($14::float8), "
        "fc::text[], fn::text[], sm, rq FROM unnest($5::bigint[], $6::bigint[], $7::text[], "
        "$8::text[], $9::text[], $10::bigint[], $11::bigint[], $12::text[], $13::text[], "
        "$15::text[], $16::text[], $17::text[], $2::text[]) "
        "AS t(id, b, r, k, p, ps, cl, st, sb, fc, fn, sm, rq) ORDER BY b, k, p "
        "RETURNING 1), "
        "p AS (INSERT INTO problems (id, business_id, region_code, source, source_id, item_code, "
        "description, action, opened_at, fixed_at, fixed_action) "
        "SELECT id, b, r, 'ledger', s, c, d, a, to_timestamp($14::float8), "
        "CASE WHEN f THEN to_timestamp($14::float8) END, CASE WHEN f THEN a END "
        "FROM unnest($18::bigint[], $19::bigint[], $20::text[], $21::bigint[], $22::text[], "
        "$23::text[], $24::text[], $25::bool[]) AS t(id, b, r, s, c, d, a, f)), "
        "o AS (INSERT INTO outbox (topic, key, payload) "
        "SELECT t, k, decode(h, 'hex') FROM (SELECT * FROM unnest($26::text[], $27::text[], "
        "$28::text[]) WITH ORDINALITY AS u(t, k, h, n) UNION ALL SELECT t, k, h, n + 1000000 "
        "FROM unnest($29::text[], $30::text[], $31::text[]) WITH ORDINALITY AS v(t, k, h, n)) e "
        "ORDER BY n), "
        "a AS (INSERT INTO audit_log (actor_role, actor_id, actor_name, action, object, "
        "request_id, detail) "
        "SELECT ro, ai, an, 'record.submit', o, r, d::jsonb FROM unnest($32::text[], "
        "$33::bigint[], $34::text[], $35::text[], $2::text[], $36::text[]) "
        "AS t(ro, ai, an, o, r, d)) "
        "SELECT lz_intake_assert((SELECT count(*) FROM c) = $37::bigint "
        "AND (SELECT count(*) FROM r) = $37::bigint, 'a request id or a record exists')",
        (int)np, params);
    s_free_params(params, np);
    if (!res)
        return -1;
    pg_free(&res);
    for (size_t j = 0; j < k; j++) {
        s_sub_t *s = &subs[idx[j]];
        s->outcome = W_INSERTED;
        s->record_id = s->pre_record_id;
    }
    return 0;
}

/*
 * After COMMIT: the Redis marks of the inserted records, one EVALSHA of the
 * group script for the batch; when it fails (a broken connection, the
 * script not loaded) each record is marked alone with EVAL.
 */
static void s_mark_inserted(intake_t *self, s_sub_t *subs, const size_t *idx, size_t k)
{
    if (!self->rds)
        return;
    if (!self->mark_sha[0] && s_mark_sha(self->rds, self->mark_sha) != 0)
        self->mark_sha[0] = '\0';
    size_t m = 0;
    for (size_t j = 0; j < k; j++)
        m += subs[idx[j]].outcome == W_INSERTED;
    if (m == 0)
        return;
    /* argv: EVALSHA sha numkeys, 2 keys and 4 args per record */
    size_t argc = 3 + 6 * m;
    const char **argv = xcalloc(argc, sizeof *argv);
    char **owned = xcalloc(6 * m, sizeof *owned);
    char nkeys[24];
    snprintf(nkeys, sizeof nkeys, "%zu", 2 * m);
    argv[0] = "EVALSHA";
    argv[1] = self->mark_sha;
    argv[2] = nkeys;
    size_t r = 0;
    for (size_t j = 0; j < k; j++) {
        s_sub_t *s = &subs[idx[j]];
        if (s->outcome != W_INSERTED)
            continue;
        char chain[6 * (REGION_CODE_LEN + 1) + 1];
        s_region_chain(s->region, chain, sizeof chain);
        owned[6 * r] = xasprintf("lz:done:%s:%s", s->in->kind, s->in->period);
        owned[6 * r + 1] = xasprintf("lz:cnt:%s:%s", s->in->kind, s->in->period);
        owned[6 * r + 2] = xasprintf("%" PRId64, s->in->business_id);
        owned[6 * r + 3] = xstrdup(s->late ? "1" : "0");
        owned[6 * r + 4] = xasprintf("%d", s->failed);
        owned[6 * r + 5] = xstrdup(chain);
        argv[3 + 2 * r] = owned[6 * r];
        argv[4 + 2 * r] = owned[6 * r + 1];
        for (int a = 0; a < 4; a++)
            argv[3 + 2 * m + 4 * r + (size_t)a] = owned[6 * r + 2 + (size_t)a];
        r++;
    }
    redisReply *rep = self->mark_sha[0] ? rds_cmd_argv(self->rds, (int)argc, argv, NULL) : NULL;
    bool done = rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == m;
    rds_free(&rep);
    if (!done) {
        self->mark_sha[0] = '\0'; /* load the script again next time */
        for (size_t j = 0; j < k; j++) {
            s_sub_t *s = &subs[idx[j]];
            if (s->outcome == W_INSERTED)
                ledger_cache_mark(self->rds, s->in->business_id, s->region, s->in->kind,
                                  s->in->period, s->late, s->failed);
        }
    }
    for (size_t i = 0; i < 6 * m; i++)
        free(owned[i]);
    free(owned);
    free(argv);
}

void intake_submit_records(void *ctx, size_t n, const Lz__Envelope *const *reqs, rpc_reply_t *reps)
{
    intake_t *self = ctx;
    int64_t now = clock_now_s() + self->clock_offset_s; /* the handler boundary */
    int64_t t0 = clock_mono_us();
    s_sub_t *subs = xcalloc(n, sizeof *subs);
    for (size_t i = 0; i < n; i++) {
        subs[i].env = reqs[i];
        subs[i].rep = &reps[i];
    }
    if (s_check_all(self, now, subs, n) != 0) {
        for (size_t i = 0; i < n; i++)
            if (subs[i].state == S_CHECK || subs[i].state == S_WRITE)
                s_fail(&subs[i], LZ__STATUS__UNAVAILABLE, NULL, "database unavailable");
    }
    s_dedupe(subs, n);

    size_t *idx = xcalloc(n ? n : 1, sizeof *idx);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (subs[i].state == S_WRITE)
            idx[k++] = i;
    int64_t t1 = clock_mono_us();
    bool fast = true;
    if (k > 0 && !(fast = s_write_fast(self, now, subs, idx, k) == 0)) {
        /* a request id or a record exists: stored answers first, then step by step */
        if (s_stored(self, subs, n, false) != 0)
            for (size_t j = 0; j < k; j++)
                s_fail(&subs[idx[j]], LZ__STATUS__UNAVAILABLE, NULL, "database unavailable");
        size_t k2 = 0;
        for (size_t j = 0; j < k; j++)
            if (subs[idx[j]].state == S_WRITE)
                idx[k2++] = idx[j];
        k = k2;
    }
    if (k > 0 && !fast && s_write(self, now, subs, idx, k) != 0) {
        if (k > 1)
            log_warn("group of %zu records failed; writing them one by one", k);
        for (size_t j = 0; j < k; j++) {
            if (k == 1 || s_write(self, now, subs, &idx[j], 1) != 0) {
                subs[idx[j]].outcome = W_NONE;
                s_fail(&subs[idx[j]], LZ__STATUS__UNAVAILABLE, NULL,
                       "the record could not be written; retry with the same request_id");
            }
        }
    }
    /* committed: Redis, then the answers */
    int64_t t2 = clock_mono_us();
    s_mark_inserted(self, subs, idx, k);
    log_debug("submit: %zu requests, %zu written (%s): checked in %" PRId64
              " us, written in %" PRId64 " us, marked in %" PRId64 " us",
              n, k, fast ? "one statement" : "step by step", t1 - t0, t2 - t1,
              clock_mono_us() - t2);
    for (size_t j = 0; j < k; j++) {
        s_sub_t *s = &subs[idx[j]];
        switch (s->outcome) {
        case W_INSERTED: {
            Lz__SubmitRecordReply rep = LZ__SUBMIT_RECORD_REPLY__INIT;
            rep.has_id = rep.has_problems_open = 1;
            rep.id = s->record_id;
            rep.status = s->late ? "late" : "on_time";
            rep.problems_open = s->problems_open;
            rpc_reply_created(s->rep, &rep.base);
            break;
        }
        case W_CONFLICT:
            s_fail(s, LZ__STATUS__CONFLICT, "period",
                   "a record for this business, kind and period exists already");
            break;
        case W_STORED:
            s_reply_stored(s->rep, s->stored_status, s->stored_hex);
            s->remark = true;
            break;
        case W_LOST:
            s_fail(s, LZ__STATUS__UNAVAILABLE, NULL,
                   "the request is being handled elsewhere; retry with the same request_id");
            break;
        case W_NONE:
            break;
        }
    }
    for (size_t i = 0; i < n; i++) {
        s_sub_t *s = &subs[i];
        if (s->state == S_SAME_AS)
            s_reply_copy(s->rep, subs[s->same_as].rep);
        if (s->remark && s->rep->status == LZ__STATUS__CREATED) {
            /* a stored answer: make sure its Redis marks exist (counted once) */
            Lz__SubmitRecordReply *r = (Lz__SubmitRecordReply *)protobuf_c_message_unpack(
                &lz__submit_record_reply__descriptor, NULL, s->rep->payload_len, s->rep->payload);
            if (r && r->has_id) {
                char id[24];
                snprintf(id, sizeof id, "%" PRId64, r->id);
                const char *params[] = {id};
                PGresult *res = pg_query_prepared(
                    self->pg, "ledger_remark",
                    "SELECT business_id, region_code, kind, period, status = 'late', "
                    "cardinality(failed_codes) FROM records WHERE id = $1",
                    1, params);
                if (res && PQntuples(res) == 1)
                    ledger_cache_mark(self->rds, pg_int(res, 0, 0), pg_str(res, 0, 1),
                                      pg_str(res, 0, 2), pg_str(res, 0, 3), pg_bool(res, 0, 4),
                                      (int)pg_int(res, 0, 5));
                pg_free(&res);
            }
            if (r)
                protobuf_c_message_free_unpacked(&r->base, NULL);
        }
        if (s->in)
            protobuf_c_message_free_unpacked(&s->in->base, NULL);
        free(s->stored_hex);
        free(s->pre_problem_ids);
    }
    free(idx);
    free(subs);
}

/* ---- problems ------------------------------------------------------------ */

/* Fill a Problem from row r of res (id, business_id, source, source_id,
 * item_code, description, action, opened_at, fixed_at, fixed_action as
 * unix seconds for the two times); strings point into res and tbuf. */
static void s_problem_row(const PGresult *res, int r, Lz__Problem *p,
                          char tbuf[2][RFC3339_TEXT_MAX])
{
    lz__problem__init(p);
    p->has_id = p->has_business_id = p->has_source_id = 1;
    p->id = pg_int(res, r, 0);
    p->business_id = pg_int(res, r, 1);
    p->source = (char *)pg_str(res, r, 2);
    p->source_id = pg_int(res, r, 3);
    p->item = (char *)pg_str(res, r, 4);
    p->description = (char *)pg_str(res, r, 5);
    p->action = (char *)pg_str(res, r, 6);
    rfc3339_format(pg_int(res, r, 7), tbuf[0], RFC3339_TEXT_MAX);
    p->opened_at = tbuf[0];
    if (pg_str(res, r, 8)) {
        rfc3339_format(pg_int(res, r, 8), tbuf[1], RFC3339_TEXT_MAX);
        p->fixed_at = tbuf[1];
        p->status = "fixed";
    } else {
        p->status = "open";
    }
    p->fixed_action = (char *)pg_str(res, r, 9);
}

#define S_PROBLEM_COLS                                                                             \
    "id, business_id, source, source_id, item_code, description, action, "                         \
    "extract(epoch FROM opened_at)::bigint, extract(epoch FROM fixed_at)::bigint, fixed_action"

void intake_fix_problem(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep)
{
    intake_t *self = ctx;
    int64_t now_ms = clock_now_ms() + self->clock_offset_s * 1000; /* the handler boundary */
    Lz__FixProblemRequest *in =
        (Lz__FixProblemRequest *)rpc_unpack(req, &lz__fix_problem_request__descriptor);
    PGresult *res = NULL;
    if (!in) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, NULL, "request does not parse");
        return;
    }
    if (!req->request_id || !req->request_id[0]) {
        rpc_reply_error(rep, LZ__STATUS__MISSING_FIELD, "request_id", "request_id is required");
        goto done;
    }
    if (!in->has_id) {
        rpc_reply_error(rep, LZ__STATUS__MISSING_FIELD, "id", "id is required");
        goto done;
    }
    if (!in->action || !in->action[0]) {
        rpc_reply_error(rep, LZ__STATUS__MISSING_FIELD, "action", "action is required");
        goto done;
    }
    if (strlen(in->action) > LEDGER_TEXT_MAX) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "action", "action is longer than %d bytes",
                        LEDGER_TEXT_MAX);
        goto done;
    }
    char id[24], nowtxt[24];
    snprintf(id, sizeof id, "%" PRId64, in->id);
    snprintf(nowtxt, sizeof nowtxt, "%" PRId64 ".%03d", now_ms / 1000, (int)(now_ms % 1000));
    const char *p1[] = {id};
    res = pg_query_prepared(self->pg, "ledger_problem_get",
                            "SELECT " S_PROBLEM_COLS ", region_code FROM problems WHERE id = $1", 1,
                            p1);
    if (!res)
        goto unavailable;
    if (PQntuples(res) != 1 ||
        !s_visible(self, req->caller, pg_int(res, 0, 1), pg_str(res, 0, 10))) {
        rpc_reply_error(rep, LZ__STATUS__NOT_FOUND, "id", "no problem %" PRId64, in->id);
        goto done;
    }
    char region[REGION_CODE_LEN + 1];
    int64_t business_id = pg_int(res, 0, 1);
    snprintf(region, sizeof region, "%s", pg_str(res, 0, 10));
    pg_free(&res);

    /* the claim of the request id, or its first answer (common/idem.h) */
    if (idem_begin_req(self->pg, S_METHOD_FIX, req, rep) != 1)
        goto done;
    /* a fix comes strictly after the opening (millisecond clock, and at least 1 ms later):
     * fixed_at = opened_at means fixed at once in the record, and the scorer counts by it */
    const char *pu[] = {id, in->action, nowtxt};
    res = pg_query_prepared(self->pg, "ledger_fix",
                            "UPDATE problems SET fixed_at = greatest(to_timestamp($3::float8), "
                            "opened_at + interval '1 millisecond'), "
                            "fixed_action = $2 WHERE id = $1 AND fixed_at IS NULL "
                            "RETURNING " S_PROBLEM_COLS,
                            3, pu);
    if (!res)
        goto rollback;
    if (PQntuples(res) == 0) {
        pg_free(&res);
        pg_rollback(self->pg);
        rpc_reply_error(rep, LZ__STATUS__CONFLICT, "id", "problem %" PRId64 " is already fixed",
                        in->id);
        goto done;
    }
    Lz__Problem out;
    char tbuf[2][RFC3339_TEXT_MAX];
    s_problem_row(res, 0, &out, tbuf);
    rpc_reply_ok(rep, &out.base);
    if (idem_finish(self->pg, S_METHOD_FIX, req->request_id, rep) != 0)
        goto rollback;
    Lz__ProblemEvent ev = LZ__PROBLEM_EVENT__INIT;
    ev.has_problem_id = ev.has_business_id = ev.has_source_id = 1;
    ev.problem_id = in->id;
    ev.business_id = business_id;
    ev.region_code = region;
    ev.source = out.source;
    ev.source_id = out.source_id;
    ev.item = out.item;
    size_t len = protobuf_c_message_get_packed_size(&ev.base);
    uint8_t *bin = xmalloc(len ? len : 1);
    protobuf_c_message_pack(&ev.base, bin);
    char key[24], object[48];
    snprintf(key, sizeof key, "%" PRId64, business_id);
    snprintf(object, sizeof object, "problems/%" PRId64, in->id);
    json_t *d =
        json_pack("{s:I,s:s}", "business_id", (json_int_t)business_id, "action", in->action);
    char *dj = d ? json_dumps(d, JSON_COMPACT) : NULL;
    json_decref(d);
    int wrc = outbox_write(self->pg, "problem.fixed", key, bin, len);
    if (wrc == 0)
        wrc = audit_write(self->pg, req->caller, "problem.fix", object, req->request_id, dj);
    free(bin);
    free(dj);
    if (wrc != 0 || pg_commit(self->pg) != 0)
        goto rollback;
    goto done;

rollback:
    pg_rollback(self->pg);
unavailable:
    rpc_reply_error(rep, LZ__STATUS__UNAVAILABLE, NULL, "database unavailable");
done:
    pg_free(&res);
    protobuf_c_message_free_unpacked(&in->base, NULL);
}

/* Parse limit (default 100, 1..1000) and cursor (an id; 0 none); 0 or -1 with rep set. */
static int s_paging(bool has_limit, int32_t limit, const char *cursor, int *lim, int64_t *after,
                    rpc_reply_t *rep)
{
    *lim = has_limit ? limit : S_LIST_DEFAULT;
    if (*lim < 1 || *lim > S_LIST_MAX) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "limit", "limit must be 1..%d", S_LIST_MAX);
        return -1;
    }
    *after = 0;
    if (cursor && cursor[0]) {
        char *end;
        long long v = strtoll(cursor, &end, 10);
        if (*end || v < 0) {
            rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "cursor", "cursor is not valid");
            return -1;
        }
        *after = v;
    }
    return 0;
}

/* Check the business exists and the caller sees it; 0, or -1 with rep set. */
static int s_business_check(intake_t *self, const Lz__Envelope *req, bool has_id, int64_t id,
                            char region[REGION_CODE_LEN + 1], char *type, size_t typelen,
                            rpc_reply_t *rep)
{
    if (!has_id) {
        rpc_reply_error(rep, LZ__STATUS__MISSING_FIELD, "business_id", "business_id is required");
        return -1;
    }
    int rc = s_business(self, id, region, type, typelen);
    if (rc < 0) {
        rpc_reply_error(rep, LZ__STATUS__UNAVAILABLE, NULL, "database unavailable");
        return -1;
    }
    if (rc > 0 || !s_visible(self, req->caller, id, region)) {
        rpc_reply_error(rep, LZ__STATUS__NOT_FOUND, "business_id", "no business %" PRId64, id);
        return -1;
    }
    return 0;
}

void intake_list_problems(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep)
{
    intake_t *self = ctx;
    Lz__ListProblemsRequest *in =
        (Lz__ListProblemsRequest *)rpc_unpack(req, &lz__list_problems_request__descriptor);
    if (!in) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, NULL, "request does not parse");
        return;
    }
    char region[REGION_CODE_LEN + 1];
    int lim;
    int64_t after;
    PGresult *res = NULL;
    if (s_business_check(self, req, in->has_business_id, in->business_id, region, NULL, 0, rep) !=
            0 ||
        s_paging(in->has_limit, in->limit, in->cursor, &lim, &after, rep) != 0)
        goto done;
    const char *status = in->status ? in->status : "";
    if (status[0] && strcmp(status, "open") != 0 && strcmp(status, "fixed") != 0) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "status", "status must be open or fixed");
        goto done;
    }
    char bid[24], aft[24], limtxt[16];
    snprintf(bid, sizeof bid, "%" PRId64, in->business_id);
    snprintf(aft, sizeof aft, "%" PRId64, after);
    snprintf(limtxt, sizeof limtxt, "%d", lim + 1);
    const char *params[] = {bid, status, aft, limtxt};
    res = pg_query_prepared(self->pg, "ledger_problems_list",
                            "SELECT " S_PROBLEM_COLS " FROM problems WHERE business_id = $1 "
                            "AND ($2 = '' OR ($2 = 'open') = (fixed_at IS NULL)) AND id > $3 "
                            "ORDER BY id LIMIT $4",
                            4, params);
    if (!res) {
        rpc_reply_error(rep, LZ__STATUS__UNAVAILABLE, NULL, "database unavailable");
        goto done;
    }
    int rows = PQntuples(res);
    int shown = rows > lim ? lim : rows;
    Lz__ProblemList out = LZ__PROBLEM_LIST__INIT;
    Lz__Problem *items = xcalloc((size_t)shown + 1, sizeof *items);
    Lz__Problem **ptrs = xcalloc((size_t)shown + 1, sizeof *ptrs);
    char(*tbuf)[2][RFC3339_TEXT_MAX] = xcalloc((size_t)shown + 1, sizeof *tbuf);
    for (int r = 0; r < shown; r++) {
        s_problem_row(res, r, &items[r], tbuf[r]);
        ptrs[r] = &items[r];
    }
    out.n_items = (size_t)shown;
    out.items = ptrs;
    char next[24];
    if (rows > lim) {
        snprintf(next, sizeof next, "%" PRId64, items[shown - 1].id);
        out.next_cursor = next;
    }
    rpc_reply_ok(rep, &out.base);
    free(items);
    free(ptrs);
    free(tbuf);
done:
    pg_free(&res);
    protobuf_c_message_free_unpacked(&in->base, NULL);
}

/* ---- records ------------------------------------------------------------- */

/* Parse a from/to bound: a period of kind (any kind when kind is NULL). */
static int s_bound(const char *kind, const char *text, bool end, int64_t *out)
{
    period_t p;
    period_kind_t k;
    int rc = kind && period_kind_parse(kind, &k) == 0 ? period_parse_kind(k, text, &p)
                                                      : period_parse(text, &p);
    if (rc != 0)
        return -1;
    *out = end ? period_end(&p) : period_start(&p);
    return 0;
}

void intake_list_records(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep)
{
    intake_t *self = ctx;
    Lz__ListRecordsRequest *in =
        (Lz__ListRecordsRequest *)rpc_unpack(req, &lz__list_records_request__descriptor);
    if (!in) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, NULL, "request does not parse");
        return;
    }
    char region[REGION_CODE_LEN + 1];
    int lim;
    int64_t after, from = 0, to = INT64_C(253402300800);
    PGresult *res = NULL;
    if (s_business_check(self, req, in->has_business_id, in->business_id, region, NULL, 0, rep) !=
            0 ||
        s_paging(in->has_limit, in->limit, in->cursor, &lim, &after, rep) != 0)
        goto done;
    period_kind_t k;
    if (in->kind && (period_kind_parse(in->kind, &k) != 0 || k == PERIOD_QUARTERLY)) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "kind",
                        "kind must be one of: daily, weekly, monthly");
        goto done;
    }
    if (in->from && s_bound(in->kind, in->from, false, &from) != 0) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "from", "from must be a period");
        goto done;
    }
    if (in->to && s_bound(in->kind, in->to, true, &to) != 0) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "to", "to must be a period");
        goto done;
    }
    char bid[24], aft[24], limtxt[16], ft[24], tt[24];
    snprintf(bid, sizeof bid, "%" PRId64, in->business_id);
    snprintf(aft, sizeof aft, "%" PRId64, after);
    snprintf(limtxt, sizeof limtxt, "%d", lim + 1);
    snprintf(ft, sizeof ft, "%" PRId64, from);
    snprintf(tt, sizeof tt, "%" PRId64, to);
    const char *params[] = {bid, in->kind ? in->kind : "", ft, tt, aft, limtxt};
    res = pg_query_prepared(
        self->pg, "ledger_records_list",
        "SELECT r.id, r.kind, r.period, r.status, r.submitted_by, "
        "extract(epoch FROM r.submitted_at)::bigint, r.checklist_id, c.version, "
        "r.failed_codes, r.failed_notes, r.summary, array_length(r.failed_codes, 1) "
        "FROM records r JOIN checklists c ON c.id = r.checklist_id "
        "WHERE r.business_id = $1 AND ($2 = '' OR r.kind = $2) "
        "AND r.period_start >= to_timestamp($3::float8) "
        "AND r.period_start < to_timestamp($4::float8) AND r.id > $5 ORDER BY r.id LIMIT $6",
        6, params);
    if (!res) {
        rpc_reply_error(rep, LZ__STATUS__UNAVAILABLE, NULL, "database unavailable");
        goto done;
    }
    /* failed items come back as two parallel arrays: ask PostgreSQL to
     * unnest them for the rows shown rather than parse array literals here */
    int rows = PQntuples(res);
    int shown = rows > lim ? lim : rows;
    Lz__RecordList out = LZ__RECORD_LIST__INIT;
    Lz__Record *items = xcalloc((size_t)shown + 1, sizeof *items);
    Lz__Record **ptrs = xcalloc((size_t)shown + 1, sizeof *ptrs);
    char(*tbuf)[RFC3339_TEXT_MAX] = xcalloc((size_t)shown + 1, sizeof *tbuf);
    buf_t *ids = intake_arr_new();
    for (int r = 0; r < shown; r++) {
        Lz__Record *x = &items[r];
        lz__record__init(x);
        x->has_id = x->has_business_id = x->has_checklist_id = x->has_checklist_version = 1;
        x->id = pg_int(res, r, 0);
        x->business_id = in->business_id;
        x->kind = (char *)pg_str(res, r, 1);
        x->period = (char *)pg_str(res, r, 2);
        x->status = (char *)pg_str(res, r, 3);
        x->submitted_by = (char *)pg_str(res, r, 4);
        rfc3339_format(pg_int(res, r, 5), tbuf[r], RFC3339_TEXT_MAX);
        x->submitted_at = tbuf[r];
        x->checklist_id = pg_int(res, r, 6);
        x->checklist_version = (int32_t)pg_int(res, r, 7);
        x->summary = (char *)pg_str(res, r, 10);
        ptrs[r] = x;
        if (pg_int(res, r, 11) > 0)
            intake_arr_int(ids, x->id);
    }
    char *idlit = intake_arr_done(&ids);
    const char *fp[] = {bid, idlit};
    PGresult *fres = pg_query_prepared(
        self->pg, "ledger_records_failed",
        "SELECT r.id, f.code, f.note FROM records r, unnest(r.failed_codes, r.failed_notes) "
        "WITH ORDINALITY AS f(code, note, n) WHERE r.business_id = $1 "
        "AND r.id = ANY($2::bigint[]) ORDER BY r.id, f.n",
        2, fp);
    free(idlit);
    int nf = fres ? PQntuples(fres) : 0;
    Lz__FailedItem *fi = xcalloc((size_t)nf + 1, sizeof *fi);
    Lz__FailedItem **fptr = xcalloc((size_t)nf + 1, sizeof *fptr);
    for (int f = 0, r = 0; f < nf; f++) {
        lz__failed_item__init(&fi[f]);
        fi[f].code = (char *)pg_str(fres, f, 1);
        fi[f].note = (char *)pg_str(fres, f, 2);
        fptr[f] = &fi[f];
        while (r < shown && items[r].id != pg_int(fres, f, 0))
            r++;
        if (r < shown) {
            if (items[r].n_failed == 0)
                items[r].failed = &fptr[f];
            items[r].n_failed++;
        }
    }
    /* weekly records: the problems opened in their ISO week, with status */
    buf_t *wids = intake_arr_new();
    for (int r = 0; r < shown; r++)
        if (strcmp(items[r].kind, "weekly") == 0)
            intake_arr_int(wids, items[r].id);
    char *widlit = intake_arr_done(&wids);
    PGresult *wres = NULL;
    if (strcmp(widlit, "{}") != 0) {
        const char *wp[] = {bid, widlit};
        wres = pg_query_prepared(
            self->pg, "ledger_records_week_problems",
            "SELECT id, business_id, source, source_id, item_code, description, action, o, f, "
            "fixed_action, rid, total, fixed FROM (SELECT p.id, p.business_id, p.source, "
            "p.source_id, p.item_code, p.description, p.action, "
            "extract(epoch FROM p.opened_at)::bigint AS o, "
            "extract(epoch FROM p.fixed_at)::bigint AS f, p.fixed_action, r.id AS rid, "
            "count(*) OVER w AS total, count(p.fixed_at) OVER w AS fixed, "
            "row_number() OVER (w ORDER BY p.id) AS n "
            "FROM records r JOIN problems p ON p.business_id = r.business_id "
            "AND p.opened_at >= r.period_start AND p.opened_at < r.period_start + interval "
            "'7 days' WHERE r.business_id = $1 AND r.id = ANY($2::bigint[]) "
            "AND r.kind = 'weekly' WINDOW w AS (PARTITION BY r.id)) x "
            "WHERE n <= 200 ORDER BY rid, id",
            2, wp);
        if (!wres)
            pg_free(&fres); /* answered as unavailable below */
    }
    free(widlit);
    int nw = wres ? PQntuples(wres) : 0;
    Lz__Problem *wp = xcalloc((size_t)nw + 1, sizeof *wp);
    Lz__Problem **wptr = xcalloc((size_t)nw + 1, sizeof *wptr);
    char(*wtbuf)[2][RFC3339_TEXT_MAX] = xcalloc((size_t)nw + 1, sizeof *wtbuf);
    for (int r = 0; r < shown; r++)
        if (strcmp(items[r].kind, "weekly") == 0)
            items[r].has_week_problems_open = items[r].has_week_problems_fixed = 1;
    for (int w = 0, r = 0; w < nw; w++) {
        s_problem_row(wres, w, &wp[w], wtbuf[w]);
        wptr[w] = &wp[w];
        while (r < shown && items[r].id != pg_int(wres, w, 10))
            r++;
        if (r < shown) {
            if (items[r].n_week_problems == 0) {
                items[r].week_problems = &wptr[w];
                items[r].week_problems_fixed = (int32_t)pg_int(wres, w, 12);
                items[r].week_problems_open = (int32_t)(pg_int(wres, w, 11) - pg_int(wres, w, 12));
            }
            items[r].n_week_problems++;
        }
    }
    out.n_items = (size_t)shown;
    out.items = ptrs;
    char next[24];
    if (rows > lim) {
        snprintf(next, sizeof next, "%" PRId64, items[shown - 1].id);
        out.next_cursor = next;
    }
    if (!fres)
        rpc_reply_error(rep, LZ__STATUS__UNAVAILABLE, NULL, "database unavailable");
    else
        rpc_reply_ok(rep, &out.base);
    pg_free(&fres);
    pg_free(&wres);
    free(wp);
    free(wptr);
    free(wtbuf);
    free(fi);
    free(fptr);
    free(items);
    free(ptrs);
    free(tbuf);
done:
    pg_free(&res);
    protobuf_c_message_free_unpacked(&in->base, NULL);
}

/* ---- checklists ---------------------------------------------------------- */

void intake_get_checklist(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep)
{
    intake_t *self = ctx;
    Lz__GetChecklistRequest *in =
        (Lz__GetChecklistRequest *)rpc_unpack(req, &lz__get_checklist_request__descriptor);
    if (!in) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, NULL, "request does not parse");
        return;
    }
    PGresult *res = NULL, *pres = NULL;
    const char *kind = in->kind ? in->kind : "daily";
    if (!in->type) {
        rpc_reply_error(rep, LZ__STATUS__MISSING_FIELD, "type", "type is required");
        goto done;
    }
    period_kind_t k = PERIOD_QUARTERLY; /* inspection (the sampler's checklist): no period */
    if (strcmp(kind, "inspection") != 0 &&
        (period_kind_parse(kind, &k) != 0 || k == PERIOD_QUARTERLY)) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "kind",
                        "kind must be one of: daily, weekly, monthly, inspection");
        goto done;
    }
    if (in->has_business_id) {
        char region[REGION_CODE_LEN + 1], type[32];
        if (s_business_check(self, req, true, in->business_id, region, type, sizeof type, rep) != 0)
            goto done;
        char bid[24];
        snprintf(bid, sizeof bid, "%" PRId64, in->business_id);
        const char *pp[] = {bid};
        pres = pg_query_prepared(self->pg, "ledger_open_problems",
                                 "SELECT " S_PROBLEM_COLS " FROM problems WHERE business_id = $1 "
                                 "AND fixed_at IS NULL ORDER BY id LIMIT 1000",
                                 1, pp);
        if (!pres) {
            rpc_reply_error(rep, LZ__STATUS__UNAVAILABLE, NULL, "database unavailable");
            goto done;
        }
    }
    const char *params[] = {in->type, kind};
    res = pg_query_prepared(self->pg, "ledger_checklist_get",
                            "SELECT c.version, i.code, i.text, i.category, i.required, i.measure "
                            "FROM checklists c JOIN checklist_items i ON i.checklist_id = c.id "
                            "WHERE c.id = (SELECT id FROM checklists WHERE type = $1 AND kind = $2 "
                            "ORDER BY version DESC LIMIT 1) ORDER BY i.position",
                            2, params);
    if (!res) {
        rpc_reply_error(rep, LZ__STATUS__UNAVAILABLE, NULL, "database unavailable");
        goto done;
    }
    int rows = PQntuples(res);
    if (rows == 0) {
        rpc_reply_error(rep, LZ__STATUS__NOT_FOUND, "type", "no %s checklist for type %.32s", kind,
                        in->type);
        goto done;
    }
    Lz__Checklist out = LZ__CHECKLIST__INIT;
    out.type = in->type;
    out.kind = (char *)kind;
    out.has_version = 1;
    out.version = (int32_t)pg_int(res, 0, 0);
    Lz__ChecklistItem *items = xcalloc((size_t)rows, sizeof *items);
    Lz__ChecklistItem **ptrs = xcalloc((size_t)rows, sizeof *ptrs);
    for (int r = 0; r < rows; r++) {
        lz__checklist_item__init(&items[r]);
        items[r].code = (char *)pg_str(res, r, 1);
        items[r].text = (char *)pg_str(res, r, 2);
        items[r].category = (char *)pg_str(res, r, 3);
        items[r].has_required = 1;
        items[r].required = pg_bool(res, r, 4);
        items[r].measure = (char *)pg_str(res, r, 5);
        ptrs[r] = &items[r];
    }
    out.n_items = (size_t)rows;
    out.items = ptrs;
    int np = pres && k == PERIOD_DAILY ? PQntuples(pres) : 0;
    Lz__Problem *probs = xcalloc((size_t)np + 1, sizeof *probs);
    Lz__Problem **pptrs = xcalloc((size_t)np + 1, sizeof *pptrs);
    char(*tbuf)[2][RFC3339_TEXT_MAX] = xcalloc((size_t)np + 1, sizeof *tbuf);
    for (int r = 0; r < np; r++) {
        s_problem_row(pres, r, &probs[r], tbuf[r]);
        pptrs[r] = &probs[r];
    }
    out.n_open_problems = (size_t)np;
    out.open_problems = pptrs;
    rpc_reply_ok(rep, &out.base);
    free(items);
    free(ptrs);
    free(probs);
    free(pptrs);
    free(tbuf);
done:
    pg_free(&res);
    pg_free(&pres);
    protobuf_c_message_free_unpacked(&in->base, NULL);
}
