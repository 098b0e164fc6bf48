/*
 * scheduler_server.c - the scheduler worker: settings, method table, lease, timer, loop.
 *
 * The timer (every 200 ms) relays the outbox, reads the consumers' events
 * and, on the active scheduler only, sweeps with the real clock every
 * LZ_SCHEDULER_SWEEP_MS.  The lease is a PostgreSQL session advisory lock
 * per scope: it dies with the process (or its connection), and a standby
 * that tries every LZ_SCHEDULER_LEASE_MS takes it over.
 */
#include "scheduler_server.h"
#include "clock.h"
#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

const cfg_spec_t scheduler_spec[] = {
    {"LZ_RELAY_BATCH", CFG_INT, "500", 1, 100000, false, "outbox events relayed per round"},
    {"LZ_LEDGER_GRACE_S", CFG_INT, "0", 0, 604800, false, "grace after a period's end, seconds"},
    {"LZ_SCHEDULER_SCOPE", CFG_STR, "", 0, 12, false,
     "region code prefix this scheduler serves (digits; empty: everything)"},
    {"LZ_SCHEDULER_AUTO_SWEEP", CFG_BOOL, "true", 0, 0, false,
     "sweep on a timer with the real clock when active"},
    {"LZ_SCHEDULER_SWEEP_MS", CFG_INT, "60000", 1000, 86400000, false, "timer sweep interval, ms"},
    {"LZ_SCHEDULER_LEASE_MS", CFG_INT, "2000", 100, 600000, false,
     "how often the lease is taken or confirmed, ms"},
    {"LZ_SCHEDULER_LOOKBACK_S", CFG_INT, "86400", 0, 31622400, false,
     "first sweep of a scope (no watermark): deadlines this far back are processed"},
    {"LZ_SCHEDULER_CATCHUP_MAX_S", CFG_INT, "3456000", 86400, 63244800, false,
     "longest downtime a sweep catches up (40 days)"},
    {"LZ_SCHEDULER_BATCH", CFG_INT, "2000", 1, 100000, false, "tasks per escalation transaction"},
    {"LZ_UNASSIGNED_GRACE_DAYS", CFG_INT, "9", 0, 366, false,
     "days an active business may stay without a cadre (7 working days)"},
    {"LZ_VISIT_PRESET", CFG_STR, "default", 1, 16, false,
     "visit frequencies: default (quarterly for every level) or national"},
    {"LZ_VISIT_FREQ_CITY", CFG_STR, "", 0, 16, false,
     "overrides: monthly, quarterly, halfyearly, yearly"},
    {"LZ_VISIT_FREQ_COUNTY", CFG_STR, "", 0, 16, false, "county cadres' visit frequency"},
    {"LZ_VISIT_FREQ_TOWNSHIP", CFG_STR, "", 0, 16, false, "township cadres' visit frequency"},
    {"LZ_VISIT_FREQ_VILLAGE", CFG_STR, "", 0, 16, false, "village cadres' visit frequency"},
    {"LZ_VISIT_LEVEL_BY_GRADE", CFG_STR, "A:village,B:village,C:township,D:county", 0, 128, false,
     "the cadre level owing a business its visits, by risk grade (a business without a current "
     "cadre of that level: every assigned cadre owes; empty: every assigned cadre owes)"},
    {"LZ_CLOCK_OFFSET_S", CFG_INT, "0", -315360000, 315360000, false,
     "test/demo only: seconds added to the clock the timer sweeps with"},
};
const size_t scheduler_spec_count = sizeof scheduler_spec / sizeof scheduler_spec[0];

static const rpc_method_t s_methods[] = {
    {"scheduler.sweep", sched_h_sweep, NULL},
    {"scheduler.list_tasks", sched_h_list_tasks, NULL},
    {"scheduler.ledger_stats", sched_h_ledger_stats, NULL},
    {"scheduler.get_ladder", sched_h_get_ladder, NULL},
    {"scheduler.put_ladder", sched_h_put_ladder, NULL},
    {"scheduler.get_letter", sched_h_get_letter, NULL},
    {"scheduler.list_letters", sched_h_list_letters, NULL},
};

int sched_configure(sched_t *self, const cfg_t *cfg)
{
    const char *scope = cfg_str(cfg, "LZ_SCHEDULER_SCOPE");
    for (const char *c = scope; *c; c++)
        if (*c < '0' || *c > '9') {
            log_error("setting LZ_SCHEDULER_SCOPE must be digits");
            return -1;
        }
    snprintf(self->scope, sizeof self->scope, "%s", scope);
    snprintf(self->pg_url, sizeof self->pg_url, "%s", cfg_str(cfg, "LZ_PG_URL"));
    self->grace_s = cfg_int(cfg, "LZ_LEDGER_GRACE_S");
    self->lookback_s = cfg_int(cfg, "LZ_SCHEDULER_LOOKBACK_S");
    self->catchup_max_s = cfg_int(cfg, "LZ_SCHEDULER_CATCHUP_MAX_S");
    self->unassigned_grace_s = cfg_int(cfg, "LZ_UNASSIGNED_GRACE_DAYS") * 86400;
    self->batch = (int)cfg_int(cfg, "LZ_SCHEDULER_BATCH");
    self->relay_batch = (int)cfg_int(cfg, "LZ_RELAY_BATCH");
    self->auto_sweep = cfg_bool(cfg, "LZ_SCHEDULER_AUTO_SWEEP");
    self->sweep_interval_ms = cfg_int(cfg, "LZ_SCHEDULER_SWEEP_MS");
    self->lease_check_ms = cfg_int(cfg, "LZ_SCHEDULER_LEASE_MS");
    self->clock_offset_s = cfg_int(cfg, "LZ_CLOCK_OFFSET_S");
    if (visit_freqs_from_cfg(cfg, self->visit_freq) != 0)
        return -1;
    if (visit_level_by_grade_parse(cfg_str(cfg, "LZ_VISIT_LEVEL_BY_GRADE"), self->level_by_grade) !=
        0) {
        log_error("setting LZ_VISIT_LEVEL_BY_GRADE must look like "
                  "A:village,B:village,C:township,D:county");
        return -1;
    }
    return 0;
}

bool sched_lease(sched_t *self)
{
    const char *p[1] = {self->scope};
    PGresult *r;
    if (self->leader) {
        /* still ours?  The lock goes with the session, and pg.c reconnects silently */
        r = pg_query_prepared(self->pg, "sched_lease_check",
                              "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                              "AND pid = pg_backend_pid() AND classid = 2020 "
                              "AND objid = hashtext($1)::oid AND granted",
                              1, p);
        self->leader = r && pg_int(r, 0, 0) > 0;
        pg_free(&r);
        if (!self->leader)
            log_warn("lost the lease of scope '%s'", self->scope);
        if (self->leader)
            return true;
    }
    r = pg_query_prepared(self->pg, "sched_lease_take",
                          "SELECT pg_try_advisory_lock(2020, hashtext($1))", 1, p);
    self->leader = r && pg_bool(r, 0, 0);
    pg_free(&r);
    if (self->leader)
        log_info("took the lease of scope '%s'", self->scope);
    if (self->leader && self->auto_sweep) {
        /* a scope never swept starts now: history is swept only on request */
        char now[24];
        snprintf(now, sizeof now, "%" PRId64, clock_now_s() + self->clock_offset_s);
        const char *q[2] = {self->scope, now};
        pg_exec(self->pg,
                "INSERT INTO scheduler_watermark (scope, swept_to) VALUES ($1, "
                "to_timestamp($2::bigint)) "
                "ON CONFLICT (scope) DO NOTHING",
                2, q);
    }
    return self->leader;
}

/* Up to 1,000 events of a consumer per timer tick: a backlog (a new consumer group reads its
 * stream from the start) must not keep the worker from answering calls. */
static void s_consume(sched_t *self, outbox_consumer_t *c, outbox_handler_fn *fn)
{
    for (int i = 0; c && i < 10 && outbox_consume(c, fn, self, 100, 0) == 100; i++)
        ;
}

static void s_housekeeping(void *ctx, int64_t now_ms)
{
    sched_t *self = ctx;
    while (outbox_relay_once(self->pg, self->rds, self->relay_batch) == self->relay_batch)
        ;
    s_consume(self, self->c_ledger, sched_on_ledger_accepted);
    s_consume(self, self->c_visit, sched_on_visit_recorded);
    s_consume(self, self->c_warn_issued, sched_on_warning_issued);
    s_consume(self, self->c_warn_answered, sched_on_warning_answered);
    s_consume(self, self->c_grade, sched_on_grade_changed);
    if (now_ms >= self->next_lease_ms) {
        sched_lease(self);
        self->next_lease_ms = now_ms + self->lease_check_ms;
    }
    if (self->leader && self->auto_sweep && now_ms >= self->next_sweep_ms) {
        sweep_result_t res;
        int64_t as_of = now_ms / 1000 + self->clock_offset_s;
        if (sched_sweep(self, as_of, &res) == 0 && (res.opened || res.escalated || res.closed))
            log_info("timer sweep: %" PRId64 " opened, %" PRId64 " escalated, %" PRId64 " closed",
                     res.opened, res.escalated, res.closed);
        self->next_sweep_ms = now_ms + self->sweep_interval_ms;
    }
}

int scheduler_run(const cfg_t *cfg)
{
    sched_t self;
    memset(&self, 0, sizeof self);
    if (sched_configure(&self, cfg) != 0)
        return 2;
    self.pg = pg_connect(cfg_str(cfg, "LZ_PG_URL"), 60, 500);
    if (!self.pg)
        return 1;
    /* the sweep's statements are cheap per row but costed high: JIT only slows them */
    pg_exec(self.pg, "SET jit = off", 0, NULL);
    self.rds = rds_connect(cfg_str(cfg, "LZ_REDIS_HOST"), (int)cfg_int(cfg, "LZ_REDIS_PORT"), 2000);
    if (!self.rds) {
        pg_destroy(&self.pg);
        return 1;
    }
    char host[64] = "";
    gethostname(host, sizeof host - 1);
    snprintf(self.consumer, sizeof self.consumer, "%.40s-%d", host, (int)getpid());
    self.c_ledger =
        outbox_consumer_new(self.rds, "ledger.accepted", "scheduler", self.consumer, 5, 30000);
    self.c_visit =
        outbox_consumer_new(self.rds, "visit.recorded", "scheduler", self.consumer, 5, 30000);
    self.c_warn_issued =
        outbox_consumer_new(self.rds, "warning.issued", "scheduler", self.consumer, 5, 30000);
    self.c_warn_answered =
        outbox_consumer_new(self.rds, "warning.answered", "scheduler", self.consumer, 5, 30000);
    self.c_grade =
        outbox_consumer_new(self.rds, "score.grade_changed", "scheduler", self.consumer, 5, 30000);
    rpc_worker_t *worker = rpc_worker_new(cfg_str(cfg, "LZ_BROKER"), "scheduler", s_methods,
                                          sizeof s_methods / sizeof s_methods[0], &self, 1);
    rpc_worker_set_timer(worker, 200, s_housekeeping);
    log_info("scheduler serving %zu methods, scope '%s'", sizeof s_methods / sizeof s_methods[0],
             self.scope);
    int rc = rpc_worker_run(worker);
    rpc_worker_destroy(&worker);
    outbox_consumer_destroy(&self.c_ledger);
    outbox_consumer_destroy(&self.c_visit);
    outbox_consumer_destroy(&self.c_warn_issued);
    outbox_consumer_destroy(&self.c_warn_answered);
    outbox_consumer_destroy(&self.c_grade);
    rds_destroy(&self.rds);
    pg_destroy(&self.pg);
    return rc == 0 ? 0 : 1;
}
