/*
 * scorer_score.c - benchmark of the scorer (the bench/score): a
 * province's quarter of ledgers replayed as events into the running
 * aggregates, the full recompute from PostgreSQL, and ranking reads.
 *
 *   build/bench/scorer_score [--businesses N] [--cadres N] [--days N]
 *
 * Run it through bench/scorer_score.sh, which makes a scratch database,
 * migrates it and sets LZ_PG_URL (its owner) and LZ_REDIS_HOST/PORT.  The
 * fixture is made set-based in SQL: regions (10 districts x 10 townships x
 * 10 communities), N businesses, N/10 cadres each assigned N/cadres
 * businesses, `days` daily records per business (10 % late) in the current
 * quarter, one visit per assignment for half of them.  Then:
 *   1. every record and visit is replayed as a decoded event through
 *      scorer_apply (batches of 1000, one transaction each, as the
 *      consumer does after reading a batch from its stream): events/s;
 *   2. every event again (a redelivery): nothing may change;
 *   3. the full recompute (scorer_recompute) must equal the running
 *      aggregates: its time;
 *   4. the township ranking of the quarter computed once, then read 200
 *      times (Redis): latency.
 * Redis keys go to database 9 and are deleted at the end.
 */
#include "clock.h"
#include "log.h"
#include "mem.h"
#include "pg.h"
#include "rds.h"
#include "scorer/scorer_events.h"
#include "scorer/scorer_rank.h"
#include "scorer/scorer_score.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long s_arg(int argc, char **argv, const char *name, long def)
{
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], name))
            return strtol(argv[i + 1], NULL, 10);
    return def;
}

static int s_exec(pg_t *pg, const char *what, const char *sql)
{
    int64_t t0 = clock_mono_ms();
    if (pg_exec_script(pg, sql) != 0) {
        fprintf(stderr, "%s failed: %s\n", what, pg_errmsg(pg));
        return -1;
    }
    printf("  %-44s %8.1f s\n", what, (clock_mono_ms() - t0) / 1000.0);
    return 0;
}

int main(int argc, char **argv)
{
    log_init("bench", LZ_LOG_WARN);
    long nb = s_arg(argc, argv, "--businesses", 1000000);
    long nc = s_arg(argc, argv, "--cadres", nb / 10);
    long days = s_arg(argc, argv, "--days", 10);
    const char *url = getenv("LZ_PG_URL");
    const char *rhost = getenv("LZ_REDIS_HOST");
    const char *rport = getenv("LZ_REDIS_PORT");
    if (!url || !rhost || !rport || nb < 1000 || nc < 10 || days < 1 || days > 60) {
        fprintf(stderr,
                "usage: LZ_PG_URL=... LZ_REDIS_HOST=... LZ_REDIS_PORT=... %s "
                "[--businesses N>=1000] [--cadres N>=10] [--days 1..60]\n",
                argv[0]);
        return 2;
    }
    pg_t *pg = pg_connect(url, 3, 500);
    rds_t *rds = rds_connect(rhost, (int)strtol(rport, NULL, 10), 2000);
    if (!pg || !rds)
        return 1;
    redisReply *sel = rds_cmd(rds, "SELECT 9");
    rds_free(&sel);
    int64_t now = clock_now_s();
    period_t q, first;
    period_containing(PERIOD_QUARTERLY, now, &q);
    period_first_day(&q, &first);
    if (period_days(&q) < days)
        days = period_days(&q);
    char qtext[PERIOD_TEXT_MAX];
    period_format(&q, qtext, sizeof qtext);
    printf("scorer benchmark: %ld businesses, %ld cadres, %ld days of daily ledgers in %s "
           "(%ld events)\n",
           nb, nc, days, qtext, nb * days + nc * (nb / nc) / 2);

    /* ---- fixture ---- */
    char sql[4096];
    int64_t qs = period_start(&q);
    printf("fixture:\n");
    if (s_exec(pg, "regions",
               "INSERT INTO regions (code, name, level, parent_code) VALUES "
               "('990000000000', 'bench', 'province', NULL), "
               "('990100000000', 'bench city', 'city', '990000000000') ON CONFLICT DO NOTHING; "
               "INSERT INTO regions SELECT '9901' || lpad(d::text, 2, '0') || '000000', 'd' || d, "
               "'district', '990100000000' FROM generate_series(1, 10) d ON CONFLICT DO NOTHING; "
               "INSERT INTO regions SELECT '9901' || lpad(d::text, 2, '0') || lpad(t::text, 3, "
               "'0') || '000', 't' || d || '-' || t, 'township', '9901' || lpad(d::text, 2, '0') "
               "|| '000000' FROM generate_series(1, 10) d, generate_series(1, 10) t ON CONFLICT "
               "DO NOTHING; INSERT INTO regions SELECT '9901' || lpad(d::text, 2, '0') || "
               "lpad(t::text, 3, '0') || lpad(c::text, 3, '0'), 'c', 'community', '9901' || "
               "lpad(d::text, 2, '0') || lpad(t::text, 3, '0') || '000' FROM generate_series(1, "
               "10) d, generate_series(1, 10) t, generate_series(1, 10) c ON CONFLICT DO "
               "NOTHING") != 0)
        return 1;
    snprintf(sql, sizeof sql,
             "INSERT INTO businesses (id, license_no, credit_code, name, type, risk_grade, scale, "
             "region_code, head_name, head_phone, officer_name, officer_phone, insured, "
             "created_at) SELECT i, 'BENCH-' || i, '91990100000000001X', 'b' || i, "
             "(ARRAY['production','sales','catering','canteen','small_workshop'])[1 + i %% 5], "
             "'B', 'small', '9901' || lpad((1 + i %% 10)::text, 2, '0') || lpad((1 + (i / 10) "
             "%% 10)::text, 3, '0') || lpad((1 + (i / 100) %% 10)::text, 3, '0'), 'h', "
             "'13900000000', 'o', '13900000001', i %% 3 <> 0, to_timestamp(%" PRId64
             ") - interval '30 days' FROM generate_series(1, %ld) i",
             qs, nb);
    if (s_exec(pg, "businesses", sql) != 0)
        return 1;
    snprintf(sql, sizeof sql,
             "INSERT INTO cadres (id, phone, name, level, region_code) SELECT i, '1' || lpad(i::"
             "text, 10, '0'), 'c' || i, 'village', '9901' || lpad((1 + i %% 10)::text, 2, '0') "
             "|| lpad((1 + (i / 10) %% 10)::text, 3, '0') || lpad((1 + (i / 100) %% 10)::text, "
             "3, '0') FROM generate_series(1, %ld) i; "
             "INSERT INTO assignments (cadre_id, business_id, region_code, since) SELECT "
             "1 + (b.id - 1) %% %ld, b.id, b.region_code, to_timestamp(%" PRId64
             ") - interval '30 days' FROM businesses b",
             nc, nc, qs);
    if (s_exec(pg, "cadres and assignments", sql) != 0)
        return 1;
    snprintf(sql, sizeof sql,
             "INSERT INTO records (business_id, region_code, kind, period, period_start, "
             "checklist_id, status, submitted_by, submitted_at, request_id) SELECT b.id, "
             "b.region_code, 'daily', to_char(to_timestamp(%" PRId64
             ") AT TIME ZONE 'Asia/Shanghai' + make_interval(days => d), 'YYYY-MM-DD'), "
             "to_timestamp(%" PRId64 ") + make_interval(days => d), 1, CASE WHEN (b.id + d) %% 10 "
             "= 0 THEN 'late' ELSE 'on_time' END, 'x', to_timestamp(%" PRId64
             ") + make_interval(days => d, hours => 20), 'r' FROM businesses b, "
             "generate_series(0, %ld) d",
             qs, qs, qs, days - 1);
    if (s_exec(pg, "records", sql) != 0)
        return 1;
    snprintf(sql, sizeof sql,
             "INSERT INTO visits (cadre_id, business_id, region_code, visited_at, mode, "
             "request_id) SELECT a.cadre_id, a.business_id, a.region_code, to_timestamp(%" PRId64
             ") + interval '2 days', 'on_site', 'v' FROM assignments a WHERE a.business_id %% 2 "
             "= 0",
             qs);
    if (s_exec(pg, "visits", sql) != 0 || s_exec(pg, "analyze", "ANALYZE") != 0)
        return 1;

    /* ---- the events, decoded as the consumer would have them ---- */
    PGresult *res = pg_query(pg,
                             "SELECT business_id, region_code, period, status = 'late' FROM "
                             "records ORDER BY submitted_at, business_id",
                             0, NULL);
    PGresult *vres = pg_query(pg,
                              "SELECT id, cadre_id, business_id, region_code FROM visits "
                              "ORDER BY id",
                              0, NULL);
    if (!res || !vres)
        return 1;
    size_t nr = (size_t)PQntuples(res), nv = (size_t)PQntuples(vres), n = nr + nv;
    scorer_event_t *ev = xcalloc(n, sizeof *ev);
    for (size_t i = 0; i < nr; i++) {
        scorer_event_t *e = &ev[i];
        e->outbox_id = (int64_t)i + 1;
        e->type = SEV_LEDGER;
        e->business_id = pg_int(res, (int)i, 0);
        snprintf(e->region, sizeof e->region, "%s", pg_str(res, (int)i, 1));
        score_quarter_of_text(pg_str(res, (int)i, 2), e->quarter);
        e->kind = 0;
        e->late = pg_bool(res, (int)i, 3);
    }
    for (size_t i = 0; i < nv; i++) {
        scorer_event_t *e = &ev[nr + i];
        e->outbox_id = (int64_t)(nr + i) + 1;
        e->type = SEV_VISIT;
        e->visit_id = pg_int(vres, (int)i, 0);
        e->cadre_id = pg_int(vres, (int)i, 1);
        e->business_id = pg_int(vres, (int)i, 2);
        snprintf(e->region, sizeof e->region, "%s", pg_str(vres, (int)i, 3));
        snprintf(e->quarter, sizeof e->quarter, "%s", qtext);
    }
    pg_free(&res);
    pg_free(&vres);

    /* ---- 1. replay ---- */
    int64_t t0 = clock_mono_ms();
    for (size_t i = 0; i < n; i += 1000) {
        size_t k = n - i < 1000 ? n - i : 1000;
        if (scorer_apply_tx(pg, &ev[i], k) != 0) {
            fprintf(stderr, "apply failed: %s\n", pg_errmsg(pg));
            return 1;
        }
    }
    double s1 = (clock_mono_ms() - t0) / 1000.0;
    printf("replay: %zu events in %.1f s = %.0f events/s (batches of 1000, one transaction "
           "each)\n",
           n, s1, n / s1);

    /* ---- 2. redelivery ---- */
    t0 = clock_mono_ms();
    for (size_t i = 0; i < n; i += 1000)
        if (scorer_apply_tx(pg, &ev[i], n - i < 1000 ? n - i : 1000) != 0)
            return 1;
    size_t dups = 0;
    for (size_t i = 0; i < n; i++)
        dups += ev[i].dup;
    double s2 = (clock_mono_ms() - t0) / 1000.0;
    printf("redelivery of every event: %zu of %zu recognised as seen, %.1f s (%.0f events/s)\n",
           dups, n, s2, n / s2);

    /* ---- 3. recompute ---- */
    char report[2048];
    t0 = clock_mono_ms();
    int diffs = scorer_recompute(pg, qtext, "", false, report, sizeof report);
    double s3 = (clock_mono_ms() - t0) / 1000.0;
    printf("full recompute of %s: %.1f s, %d differences%s\n%s", qtext, s3, diffs,
           diffs == 0 ? " (equal)" : "", diffs > 0 ? report : "");

    /* ---- 4. rankings ---- */
    t0 = clock_mono_ms();
    int nreg = scorer_rank_compute(pg, rds, "township", qtext, now, 1, 50, 50);
    double s4 = (clock_mono_ms() - t0) / 1000.0;
    int64_t worst = 0, total = 0;
    size_t got = 0;
    for (int i = 0; i < 200; i++) {
        int64_t u0 = clock_mono_us();
        const char *src;
        scorer_rank_row_t *rows = scorer_rank_read(pg, rds, "township", qtext, "9901", &got, &src);
        int64_t us = clock_mono_us() - u0;
        free(rows);
        total += us;
        worst = us > worst ? us : worst;
    }
    printf("ranking of %d townships computed in %.2f s; read (%zu items) avg %.2f ms, max %.2f "
           "ms\n",
           nreg, s4, got, total / 200 / 1000.0, worst / 1000.0);
    redisReply *r = rds_cmd(rds, "DEL lz:rank:township:%s lz:rank:township:%s:d", qtext, qtext);
    rds_free(&r);
    free(ev);
    rds_destroy(&rds);
    pg_destroy(&pg);
    return diffs == 0 && dups == n ? 0 : 1;
}
