/*
 * scheduler_deadline.c - benchmark of the scheduler (the bench/deadline): the daily
 * deadline over a big registry, and the escalation sweep over the tasks it opened.
 *
 *   build/bench/scheduler_deadline [--businesses N] [--reuse]
 *
 * Run it through bench/scheduler_deadline.sh, which makes a scratch database (migrated, owner
 * URL in LZ_PG_URL) and a private redis-server (LZ_REDIS_HOST/PORT), and removes both at the
 * end.  The fixture is generated set-based in SQL (its time is shown, not measured): one city
 * of a fake province 96, 20 districts, 1,000 townships, 15,000 communities, N businesses spread
 * over the communities, a village cadre per community assigned to each of its businesses, a
 * township cadre per township; of the businesses, 0.1 % closed (before the day) and 0.1 %
 * with the day declared a rest day.  Day D is the first Tuesday-Thursday from today not in a
 * month's last days (so no weekly, monthly or visit deadline shares its window).  The done
 * bitmap lz:done:daily:<D> has the bit of every business whose id is not a multiple of 20:
 * 95 % delivered, N/20 missing.  (--reuse: the fixture is there from an earlier --keep run;
 * only the scheduler's tables are emptied.)
 *
 * Measured, each sweep in a child process of its own (this binary run again with --sweep, so
 * its peak RSS is the scheduler's own: ru_maxrss from wait4):
 *   1. deadline: sched_sweep(as_of = D's deadline + 60 s) from a watermark an hour before:
 *      the owed set, the missing set, N/20 tasks, ledger_stats of every region, and the
 *      ledger ladder's first step (officer SMS) queued for every task;
 *   2. the same as_of again: nothing new (idempotency);
 *   3. escalation: sched_sweep(as_of = deadline + 1 day + 60 s), D+1's own deadline marked
 *      done beforehand so only the ladder runs: step 2 (head + village cadre) for every task.
 * The results are checked against SQL counts and printed as a table.
 */
#include "clock.h"
#include "log.h"
#include "mem.h"
#include "pg.h"
#include "bench_db.h"
#include "rds.h"
#include "scheduler/scheduler_server.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define COMMUNITIES 15000

/* --sweep AS_OF: the scheduler's sweep in this process; prints "ms opened escalated". */
static int s_child(int64_t as_of)
{
    char err[256];
    cfg_t *cfg = cfg_load_service(scheduler_spec, scheduler_spec_count, NULL, err, sizeof err);
    if (!cfg) {
        fprintf(stderr, "settings: %s\n", err);
        return 2;
    }
    sched_t s;
    memset(&s, 0, sizeof s);
    if (sched_configure(&s, cfg) != 0)
        return 2;
    s.pg = pg_connect(cfg_str(cfg, "LZ_PG_URL"), 3, 500);
    s.rds = rds_connect(cfg_str(cfg, "LZ_REDIS_HOST"), (int)cfg_int(cfg, "LZ_REDIS_PORT"), 60000);
    if (!s.pg || !s.rds)
        return 1;
    pg_exec(s.pg, "SET jit = off", 0, NULL); /* as scheduler_run does */
    sweep_result_t res;
    int64_t t0 = clock_mono_ms();
    int rc = sched_sweep(&s, as_of, &res);
    int64_t ms = clock_mono_ms() - t0;
    printf("%" PRId64 " %" PRId64 " %" PRId64 " %d\n", ms, res.opened, res.escalated, rc);
    rds_destroy(&s.rds);
    pg_destroy(&s.pg);
    cfg_destroy(&cfg);
    return rc == 0 ? 0 : 1;
}

typedef struct {
    int64_t ms, opened, escalated;
    long maxrss_kb;
} s_run_t;

static int s_sweep(const char *self, int64_t as_of, s_run_t *out)
{
    int fd[2];
    if (pipe(fd) != 0)
        return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        char a[24];
        snprintf(a, sizeof a, "%" PRId64, as_of);
        execl(self, self, "--sweep", a, (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    char line[256] = "";
    FILE *f = fdopen(fd[0], "r");
    if (!f || !fgets(line, sizeof line, f))
        line[0] = '\0';
    if (f)
        fclose(f);
    int status = 0;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "sweep child failed (status %d): %s\n", status, line);
        return -1;
    }
    int rc = -1;
    if (sscanf(line, "%" SCNd64 " %" SCNd64 " %" SCNd64 " %d", &out->ms, &out->opened,
               &out->escalated, &rc) != 4 ||
        rc != 0)
        return -1;
    out->maxrss_kb = ru.ru_maxrss;
    return 0;
}

/* Day D: the first Tuesday..Thursday from today that is not in the last 3 days of its month. */
static int64_t s_day(char *text, size_t len)
{
    int64_t t = clock_now_s();
    for (;;) {
        int y, m, d, ny, nm, nd;
        local_date(t, &y, &m, &d);
        local_date(t + 3 * 86400, &ny, &nm, &nd);
        int wd = local_weekday(t);
        if (wd >= 2 && wd <= 4 && nm == m) {
            snprintf(text, len, "%04d-%02d-%02d", y, m, d);
            return local_midnight(y, m, d);
        }
        t += 86400;
    }
}

static int s_fixture(pg_t *pg, long nb, const char *day)
{
    char *sql = xasprintf(
        "SET synchronous_commit = off; SET session_replication_role = replica;"
        "DROP INDEX IF EXISTS businesses_region; DROP INDEX IF EXISTS businesses_credit;"
        "DROP INDEX IF EXISTS assignments_business; DROP INDEX IF EXISTS assignments_region;"
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
        "INSERT INTO region_contacts (region_code, name, webhook) SELECT code, name || "
        "'市场监管局', 'http://127.0.0.1:9/' || code FROM regions WHERE level = 'district';"
        "CREATE TEMP TABLE comm AS SELECT row_number() OVER (ORDER BY code) - 1 AS k, code "
        " FROM regions WHERE level = 'community' AND code LIKE '9601%%';"
        "INSERT INTO cadres (phone, name, level, region_code) "
        " SELECT '170' || lpad(k::text, 8, '0'), '村干部' || k, 'village', code FROM comm;"
        "INSERT INTO cadres (phone, name, level, region_code) "
        " SELECT '171' || lpad(row_number() OVER (ORDER BY code)::text, 8, '0'), '街道干部', "
        "'township', code FROM regions WHERE level = 'township' AND code LIKE '9601%%';"
        "INSERT INTO businesses (id, license_no, credit_code, name, type, risk_grade, "
        " region_code, address, status, head_name, head_phone, officer_name, officer_phone, "
        " created_at, updated_at) "
        "SELECT i, 'BENCH' || i, '91' || lpad(i::text, 16, '0'), '基准餐饮' || i || '号', "
        " 'catering', (ARRAY['A','B','C','D'])[1 + i %% 4], c.code, '基准路' || i || '号', "
        " CASE WHEN i %% 1000 = 1 THEN 'closed' ELSE 'active' END, '周' || (i %% 100), "
        " '13' || lpad(i::text, 9, '0'), '吴' || (i %% 100), '15' || lpad(i::text, 9, '0'), "
        " '%s'::date - 30, '%s'::date - 10 "
        "FROM generate_series(1, %ld) i JOIN comm c ON c.k = (i::bigint - 1) * %d / %ld;"
        "INSERT INTO business_rest_days (business_id, day) SELECT i, '%s'::date "
        " FROM generate_series(11, %ld, 1000) i;"
        "INSERT INTO assignments (cadre_id, business_id, region_code, since) "
        " SELECT c.id, b.id, b.region_code, b.created_at FROM businesses b "
        " JOIN cadres c ON c.region_code = b.region_code AND c.level = 'village' "
        " WHERE b.id <= %ld;"
        "CREATE INDEX businesses_region ON businesses (region_code, id);"
        "CREATE INDEX businesses_credit ON businesses (credit_code);"
        "CREATE INDEX assignments_business ON assignments (business_id) WHERE until IS NULL;"
        "CREATE INDEX assignments_region ON assignments (region_code);"
        "SELECT setval(pg_get_serial_sequence('businesses', 'id'), %ld);",
        day, day, nb, COMMUNITIES, nb, day, nb, nb, nb);
    int rc = bench_exec(pg, 48, "fixture: regions, cadres, businesses, assignments", sql);
    free(sql);
    static const char *const vac[] = {"VACUUM ANALYZE businesses", "VACUUM ANALYZE assignments",
                                      "VACUUM ANALYZE cadres", "VACUUM ANALYZE regions",
                                      "VACUUM ANALYZE business_rest_days"};
    for (size_t i = 0; rc == 0 && i < sizeof vac / sizeof vac[0]; i++)
        rc = bench_exec(pg, 48, vac[i], vac[i]);
    return rc;
}

static int s_reset(pg_t *pg, const char *day, int64_t deadline)
{
    char *sql = xasprintf(
        "TRUNCATE tasks, letters, letter_counters, ledger_stats, visit_obligations, "
        "scheduler_deadlines, scheduler_watermark, outbox RESTART IDENTITY;"
        "INSERT INTO scheduler_watermark (scope, swept_to) VALUES ('', to_timestamp(%" PRId64 "));"
        "",
        deadline - 3600);
    (void)day;
    int rc = bench_exec(pg, 48, "reset the scheduler's tables", sql);
    free(sql);
    if (rc == 0)
        rc = bench_exec(pg, 48, "VACUUM ANALYZE tasks", "VACUUM ANALYZE tasks");
    if (rc == 0)
        rc = bench_exec(pg, 48, "VACUUM ANALYZE outbox", "VACUUM ANALYZE outbox");
    return rc;
}

static void s_row(const char *what, const s_run_t *r, int64_t items, const char *unit)
{
    printf("%-34s %9.2f s %10" PRId64 " %-6s %10.0f/s %9.1f MiB\n", what, (double)r->ms / 1000.0,
           items, unit, r->ms ? (double)items * 1000.0 / (double)r->ms : 0.0,
           (double)r->maxrss_kb / 1024.0);
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--sweep")) {
        log_init("scheduler", LZ_LOG_INFO);
        return s_child(strtoll(argv[2], NULL, 10));
    }
    log_init("bench", LZ_LOG_WARN);
    long nb = bench_arg(argc, argv, "--businesses", 15000000);
    bool reuse = bench_flag(argc, argv, "--reuse");
    const char *url = getenv("LZ_PG_URL");
    const char *rhost = getenv("LZ_REDIS_HOST");
    const char *rport = getenv("LZ_REDIS_PORT");
    if (!url || !rhost || !rport || nb < COMMUNITIES) {
        fprintf(stderr,
                "usage: LZ_PG_URL=... LZ_REDIS_HOST=... LZ_REDIS_PORT=... %s "
                "[--businesses N>=15000] [--reuse]\n",
                argv[0]);
        return 2;
    }
    pg_t *pg = pg_connect(url, 3, 500);
    rds_t *rds = rds_connect(rhost, (int)strtol(rport, NULL, 10), 60000);
    if (!pg || !rds)
        return 1;
    char day[16], next[16];
    int64_t d0 = s_day(day, sizeof day);
    int64_t deadline = d0 + 86400; /* LZ_LEDGER_GRACE_S = 0 */
    {
        int y, m, d;
        local_date(d0 + 86400, &y, &m, &d);
        snprintf(next, sizeof next, "%04d-%02d-%02d", y, m, d);
    }
    printf("scheduler deadline benchmark: day %s, %ld cores\n", day, sysconf(_SC_NPROCESSORS_ONLN));
    if (reuse) {
        nb = (long)bench_count(pg, "SELECT max(id) FROM businesses");
        char *sql =
            xasprintf("UPDATE business_rest_days SET day = '%s' WHERE day <> '%s'", day, day);
        pg_exec(pg, sql, 0, NULL);
        free(sql);
        printf("  reusing the fixture\n");
    } else if (s_fixture(pg, nb, day) != 0) {
        return 1;
    }
    printf("  %ld businesses\n", nb);
    if (s_reset(pg, day, deadline) != 0)
        return 1;
    /* D+1's deadline is not part of the escalation sweep */
    char *mark = xasprintf("INSERT INTO scheduler_deadlines (scope, kind, period, deadline, "
                           "opened) VALUES ('', 'daily', '%s', to_timestamp(%" PRId64 "), 0)",
                           next, deadline + 86400);
    pg_exec(pg, mark, 0, NULL);
    free(mark);
    /* the done bitmap: every id not a multiple of 20 */
    size_t len = (size_t)nb / 8 + 1;
    unsigned char *bm = xcalloc(len, 1);
    for (long id = 1; id <= nb; id++)
        if (id % 20 != 0)
            bitmap_set(bm, len, id);
    char key[64];
    snprintf(key, sizeof key, "lz:done:daily:%s", day);
    const char *av[3] = {"SET", key, (const char *)bm};
    size_t al[3] = {3, strlen(key), len};
    redisReply *rr = rds_cmd_argv(rds, 3, av, al);
    if (!rr || rr->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "redis SET failed\n");
        return 1;
    }
    rds_free(&rr);
    free(bm);
    int64_t owed_expect =
        bench_count(pg, "SELECT count(*) FROM businesses WHERE status = 'active' "
                        "AND id NOT IN (SELECT business_id FROM business_rest_days)");
    int64_t miss_expect = owed_expect - bench_count(pg, "SELECT count(*) FROM businesses WHERE "
                                                        "status = 'active' AND id % 20 <> 0 AND id "
                                                        "NOT IN (SELECT business_id FROM "
                                                        "business_rest_days)");
    s_run_t dl = {0}, again = {0}, esc = {0};
    printf("  sweeping the deadline (%s) ...\n", day);
    if (s_sweep(argv[0], deadline + 60, &dl) != 0)
        return 1;
    int64_t tasks = bench_count(pg, "SELECT count(*) FROM tasks");
    int64_t step1 = bench_count(pg, "SELECT count(*) FROM tasks WHERE step = 1");
    int64_t notes1 = bench_count(pg, "SELECT count(*) FROM outbox WHERE topic = 'notify.request'");
    PGresult *st = pg_query(pg,
                            "SELECT owed, submitted, missing FROM ledger_stats WHERE "
                            "region_code = '960100000000' AND kind = 'daily'",
                            0, NULL);
    int64_t s_owed = st && PQntuples(st) ? pg_int(st, 0, 0) : -1;
    int64_t s_sub = st && PQntuples(st) ? pg_int(st, 0, 1) : -1;
    int64_t s_miss = st && PQntuples(st) ? pg_int(st, 0, 2) : -1;
    pg_free(&st);
    int64_t nstats = bench_count(pg, "SELECT count(*) FROM ledger_stats");
    printf("  sweeping the same instant again ...\n");
    if (s_sweep(argv[0], deadline + 60, &again) != 0)
        return 1;
    int64_t tasks2 = bench_count(pg, "SELECT count(*) FROM tasks");
    int64_t notes2 = bench_count(pg, "SELECT count(*) FROM outbox WHERE topic = 'notify.request'");
    bench_exec(pg, 48, "VACUUM ANALYZE tasks (not timed)", "VACUUM ANALYZE tasks");
    printf("  sweeping one day later (escalation) ...\n");
    if (s_sweep(argv[0], deadline + 86400 + 60, &esc) != 0)
        return 1;
    int64_t step2 = bench_count(pg, "SELECT count(*) FROM tasks WHERE step = 2");
    int64_t notes3 =
        bench_count(pg, "SELECT count(*) FROM outbox WHERE topic = 'notify.request'") - notes2;

    printf("\n%-34s %11s %10s %-6s %12s %13s\n", "phase", "time", "items", "", "rate", "peak RSS");
    printf("%-34s %11s %10s %-6s %12s %13s\n", "-----", "----", "-----", "", "----", "--------");
    s_row("deadline end to end (+ step 1)", &dl, nb, "bus.");
    s_row("  tasks opened", &dl, dl.opened, "tasks");
    s_row("same as_of again", &again, again.opened, "tasks");
    s_row("escalation sweep (step 2)", &esc, esc.escalated, "tasks");
    printf("\nchecks:\n");
    int bad = 0;
#define CHECK(name, got, want)                                                                     \
    do {                                                                                           \
        bool ok_ = (got) == (want);                                                                \
        bad += !ok_;                                                                               \
        printf("  %-4s %-44s %" PRId64 " (want %" PRId64 ")\n", ok_ ? "ok" : "BAD", name,          \
               (int64_t)(got), (int64_t)(want));                                                   \
    } while (0)
    CHECK("tasks opened", tasks, miss_expect);
    CHECK("tasks at step 1 after the deadline sweep", step1 + 0, miss_expect);
    CHECK("first-step requests (officer)", notes1, miss_expect);
    CHECK("city owed", s_owed, owed_expect);
    CHECK("city submitted", s_sub, owed_expect - miss_expect);
    CHECK("city missing", s_miss, miss_expect);
    CHECK("ledger_stats rows (1+1+20+1000+15000)", nstats, 16022);
    CHECK("repeat: no new task", tasks2, tasks);
    CHECK("repeat: no new request", notes2, notes1);
    CHECK("escalated to step 2", step2, miss_expect);
    CHECK("step-2 requests (head + village cadre)", notes3, 2 * miss_expect);
    rds_destroy(&rds);
    pg_destroy(&pg);
    return bad ? 1 : 0;
}
