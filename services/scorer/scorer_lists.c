/*
 * scorer_lists.c - the quarterly red list (红榜) and notice list (反面通报):
 * scorer.list, scorer.close_list, scorer.record_reward.
 *
 * An open list is computed when asked (businesses under the region by id,
 * then - notice list only - cadres named by their evaluation).  Closing
 * stores the list as it is then in score_lists / score_list_entries (the
 * app role may not change them afterwards): a closed list answers from
 * there, so events arriving late change nothing.  Rewards from the
 * insurance fund are recorded against a business on a closed red list.
 */
#include "audit.h"
#include "clock.h"
#include "log.h"
#include "mem.h"
#include "scope.h"
#include "scorer.pb-c.h"
#include "scorer_server.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_LIST_LIMIT_MAX 1000
#define S_SCAN_PAGE      1000
#define S_SCAN_BUDGET_MS 600 /* an open list's page stops scanning after this */

typedef struct {
    bool cadre;
    int64_t id;
    char name[208];
    char region[13];
    double score;
    score_reasons_t why;
    bool has_reward;
    double reward;
} s_entry_t;

typedef struct {
    s_entry_t *e;
    size_t n, cap;
} s_entries_t;

static s_entry_t *s_push(s_entries_t *l)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->e = xrealloc(l->e, l->cap * sizeof *l->e);
    }
    s_entry_t *e = &l->e[l->n++];
    memset(e, 0, sizeof *e);
    return e;
}

static int s_kind(const char *kind)
{
    if (kind && !strcmp(kind, "red"))
        return 0;
    if (kind && !strcmp(kind, "notice"))
        return 1;
    return -1;
}

/*
 * Collect up to limit entries of list kind (0 red, 1 notice) for quarter q
 * under prefix, after the cursor (businesses after after_b, then cadres
 * after after_c).  *more says whether the scan stopped early.  0 or -1.
 */
static int s_collect(scorer_t *self, int kind, const period_t *q, int64_t as_of, const char *prefix,
                     int64_t after_b, int64_t after_c, size_t limit, int64_t deadline_ms,
                     s_entries_t *out, bool *more, int64_t *scanned)
{
    *more = false;
    *scanned = 0;
    if (after_c == 0) {
        for (;;) {
            size_t n = 0;
            scorer_bscore_t *b = scorer_business_scores(self->pg, &self->cfg, q, as_of, NULL, 0,
                                                        prefix, after_b, S_SCAN_PAGE, &n);
            if (!b)
                return -1;
            for (size_t i = 0; i < n; i++) {
                after_b = b[i].id;
                score_reasons_t why;
                bool in =
                    kind == 0
                        ? score_red_eligible(b[i].compliance.score, b[i].open_problems,
                                             b[i].failed_inspection, b[i].insured, &self->cfg.s,
                                             &why)
                        : score_notice_listed(b[i].compliance.score, b[i].failed_inspection,
                                              b[i].in.warnings_unanswered, &self->cfg.s, &why);
                if (!in || strcmp(b[i].status, "active") != 0)
                    continue;
                if (out->n == limit) {
                    *more = true;
                    free(b);
                    return 0;
                }
                s_entry_t *e = s_push(out);
                e->id = b[i].id;
                snprintf(e->name, sizeof e->name, "%s", b[i].name);
                snprintf(e->region, sizeof e->region, "%s", b[i].region);
                e->score = b[i].compliance.score;
                e->why = why;
            }
            free(b);
            if (n < S_SCAN_PAGE)
                break;
            if (deadline_ms > 0 && clock_mono_ms() > deadline_ms) {
                /* a long scan answers what it has and a cursor to go on from */
                *more = true;
                *scanned = after_b;
                return 0;
            }
        }
    }
    if (kind != 1)
        return 0;
    size_t n = 0;
    scorer_cscore_t *c = scorer_cadre_scores(self->pg, &self->cfg, q, as_of, prefix, &n);
    if (!c)
        return -1;
    /* by id, for the cursor */
    for (size_t i = 1; i < n; i++)
        for (size_t k = i; k > 0 && c[k - 1].id > c[k].id; k--) {
            scorer_cscore_t t = c[k];
            c[k] = c[k - 1];
            c[k - 1] = t;
        }
    for (size_t i = 0; i < n; i++) {
        if (!c[i].standing.on_notice || c[i].id <= after_c)
            continue;
        if (out->n == limit) {
            *more = true;
            break;
        }
        s_entry_t *e = s_push(out);
        e->cadre = true;
        e->id = c[i].id;
        snprintf(e->name, sizeof e->name, "%s", c[i].name);
        snprintf(e->region, sizeof e->region, "%s", c[i].region);
        e->score = c[i].result.score;
        char t[64];
        snprintf(t, sizeof t, "cadre score %.2f, rank %d of %d in %s", c[i].result.score,
                 c[i].standing.rank, c[i].ranked, c[i].group);
        snprintf(e->why.r[0], sizeof e->why.r[0], "%s", t);
        e->why.n = 1;
    }
    free(c);
    return 0;
}

/* Parse the quarter (default: of as_of); 0 or -1 (answered). */
static int s_quarter(const char *text, int64_t as_of, period_t *q, rpc_reply_t *rep)
{
    if (text && text[0]) {
        if (period_parse_kind(PERIOD_QUARTERLY, text, q) != 0) {
            rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "quarter",
                            "quarter must look like 2026-Q4");
            return -1;
        }
        return 0;
    }
    return period_containing(PERIOD_QUARTERLY, as_of, q);
}

/* Answer a ScoreList of entries (pointers into l) with the header fields. */
static void s_reply_list(rpc_reply_t *rep, const char *kind, const char *quarter,
                         const char *region, const s_entries_t *l, const char *next,
                         const PGresult *head)
{
    Lz__ListEntry *items = xcalloc(l->n + 1, sizeof *items);
    Lz__ListEntry **ptrs = xcalloc(l->n + 1, sizeof *ptrs);
    char **reasons = xcalloc(l->n * SCORE_REASON_MAX + 1, sizeof *reasons);
    for (size_t i = 0; i < l->n; i++) {
        const s_entry_t *e = &l->e[i];
        Lz__ListEntry *it = &items[i];
        lz__list_entry__init(it);
        it->subject = e->cadre ? "cadre" : "business";
        it->has_id = it->has_score = 1;
        it->id = e->id;
        it->name = (char *)e->name;
        it->region_code = (char *)e->region;
        it->score = e->score;
        it->has_reward_amount = e->has_reward;
        it->reward_amount = e->reward;
        it->n_reasons = e->why.n;
        it->reasons = &reasons[i * SCORE_REASON_MAX];
        for (size_t k = 0; k < e->why.n; k++)
            it->reasons[k] = (char *)e->why.r[k];
        ptrs[i] = it;
    }
    Lz__ScoreList out = LZ__SCORE_LIST__INIT;
    out.kind = (char *)kind;
    out.quarter = (char *)quarter;
    out.region = (char *)region;
    out.has_closed = 1;
    out.closed = head != NULL;
    if (head) {
        out.has_list_id = 1;
        out.list_id = pg_int(head, 0, 0);
        out.closed_at = (char *)pg_str(head, 0, 1);
        out.closed_by = (char *)pg_str(head, 0, 2);
    }
    out.n_items = l->n;
    out.items = ptrs;
    out.next_cursor = (char *)next;
    rpc_reply_ok(rep, &out.base);
    free(reasons);
    free(ptrs);
    free(items);
}

void scorer_list(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep)
{
    scorer_t *self = ctx;
    Lz__ListRequest *in = (Lz__ListRequest *)rpc_unpack(req, &lz__list_request__descriptor);
    if (!in) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, NULL, "request does not parse");
        return;
    }
    s_entries_t l = {0};
    PGresult *head = NULL, *rows = NULL;
    int kind = s_kind(in->kind);
    char region[13], prefix[13] = "", qtext[PERIOD_TEXT_MAX], next[32] = "";
    int64_t as_of;
    period_t q;
    if (kind < 0) {
        rpc_reply_error(rep, LZ__STATUS__NOT_FOUND, "kind", "lists are red and notice");
        goto done;
    }
    if (scorer_scope_region(req->caller, in->region, region, sizeof region, rep) != 0)
        goto done;
    if (scorer_as_of(self, in->as_of, &as_of) != 0) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "as_of", "as_of must be RFC 3339");
        goto done;
    }
    if (s_quarter(in->quarter, as_of, &q, rep) != 0)
        goto done;
    if (period_end(&q) < as_of)
        as_of = period_end(&q);
    period_format(&q, qtext, sizeof qtext);
    if (region[0])
        scorer_region_prefix(region, prefix, sizeof prefix);
    size_t limit = in->has_limit && in->limit > 0 ? (size_t)in->limit : 100;
    if (limit > S_LIST_LIMIT_MAX) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "limit", "limit is 1 to 1000");
        goto done;
    }
    int64_t after_b = 0, after_c = 0;
    if (in->cursor && in->cursor[0]) {
        char *end = NULL;
        int64_t v = strtoll(in->cursor + 1, &end, 10);
        if ((in->cursor[0] != 'b' && in->cursor[0] != 'c') || !end || *end || v < 0) {
            rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "cursor", "not a cursor of this list");
            goto done;
        }
        if (in->cursor[0] == 'b')
            after_b = v;
        else
            after_c = v;
    }
    /* a closed list answers from what was stored */
    const char *hp[] = {in->kind, qtext, region};
    head = region[0] ? pg_query_prepared(self->pg, "scorer_list_head",
                                         "SELECT id, to_char(closed_at AT TIME ZONE "
                                         "'Asia/Shanghai', 'YYYY-MM-DD\"T\"HH24:MI:SS+08:00'), "
                                         "closed_by FROM score_lists WHERE kind = $1 AND "
                                         "quarter = $2 AND region_code = $3",
                                         3, hp)
                     : pg_query(self->pg, "SELECT 1 WHERE false", 0, NULL);
    if (!head) {
        rpc_reply_error(rep, LZ__STATUS__UNAVAILABLE, NULL, "database unavailable");
        goto done;
    }
    if (PQntuples(head) == 1) {
        char pos[24], lim[16];
        snprintf(pos, sizeof pos, "%" PRId64, after_b);
        snprintf(lim, sizeof lim, "%zu", limit + 1);
        const char *rp[] = {pg_str(head, 0, 0), pos, lim};
        rows = pg_query_prepared(
            self->pg, "scorer_list_rows",
            "SELECT e.position, e.subject, e.subject_id, e.name, e.region_code, e.score, "
            "array_to_string(e.reasons, chr(10)), r.amount FROM score_list_entries e LEFT JOIN "
            "score_rewards r ON r.list_id = e.list_id AND r.business_id = e.subject_id AND "
            "e.subject = 'business' WHERE e.list_id = $1::bigint AND e.position > $2::int "
            "ORDER BY e.position LIMIT $3::int",
            3, rp);
        if (!rows) {
            rpc_reply_error(rep, LZ__STATUS__UNAVAILABLE, NULL, "database unavailable");
            goto done;
        }
        size_t n = (size_t)PQntuples(rows);
        for (size_t i = 0; i < n && i < limit; i++) {
            s_entry_t *e = s_push(&l);
            e->cadre = !strcmp(pg_str(rows, (int)i, 1), "cadre");
            e->id = pg_int(rows, (int)i, 2);
            snprintf(e->name, sizeof e->name, "%s", pg_str(rows, (int)i, 3));
            snprintf(e->region, sizeof e->region, "%s", pg_str(rows, (int)i, 4));
            e->score = strtod(pg_str(rows, (int)i, 5), NULL);
            const char *rs = pg_str(rows, (int)i, 6);
            while (rs && *rs && e->why.n < SCORE_REASON_MAX) {
                const char *nl = strchr(rs, '\n');
                size_t len = nl ? (size_t)(nl - rs) : strlen(rs);
                snprintf(e->why.r[e->why.n++], sizeof e->why.r[0], "%.*s", (int)len, rs);
                rs = nl ? nl + 1 : NULL;
            }
            e->has_reward = pg_str(rows, (int)i, 7) != NULL;
            e->reward = e->has_reward ? strtod(pg_str(rows, (int)i, 7), NULL) : 0;
        }
        if (n > limit)
            snprintf(next, sizeof next, "b%" PRId64, pg_int(rows, (int)limit - 1, 0));
        s_reply_list(rep, in->kind, qtext, region, &l, next[0] ? next : NULL, head);
        goto done;
    }
    bool more = false;
    int64_t scanned = 0;
    if (s_collect(self, kind, &q, as_of, prefix, after_b, after_c, limit,
                  clock_mono_ms() + S_SCAN_BUDGET_MS, &l, &more, &scanned) != 0) {
        rpc_reply_error(rep, LZ__STATUS__UNAVAILABLE, NULL, "database unavailable");
        goto done;
    }
    if (more && scanned > 0)
        snprintf(next, sizeof next, "b%" PRId64, scanned);
    else if (more && l.n > 0)
        snprintf(next, sizeof next, "%c%" PRId64, l.e[l.n - 1].cadre ? 'c' : 'b', l.e[l.n - 1].id);
    s_reply_list(rep, in->kind, qtext, region, &l, next[0] ? next : NULL, NULL);
done:
    free(l.e);
    pg_free(&head);
    pg_free(&rows);
    protobuf_c_message_free_unpacked(&in->base, NULL);
}

void scorer_close_list(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep)
{
    scorer_t *self = ctx;
    Lz__CloseListRequest *in =
        (Lz__CloseListRequest *)rpc_unpack(req, &lz__close_list_request__descriptor);
    if (!in) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, NULL, "request does not parse");
        return;
    }
    s_entries_t l = {0};
    PGresult *res = NULL;
    int kind = s_kind(in->kind);
    char region[13], prefix[13], qtext[PERIOD_TEXT_MAX];
    int64_t as_of;
    period_t q;
    if (kind < 0) {
        rpc_reply_error(rep, LZ__STATUS__NOT_FOUND, "kind", "lists are red and notice");
        goto done;
    }
    if (scorer_scope_region(req->caller, in->region, region, sizeof region, rep) != 0)
        goto done;
    if (!region[0]) {
        rpc_reply_error(rep, LZ__STATUS__MISSING_FIELD, "region", "say which region's list");
        goto done;
    }
    if (scorer_as_of(self, in->as_of, &as_of) != 0) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "as_of", "as_of must be RFC 3339");
        goto done;
    }
    if (s_quarter(in->quarter, as_of, &q, rep) != 0)
        goto done;
    if (period_end(&q) < as_of)
        as_of = period_end(&q);
    period_format(&q, qtext, sizeof qtext);
    scorer_region_prefix(region, prefix, sizeof prefix);
    const char *by = req->caller && req->caller->name ? req->caller->name : "unknown";

    if (pg_begin(self->pg) != 0)
        goto unavailable;
    /* the same request again: the first answer; another request: conflict */
    const char *hp[] = {in->kind, qtext, region};
    res = pg_query_prepared(self->pg, "scorer_close_head",
                            "SELECT id, request_id, closed_at FROM score_lists WHERE kind = $1 "
                            "AND quarter = $2 AND region_code = $3",
                            3, hp);
    if (!res)
        goto rollback;
    if (PQntuples(res) == 1) {
        if (strcmp(pg_str(res, 0, 1), req->request_id ? req->request_id : "") != 0) {
            pg_rollback(self->pg);
            rpc_reply_error(rep, LZ__STATUS__CONFLICT, "quarter", "the %s list of %s is closed",
                            in->kind, qtext);
            goto done;
        }
        char lid[24];
        snprintf(lid, sizeof lid, "%s", pg_str(res, 0, 0));
        pg_free(&res);
        const char *cp[] = {lid};
        res = pg_query(self->pg,
                       "SELECT count(*), (SELECT closed_at FROM score_lists WHERE id = $1::bigint) "
                       "FROM score_list_entries WHERE list_id = $1::bigint",
                       1, cp);
        pg_commit(self->pg);
        if (!res)
            goto unavailable;
        Lz__CloseListReply out = LZ__CLOSE_LIST_REPLY__INIT;
        out.has_list_id = out.has_entries = 1;
        out.list_id = strtoll(lid, NULL, 10);
        out.kind = in->kind;
        out.quarter = qtext;
        out.region = region;
        out.entries = (int32_t)pg_int(res, 0, 0);
        out.closed_at = (char *)pg_str(res, 0, 1);
        rpc_reply_created(rep, &out.base);
        goto done;
    }
    pg_free(&res);
    bool more = false;
    int64_t scanned = 0;
    if (s_collect(self, kind, &q, as_of, prefix, 0, 0, SIZE_MAX, 0, &l, &more, &scanned) != 0)
        goto rollback;
    const char *ip[] = {in->kind, qtext, region, by, req->request_id ? req->request_id : ""};
    res = pg_query_prepared(self->pg, "scorer_close_insert",
                            "INSERT INTO score_lists (kind, quarter, region_code, closed_at, "
                            "closed_by, request_id) VALUES ($1, $2, $3, now(), $4, $5) "
                            "RETURNING id, to_char(closed_at AT TIME ZONE 'Asia/Shanghai', "
                            "'YYYY-MM-DD\"T\"HH24:MI:SS+08:00')",
                            5, ip);
    if (!res && pg_unique_violation(self->pg)) { /* closed meanwhile by another request */
        pg_rollback(self->pg);
        rpc_reply_error(rep, LZ__STATUS__CONFLICT, "quarter", "the %s list of %s is closed",
                        in->kind, qtext);
        goto done;
    }
    if (!res)
        goto rollback;
    char lid[24], closed_at[40];
    snprintf(lid, sizeof lid, "%s", pg_str(res, 0, 0));
    snprintf(closed_at, sizeof closed_at, "%s", pg_str(res, 0, 1));
    pg_free(&res);
    for (size_t i = 0; i < l.n; i++) {
        const s_entry_t *e = &l.e[i];
        char pos[24], sid[24], sc[24], reasons[SCORE_REASON_MAX * 80 + 4];
        snprintf(pos, sizeof pos, "%zu", i + 1);
        snprintf(sid, sizeof sid, "%" PRId64, e->id);
        snprintf(sc, sizeof sc, "%.2f", e->score);
        size_t off = 0;
        reasons[off++] = '{';
        for (size_t k = 0; k < e->why.n; k++) {
            off += (size_t)snprintf(reasons + off, sizeof reasons - off, "%s\"", k ? "," : "");
            for (const char *c = e->why.r[k]; *c && off + 3 < sizeof reasons; c++) {
                if (*c == '"' || *c == '\\')
                    reasons[off++] = '\\';
                reasons[off++] = *c;
            }
            off += (size_t)snprintf(reasons + off, sizeof reasons - off, "\"");
        }
        snprintf(reasons + off, sizeof reasons - off, "}");
        const char *ep[] = {lid, pos,    e->cadre ? "cadre" : "business", sid, e->name, e->region,
                            sc,  reasons};
        PGresult *r = pg_query_prepared(
            self->pg, "scorer_close_entry",
            "INSERT INTO score_list_entries (list_id, position, subject, subject_id, name, "
            "region_code, score, reasons) VALUES ($1::bigint, $2::int, $3, $4::bigint, $5, $6, "
            "$7::numeric, $8::text[])",
            8, ep);
        if (!r)
            goto rollback;
        pg_free(&r);
    }
    char object[48], detail[160];
    snprintf(object, sizeof object, "score_lists/%s", lid);
    snprintf(detail, sizeof detail,
             "{\"kind\":\"%s\",\"quarter\":\"%s\",\"region\":\"%s\",\"entries\":%zu}", in->kind,
             qtext, region, l.n);
    if (audit_write(self->pg, req->caller, "list.close", object, req->request_id, detail) != 0 ||
        pg_commit(self->pg) != 0)
        goto rollback;
    Lz__CloseListReply out = LZ__CLOSE_LIST_REPLY__INIT;
    out.has_list_id = out.has_entries = 1;
    out.list_id = strtoll(lid, NULL, 10);
    out.kind = in->kind;
    out.quarter = qtext;
    out.region = region;
    out.entries = (int32_t)l.n;
    out.closed_at = closed_at;
    rpc_reply_created(rep, &out.base);
    goto done;

rollback:
    pg_rollback(self->pg);
unavailable:
    rpc_reply_error(rep, LZ__STATUS__UNAVAILABLE, NULL, "database unavailable");
done:
    free(l.e);
    pg_free(&res);
    protobuf_c_message_free_unpacked(&in->base, NULL);
}

void scorer_record_reward(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep)
{
    scorer_t *self = ctx;
    Lz__RecordRewardRequest *in =
        (Lz__RecordRewardRequest *)rpc_unpack(req, &lz__record_reward_request__descriptor);
    if (!in) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, NULL, "request does not parse");
        return;
    }
    PGresult *res = NULL;
    char region[13], qtext[PERIOD_TEXT_MAX];
    period_t q;
    int64_t now;
    scorer_as_of(self, NULL, &now);
    if (scorer_scope_region(req->caller, in->region, region, sizeof region, rep) != 0)
        goto done;
    if (!region[0]) {
        rpc_reply_error(rep, LZ__STATUS__MISSING_FIELD, "region", "say which region's list");
        goto done;
    }
    if (s_quarter(in->quarter, now, &q, rep) != 0)
        goto done;
    period_format(&q, qtext, sizeof qtext);
    if (!in->has_business_id || in->business_id <= 0) {
        rpc_reply_error(rep, LZ__STATUS__MISSING_FIELD, "business_id", "which business");
        goto done;
    }
    if (!in->has_amount || !(in->amount > 0) || in->amount > 1e9) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "amount",
                        "amount is a positive number of yuan");
        goto done;
    }
    if (in->note && strlen(in->note) > 500) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "note", "note is at most 500 bytes");
        goto done;
    }
    char bid[24], amount[32];
    snprintf(bid, sizeof bid, "%" PRId64, in->business_id);
    snprintf(amount, sizeof amount, "%.2f", in->amount);
    const char *by = req->caller && req->caller->name ? req->caller->name : "unknown";
    const char *rid = req->request_id ? req->request_id : "";
    if (pg_begin(self->pg) != 0)
        goto unavailable;
    const char *lp[] = {qtext, region, bid};
    res = pg_query_prepared(self->pg, "scorer_reward_list",
                            "SELECT l.id FROM score_lists l JOIN score_list_entries e ON "
                            "e.list_id = l.id AND e.subject = 'business' AND e.subject_id = "
                            "$3::bigint WHERE l.kind = 'red' AND l.quarter = $1 AND "
                            "l.region_code = $2",
                            3, lp);
    if (!res)
        goto rollback;
    if (PQntuples(res) != 1) {
        pg_rollback(self->pg);
        rpc_reply_error(rep, LZ__STATUS__CONFLICT, "business_id",
                        "the business is not on the closed red list of %s", qtext);
        goto done;
    }
    char lid[24];
    snprintf(lid, sizeof lid, "%s", pg_str(res, 0, 0));
    pg_free(&res);
    const char *ip[] = {lid, bid, amount, in->note ? in->note : "", by, rid};
    res = pg_query_prepared(self->pg, "scorer_reward_insert",
                            "INSERT INTO score_rewards (list_id, business_id, amount, note, "
                            "recorded_by, request_id) VALUES ($1::bigint, $2::bigint, "
                            "$3::numeric, $4, $5, $6) ON CONFLICT (list_id, business_id) DO "
                            "NOTHING RETURNING id",
                            6, ip);
    if (!res)
        goto rollback;
    int64_t id = PQntuples(res) == 1 ? pg_int(res, 0, 0) : 0;
    pg_free(&res);
    if (id == 0) {
        const char *sp[] = {lid, bid, rid};
        res = pg_query_prepared(self->pg, "scorer_reward_same",
                                "SELECT id FROM score_rewards WHERE list_id = $1::bigint AND "
                                "business_id = $2::bigint AND request_id = $3",
                                3, sp);
        pg_rollback(self->pg);
        if (!res)
            goto unavailable;
        if (PQntuples(res) != 1) {
            rpc_reply_error(rep, LZ__STATUS__CONFLICT, "business_id",
                            "a reward is recorded for this business already");
            goto done;
        }
        id = pg_int(res, 0, 0);
    } else {
        char object[48], detail[128];
        snprintf(object, sizeof object, "score_rewards/%" PRId64, id);
        snprintf(detail, sizeof detail, "{\"business_id\":%s,\"amount\":%s,\"list_id\":%s}", bid,
                 amount, lid);
        if (audit_write(self->pg, req->caller, "reward.record", object, rid, detail) != 0 ||
            pg_commit(self->pg) != 0)
            goto rollback;
    }
    Lz__RecordRewardReply out = LZ__RECORD_REWARD_REPLY__INIT;
    out.has_id = out.has_list_id = 1;
    out.id = id;
    out.list_id = strtoll(lid, NULL, 10);
    rpc_reply_created(rep, &out.base);
    goto done;
rollback:
    pg_rollback(self->pg);
unavailable:
    rpc_reply_error(rep, LZ__STATUS__UNAVAILABLE, NULL, "database unavailable");
done:
    pg_free(&res);
    protobuf_c_message_free_unpacked(&in->base, NULL);
}
