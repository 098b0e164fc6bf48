/*
 * intake_server.c - the intake worker: method table, housekeeping, loop.
 */
#include "intake_server.h"
#include "clock.h"
#include "intake_business.h"
#include "intake_checklist.h"
#include "intake_visit.h"
#include "log.h"
#include "mem.h"
#include "outbox.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

const cfg_spec_t intake_spec[] = {
    {"LZ_INTAKE_CREDIT", CFG_INT, "128", 1, 4096, false,
     "requests a worker takes at once (cover lanes x batch)"},
    {"LZ_RELAY_BATCH", CFG_INT, "500", 1, 100000, false, "outbox events relayed per round"},
    {"LZ_INTAKE_RELAY_THREAD", CFG_INT, "1", 0, 1, false,
     "1: relay the outbox on a thread of its own; 0: in the worker's timer"},
    {"LZ_INTAKE_BATCH", CFG_INT, "32", 1, 4096, false, "records written in one group commit"},
    {"LZ_INTAKE_LANES", CFG_INT, "2", 1, 16, false,
     "threads writing groups of records at once, each on its own connections (1: the worker's)"},
    {"LZ_INTAKE_LANE_MIN", CFG_INT, "16", 1, 4096, false,
     "records a group needs to start while another lane is writing"},
    {"LZ_INTAKE_BATCH_WAIT_MS", CFG_INT, "2", 0, 1000, false,
     "longest wait for more records to join a group"},
    {"LZ_LEDGER_GRACE_S", CFG_INT, "0", 0, 604800, false, "grace after a period's end, seconds"},
    {"LZ_LEDGER_LATE_DAYS_DAILY", CFG_INT, "3", 0, 366, false,
     "days after the deadline a daily record is still accepted (late)"},
    {"LZ_LEDGER_LATE_DAYS_WEEKLY", CFG_INT, "7", 0, 366, false,
     "days after the deadline a weekly record is still accepted (late)"},
    {"LZ_LEDGER_LATE_DAYS_MONTHLY", CFG_INT, "10", 0, 366, false,
     "days after the deadline a monthly record is still accepted (late)"},
    {"LZ_CLOCK_OFFSET_S", CFG_INT, "0", -315360000, 315360000, false,
     "test/demo only: seconds added to the clock the ledger rules see"},
    {"LZ_VISIT_MAX_AGE_DAYS", CFG_INT, "30", 1, 366, false,
     "oldest visit a cadre may still record, days"},
};
const size_t intake_spec_count = sizeof intake_spec / sizeof intake_spec[0];

static const rpc_method_t s_methods[] = {
    {"intake.get_region", intake_get_region, NULL},
    {"intake.submit_record", NULL, intake_submit_records},
    {"intake.fix_problem", intake_fix_problem, NULL},
    {"intake.list_problems", intake_list_problems, NULL},
    {"intake.list_records", intake_list_records, NULL},
    {"intake.get_checklist", intake_get_checklist, NULL},
    {"intake.publish_checklist", intake_publish_checklist, NULL},
    {"intake.add_rest_days", intake_add_rest_days, NULL},
    {"intake.list_rest_days", intake_list_rest_days, NULL},
    {"intake.import_regions", intake_import_regions, NULL},
    {"intake.import_businesses", intake_import_businesses, NULL},
    {"intake.import_cadres", intake_import_cadres, NULL},
    {"intake.import_assignments", intake_import_assignments, NULL},
    {"intake.import_inspectors", intake_import_inspectors, NULL},
    {"intake.get_business", intake_get_business, NULL},
    {"intake.list_businesses", intake_list_businesses, NULL},
    {"intake.coverage", intake_coverage, NULL},
    {"intake.record_visit", intake_record_visit, NULL},
    {"intake.list_cadre_visits", intake_list_cadre_visits, NULL},
};

/* Relay committed outbox events until none wait; 0 or -1. */
static int s_relay(pg_t *pg, rds_t *rds, int batch)
{
    int64_t t0 = clock_mono_us();
    long relayed = 0;
    int n;
    while ((n = outbox_relay_once(pg, rds, batch)) > 0) {
        relayed += n;
        if (n < batch)
            break;
    }
    if (relayed > 0)
        log_debug("relay: %ld events in %" PRId64 " us", relayed, clock_mono_us() - t0);
    return n < 0 ? -1 : 0;
}

/*
 * The relay thread (LZ_INTAKE_RELAY_THREAD=1): relays every 200 ms on
 * connections of its own, so a burst of events never holds up a group
 * commit of the worker's thread (each relay round is a transaction with
 * its own commit).  Several relays may run at once (SKIP LOCKED).
 */
typedef struct {
    const char *pg_url, *redis_host;
    int redis_port, batch;
    atomic_int stop;
    pthread_t thread;
} s_relay_t;

static void *s_relay_main(void *arg)
{
    s_relay_t *r = arg;
    pg_t *pg = NULL;
    rds_t *rds = NULL;
    while (!atomic_load(&r->stop)) {
        if (!pg)
            pg = pg_connect(r->pg_url, 1, 0);
        if (!rds)
            rds = rds_connect(r->redis_host, r->redis_port, 2000);
        if (pg && rds)
            s_relay(pg, rds, r->batch);
        for (int i = 0; i < 4 && !atomic_load(&r->stop); i++)
            clock_sleep_ms(50);
    }
    rds_destroy(&rds);
    pg_destroy(&pg);
    return NULL;
}

/* Housekeeping every 200 ms: relay committed events (unless the relay
 * thread does); hourly, make partitions ahead. */
static void s_housekeeping(void *ctx, int64_t now_ms)
{
    intake_t *self = ctx;
    if (!self->relay_thread)
        s_relay(self->pg, self->rds, self->relay_batch);
    if (now_ms >= self->next_partition_check_ms) {
        pg_exec(self->pg, "SELECT lz_ensure_partitions_all(3)", 0, NULL);
        self->next_partition_check_ms = now_ms + 3600 * 1000;
    }
}

/* Settings of an intake_t from cfg (no connections). */
static void s_settings(intake_t *self, const cfg_t *cfg)
{
    memset(self, 0, sizeof *self);
    self->cfg = cfg;
    self->relay_batch = (int)cfg_int(cfg, "LZ_RELAY_BATCH");
    self->rules.grace_s = cfg_int(cfg, "LZ_LEDGER_GRACE_S");
    self->rules.late_days[0] = (int)cfg_int(cfg, "LZ_LEDGER_LATE_DAYS_DAILY");
    self->rules.late_days[1] = (int)cfg_int(cfg, "LZ_LEDGER_LATE_DAYS_WEEKLY");
    self->rules.late_days[2] = (int)cfg_int(cfg, "LZ_LEDGER_LATE_DAYS_MONTHLY");
    self->clock_offset_s = cfg_int(cfg, "LZ_CLOCK_OFFSET_S");
    self->visit_max_age_days = (int)cfg_int(cfg, "LZ_VISIT_MAX_AGE_DAYS");
}

/* A lane: the worker's settings on connections of its own. */
static void *s_lane_new(void *ctx, int lane)
{
    const intake_t *w = ctx;
    intake_t *self = xmalloc(sizeof *self);
    s_settings(self, w->cfg);
    self->pg = pg_connect(cfg_str(w->cfg, "LZ_PG_URL"), 60, 500);
    self->rds =
        rds_connect(cfg_str(w->cfg, "LZ_REDIS_HOST"), (int)cfg_int(w->cfg, "LZ_REDIS_PORT"), 2000);
    if (!self->pg || !self->rds) {
        log_error("intake lane %d could not connect", lane);
        rds_destroy(&self->rds);
        pg_destroy(&self->pg);
        free(self);
        return NULL;
    }
    return self;
}

static void s_lane_free(void *ctx)
{
    intake_t *self = ctx;
    ledger_lists_free(&self->lists);
    rds_destroy(&self->rds);
    pg_destroy(&self->pg);
    free(self);
}

int intake_run(const cfg_t *cfg)
{
    intake_t self;
    s_settings(&self, cfg);
    self.pg = pg_connect(cfg_str(cfg, "LZ_PG_URL"), 60, 500);
    if (!self.pg)
        return 1;
    self.rds = rds_connect(cfg_str(cfg, "LZ_REDIS_HOST"), (int)cfg_int(cfg, "LZ_REDIS_PORT"), 2000);
    if (!self.rds) {
        pg_destroy(&self.pg);
        return 1;
    }
    rpc_worker_t *worker = rpc_worker_new(cfg_str(cfg, "LZ_BROKER"), "intake", s_methods,
                                          sizeof s_methods / sizeof s_methods[0], &self,
                                          (int)cfg_int(cfg, "LZ_INTAKE_CREDIT"));
    rpc_worker_set_timer(worker, 200, s_housekeeping);
    rpc_worker_set_batch(worker, (int)cfg_int(cfg, "LZ_INTAKE_BATCH"),
                         (int)cfg_int(cfg, "LZ_INTAKE_BATCH_WAIT_MS"));
    rpc_worker_set_lanes(worker, (int)cfg_int(cfg, "LZ_INTAKE_LANES"),
                         (int)cfg_int(cfg, "LZ_INTAKE_LANE_MIN"), s_lane_new, s_lane_free);
    s_relay_t relay = {.pg_url = cfg_str(cfg, "LZ_PG_URL"),
                       .redis_host = cfg_str(cfg, "LZ_REDIS_HOST"),
                       .redis_port = (int)cfg_int(cfg, "LZ_REDIS_PORT"),
                       .batch = self.relay_batch};
    atomic_init(&relay.stop, 0);
    self.relay_thread = cfg_int(cfg, "LZ_INTAKE_RELAY_THREAD") != 0 &&
                        pthread_create(&relay.thread, NULL, s_relay_main, &relay) == 0;
    log_info("intake serving %zu methods (outbox relay %s)", sizeof s_methods / sizeof s_methods[0],
             self.relay_thread ? "on its own thread" : "in the worker's timer");
    int rc = rpc_worker_run(worker);
    if (self.relay_thread) {
        atomic_store(&relay.stop, 1);
        pthread_join(relay.thread, NULL);
    }
    rpc_worker_destroy(&worker);
    ledger_lists_free(&self.lists);
    rds_destroy(&self.rds);
    pg_destroy(&self.pg);
    return rc == 0 ? 0 : 1;
}
