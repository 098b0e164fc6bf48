/*
 * sampler_plan.c - the database side of bench/sample: a spot-check plan built and verified
 * at province scale through the sampler's own code path.
 *
 *   build/bench/sampler_plan [--businesses N] [--reuse] [--explain]
 *
 * Run it through bench/sampler_plan.sh, which makes a scratch database (migrated, owner URL
 * in LZ_PG_URL) and drops it at the end.  The fixture is generated set-based in SQL (its
 * time is shown, not measured): a fake province 96 with one city, 20 districts, 1,000
 * townships and 15,000 communities (the strata); N businesses spread over the communities
 * (business i in community 7907 i mod 15,000, so the table's order is not the frame's; grades
 * A..D, 0.5 % not active); a village cadre per community assigned to each of its
 * businesses; 2,000 inspectors (100 a district), 300 of them with the phone of a village
 * cadre of their district (excluded from that cadre's businesses); ~19,000 declared
 * conflicts; and a plan of the previous quarter with ~27,000 inspections, which the
 * exclude_previous setting leaves out of the frame.
 *
 * Measured, once each:
 *   build   sampler_create_plan - the method handler itself, called as the worker calls
 *           it with an admin caller: request id claim, frame query, sort, draw, exclusions
 *           query, inspector assignment, plan row, COPY of frame/roster/exclusions/list,
 *           audit, stored answer, commit - for the whole city (15,000 strata, 6 each);
 *   verify  sampler_plan_verify: reload the stored inputs and list, re-draw, compare.
 * Each prints its phase split.  --explain also prints EXPLAIN (ANALYZE, BUFFERS) of the
 * frame query.  --reuse: the fixture is there from an earlier --keep run; plans of the
 * current quarter are removed first.
 */
#include "clock.h"
#include "log.h"
#include "mem.h"
#include "period.h"
#include "pg.h"
#include "bench_db.h"
#include "sampler/sampler_plan.h"
#include "sampler/sampler_server.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define COMMUNITIES 15000

static int s_fixture(pg_t *pg, long nb, const char *prev_quarter, const char *prev_day)
{
    char *sql = xasprintf(
        "SET synchronous_commit = off;"
        "INSERT INTO regions (code, name, level, parent_code) VALUES "
        " ('960000000000', '基准省', 'province', NULL), ('960100000000', '基准市', 'city', "
        "'960000000000');"
        "INSERT INTO regions (code, name, level, parent_code) "
        " SELECT '9601' || lpad(d::text, 2, '0') || '000000', '第' || d || '区', 'district', "
        "'960100000000' FROM generate_series(1, 20) d;"
        "INSERT INTO regions (code, name, level, parent_code) "
        " SELECT '9601' || lpad(d::text, 2, '0') || lpad(t::text, 3, '0') || '000', '第' || d || "
        "'区第' || t || '街道', 'township', '9601' || lpad(d::text, 2, '0') || '000000' "
        " FROM generate_series(1, 20) d, generate_series(1, 50) t;"
        "INSERT INTO regions (code, name, level, parent_code) "
        " SELECT left(r.code, 9) || lpad(c::text, 3, '0'), r.name || c || '社区', 'community', "
        "r.code FROM regions r, generate_series(1, 15) c WHERE r.level = 'township' AND r.code "
        "LIKE '9601%%';"
        "CREATE TEMP TABLE comm AS SELECT row_number() OVER (ORDER BY code) - 1 AS k, code "
        " FROM regions WHERE level = 'community' AND code LIKE '9601%%';"
        "INSERT INTO cadres (phone, name, level, region_code) "
        " SELECT '170' || lpad(k::text, 8, '0'), '村干部' || k, 'village', code FROM comm;"
        "DROP INDEX IF EXISTS businesses_region; DROP INDEX IF EXISTS businesses_credit;"
        "DROP INDEX IF EXISTS assignments_business; DROP INDEX IF EXISTS assignments_region;"
        "INSERT INTO businesses (id, license_no, credit_code, name, type, risk_grade, "
        " region_code, address, status, head_name, head_phone, officer_name, officer_phone) "
        "SELECT i, 'BENCH' || i, '91' || lpad(i::text, 16, '0'), '基准餐饮' || i || '号', "
        " 'catering', (ARRAY['A','B','C','D'])[1 + (i::bigint * 7919) %% 4], c.code, '基准路' || i "
        "|| '号', "
        " CASE WHEN i %% 199 = 7 THEN 'closed' ELSE 'active' END, '周' || (i %% 100), "
        " '13' || lpad(i::text, 9, '0'), '吴' || (i %% 100), '15' || lpad(i::text, 9, '0') "
        "FROM generate_series(1, %ld) i JOIN comm c ON c.k = (i::bigint * 7907) %% %d;"
        "INSERT INTO assignments (cadre_id, business_id, region_code) "
        " SELECT c.id, b.id, b.region_code FROM businesses b "
        " JOIN cadres c ON c.region_code = b.region_code AND c.level = 'village';"
        "CREATE INDEX businesses_region ON businesses (region_code, id);"
        "CREATE INDEX businesses_credit ON businesses (credit_code);"
        "CREATE INDEX assignments_business ON assignments (business_id) WHERE until IS NULL;"
        "CREATE INDEX assignments_region ON assignments (region_code);"
        "SELECT setval(pg_get_serial_sequence('businesses', 'id'), %ld);"
        /* 100 inspectors a district; the first 15 of each have the phone of the village cadre
         * of community 1 of townships 1..15 */
        "INSERT INTO inspectors (phone, name, region_code, badge_no) "
        " SELECT CASE WHEN m < 15 THEN (SELECT phone FROM cadres WHERE region_code = '9601' || "
        " lpad(d::text, 2, '0') || lpad((m + 1)::text, 3, '0') || '001') ELSE '180' || "
        " lpad((d * 100 + m)::text, 8, '0') END, '检查员' || d || '-' || m, '9601' || "
        " lpad(d::text, 2, '0') || '000000', 'BB' || d || '-' || m "
        " FROM generate_series(1, 20) d, generate_series(0, 99) m;"
        "INSERT INTO inspection_conflicts (inspector_id, business_id, reason) "
        " SELECT (SELECT min(i.id) FROM inspectors i WHERE i.region_code = left(b.region_code, 6) "
        " || '000000'), b.id, '亲属' FROM businesses b WHERE b.id %% 53 = 3;"
        "INSERT INTO sampling_plans (quarter, region_code, seed, algorithm, n_per_stratum, "
        " stratum_level, weighted, weight_a, weight_b, weight_c, weight_d, exclude_previous, "
        " frame_digest, list_hash, frame_size, strata_count, drawn, created_by, request_id) "
        " VALUES ('%s', '960100000000', 'prev', 'lz-sample-v1', 2, 'community', true, 1, 2, 3, "
        " 4, true, repeat('0', 64), repeat('0', 64), 0, 0, 0, 'bench', 'bench-prev');"
        "INSERT INTO inspections (plan_id, business_id, region_code, inspector_id, outcome, "
        " inspected_at, request_id) SELECT (SELECT id FROM sampling_plans WHERE request_id = "
        " 'bench-prev'), b.id, b.region_code, 1, 'pass', '%s'::timestamptz, 'bench-prev-' || "
        " b.id FROM businesses b WHERE b.id %% 37 = 5 LIMIT 30000;",
        nb, COMMUNITIES, nb, prev_quarter, prev_day);
    int rc = bench_exec(pg, 52, "fixture: regions, businesses, cadres, inspectors, ...", sql);
    free(sql);
    static const char *const vac[] = {"VACUUM ANALYZE businesses",
                                      "VACUUM ANALYZE assignments",
                                      "VACUUM ANALYZE cadres",
                                      "VACUUM ANALYZE inspectors",
                                      "VACUUM ANALYZE inspections",
                                      "VACUUM ANALYZE regions",
                                      "VACUUM ANALYZE inspection_conflicts"};
    for (size_t i = 0; rc == 0 && i < sizeof vac / sizeof vac[0]; i++)
        rc = bench_exec(pg, 52, vac[i], vac[i]);
    return rc;
}

static void s_phases(const sampler_phases_t *p)
{
    for (int i = 0; i < p->n; i++)
        printf("    %-46s %8.2f s\n", p->name[i], (double)p->ms[i] / 1000.0);
}

static long s_rss_mib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024;
}

int main(int argc, char **argv)
{
    long nb = bench_arg(argc, argv, "--businesses", 1000000);
    bool reuse = bench_flag(argc, argv, "--reuse");
    if (nb < COMMUNITIES || sodium_init() < 0) {
        fprintf(stderr, "usage: sampler_plan [--businesses N>=%d] [--reuse] [--explain]\n",
                COMMUNITIES);
        return 2;
    }
    log_init("bench", LZ_LOG_WARN);
    sampler_tune_malloc(); /* as sampler_run does */
    char err[256];
    cfg_t *cfg = cfg_load_service(sampler_spec, sampler_spec_count, NULL, err, sizeof err);
    if (!cfg) {
        fprintf(stderr, "settings: %s\n", err);
        return 2;
    }
    sampler_t self;
    memset(&self, 0, sizeof self);
    sampler_defaults_from_cfg(cfg, &self.defaults);
    if (sampler_check_settings_from_cfg(cfg, &self) != 0)
        return 2;
    self.pg = pg_connect(cfg_str(cfg, "LZ_PG_URL"), 3, 500);
    if (!self.pg)
        return 1;
    pg_exec(self.pg, "SET jit = off", 0, NULL); /* as sampler_run does */
    int64_t now = clock_now_s();
    period_t q, prev;
    char qt[PERIOD_TEXT_MAX], pt[PERIOD_TEXT_MAX], pday[RFC3339_TEXT_MAX];
    period_containing(PERIOD_QUARTERLY, now, &q);
    period_add(&q, -1, &prev);
    period_format(&q, qt, sizeof qt);
    period_format(&prev, pt, sizeof pt);
    rfc3339_format(period_start(&prev) + 86400 * 20, pday, sizeof pday);

    printf("sampler plan benchmark: %ld businesses in %d communities, 2,000 inspectors, "
           "quarter %s\n",
           nb, COMMUNITIES, qt);
    if (!reuse && s_fixture(self.pg, nb, pt, pday) != 0)
        return 1;
    if (reuse) {
        char *sql = xasprintf(
            "DELETE FROM sampling_items WHERE plan_id IN (SELECT id FROM sampling_plans WHERE "
            "quarter = '%s'); DELETE FROM sampling_frame WHERE plan_id IN (SELECT id FROM "
            "sampling_plans WHERE quarter = '%s'); DELETE FROM sampling_roster WHERE plan_id IN "
            "(SELECT id FROM sampling_plans WHERE quarter = '%s'); DELETE FROM "
            "sampling_exclusions WHERE plan_id IN (SELECT id FROM sampling_plans WHERE quarter = "
            "'%s'); DELETE FROM sampling_plans WHERE quarter = '%s'; DELETE FROM write_requests "
            "WHERE method = 'sampler.create_plan';",
            qt, qt, qt, qt, qt);
        int rc = bench_exec(self.pg, 52, "remove this quarter's plans (--reuse)", sql);
        free(sql);
        if (rc == 0)
            rc = bench_exec(self.pg, 52, "VACUUM ANALYZE sampling_items",
                            "VACUUM ANALYZE sampling_items");
        if (rc != 0)
            return 1;
    }
    if (bench_flag(argc, argv, "--explain")) {
        char *sql = xasprintf(
            "EXPLAIN (ANALYZE, BUFFERS) SELECT b.region_code, b.id, b.risk_grade FROM "
            "businesses b WHERE b.status = 'active' AND b.region_code BETWEEN '960100000000' AND "
            "'960199999999' AND NOT (true AND EXISTS (SELECT 1 FROM inspections i WHERE "
            "i.business_id = b.id AND i.inspected_at >= '%s'::timestamptz AND i.inspected_at < "
            "'%s'::timestamptz + interval '3 months'))",
            pday, pday);
        PGresult *r = pg_query(self.pg, sql, 0, NULL);
        free(sql);
        for (int i = 0; r && i < PQntuples(r); i++)
            printf("    %s\n", pg_str(r, i, 0));
        pg_free(&r);
    }
    int64_t frame_expect = bench_count(
        self.pg, "SELECT count(*) FROM businesses b WHERE status = 'active' AND NOT EXISTS "
                 "(SELECT 1 FROM inspections i WHERE i.business_id = b.id)");

    /* build: the handler, as the worker calls it */
    Lz__CreatePlanRequest creq = LZ__CREATE_PLAN_REQUEST__INIT;
    Lz__PlanSettings set = LZ__PLAN_SETTINGS__INIT;
    creq.quarter = qt;
    creq.region = "960100000000";
    creq.seed = "bench 2026 双色球 05 12 19 23 27 31 + 07";
    creq.settings = &set;
    size_t plen = protobuf_c_message_get_packed_size(&creq.base);
    uint8_t *payload = xmalloc(plen + 1);
    protobuf_c_message_pack(&creq.base, payload);
    Lz__Caller caller = LZ__CALLER__INIT;
    caller.role = "admin";
    caller.has_token_id = 1;
    caller.token_id = 1;
    caller.name = "bench";
    Lz__Envelope env = LZ__ENVELOPE__INIT;
    env.method = "sampler.create_plan";
    char rid[48];
    snprintf(rid, sizeof rid, "bench-plan-%" PRId64, now);
    env.request_id = rid;
    env.caller = &caller;
    env.has_payload = 1;
    env.payload.data = payload;
    env.payload.len = plen;
    rpc_reply_t rep;
    memset(&rep, 0, sizeof rep);
    sampler_phases_t bp = {0};
    self.phases = &bp;
    int64_t t0 = clock_mono_ms();
    sampler_create_plan(&self, &env, &rep);
    int64_t build_ms = clock_mono_ms() - t0;
    self.phases = NULL;
    free(payload);
    if (rep.status != LZ__STATUS__CREATED) {
        fprintf(stderr, "create_plan answered %d: %s (%s)\n", rep.status,
                rep.reason ? rep.reason : "", rep.field ? rep.field : "");
        return 1;
    }
    Lz__Plan *plan = (Lz__Plan *)protobuf_c_message_unpack(&lz__plan__descriptor, NULL,
                                                           rep.payload_len, rep.payload);
    rpc_reply_clear(&rep);
    if (!plan)
        return 1;
    printf("\nbuild  (sampler_create_plan, plan %" PRId64 "): %.2f s  [frame %d (expected %" PRId64
           "), %d strata, %d drawn, %d inspector slots short; peak RSS %ld MiB]\n",
           plan->id, (double)build_ms / 1000.0, plan->frame_size, frame_expect, plan->strata_count,
           plan->drawn, plan->inspectors_short, s_rss_mib());
    s_phases(&bp);

    /* verify */
    sampler_phases_t vp = {0};
    sampler_verify_t v;
    t0 = clock_mono_ms();
    int rc = sampler_plan_verify_timed(self.pg, plan->id, &v, &vp);
    int64_t verify_ms = clock_mono_ms() - t0;
    printf("\nverify (sampler_plan_verify): %.2f s  [%s, %d drawn; peak RSS %ld MiB]\n",
           (double)verify_ms / 1000.0, rc == 1 && v.match ? "match" : "MISMATCH", v.drawn,
           s_rss_mib());
    s_phases(&vp);
    int64_t excl =
        bench_count(self.pg, "SELECT count(*) FROM sampling_exclusions e JOIN "
                             "sampling_plans p ON p.id = e.plan_id AND p.request_id LIKE "
                             "'bench-plan-%'");
    int64_t bad = bench_count(
        self.pg, "SELECT count(*) FROM sampling_items si JOIN sampling_plans p ON p.id = "
                 "si.plan_id AND p.request_id LIKE 'bench-plan-%' JOIN assignments a ON "
                 "a.business_id = si.business_id AND a.until IS NULL JOIN cadres c ON "
                 "c.id = a.cadre_id JOIN inspectors i ON i.phone = c.phone AND i.id IN "
                 "(si.inspector_1, si.inspector_2)");
    /* the stored exclusions against the per-id query the service uses for small plans */
    int64_t diff = bench_count(
        self.pg, "WITH p AS (SELECT max(id) AS id FROM sampling_plans WHERE request_id LIKE "
                 "'bench-plan-%'), d AS (SELECT business_id FROM sampling_items, p WHERE "
                 "plan_id = p.id), want AS (SELECT business_id, inspector_id, min(reason) AS r "
                 "FROM (SELECT a.business_id, i.id AS inspector_id, 'cadre' AS reason FROM "
                 "assignments a JOIN cadres c ON c.id = a.cadre_id JOIN inspectors i ON i.phone "
                 "= c.phone WHERE a.until IS NULL AND a.business_id IN (SELECT business_id FROM "
                 "d) UNION ALL SELECT business_id, inspector_id, 'conflict' FROM "
                 "inspection_conflicts WHERE business_id IN (SELECT business_id FROM d)) x "
                 "GROUP BY 1, 2), got AS (SELECT business_id, inspector_id, reason AS r FROM "
                 "sampling_exclusions, p WHERE plan_id = p.id) SELECT count(*) FROM ((SELECT * "
                 "FROM want EXCEPT SELECT * FROM got) UNION ALL (SELECT * FROM got EXCEPT SELECT "
                 "* FROM want)) z");
    printf("\nchecks: frame as expected %s, %" PRId64 " exclusions stored (%" PRId64
           " differ from a per-id query: must be 0), %" PRId64
           " drawn businesses inspected by their own cadre (must be 0)\n",
           plan->frame_size == frame_expect ? "yes" : "NO", excl, diff, bad);
    printf("\n| step | time | target |\n|---|---|---|\n| build (whole plan) | %.2f s | <= 10 s |\n"
           "| verify | %.2f s | <= 10 s |\n",
           (double)build_ms / 1000.0, (double)verify_ms / 1000.0);
    bool ok = rc == 1 && v.match && plan->frame_size == frame_expect && bad == 0 && diff == 0;
    protobuf_c_message_free_unpacked(&plan->base, NULL);
    pg_destroy(&self.pg);
    cfg_destroy(&cfg);
    return ok ? 0 : 1;
}
