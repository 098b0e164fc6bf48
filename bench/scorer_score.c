/*
 * scorer_score.c - benchmark of the scorer (the bench/score): a
 * province's quarter of ledgers replayed as events through the scorer's real
 * consumer (Redis streams, consumer group, decode, one transaction and one
 * XACK per batch), the full recompute from PostgreSQL, and ranking reads.
 *
 *   build/bench/scorer_score [--scale F] [--businesses N] [--cadres N]
 *                            [--days N] [--batch N] [--chunk N]
 *
 * Full scale (--scale 1, the default) is the province: 1,000,000
 * businesses, 100,000 cadres, and one quarter of daily ledgers compressed
 * into 10 days of daily records (10,000,000 ledger.accepted events) plus one
 * visit for every second business (500,000 visit.recorded events).  --scale
 * 0.01 is a 10,000-business run.
 *
 * Run it through bench/scorer_score.sh, which makes a scratch database,
 * migrates it and sets LZ_PG_URL (its owner) and LZ_REDIS_HOST/PORT.  The
 * fixture is made set-based in SQL: regions (10 districts x 10 townships x
 * 10 communities), businesses, cadres each assigned businesses/cadres
 * businesses, `days` daily records per business (10 % late) in the current
 * quarter, one visit per assignment for half of them.  Then:
 *   1. the records and visits, as the outbox relay would publish them
 *      (protobuf payloads, fields id/key/payload/at), go to the streams
 *      lz:stream:ledger.accepted and lz:stream:visit.recorded `chunk`
 *      entries at a time (publishing not timed), and after each chunk the
 *      scorer's consumer (scorer_events_pump, `batch` events per
 *      transaction) drains them: events/s consumed, with the phase timers
 *      of scorer_apply;
 *   2. the first chunk published again with the same outbox ids (a
 *      redelivery): nothing may change;
 *   3. the full recompute (scorer_recompute): every record, problem and
 *      visit of the quarter in PostgreSQL aggregated again and compared
 *      with the running aggregates (must be equal): its time and rows;
 *   4. the township ranking of the quarter computed once, then read 200
 *      times (Redis): latency.
 * Redis keys go to database 9 and are deleted at the end.
 */
#include "business.pb-c.h"
#include "clock.h"
#include "ledger.pb-c.h"
#include "log.h"
#include "mem.h"
#include "pg.h"
#include "bench_db.h"
#include "rds.h"
#include "scorer/scorer_events.h"
#include "scorer/scorer_rank.h"
#include "scorer/scorer_score.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- publishing as the outbox relay does ----------------------------------------- */

typedef struct {
    rds_t *rds;
    const char *stream;
    size_t queued, published;
} s_pub_t;

static int s_pub_flush(s_pub_t *p)
{
    int rc = 0;
    for (; p->queued > 0; p->queued--) {
        redisReply *r = rds_get_reply(p->rds);
        if (!r)
            rc = -1;
        rds_free(&r);
    }
    return rc;
}

static int s_pub(s_pub_t *p, int64_t outbox_id, int64_t key, const uint8_t *payload, size_t len)
{
    if (rds_append(p->rds, "XADD %s * id %" PRId64 " key %" PRId64 " payload %b at %" PRId64,
                   p->stream, outbox_id, key, payload, len, clock_now_ms()) != 0)
        return -1;
    p->published++;
    if (++p->queued >= 5000)
        return s_pub_flush(p);
    return 0;
}

/* Publish the daily records of day d (ids from *next_id); count or -1. */
static long s_publish_day(pg_t *pg, rds_t *rds, int64_t day_start, int64_t *next_id)
{
    char ds[24];
    snprintf(ds, sizeof ds, "%" PRId64, day_start);
    const char *params[] = {ds};
    PGresult *res = pg_query(pg,
                             "SELECT id, business_id, region_code, period, status, "
                             "extract(epoch FROM submitted_at)::bigint FROM records "
                             "WHERE kind = 'daily' AND period_start = to_timestamp($1::bigint) "
                             "ORDER BY business_id",
                             1, params);
    if (!res)
        return -1;
    s_pub_t p = {.rds = rds, .stream = "lz:stream:ledger.accepted"};
    uint8_t buf[256];
    long n = PQntuples(res);
    for (long i = 0; i < n; i++) {
        Lz__LedgerAccepted m = LZ__LEDGER_ACCEPTED__INIT;
        m.has_record_id = m.has_business_id = m.has_submitted_at = 1;
        m.record_id = pg_int(res, (int)i, 0);
        m.business_id = pg_int(res, (int)i, 1);
        m.region_code = (char *)pg_str(res, (int)i, 2);
        m.kind = "daily";
        m.period = (char *)pg_str(res, (int)i, 3);
        m.status = (char *)pg_str(res, (int)i, 4);
        m.submitted_at = pg_int(res, (int)i, 5);
        size_t len = lz__ledger_accepted__pack(&m, buf);
        if (s_pub(&p, (*next_id)++, m.business_id, buf, len) != 0)
            break;
    }
    pg_free(&res);
    return s_pub_flush(&p) == 0 && p.published == (size_t)n ? n : -1;
}

/* Publish every visit (ids from *next_id); count or -1. */
static long s_publish_visits(pg_t *pg, rds_t *rds, int64_t *next_id)
{
    PGresult *res = pg_query(pg,
                             "SELECT id, cadre_id, business_id, region_code, "
                             "extract(epoch FROM visited_at)::bigint FROM visits ORDER BY id",
                             0, NULL);
    if (!res)
        return -1;
    s_pub_t p = {.rds = rds, .stream = "lz:stream:visit.recorded"};
    uint8_t buf[256];
    long n = PQntuples(res);
    for (long i = 0; i < n; i++) {
        Lz__VisitRecordedEvent m = LZ__VISIT_RECORDED_EVENT__INIT;
        m.has_visit_id = m.has_cadre_id = m.has_business_id = m.has_visited_at = 1;
        m.visit_id = pg_int(res, (int)i, 0);
        m.cadre_id = pg_int(res, (int)i, 1);
        m.business_id = pg_int(res, (int)i, 2);
        m.region_code = (char *)pg_str(res, (int)i, 3);
        m.visited_at = pg_int(res, (int)i, 4);
        m.mode = "on_site";
        size_t len = lz__visit_recorded_event__pack(&m, buf);
        if (s_pub(&p, (*next_id)++, m.business_id, buf, len) != 0)
            break;
    }
    pg_free(&res);
    return s_pub_flush(&p) == 0 && p.published == (size_t)n ? n : -1;
}

/* Drain the streams through the consumer; seconds taken, or -1. */
static double s_drain(scorer_events_t *ev, pg_t *pg, int batch, long *consumed)
{
    int64_t t0 = clock_mono_us();
    for (;;) {
        int n = scorer_events_pump(ev, pg, batch);
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        *consumed += n;
    }
    return (clock_mono_us() - t0) / 1e6;
}

static void s_trim(rds_t *rds)
{
    for (size_t i = 0; scorer_topics[i]; i++) {
        redisReply *r = rds_cmd(rds, "XTRIM lz:stream:%s MAXLEN 0", scorer_topics[i]);
        rds_free(&r);
    }
}

static void s_print_stats(const char *what, const scorer_apply_stats_t *st, double total_s)
{
    double apply = (st->us_processed + st->us_problems + st->us_build + st->us_business +
                    st->us_cadre + st->us_other + st->us_dirty + st->us_commit) /
                   1e6;
    printf("  %s: %" PRId64 " transactions, %" PRId64 " events (%" PRId64 " new)\n", what,
           st->batches, st->events, st->fresh);
    printf("    idempotency (locks, sets) %.1f s, build %.1f s, score_business_q %.1f s, "
           "cadres+pairs %.1f "
           "s, score_dirty %.1f s, other %.1f s, commit %.1f s; Redis %.1f s, decode %.1f s, "
           "the rest %.1f s\n",
           st->us_processed / 1e6, st->us_build / 1e6, st->us_business / 1e6, st->us_cadre / 1e6,
           st->us_dirty / 1e6, (st->us_problems + st->us_other) / 1e6, st->us_commit / 1e6,
           st->us_redis / 1e6, st->us_decode / 1e6,
           total_s - apply - (st->us_redis + st->us_decode) / 1e6);
}

int main(int argc, char **argv)
{
    log_init("bench", LZ_LOG_WARN);
    double scale = bench_argf(argc, argv, "--scale", 1.0);
    long nb = bench_arg(argc, argv, "--businesses", (long)(1000000 * scale + 0.5));
    long nc = bench_arg(argc, argv, "--cadres", nb / 10);
    long days = bench_arg(argc, argv, "--days", 10);
    int batch = (int)bench_arg(argc, argv, "--batch", 5000);
    const char *url = getenv("LZ_PG_URL");
    const char *rhost = getenv("LZ_REDIS_HOST");
    const char *rport = getenv("LZ_REDIS_PORT");
    if (!url || !rhost || !rport || nb < 1000 || nc < 10 || days < 1 || days > 60 || batch < 1 ||
        batch > 50000) {
        fprintf(stderr,
                "usage: LZ_PG_URL=... LZ_REDIS_HOST=... LZ_REDIS_PORT=... %s [--scale F] "
                "[--businesses N>=1000] [--cadres N>=10] [--days 1..60] [--batch 1..50000]\n",
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
           nb, nc, days, qtext, nb * days + nb / 2);

    /* ---- fixture ---- */
    char sql[4096];
    int64_t qs = period_start(&q);
    printf("fixture:\n");
    if (bench_exec(
            pg, 44, "regions",
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
    if (bench_exec(pg, 44, "businesses", sql) != 0)
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
    if (bench_exec(pg, 44, "cadres and assignments", sql) != 0)
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
    if (bench_exec(pg, 44, "records", sql) != 0)
        return 1;
    snprintf(sql, sizeof sql,
             "INSERT INTO visits (cadre_id, business_id, region_code, visited_at, mode, "
             "request_id) SELECT a.cadre_id, a.business_id, a.region_code, to_timestamp(%" PRId64
             ") + interval '2 days', 'on_site', 'v' FROM assignments a WHERE a.business_id %% 2 "
             "= 0",
             qs);
    if (bench_exec(pg, 44, "visits", sql) != 0 || bench_exec(pg, 44, "analyze", "ANALYZE") != 0)
        return 1;

    /* ---- 1. replay through the consumer ---- */
    scorer_events_t *cons = scorer_events_new(rds, "bench", 5, 600000);
    if (!cons)
        return 1;
    s_trim(rds);
    scorer_apply_stats_t st;
    scorer_apply_stats(&st, true);
    int64_t next_id = 1;
    long consumed = 0, published = 0;
    double pub_s = 0, cons_s = 0;
    for (long d = 0; d <= days; d++) {
        int64_t p0 = clock_mono_us();
        long k = d < days ? s_publish_day(pg, rds, qs + d * 86400, &next_id)
                          : s_publish_visits(pg, rds, &next_id);
        pub_s += (clock_mono_us() - p0) / 1e6;
        if (k < 0) {
            fprintf(stderr, "publishing failed: %s %s\n", pg_errmsg(pg), rds_errmsg(rds));
            return 1;
        }
        published += k;
        double c = s_drain(cons, pg, batch, &consumed);
        if (c < 0) {
            fprintf(stderr, "consuming failed: %s\n", pg_errmsg(pg));
            return 1;
        }
        cons_s += c;
        s_trim(rds);
        printf("  %s %ld: %ld events consumed in %.1f s (%.0f/s)\n", d < days ? "day" : "visits",
               d < days ? d + 1 : nc, k, c, k / c);
        fflush(stdout);
    }
    scorer_apply_stats(&st, true);
    printf("replay: %ld events published (%.1f s, not counted), %ld consumed in %.1f s = %.0f "
           "events/s (batches of %d, one transaction and one XACK each)\n",
           published, pub_s, consumed, cons_s, consumed / cons_s, batch);
    s_print_stats("phases", &st, cons_s);

    /* ---- 2. redelivery of the first day ---- */
    int64_t again = 1;
    long k = s_publish_day(pg, rds, qs, &again);
    long reconsumed = 0;
    double s2 = k < 0 ? -1 : s_drain(cons, pg, batch, &reconsumed);
    s_trim(rds);
    scorer_apply_stats(&st, true);
    if (s2 < 0)
        return 1;
    long dups = (long)(st.events - st.fresh);
    printf(
        "redelivery of %ld events (day 1 again, same outbox ids): %ld recognised as seen, %" PRId64
        " counted, %.1f s (%.0f events/s)\n",
        k, dups, st.fresh, s2, reconsumed / s2);
    size_t n = (size_t)consumed;
    /* ---- 3. recompute ---- */
    PGresult *cnt = pg_query(pg,
                             "SELECT (SELECT count(*) FROM records), (SELECT count(*) FROM "
                             "problems), (SELECT count(*) FROM visits), (SELECT count(*) FROM "
                             "score_business_q), (SELECT count(*) FROM score_cadre_q), (SELECT "
                             "count(*) FROM score_visit_pairs)",
                             0, NULL);
    if (!cnt)
        return 1;
    printf("full recompute of %s reads %" PRId64 " records, %" PRId64 " problems, %" PRId64
           " visits; compares %" PRId64 " business, %" PRId64 " cadre, %" PRId64
           " visit-pair aggregate rows\n",
           qtext, pg_int(cnt, 0, 0), pg_int(cnt, 0, 1), pg_int(cnt, 0, 2), pg_int(cnt, 0, 3),
           pg_int(cnt, 0, 4), pg_int(cnt, 0, 5));
    pg_free(&cnt);
    char report[2048];
    int64_t t0 = clock_mono_ms();
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
    scorer_events_destroy(&cons);
    for (size_t i = 0; scorer_topics[i]; i++) {
        r = rds_cmd(rds, "DEL lz:stream:%s lz:stream:%s:dead", scorer_topics[i], scorer_topics[i]);
        rds_free(&r);
    }
    rds_destroy(&rds);
    pg_destroy(&pg);
    return diffs == 0 && dups == k && consumed == published && n > 0 ? 0 : 1;
}
