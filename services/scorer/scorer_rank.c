/*
 * scorer_rank.c - rankings of townships and districts (see scorer_rank.h).
 */
#include "scorer_rank.h"
#include "clock.h"
#include "log.h"
#include "mem.h"
#include "period.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void scorer_rank_rates(scorer_rank_row_t *r, int w_ledger, int w_visit)
{
    r->ledger_rate = r->ledgers_owed > 0 ? (double)r->ledgers_on_time / r->ledgers_owed : 1.0;
    if (r->ledger_rate > 1)
        r->ledger_rate = 1;
    r->visit_rate = r->visits_owed > 0 ? (double)r->visits_done / r->visits_owed : 1.0;
    int w = w_ledger + w_visit;
    r->score = w > 0 ? (w_ledger * r->ledger_rate + w_visit * r->visit_rate) / w : 0;
    r->score = floor(r->score * 10000 + 0.5) / 10000;
    r->ledger_rate = floor(r->ledger_rate * 10000 + 0.5) / 10000;
    r->visit_rate = floor(r->visit_rate * 10000 + 0.5) / 10000;
}

static int s_best_first(const void *a, const void *b)
{
    const scorer_rank_row_t *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return strcmp(x->region, y->region);
}

void scorer_rank_order(scorer_rank_row_t *rows, size_t n)
{
    qsort(rows, n, sizeof *rows, s_best_first);
    for (size_t i = 0; i < n; i++)
        rows[i].rank = i > 0 && rows[i].score == rows[i - 1].score ? rows[i - 1].rank : (int)i + 1;
}

/* Day window [from_day, to_day) as dates, the quarter's start, and the end instant. */
typedef struct {
    char from_day[11], to_day[11];
    int64_t from_ts, to_ts, qstart;
} s_window_t;

static void s_date(int64_t t, char *out)
{
    int y, m, d;
    local_date(t, &y, &m, &d);
    snprintf(out, 11, "%04d-%02d-%02d", y, m, d);
}

static int s_window(const char *period, int64_t as_of, s_window_t *w)
{
    period_t p, q;
    if (period_parse(period, &p) != 0 || (p.kind != PERIOD_DAILY && p.kind != PERIOD_QUARTERLY) ||
        period_quarter_of(&p, &q) != 0)
        return -1;
    w->qstart = period_start(&q);
    w->from_ts = period_start(&p);
    w->to_ts = period_end(&p);
    if (p.kind == PERIOD_QUARTERLY) {
        /* up to the end of the as-of day, within the quarter */
        period_t d;
        if (period_containing(PERIOD_DAILY, as_of, &d) == 0 && period_end(&d) < w->to_ts)
            w->to_ts = period_end(&d);
        if (w->to_ts < w->from_ts)
            w->to_ts = w->from_ts;
    }
    s_date(w->from_ts, w->from_day);
    s_date(w->to_ts, w->to_day);
    return 0;
}

static const char S_RANK_SQL[] =
    "WITH b AS (SELECT id, left(region_code, $1::int) r, greatest((created_at AT TIME ZONE "
    "'Asia/Shanghai')::date, $2::date) f FROM businesses WHERE status = 'active'), "
    "owed AS (SELECT r, sum(greatest(0, $3::date - f)) n FROM b GROUP BY r), "
    "rest AS (SELECT b.r, count(*) n FROM business_rest_days d JOIN b ON b.id = d.business_id "
    "WHERE d.day >= b.f AND d.day < $3::date GROUP BY b.r), "
    "ont AS (SELECT left(region_code, $1::int) r, count(*) n FROM records WHERE kind = 'daily' "
    "AND status = 'on_time' AND period_start >= to_timestamp($4::bigint) AND period_start < "
    "to_timestamp($5::bigint) GROUP BY 1), "
    "vis AS (SELECT left(bb.region_code, $1::int) r, count(*) * $6::int o, "
    "sum(least(coalesce(v.n, 0), $6::int)) d FROM (SELECT DISTINCT cadre_id, business_id FROM "
    "assignments WHERE until IS NULL) a JOIN businesses bb ON bb.id = a.business_id AND "
    "bb.status = 'active' LEFT JOIN (SELECT cadre_id, business_id, count(*) n FROM visits WHERE "
    "visited_at >= to_timestamp($7::bigint) AND visited_at < to_timestamp($5::bigint) GROUP BY "
    "1, 2) v ON v.cadre_id = a.cadre_id AND v.business_id = a.business_id GROUP BY 1) "
    "SELECT rg.code, rg.name, coalesce(owed.n, 0) - coalesce(rest.n, 0), coalesce(ont.n, 0), "
    "coalesce(vis.o, 0), coalesce(vis.d, 0) FROM regions rg "
    "LEFT JOIN owed ON owed.r = left(rg.code, $1::int) "
    "LEFT JOIN rest ON rest.r = left(rg.code, $1::int) "
    "LEFT JOIN ont ON ont.r = left(rg.code, $1::int) "
    "LEFT JOIN vis ON vis.r = left(rg.code, $1::int) "
    "WHERE rg.level = $8 AND (owed.n IS NOT NULL OR vis.o IS NOT NULL)";

int scorer_rank_compute(pg_t *pg, rds_t *rds, const char *level, const char *period, int64_t as_of,
                        int visits_per_quarter, int w_ledger, int w_visit)
{
    s_window_t w;
    if (s_window(period, as_of, &w) != 0) {
        log_error("ranking period %s is neither a day nor a quarter", period);
        return -1;
    }
    const char *plen = !strcmp(level, "district") ? "6" : "9";
    char fts[24], tts[24], qs[24], per[16];
    snprintf(fts, sizeof fts, "%" PRId64, w.from_ts);
    snprintf(tts, sizeof tts, "%" PRId64, w.to_ts);
    snprintf(qs, sizeof qs, "%" PRId64, w.qstart);
    snprintf(per, sizeof per, "%d", visits_per_quarter);
    const char *params[] = {plen, w.from_day, w.to_day, fts, tts, per, qs, level};
    int64_t t0 = clock_mono_ms();
    PGresult *res = pg_query_prepared(pg, "scorer_rank", S_RANK_SQL, 8, params);
    if (!res)
        return -1;
    size_t n = (size_t)PQntuples(res);
    scorer_rank_row_t *rows = xcalloc(n + 1, sizeof *rows);
    for (size_t i = 0; i < n; i++) {
        scorer_rank_row_t *r = &rows[i];
        snprintf(r->region, sizeof r->region, "%s", pg_str(res, (int)i, 0));
        snprintf(r->name, sizeof r->name, "%s", pg_str(res, (int)i, 1));
        r->ledgers_owed = pg_int(res, (int)i, 2);
        r->ledgers_on_time = pg_int(res, (int)i, 3);
        r->visits_owed = pg_int(res, (int)i, 4);
        r->visits_done = pg_int(res, (int)i, 5);
        scorer_rank_rates(r, w_ledger, w_visit);
    }
    pg_free(&res);
    scorer_rank_order(rows, n);

    /* Redis: replace the set and its details at once */
    char key[96], dkey[100];
    snprintf(key, sizeof key, "lz:rank:%s:%s", level, period);
    snprintf(dkey, sizeof dkey, "%s:d", key);
    int queued = 0, rc = 0;
    rds_append(rds, "MULTI");
    rds_append(rds, "DEL %s %s", key, dkey);
    queued += 2;
    for (size_t i = 0; i < n; i++) {
        char detail[200];
        snprintf(detail, sizeof detail, "%s\t%" PRId64 "\t%" PRId64 "\t%" PRId64 "\t%" PRId64,
                 rows[i].name, rows[i].ledgers_owed, rows[i].ledgers_on_time, rows[i].visits_owed,
                 rows[i].visits_done);
        char sc[32];
        snprintf(sc, sizeof sc, "%.4f", rows[i].score);
        rds_append(rds, "ZADD %s %s %s", key, sc, rows[i].region);
        rds_append(rds, "HSET %s %s %s", dkey, rows[i].region, detail);
        queued += 2;
    }
    rds_append(rds, "EXEC");
    queued++;
    for (int i = 0; i < queued; i++) {
        redisReply *r = rds_get_reply(rds);
        if (!r) {
            rc = -1;
            break;
        }
        rds_free(&r);
    }
    if (rc != 0)
        log_warn("ranking %s %s not stored in Redis: %s", level, period, rds_errmsg(rds));

    /* PostgreSQL snapshot */
    if (pg_begin(pg) != 0) {
        free(rows);
        return -1;
    }
    const char *dp[] = {level, period};
    if (pg_exec(pg, "DELETE FROM score_rankings WHERE level = $1 AND period = $2", 2, dp) != 0)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        char rank[16], sc[32], a[24], b[24], c[24], d[24];
        snprintf(rank, sizeof rank, "%d", rows[i].rank);
        snprintf(sc, sizeof sc, "%.4f", rows[i].score);
        snprintf(a, sizeof a, "%" PRId64, rows[i].ledgers_owed);
        snprintf(b, sizeof b, "%" PRId64, rows[i].ledgers_on_time);
        snprintf(c, sizeof c, "%" PRId64, rows[i].visits_owed);
        snprintf(d, sizeof d, "%" PRId64, rows[i].visits_done);
        const char *ip[] = {level, period, rows[i].region, rank, sc, a, b, c, d};
        PGresult *r = pg_query_prepared(
            pg, "scorer_rank_snap",
            "INSERT INTO score_rankings (level, period, region_code, rank, score, ledgers_owed, "
            "ledgers_on_time, visits_owed, visits_done, computed_at) VALUES ($1, $2, $3, $4::int, "
            "$5::numeric, $6::bigint, $7::bigint, $8::bigint, $9::bigint, now())",
            9, ip);
        if (!r)
            goto fail;
        pg_free(&r);
    }
    if (pg_commit(pg) != 0)
        goto fail;
    free(rows);
    log_info("ranking %s %s: %zu regions in %" PRId64 " ms", level, period, n,
             clock_mono_ms() - t0);
    return (int)n;
fail:
    pg_rollback(pg);
    free(rows);
    return -1;
}

static bool s_under(const char *region, const char *prefix)
{
    return strncmp(region, prefix, strlen(prefix)) == 0;
}

scorer_rank_row_t *scorer_rank_read(pg_t *pg, rds_t *rds, const char *level, const char *period,
                                    const char *prefix, size_t *n, const char **source)
{
    *n = 0;
    char key[96], dkey[100];
    snprintf(key, sizeof key, "lz:rank:%s:%s", level, period);
    snprintf(dkey, sizeof dkey, "%s:d", key);
    redisReply *z = rds_cmd(rds, "ZREVRANGE %s 0 -1 WITHSCORES", key);
    scorer_rank_row_t *rows = NULL;
    size_t k = 0;
    if (z && z->type == REDIS_REPLY_ARRAY && z->elements > 0) {
        *source = "redis";
        rows = xcalloc(z->elements / 2 + 1, sizeof *rows);
        for (size_t i = 0; i + 1 < z->elements; i += 2) {
            const char *region = z->element[i]->str;
            if (!s_under(region, prefix))
                continue;
            scorer_rank_row_t *r = &rows[k++];
            snprintf(r->region, sizeof r->region, "%s", region);
            r->score = strtod(z->element[i + 1]->str, NULL);
        }
        /* the details of every region in one round trip (pipelined HGETs) */
        size_t queued = 0;
        for (size_t i = 0; i < k; i++)
            if (rds_append(rds, "HGET %s %s", dkey, rows[i].region) == 0)
                queued++;
        for (size_t i = 0; i < queued; i++) {
            redisReply *h = rds_get_reply(rds);
            if (h && h->type == REDIS_REPLY_STRING) {
                scorer_rank_row_t *r = &rows[i];
                char *save = NULL, *copy = xstrdup(h->str);
                char *f = strtok_r(copy, "\t", &save);
                snprintf(r->name, sizeof r->name, "%s", f ? f : "");
                int64_t *dst[] = {&r->ledgers_owed, &r->ledgers_on_time, &r->visits_owed,
                                  &r->visits_done};
                for (size_t j = 0; j < 4 && (f = strtok_r(NULL, "\t", &save)); j++)
                    *dst[j] = strtoll(f, NULL, 10);
                free(copy);
            }
            rds_free(&h);
        }
        rds_free(&z);
    } else {
        rds_free(&z);
        *source = "snapshot";
        const char *params[] = {level, period, prefix};
        PGresult *res = pg_query_prepared(
            pg, "scorer_rank_read",
            "SELECT s.region_code, coalesce(r.name, ''), s.score, s.ledgers_owed, "
            "s.ledgers_on_time, s.visits_owed, s.visits_done FROM score_rankings s LEFT JOIN "
            "regions r ON r.code = s.region_code WHERE s.level = $1 AND s.period = $2 AND "
            "s.region_code LIKE $3 || '%' ORDER BY s.rank, s.region_code",
            3, params);
        if (!res)
            return NULL;
        rows = xcalloc((size_t)PQntuples(res) + 1, sizeof *rows);
        for (int i = 0; i < PQntuples(res); i++) {
            scorer_rank_row_t *r = &rows[k++];
            snprintf(r->region, sizeof r->region, "%s", pg_str(res, i, 0));
            snprintf(r->name, sizeof r->name, "%s", pg_str(res, i, 1));
            r->score = strtod(pg_str(res, i, 2), NULL);
            r->ledgers_owed = pg_int(res, i, 3);
            r->ledgers_on_time = pg_int(res, i, 4);
            r->visits_owed = pg_int(res, i, 5);
            r->visits_done = pg_int(res, i, 6);
        }
        pg_free(&res);
    }
    for (size_t i = 0; i < k; i++) {
        double keep = rows[i].score;
        scorer_rank_rates(&rows[i], 1, 1);
        rows[i].score = keep; /* as stored: the weights of the computing worker */
    }
    scorer_rank_order(rows, k);
    *n = k;
    return rows;
}
