/*
 * scheduler_tasks.c - the scheduler's methods: sweep, tasks, statistics, ladders, letters.
 *
 * Handlers decode, check the caller's scope, query, answer.  "now" is read
 * once per request here, at the loop boundary, for the statistics of a
 * period whose deadline has not passed yet.
 */
#include "audit.h"
#include "clock.h"
#include "idem.h"
#include "log.h"
#include "mem.h"
#include "scheduler.pb-c.h"
#include "scheduler_server.h"
#include "scope.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_LIMIT_DEFAULT 100
#define LIST_LIMIT_MAX     1000

static void s_time(const PGresult *r, int row, int col, char **out)
{
    if (PQgetisnull(r, row, col)) {
        *out = NULL;
        return;
    }
    char buf[RFC3339_TEXT_MAX];
    rfc3339_format(pg_int(r, row, col), buf, sizeof buf);
    *out = xstrdup(buf);
}

/* ---- sweep --------------------------------------------------------------------------- */

void sched_h_sweep(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep)
{
    sched_t *s = ctx;
    if (!scope_is_admin(req->caller)) {
        rpc_reply_error(rep, LZ__STATUS__FORBIDDEN, NULL, "only an admin may sweep");
        return;
    }
    Lz__SweepRequest *m = (Lz__SweepRequest *)rpc_unpack(req, &lz__sweep_request__descriptor);
    if (!m) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, NULL, "the request does not parse");
        return;
    }
    int64_t as_of;
    if (!m->as_of) {
        rpc_reply_error(rep, LZ__STATUS__MISSING_FIELD, "as_of", "as_of is required");
    } else if (rfc3339_parse(m->as_of, &as_of) != 0) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "as_of", "as_of is not an RFC 3339 time");
    } else {
        sweep_result_t res;
        if (sched_sweep(s, as_of, &res) != 0) {
            rpc_reply_error(rep, LZ__STATUS__UNAVAILABLE, NULL, "the sweep failed; run it again");
        } else {
            Lz__SweepReply out = LZ__SWEEP_REPLY__INIT;
            char to[RFC3339_TEXT_MAX];
            rfc3339_format(as_of, to, sizeof to);
            out.has_opened = out.has_escalated = out.has_closed = true;
            out.opened = res.opened;
            out.escalated = res.escalated;
            out.closed = res.closed;
            out.swept_to = to;
            log_info("sweep to %s: %" PRId64 " opened, %" PRId64 " escalated, %" PRId64 " closed",
                     to, res.opened, res.escalated, res.closed);
            rpc_reply_ok(rep, &out.base);
        }
    }
    protobuf_c_message_free_unpacked(&m->base, NULL);
}

/* ---- tasks ------------------------------------------------------------------------------ */

/*
 * The paging and region arguments every list takes: region (optional) a valid
 * code, kept as its prefix in region (REGION_CODE_LEN + 2 bytes); limit 1 to
 * LIST_LIMIT_MAX (LIST_LIMIT_DEFAULT when absent); cursor (optional) the last
 * id of the previous page, into after (24 bytes, "0" when absent).  Returns
 * 0, or -1 with rep filled.
 */
static int s_list_args(const char *region_in, bool has_limit, int32_t limit_in, const char *cursor,
                       char *region, int *limit, char *after, rpc_reply_t *rep)
{
    if (region_in) {
        if (!region_code_valid(region_in)) {
            rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "region",
                            "region is not a region code");
            return -1;
        }
        region_level_t lv;
        region_level_of(region_in, &lv);
        snprintf(region, REGION_CODE_LEN + 2, "%.*s", (int)region_prefix_len(lv), region_in);
    }
    *limit = has_limit ? limit_in : LIST_LIMIT_DEFAULT;
    if (*limit < 1 || *limit > LIST_LIMIT_MAX) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "limit", "limit is 1 to %d",
                        LIST_LIMIT_MAX);
        return -1;
    }
    if (cursor) {
        char *end;
        long long v = strtoll(cursor, &end, 10);
        if (!cursor[0] || *end || v < 0) {
            rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "cursor", "cursor is not one of ours");
            return -1;
        }
        snprintf(after, 24, "%lld", v);
    }
    return 0;
}

/*
 * The jurisdiction of a task or letter list: an admin everything, a regulator
 * its subtree (scope_prefix set to the region prefix; a region= outside it is
 * 404), a business its own (business set), a cadre its own (cadre set);
 * anyone else 403.  scope_prefix holds REGION_CODE_LEN + 2.  Returns 0, or -1
 * with rep filled.
 */
static int s_list_scope(const Lz__Caller *c, const char *region, char *scope_prefix, char *business,
                        size_t business_len, char *cadre, size_t cadre_len, rpc_reply_t *rep)
{
    if (scope_is_admin(c))
        return 0;
    if (scope_is_regulator(c)) {
        region_level_t lv;
        region_level_of(c->region, &lv);
        snprintf(scope_prefix, REGION_CODE_LEN + 2, "%.*s", (int)region_prefix_len(lv), c->region);
        if (region[0] && strncmp(region, scope_prefix, strlen(scope_prefix)) &&
            strncmp(scope_prefix, region, strlen(region))) {
            rpc_reply_error(rep, LZ__STATUS__NOT_FOUND, "region", "no such region");
            return -1;
        }
        return 0;
    }
    if (scope_has_role(c, "business") && c->has_business_id) {
        snprintf(business, business_len, "%" PRId64, c->business_id);
        return 0;
    }
    if (scope_has_role(c, "cadre") && c->has_cadre_id) {
        snprintf(cadre, cadre_len, "%" PRId64, c->cadre_id);
        return 0;
    }
    rpc_reply_error(rep, LZ__STATUS__FORBIDDEN, NULL, "not allowed");
    return -1;
}

void sched_h_list_tasks(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep)
{
    sched_t *s = ctx;
    Lz__ListTasksRequest *m =
        (Lz__ListTasksRequest *)rpc_unpack(req, &lz__list_tasks_request__descriptor);
    if (!m) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, NULL, "the request does not parse");
        return;
    }
    const Lz__Caller *c = req->caller;
    char region[REGION_CODE_LEN + 2] = "";
    char business[24] = "", cadre[24] = "", after[24] = "0", lim[16];
    int limit;
    if (s_list_args(m->region, m->has_limit, m->limit, m->cursor, region, &limit, after, rep) != 0)
        goto out;
    if (m->status && strcmp(m->status, "open") && strcmp(m->status, "closed")) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "status", "status is open or closed");
        goto out;
    }
    if (m->has_business_id)
        snprintf(business, sizeof business, "%" PRId64, m->business_id);
    if (m->has_cadre_id)
        snprintf(cadre, sizeof cadre, "%" PRId64, m->cadre_id);
    /* jurisdiction: a regulator its subtree, a business itself, a cadre its own tasks */
    char scope_prefix[REGION_CODE_LEN + 2] = "";
    if (s_list_scope(c, region, scope_prefix, business, sizeof business, cadre, sizeof cadre,
                     rep) != 0)
        goto out;
    snprintf(lim, sizeof lim, "%d", limit + 1);
    char *like_r = xasprintf("%s%%", region), *like_s = xasprintf("%s%%", scope_prefix);
    const char *p[9] = {like_r,
                        like_s,
                        m->status,
                        m->kind,
                        m->period,
                        business[0] ? business : NULL,
                        cadre[0] ? cadre : NULL,
                        after,
                        lim};
    PGresult *r = pg_query_prepared(
        s->pg, "sched_list_tasks",
        "SELECT id, coalesce(business_id, 0), kind, period, status, step, "
        "extract(epoch FROM opened_at)::bigint, extract(epoch FROM closed_at)::bigint, "
        "coalesce(cadre_id, 0), region_code, ladder, extract(epoch FROM next_step_at)::bigint, "
        "extract(epoch FROM deadline)::bigint, business_id IS NOT NULL, cadre_id IS NOT NULL "
        "FROM tasks WHERE region_code LIKE $1 AND region_code LIKE $2 "
        "AND ($3::text IS NULL OR status = $3) AND ($4::text IS NULL OR kind = $4) "
        "AND ($5::text IS NULL OR period = $5) AND ($6::bigint IS NULL OR business_id = "
        "$6::bigint) "
        "AND ($7::bigint IS NULL OR cadre_id = $7::bigint "
        "     OR (kind LIKE 'ledger_%' AND business_id IN (SELECT business_id FROM assignments "
        "         WHERE cadre_id = $7::bigint AND until IS NULL))) "
        "AND id > $8::bigint ORDER BY id LIMIT $9::int",
        9, p);
    free(like_r);
    free(like_s);
    if (!r) {
        rpc_reply_error(rep, LZ__STATUS__UNAVAILABLE, NULL, "the database is unavailable");
        goto out;
    }
    int n = PQntuples(r);
    int shown = n > limit ? limit : n;
    Lz__TaskList list = LZ__TASK_LIST__INIT;
    Lz__Task *tasks = xcalloc((size_t)shown + 1, sizeof *tasks);
    Lz__Task **ptrs = xcalloc((size_t)shown + 1, sizeof *ptrs);
    for (int i = 0; i < shown; i++) {
        Lz__Task *t = &tasks[i];
        lz__task__init(t);
        t->has_id = t->has_step = true;
        t->id = pg_int(r, i, 0);
        t->has_business_id = pg_bool(r, i, 13);
        t->business_id = pg_int(r, i, 1);
        t->kind = (char *)pg_str(r, i, 2);
        t->period = (char *)pg_str(r, i, 3);
        t->status = (char *)pg_str(r, i, 4);
        t->step = (int32_t)pg_int(r, i, 5);
        s_time(r, i, 6, &t->opened_at);
        s_time(r, i, 7, &t->closed_at);
        t->has_cadre_id = pg_bool(r, i, 14);
        t->cadre_id = pg_int(r, i, 8);
        t->region_code = (char *)pg_str(r, i, 9);
        t->ladder = (char *)pg_str(r, i, 10);
        s_time(r, i, 11, &t->next_step_at);
        s_time(r, i, 12, &t->deadline);
        ptrs[i] = t;
    }
    char next[24];
    list.n_items = (size_t)shown;
    list.items = ptrs;
    if (n > limit) {
        snprintf(next, sizeof next, "%" PRId64, tasks[shown - 1].id);
        list.next_cursor = next;
    }
    rpc_reply_ok(rep, &list.base);
    for (int i = 0; i < shown; i++) {
        free(tasks[i].opened_at);
        free(tasks[i].closed_at);
        free(tasks[i].next_step_at);
        free(tasks[i].deadline);
    }
    free(tasks);
    free(ptrs);
    pg_free(&r);
out:
    protobuf_c_message_free_unpacked(&m->base, NULL);
}

/* ---- statistics ---------------------------------------------------------------------- */

typedef struct {
    char region[REGION_CODE_LEN + 1];
    int64_t v[6]; /* required, submitted, on_time, late, missing, problems */
} s_stat_t;

static void s_fill_row(Lz__LedgerStatsRow *row, s_stat_t *st)
{
    lz__ledger_stats_row__init(row);
    row->region = st->region;
    row->has_required = row->has_submitted = row->has_on_time = row->has_late = row->has_missing =
        row->has_problems = true;
    row->required = st->v[0];
    row->submitted = st->v[1];
    row->on_time = st->v[2];
    row->late = st->v[3];
    row->missing = st->v[4];
    row->problems = st->v[5];
}

/* The region and its children as stored at the deadline; n rows into out (caller frees). */
static int s_stats_stored(sched_t *s, const char *region, const char *kind, const char *period,
                          s_stat_t **out, int *n, bool *found)
{
    const char *p[3] = {region, kind, period};
    PGresult *r = pg_query_prepared(
        s->pg, "sched_stats",
        "SELECT g.code, coalesce(l.owed, 0), coalesce(l.submitted, 0), coalesce(l.on_time, 0), "
        "coalesce(l.late, 0), coalesce(l.missing, 0), coalesce(l.problems, 0), l.region_code IS "
        "NOT NULL "
        "FROM regions g LEFT JOIN ledger_stats l ON l.region_code = g.code AND l.kind = $2 AND "
        "l.period = $3 "
        "WHERE g.code = $1 OR g.parent_code = $1 ORDER BY g.code <> $1, g.code",
        3, p);
    if (!r)
        return -1;
    *n = PQntuples(r);
    *out = xcalloc((size_t)*n + 1, sizeof **out);
    *found = false;
    for (int i = 0; i < *n; i++) {
        snprintf((*out)[i].region, sizeof(*out)[i].region, "%s", pg_str(r, i, 0));
        for (int k = 0; k < 6; k++)
            (*out)[i].v[k] = pg_int(r, i, k + 1);
        if (i == 0 && pg_bool(r, i, 7))
            *found = true;
    }
    pg_free(&r);
    return 0;
}

/* Figures of a period not swept yet: intake's counters and the registry's active businesses. */
static int s_stats_live(sched_t *s, s_stat_t *rows, int n, const char *kind, const char *period)
{
    for (int i = 0; i < n; i++) {
        region_level_t lv;
        if (region_level_of(rows[i].region, &lv) != 0)
            continue;
        char *like = xasprintf("%.*s%%", (int)region_prefix_len(lv), rows[i].region);
        const char *p[1] = {like};
        PGresult *r = pg_query_prepared(s->pg, "sched_live_owed",
                                        "SELECT count(*) FROM businesses WHERE status = 'active' "
                                        "AND region_code LIKE $1",
                                        1, p);
        free(like);
        if (!r)
            return -1;
        rows[i].v[0] = pg_int(r, 0, 0);
        pg_free(&r);
        redisReply *h = rds_cmd(s->rds, "HMGET lz:cnt:%s:%s %s:submitted %s:late %s:problems", kind,
                                period, rows[i].region, rows[i].region, rows[i].region);
        if (!h)
            return -1;
        int64_t v[3] = {0, 0, 0};
        for (size_t k = 0; k < 3 && h->type == REDIS_REPLY_ARRAY && k < h->elements; k++)
            if (h->element[k]->type == REDIS_REPLY_STRING)
                v[k] = strtoll(h->element[k]->str, NULL, 10);
        rds_free(&h);
        rows[i].v[1] = v[0];
        rows[i].v[3] = v[1];
        rows[i].v[2] = v[0] - v[1];
        rows[i].v[4] = rows[i].v[0] > v[0] ? rows[i].v[0] - v[0] : 0;
        rows[i].v[5] = v[2];
    }
    return 0;
}

void sched_h_ledger_stats(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep)
{
    sched_t *s = ctx;
    int64_t now = clock_now_s() + s->clock_offset_s;
    Lz__LedgerStatsRequest *m =
        (Lz__LedgerStatsRequest *)rpc_unpack(req, &lz__ledger_stats_request__descriptor);
    if (!m) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, NULL, "the request does not parse");
        return;
    }
    const char *region = m->region ? m->region : (req->caller ? req->caller->region : NULL);
    period_kind_t kind;
    period_t p;
    if (!region) {
        rpc_reply_error(rep, LZ__STATUS__MISSING_FIELD, "region", "region is required");
    } else if (!region_code_valid(region)) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "region", "region is not a region code");
    } else if (!scope_region_visible(req->caller, region)) {
        rpc_reply_error(rep, LZ__STATUS__NOT_FOUND, "region", "no such region");
    } else if (!m->kind || period_kind_parse(m->kind, &kind) != 0 || kind == PERIOD_QUARTERLY) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "kind", "kind is daily, weekly or monthly");
    } else if (!m->period || period_parse_kind(kind, m->period, &p) != 0) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "period", "period is not a %s period",
                        m->kind);
    } else {
        s_stat_t *rows = NULL;
        int n = 0;
        bool found = false;
        int rc = s_stats_stored(s, region, m->kind, m->period, &rows, &n, &found);
        /* not swept yet: before its deadline (live), or a past period the scheduler has not
         * reached (history loaded before it ran): intake's counters and today's registry */
        bool live = rc == 0 && !found;
        bool before_deadline = period_deadline(&p, s->grace_s) > now;
        if (rc == 0 && live)
            rc = s_stats_live(s, rows, n, m->kind, m->period);
        if (rc != 0) {
            rpc_reply_error(rep, LZ__STATUS__UNAVAILABLE, NULL, "the statistics are unavailable");
        } else if (n == 0) {
            rpc_reply_error(rep, LZ__STATUS__NOT_FOUND, "region", "no such region");
        } else {
            Lz__LedgerStats out = LZ__LEDGER_STATS__INIT;
            Lz__LedgerStatsRow top, *kids = xcalloc((size_t)n, sizeof *kids);
            Lz__LedgerStatsRow **kp = xcalloc((size_t)n, sizeof *kp);
            s_fill_row(&top, &rows[0]);
            out.region = top.region;
            out.has_required = out.has_submitted = out.has_on_time = out.has_late =
                out.has_missing = out.has_problems = true;
            out.required = top.required;
            out.submitted = top.submitted;
            out.on_time = top.on_time;
            out.late = top.late;
            out.missing = top.missing;
            out.problems = top.problems;
            for (int i = 1; i < n; i++) {
                s_fill_row(&kids[i - 1], &rows[i]);
                kp[i - 1] = &kids[i - 1];
            }
            out.n_children = (size_t)(n - 1);
            out.children = kp;
            out.source = !live ? "deadline" : before_deadline ? "live" : "counters";
            rpc_reply_ok(rep, &out.base);
            free(kids);
            free(kp);
        }
        free(rows);
    }
    protobuf_c_message_free_unpacked(&m->base, NULL);
}

/* ---- ladders -------------------------------------------------------------------------- */

static void s_ladder_reply(sched_t *s, const char *name, rpc_reply_t *rep)
{
    ladder_t l;
    int rc = sched_ladder_load(s->pg, name, &l);
    if (rc < 0) {
        rpc_reply_error(rep, LZ__STATUS__UNAVAILABLE, NULL, "the database is unavailable");
        return;
    }
    if (rc > 0) {
        rpc_reply_error(rep, LZ__STATUS__NOT_FOUND, "name", "no such ladder");
        return;
    }
    const char *p[1] = {name};
    PGresult *r =
        pg_query_prepared(s->pg, "sched_ladder_meta",
                          "SELECT title, extract(epoch FROM updated_at)::bigint, updated_by "
                          "FROM ladders WHERE name = $1",
                          1, p);
    Lz__Ladder out = LZ__LADDER__INIT;
    Lz__LadderStep steps[LADDER_STEPS_MAX], *sp[LADDER_STEPS_MAX];
    Lz__LadderRecipient rc_[LADDER_STEPS_MAX][LADDER_RECIPIENTS_MAX];
    Lz__LadderRecipient *rp[LADDER_STEPS_MAX][LADDER_RECIPIENTS_MAX];
    out.name = l.name;
    char *updated = NULL;
    if (r && PQntuples(r)) {
        out.title = (char *)pg_str(r, 0, 0);
        s_time(r, 0, 1, &updated);
        out.updated_at = updated;
        out.updated_by = (char *)pg_str(r, 0, 2);
    }
    for (int i = 0; i < l.nsteps; i++) {
        lz__ladder_step__init(&steps[i]);
        steps[i].has_step = steps[i].has_delay_s = steps[i].has_urgent = true;
        steps[i].step = l.steps[i].step;
        steps[i].delay_s = l.steps[i].delay_s;
        steps[i].urgent = l.steps[i].urgent;
        steps[i].letter = l.steps[i].letter[0] ? l.steps[i].letter : NULL;
        for (int j = 0; j < l.steps[i].nrecipients; j++) {
            lz__ladder_recipient__init(&rc_[i][j]);
            rc_[i][j].role = l.steps[i].r[j].role;
            rc_[i][j].template_ = l.steps[i].r[j].template_;
            rp[i][j] = &rc_[i][j];
        }
        steps[i].n_recipients = (size_t)l.steps[i].nrecipients;
        steps[i].recipients = rp[i];
        sp[i] = &steps[i];
    }
    out.n_steps = (size_t)l.nsteps;
    out.steps = sp;
    rpc_reply_ok(rep, &out.base);
    free(updated);
    pg_free(&r);
}

void sched_h_get_ladder(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep)
{
    sched_t *s = ctx;
    Lz__GetLadderRequest *m =
        (Lz__GetLadderRequest *)rpc_unpack(req, &lz__get_ladder_request__descriptor);
    if (!m || !m->name)
        rpc_reply_error(rep, LZ__STATUS__MISSING_FIELD, "name", "name is required");
    else if (!scope_is_admin(req->caller) && !scope_is_regulator(req->caller))
        rpc_reply_error(rep, LZ__STATUS__FORBIDDEN, NULL, "not allowed");
    else
        s_ladder_reply(s, m->name, rep);
    if (m)
        protobuf_c_message_free_unpacked(&m->base, NULL);
}

void sched_h_put_ladder(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep)
{
    sched_t *s = ctx;
    const char *method = "scheduler.put_ladder";
    if (!scope_is_admin(req->caller) && !scope_is_regulator(req->caller)) {
        rpc_reply_error(rep, LZ__STATUS__FORBIDDEN, NULL, "only regulators change ladders");
        return;
    }
    Lz__Ladder *m = (Lz__Ladder *)rpc_unpack(req, &lz__ladder__descriptor);
    if (!m || !m->name) {
        rpc_reply_error(rep, LZ__STATUS__MISSING_FIELD, "name", "name is required");
        goto out;
    }
    if (!req->request_id || !req->request_id[0]) {
        rpc_reply_error(rep, LZ__STATUS__MISSING_FIELD, "request_id", "request_id is required");
        goto out;
    }
    ladder_t l;
    memset(&l, 0, sizeof l);
    snprintf(l.name, sizeof l.name, "%s", m->name);
    if (m->n_steps > LADDER_STEPS_MAX) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "steps", "at most %d steps",
                        LADDER_STEPS_MAX);
        goto out;
    }
    l.nsteps = (int)m->n_steps;
    for (size_t i = 0; i < m->n_steps; i++) {
        const Lz__LadderStep *st = m->steps[i];
        ladder_step_t *d = &l.steps[i];
        d->step = st->has_step ? st->step : (int)i + 1;
        d->delay_s = st->has_delay_s ? st->delay_s : -1;
        d->urgent = st->has_urgent && st->urgent;
        if (st->letter && strlen(st->letter) > LADDER_TEMPLATE_MAX) {
            rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "steps.letter", "unknown letter kind");
            goto out;
        }
        snprintf(d->letter, sizeof d->letter, "%s", st->letter ? st->letter : "");
        if (st->n_recipients > LADDER_RECIPIENTS_MAX) {
            rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "steps.recipients",
                            "too many recipients");
            goto out;
        }
        d->nrecipients = (int)st->n_recipients;
        for (size_t j = 0; j < st->n_recipients; j++) {
            const char *role = st->recipients[j]->role, *t = st->recipients[j]->template_;
            if (!role || !t || strlen(role) > LADDER_ROLE_MAX || strlen(t) > LADDER_TEMPLATE_MAX) {
                rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "steps.recipients",
                                "every recipient needs a role and a template");
                goto out;
            }
            snprintf(d->r[j].role, sizeof d->r[j].role, "%s", role);
            snprintf(d->r[j].template_, sizeof d->r[j].template_, "%s", t);
        }
    }
    char field[64], msg[160];
    if (ladder_validate(&l, field, sizeof field, msg, sizeof msg) != 0) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, field, "%s", msg);
        goto out;
    }
    const char *who = req->caller && req->caller->name ? req->caller->name : "?";
    const char *p1[2] = {l.name, who};
    if (idem_begin_req(s->pg, method, req, rep) != 1)
        goto out;
    PGresult *r = pg_query(
        s->pg, "UPDATE ladders SET updated_at = now(), updated_by = $2 WHERE name = $1", 2, p1);
    if (!r)
        goto fail;
    bool exists = strcmp(PQcmdTuples(r), "1") == 0;
    pg_free(&r);
    if (!exists) {
        pg_rollback(s->pg);
        rpc_reply_error(rep, LZ__STATUS__NOT_FOUND, "name", "no such ladder");
        goto out;
    }
    if (pg_exec(s->pg, "DELETE FROM ladder_steps WHERE ladder = $1", 1, p1) != 0)
        goto fail;
    for (int i = 0; i < l.nsteps; i++) {
        char step[16], delay[24];
        snprintf(step, sizeof step, "%d", l.steps[i].step);
        snprintf(delay, sizeof delay, "%" PRId64, l.steps[i].delay_s);
        const char *p2[5] = {l.name, step, delay, l.steps[i].letter[0] ? l.steps[i].letter : NULL,
                             l.steps[i].urgent ? "t" : "f"};
        if (pg_exec(s->pg,
                    "INSERT INTO ladder_steps (ladder, step, delay_s, letter, urgent) "
                    "VALUES ($1, $2::int, $3::bigint, $4, $5::boolean)",
                    5, p2) != 0)
            goto fail;
        for (int j = 0; j < l.steps[i].nrecipients; j++) {
            char pos[16];
            snprintf(pos, sizeof pos, "%d", j + 1);
            const char *p3[5] = {l.name, step, pos, l.steps[i].r[j].role,
                                 l.steps[i].r[j].template_};
            if (pg_exec(s->pg,
                        "INSERT INTO ladder_recipients (ladder, step, position, role, template) "
                        "VALUES ($1, $2::int, $3::int, $4, $5)",
                        5, p3) != 0)
                goto fail;
        }
    }
    char object[64];
    snprintf(object, sizeof object, "ladders/%s", l.name);
    if (audit_write(s->pg, req->caller, "ladder.update", object, req->request_id, NULL) != 0)
        goto fail;
    s_ladder_reply(s, l.name, rep);
    if (rep->status != LZ__STATUS__OK || idem_finish(s->pg, method, req->request_id, rep) != 0 ||
        pg_commit(s->pg) != 0)
        goto fail;
    goto out;
fail:
    pg_rollback(s->pg);
    rpc_reply_clear(rep);
    rpc_reply_error(rep, LZ__STATUS__UNAVAILABLE, NULL, "the ladder could not be saved");
out:
    if (m)
        protobuf_c_message_free_unpacked(&m->base, NULL);
}

/* ---- letters ----------------------------------------------------------------------------- */

void sched_h_get_letter(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep)
{
    sched_t *s = ctx;
    Lz__GetLetterRequest *m =
        (Lz__GetLetterRequest *)rpc_unpack(req, &lz__get_letter_request__descriptor);
    if (!m || !m->has_id) {
        rpc_reply_error(rep, LZ__STATUS__MISSING_FIELD, "id", "id is required");
        goto out;
    }
    char id[24];
    snprintf(id, sizeof id, "%" PRId64, m->id);
    const char *p[1] = {id};
    PGresult *r = pg_query_prepared(
        s->pg, "sched_letter",
        "SELECT l.id, l.number, l.kind, l.task_id, l.recipient, l.region_code, "
        "extract(epoch FROM l.deadline)::bigint, l.body, extract(epoch FROM l.created_at)::bigint, "
        "coalesce(g.name, l.region_code), t.region_code, coalesce(t.business_id, 0), "
        "coalesce(t.cadre_id, 0) "
        "FROM letters l JOIN tasks t ON t.id = l.task_id LEFT JOIN regions g ON g.code = "
        "l.region_code "
        "WHERE l.id = $1::bigint",
        1, p);
    if (!r) {
        rpc_reply_error(rep, LZ__STATUS__UNAVAILABLE, NULL, "the database is unavailable");
        goto out;
    }
    const Lz__Caller *c = req->caller;
    bool visible =
        PQntuples(r) == 1 &&
        (scope_business_visible(c, pg_int(r, 0, 11), pg_str(r, 0, 10)) ||
         (scope_has_role(c, "cadre") && c->has_cadre_id && c->cadre_id == pg_int(r, 0, 12)));
    if (!visible) {
        rpc_reply_error(rep, LZ__STATUS__NOT_FOUND, "id", "no such letter");
    } else {
        Lz__Letter l = LZ__LETTER__INIT;
        l.has_id = l.has_task_id = true;
        l.id = pg_int(r, 0, 0);
        l.number = (char *)pg_str(r, 0, 1);
        l.kind = (char *)pg_str(r, 0, 2);
        l.title = (char *)ladder_letter_title(l.kind);
        l.task_id = pg_int(r, 0, 3);
        l.recipient = (char *)pg_str(r, 0, 4);
        l.region_code = (char *)pg_str(r, 0, 5);
        s_time(r, 0, 6, &l.deadline);
        l.body = (char *)pg_str(r, 0, 7);
        s_time(r, 0, 8, &l.created_at);
        l.issuer = (char *)pg_str(r, 0, 9);
        rpc_reply_ok(rep, &l.base);
        free(l.deadline);
        free(l.created_at);
    }
    pg_free(&r);
out:
    if (m)
        protobuf_c_message_free_unpacked(&m->base, NULL);
}

void sched_h_list_letters(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep)
{
    sched_t *s = ctx;
    Lz__ListLettersRequest *m =
        (Lz__ListLettersRequest *)rpc_unpack(req, &lz__list_letters_request__descriptor);
    if (!m) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, NULL, "the request does not parse");
        return;
    }
    const Lz__Caller *c = req->caller;
    char region[REGION_CODE_LEN + 2] = "", scope_prefix[REGION_CODE_LEN + 2] = "";
    char business[24] = "", cadre[24] = "", after[24] = "0", lim[16];
    int limit;
    if (s_list_args(m->region, m->has_limit, m->limit, m->cursor, region, &limit, after, rep) != 0)
        goto out;
    if (m->kind && !ladder_letter_title(m->kind)) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "kind",
                        "kind is reminder_letter, supervision_notice, interview_summons or "
                        "rectification_notice");
        goto out;
    }
    /* jurisdiction, as for a single letter: a regulator its subtree (by the task's region), a
     * business its own, a cadre the letters of its tasks */
    if (s_list_scope(c, region, scope_prefix, business, sizeof business, cadre, sizeof cadre,
                     rep) != 0)
        goto out;
    snprintf(lim, sizeof lim, "%d", limit + 1);
    char *like_r = xasprintf("%s%%", region), *like_s = xasprintf("%s%%", scope_prefix);
    const char *p[7] = {
        like_r, like_s, m->kind, business[0] ? business : NULL, cadre[0] ? cadre : NULL,
        after,  lim};
    PGresult *r = pg_query_prepared(
        s->pg, "sched_list_letters",
        "SELECT l.id, l.number, l.kind, l.task_id, l.recipient, l.region_code, "
        "extract(epoch FROM l.deadline)::bigint, extract(epoch FROM l.created_at)::bigint, "
        "coalesce(g.name, l.region_code) "
        "FROM letters l JOIN tasks t ON t.id = l.task_id LEFT JOIN regions g ON g.code = "
        "l.region_code "
        "WHERE t.region_code LIKE $1 AND t.region_code LIKE $2 "
        "AND ($3::text IS NULL OR l.kind = $3) "
        "AND ($4::bigint IS NULL OR t.business_id = $4::bigint) "
        "AND ($5::bigint IS NULL OR t.cadre_id = $5::bigint) "
        "AND l.id > $6::bigint ORDER BY l.id LIMIT $7::int",
        7, p);
    free(like_r);
    free(like_s);
    if (!r) {
        rpc_reply_error(rep, LZ__STATUS__UNAVAILABLE, NULL, "the database is unavailable");
        goto out;
    }
    int n = PQntuples(r);
    int shown = n > limit ? limit : n;
    Lz__LetterList list = LZ__LETTER_LIST__INIT;
    Lz__Letter *ls = xcalloc((size_t)shown + 1, sizeof *ls);
    Lz__Letter **ptrs = xcalloc((size_t)shown + 1, sizeof *ptrs);
    for (int i = 0; i < shown; i++) {
        Lz__Letter *l = &ls[i];
        lz__letter__init(l);
        l->has_id = l->has_task_id = true;
        l->id = pg_int(r, i, 0);
        l->number = (char *)pg_str(r, i, 1);
        l->kind = (char *)pg_str(r, i, 2);
        l->title = (char *)ladder_letter_title(l->kind);
        l->task_id = pg_int(r, i, 3);
        l->recipient = (char *)pg_str(r, i, 4);
        l->region_code = (char *)pg_str(r, i, 5);
        s_time(r, i, 6, &l->deadline);
        s_time(r, i, 7, &l->created_at);
        l->issuer = (char *)pg_str(r, i, 8);
        ptrs[i] = l;
    }
    char next[24];
    list.n_items = (size_t)shown;
    list.items = ptrs;
    if (n > limit) {
        snprintf(next, sizeof next, "%" PRId64, ls[shown - 1].id);
        list.next_cursor = next;
    }
    rpc_reply_ok(rep, &list.base);
    for (int i = 0; i < shown; i++) {
        free(ls[i].deadline);
        free(ls[i].created_at);
    }
    free(ls);
    free(ptrs);
    pg_free(&r);
out:
    protobuf_c_message_free_unpacked(&m->base, NULL);
}
