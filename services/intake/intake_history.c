/*
 * intake_history.c - demo ledger history, set-based (see intake_history.h).
 *
 * Everything random is a hash of (what, business id, date) in SQL, so the
 * rows are the same on every run and across machines; the statements are
 * INSERT ... SELECT over generate_series, never a row at a time.
 */
#include "intake_history.h"
#include "audit.h"
#include "clock.h"
#include "intake_ledger.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Common CTEs: $1 region prefix pattern, $2 days, $3 now (unix seconds). */
#define S_BASE                                                                                     \
    "WITH t AS (SELECT (to_timestamp($3::float8) AT TIME ZONE 'Asia/Shanghai')::date AS today, "   \
    "to_timestamp($3::float8) AS now), "                                                           \
    "biz AS MATERIALIZED (SELECT b.id, b.region_code, b.type, b.officer_name, "                    \
    "(abs(hashtext('chronic:' || b.id)) % 100) < 12 AS chronic "                                   \
    "FROM businesses b WHERE b.region_code LIKE $1 AND b.status = 'active'), "

/* The local timestamp expression of date D plus hours H and minutes M. */
#define S_AT(d, h, m)                                                                              \
    "((" d ")::timestamp + make_interval(hours => (" h ")::int, mins => (" m                       \
    ")::int)) AT TIME ZONE 'Asia/Shanghai'"

static const char s_daily_sql[] = S_BASE
    "cl AS (SELECT DISTINCT ON (type) type, id FROM checklists WHERE kind = 'daily' "
    "ORDER BY type, version DESC), "
    "codes AS MATERIALIZED (SELECT cl.type, cl.id, array_agg(i.code ORDER BY i.position) AS codes, "
    "array_agg(i.text ORDER BY i.position) AS texts FROM cl "
    "JOIN checklist_items i ON i.checklist_id = cl.id "
    "WHERE i.required AND i.category <> '问题整改' GROUP BY cl.type, cl.id), "
    "days AS (SELECT (t.today - g)::date AS day FROM t, generate_series(1, $2::int) g), "
    "cand AS MATERIALIZED (SELECT biz.*, d.day, codes.id AS checklist_id, codes.codes, "
    "codes.texts, "
    "abs(hashtext('day:' || biz.id || ':' || d.day)) % 1000 AS h, "
    "abs(hashtext('fail:' || biz.id || ':' || d.day)) AS hf "
    "FROM biz CROSS JOIN days d JOIN codes ON codes.type = biz.type "
    "WHERE NOT EXISTS (SELECT 1 FROM business_rest_days r "
    "WHERE r.business_id = biz.id AND r.day = d.day)), "
    "sel AS (SELECT cand.*, "
    "CASE WHEN chronic THEN h < 250 ELSE h < 25 END AS missing, "
    "CASE WHEN chronic THEN h >= 250 AND h < 350 ELSE h >= 25 AND h < 45 END AS late, "
    "hf % 10 = 0 AS failed, 1 + (hf / 10) % cardinality(codes) AS fi FROM cand), "
    "ins AS (INSERT INTO records (business_id, region_code, kind, period, period_start, "
    "checklist_id, status, submitted_by, submitted_at, failed_codes, failed_notes, request_id) "
    "SELECT s.id, s.region_code, 'daily', to_char(s.day, 'YYYY-MM-DD'), "
    "s.day::timestamp AT TIME ZONE 'Asia/Shanghai', s.checklist_id, "
    "CASE WHEN s.late THEN 'late' ELSE 'on_time' END, s.officer_name, "
    "CASE WHEN s.late THEN least(" S_AT(
        "s.day + 1 + s.h % 2", "8 + s.h % 12",
        "s.h % 60") ", "
                    "t.now - interval '1 minute') "
                    "ELSE " S_AT(
                        "s.day", "17 + s.h % 6",
                        "(s.h * 7) % 60") " END, "
                                          "CASE WHEN s.failed THEN ARRAY[s.codes[s.fi]] ELSE "
                                          "'{}'::text[] END, "
                                          "CASE WHEN s.failed THEN ARRAY[s.texts[s.fi] || '：' || "
                                          "(ARRAY['现场检查发现不符合要求', "
                                          "'记录未按要求填写', '个别项目不到位，已当场纠正', "
                                          "'设施设备异常，已报修', "
                                          "'人员操作不规范，已提醒培训', "
                                          "'物品摆放不规范，已清理'])[1 + s.hf % 6]] "
                                          "ELSE '{}'::text[] END, "
                                          "'seed:' || s.id || ':daily:' || to_char(s.day, "
                                          "'YYYY-MM-DD') "
                                          "FROM sel s, t WHERE NOT s.missing "
                                          "ON CONFLICT (business_id, kind, period, period_start) "
                                          "DO NOTHING "
                                          "RETURNING id, business_id, region_code, submitted_at, "
                                          "failed_codes, failed_notes), "
                                          "pr AS (SELECT ins.*, abs(hashtext('fix:' || "
                                          "ins.business_id || ':' || ins.submitted_at)) % 100 "
                                          "AS hp FROM ins WHERE cardinality(ins.failed_codes) > "
                                          "0), "
                                          "pins AS (INSERT INTO problems (business_id, "
                                          "region_code, source, source_id, item_code, "
                                          "description, action, opened_at, fixed_at, fixed_action) "
                                          "SELECT pr.business_id, pr.region_code, 'ledger', pr.id, "
                                          "pr.failed_codes[1], "
                                          "pr.failed_notes[1], CASE WHEN pr.hp < 70 THEN "
                                          "'当场整改' ELSE '限期整改' END, "
                                          "pr.submitted_at, "
                                          "CASE WHEN pr.hp < 70 THEN pr.submitted_at "
                                          "WHEN pr.hp < 90 AND pr.submitted_at + "
                                          "make_interval(days => 1 + pr.hp % 4) < t.now "
                                          "THEN pr.submitted_at + make_interval(days => 1 + pr.hp "
                                          "% 4) END, "
                                          "CASE WHEN pr.hp < 70 THEN '当场整改完毕' "
                                          "WHEN pr.hp < 90 AND pr.submitted_at + "
                                          "make_interval(days => 1 + pr.hp % 4) < t.now "
                                          "THEN '已按期整改，复查合格' END "
                                          "FROM pr, t RETURNING fixed_at IS NULL AS open) "
                                          "SELECT (SELECT count(*) FROM ins), (SELECT count(*) "
                                          "FROM pins), "
                                          "(SELECT count(*) FROM pins WHERE open)";

/* Weekly: the ISO weeks wholly inside the window (Monday in it, Sunday before today). */
static const char s_weekly_sql[] = S_BASE
    "cl AS (SELECT DISTINCT ON (type) type, id FROM checklists WHERE kind = 'weekly' "
    "ORDER BY type, version DESC), "
    "wk AS (SELECT DISTINCT date_trunc('week', (t.today - g)::timestamp)::date AS m "
    "FROM t, generate_series(1, $2::int) g), "
    "w AS (SELECT wk.m, wk.m::timestamp AT TIME ZONE 'Asia/Shanghai' AS ws, "
    "(wk.m + 7)::timestamp AT TIME ZONE 'Asia/Shanghai' AS we FROM wk, t "
    "WHERE wk.m + 6 < t.today AND wk.m >= t.today - $2::int), "
    "dc AS MATERIALIZED (SELECT r.business_id, w.m, count(*) AS n FROM records r JOIN w "
    "ON r.period_start >= w.ws AND r.period_start < w.we "
    "WHERE r.kind = 'daily' AND r.region_code LIKE $1 GROUP BY 1, 2), "
    "pc AS MATERIALIZED (SELECT p.business_id, w.m, count(*) AS n, count(p.fixed_at) AS fixed "
    "FROM problems p JOIN w ON p.opened_at >= w.ws AND p.opened_at < w.we "
    "WHERE p.region_code LIKE $1 GROUP BY 1, 2), "
    "cand AS MATERIALIZED (SELECT biz.*, w.m, cl.id AS checklist_id, coalesce(dc.n, 0) AS "
    "days_done, "
    "coalesce(pc.n, 0) AS probs, coalesce(pc.fixed, 0) AS fixed, "
    "abs(hashtext('week:' || biz.id || ':' || w.m)) % 1000 AS h "
    "FROM biz CROSS JOIN w JOIN cl ON cl.type = biz.type "
    "LEFT JOIN dc ON dc.business_id = biz.id AND dc.m = w.m "
    "LEFT JOIN pc ON pc.business_id = biz.id AND pc.m = w.m), "
    "sel AS (SELECT cand.*, CASE WHEN chronic THEN h < 200 ELSE h < 30 END AS missing, "
    "CASE WHEN chronic THEN h >= 200 AND h < 300 ELSE h >= 30 AND h < 50 END AS late "
    "FROM cand) "
    "INSERT INTO records (business_id, region_code, kind, period, period_start, "
    "checklist_id, status, submitted_by, submitted_at, summary, request_id) "
    "SELECT s.id, s.region_code, 'weekly', to_char(s.m, 'IYYY-\"W\"IW'), "
    "s.m::timestamp AT TIME ZONE 'Asia/Shanghai', s.checklist_id, "
    "CASE WHEN s.late THEN 'late' ELSE 'on_time' END, s.officer_name, "
    "CASE WHEN s.late THEN least(" S_AT(
        "s.m + 7 + s.h % 2", "9 + s.h % 8",
        "s.h % 60") ", "
                    "t.now - interval '1 minute') ELSE " S_AT(
                        "s.m + 6", "16 + s.h % 4",
                        "(s.h * 7) % 60") " END, "
                                          "format('本周应检7天，实检%s天；发现问题%s个，已整改%"
                                          "s个，整改中%s个。风险可控。', "
                                          "s.days_done, s.probs, s.fixed, s.probs - s.fixed), "
                                          "'seed:' || s.id || ':weekly:' || to_char(s.m, "
                                          "'IYYY-\"W\"IW') "
                                          "FROM sel s, t WHERE NOT s.missing "
                                          "ON CONFLICT (business_id, kind, period, period_start) "
                                          "DO NOTHING";

/* Monthly: the previous calendar month. */
static const char s_monthly_sql[] = S_BASE
    "cl AS (SELECT DISTINCT ON (type) type, id FROM checklists WHERE kind = 'monthly' "
    "ORDER BY type, version DESC), "
    "mo AS (SELECT (date_trunc('month', t.today) - interval '1 month')::date AS m, "
    "date_trunc('month', t.today)::date AS e FROM t WHERE $2::int > 0), "
    "w AS (SELECT mo.m, mo.e, mo.m::timestamp AT TIME ZONE 'Asia/Shanghai' AS ws, "
    "mo.e::timestamp AT TIME ZONE 'Asia/Shanghai' AS we FROM mo), "
    "pc AS MATERIALIZED (SELECT p.business_id, count(*) AS n, count(p.fixed_at) AS fixed "
    "FROM problems p, w WHERE p.opened_at >= w.ws AND p.opened_at < w.we "
    "AND p.region_code LIKE $1 GROUP BY 1), "
    "cand AS MATERIALIZED (SELECT biz.*, w.m, w.e, cl.id AS checklist_id, coalesce(pc.n, 0) AS "
    "probs, "
    "coalesce(pc.fixed, 0) AS fixed, abs(hashtext('month:' || biz.id || ':' || w.m)) % 1000 AS h "
    "FROM biz CROSS JOIN w JOIN cl ON cl.type = biz.type "
    "LEFT JOIN pc ON pc.business_id = biz.id), "
    "sel AS (SELECT cand.*, CASE WHEN chronic THEN h < 200 ELSE h < 30 END AS missing, "
    "CASE WHEN chronic THEN h >= 200 AND h < 300 ELSE h >= 30 AND h < 50 END AS late "
    "FROM cand) "
    "INSERT INTO records (business_id, region_code, kind, period, period_start, "
    "checklist_id, status, submitted_by, submitted_at, summary, request_id) "
    "SELECT s.id, s.region_code, 'monthly', to_char(s.m, 'YYYY-MM'), "
    "s.m::timestamp AT TIME ZONE 'Asia/Shanghai', s.checklist_id, "
    "CASE WHEN s.late THEN 'late' ELSE 'on_time' END, s.officer_name, "
    "CASE WHEN s.late THEN least(" S_AT(
        "s.e + 1 + s.h % 5", "9 + s.h % 8",
        "s.h % 60") ", "
                    "t.now - interval '1 minute') ELSE " S_AT(
                        "s.e - 1", "15 + s.h % 4",
                        "(s.h * 7) % 60") " END, "
                                          "format('月调度会议：本月发现问题%s个，已整改%"
                                          "s个，未整改%s个；部署下月风险防控重点。', "
                                          "s.probs, s.fixed, s.probs - s.fixed), "
                                          "'seed:' || s.id || ':monthly:' || to_char(s.m, "
                                          "'YYYY-MM') "
                                          "FROM sel s, t WHERE NOT s.missing "
                                          "ON CONFLICT (business_id, kind, period, period_start) "
                                          "DO NOTHING";

/* Returns the affected-row count of a command result, or -1. */
static long s_tuples(PGresult *res)
{
    const char *n = res ? PQcmdTuples(res) : "";
    return n[0] ? strtol(n, NULL, 10) : -1;
}

/* Recount Redis for every seeded period of the window; the number of periods, or -1. */
static int s_recount(pg_t *pg, rds_t *rds, const char *const *params)
{
    PGresult *res = pg_query(pg,
                             "SELECT DISTINCT kind, period FROM records "
                             "WHERE region_code LIKE $1 AND request_id LIKE 'seed:%' "
                             "AND period_start >= to_timestamp($3::float8) - "
                             "make_interval(days => $2::int + 40) ORDER BY 1, 2",
                             3, params);
    if (!res)
        return -1;
    int n = 0;
    for (int r = 0; r < PQntuples(res); r++) {
        if (ledger_cache_rebuild(pg, rds, pg_str(res, r, 0), pg_str(res, r, 1)) < 0) {
            n = -1;
            break;
        }
        n++;
    }
    pg_free(&res);
    return n;
}

int history_seed(pg_t *pg, rds_t *rds, const char *root, int days, int64_t now,
                 history_result_t *out)
{
    memset(out, 0, sizeof *out);
    if (!root || strlen(root) != 4 || days < 1 || days > 60)
        return -1;
    int64_t t0 = clock_mono_us();
    char pattern[8], dtxt[16], ntxt[24];
    snprintf(pattern, sizeof pattern, "%s%%", root);
    snprintf(dtxt, sizeof dtxt, "%d", days);
    snprintf(ntxt, sizeof ntxt, "%lld", (long long)now);
    const char *params[] = {pattern, dtxt, ntxt};
    /* partitions back to the previous month's start (and the week before it) */
    if (pg_exec(pg,
                "SELECT lz_ensure_partitions('records', 3, 3), "
                "lz_ensure_partitions('problems', 3, 3)",
                0, NULL) != 0)
        return -1;
    if (pg_begin(pg) != 0)
        return -1;
    PGresult *res = pg_query(pg, s_daily_sql, 3, params);
    if (!res)
        goto fail;
    out->daily = pg_int(res, 0, 0);
    out->problems = pg_int(res, 0, 1);
    out->problems_open = pg_int(res, 0, 2);
    pg_free(&res);
    res = pg_query(pg, s_weekly_sql, 3, params);
    out->weekly = s_tuples(res);
    pg_free(&res);
    if (out->weekly < 0)
        goto fail;
    res = pg_query(pg, s_monthly_sql, 3, params);
    out->monthly = s_tuples(res);
    pg_free(&res);
    if (out->monthly < 0)
        goto fail;
    long added = out->daily + out->weekly + out->monthly;
    if (added > 0) {
        char detail[256];
        snprintf(detail, sizeof detail,
                 "{\"root\":\"%s\",\"daily\":%ld,\"weekly\":%ld,\"monthly\":%ld,"
                 "\"problems\":%ld,\"problems_open\":%ld}",
                 root, out->daily, out->weekly, out->monthly, out->problems, out->problems_open);
        if (audit_write(pg, NULL, "seed.history", "records", NULL, detail) != 0)
            goto fail;
    }
    if (pg_commit(pg) != 0)
        goto fail;
    /* a second run added nothing: leave Redis alone */
    if (added > 0 && rds) {
        out->periods = s_recount(pg, rds, params);
        if (out->periods < 0)
            return -1;
    }
    out->seconds = (double)(clock_mono_us() - t0) / 1e6;
    return 0;
fail:
    log_error("ledger history for %s: %s", root, pg_errmsg(pg));
    if (pg_in_transaction(pg))
        pg_rollback(pg);
    return -1;
}
