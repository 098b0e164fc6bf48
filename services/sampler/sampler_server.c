/*
 * sampler_server.c - the sampler worker: settings table, method table, housekeeping, loop,
 * and the write helpers every handler shares (caller keys, events; request ids: common/idem.h).
 */
#include "sampler_server.h"
#include "clock.h"
#include "log.h"
#include "sampler_check.h"
#include "mem.h"
#include "outbox.h"

#include <inttypes.h>
#include <malloc.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const cfg_spec_t sampler_spec[] = {
    {"LZ_RELAY_BATCH", CFG_INT, "500", 1, 100000, false, "outbox events relayed per round"},
    {"LZ_SAMPLER_N", CFG_INT, "6", 1, 1000, false, "businesses drawn per stratum"},
    {"LZ_SAMPLER_STRATUM_LEVEL", CFG_STR, "community", 8, 9, false,
     "strata: community or township"},
    {"LZ_SAMPLER_WEIGHTED", CFG_BOOL, "1", 0, 0, false, "weight draws by risk grade"},
    {"LZ_SAMPLER_WEIGHT_A", CFG_INT, "1", 1, 1000, false, "weight of a risk-A business"},
    {"LZ_SAMPLER_WEIGHT_B", CFG_INT, "2", 1, 1000, false, "weight of a risk-B business"},
    {"LZ_SAMPLER_WEIGHT_C", CFG_INT, "3", 1, 1000, false, "weight of a risk-C business"},
    {"LZ_SAMPLER_WEIGHT_D", CFG_INT, "4", 1, 1000, false, "weight of a risk-D business"},
    {"LZ_SAMPLER_EXCLUDE_PREVIOUS", CFG_BOOL, "1", 0, 0, false,
     "leave out businesses inspected in the previous quarter"},
    {"LZ_SAMPLER_PUBLIC_ANONYMOUS", CFG_BOOL, "1", 0, 0, false,
     "anyone may read a plan's published results without a token"},
    {"LZ_LEDGER_GRACE_S", CFG_INT, "0", 0, 604800, false, "grace after a period's end, seconds"},
    {"LZ_VISIT_PRESET", CFG_STR, "default", 1, 16, false,
     "visit frequencies: default (quarterly for every level) or national"},
    {"LZ_VISIT_FREQ_CITY", CFG_STR, "", 0, 16, false, "city cadres' visit frequency"},
    {"LZ_VISIT_FREQ_COUNTY", CFG_STR, "", 0, 16, false, "county cadres' visit frequency"},
    {"LZ_VISIT_FREQ_TOWNSHIP", CFG_STR, "", 0, 16, false, "township cadres' visit frequency"},
    {"LZ_VISIT_FREQ_VILLAGE", CFG_STR, "", 0, 16, false, "village cadres' visit frequency"},
    {"LZ_SAMPLER_PROBLEM_DUE_DAYS", CFG_INT, "7", 1, 365, false,
     "days an open problem may stay open before an inspection brief calls it overdue"},
    {"LZ_SAMPLER_FAIL_GENERAL", CFG_INT, "3", 1, 100, false,
     "failed general checklist items that fail an inspection"},
};
const size_t sampler_spec_count = sizeof sampler_spec / sizeof sampler_spec[0];

static const rpc_method_t s_methods[] = {
    {"sampler.create_plan", sampler_create_plan, NULL},
    {"sampler.get_plan", sampler_get_plan, NULL},
    {"sampler.verify_plan", sampler_verify_plan, NULL},
    {"sampler.list_plans", sampler_list_plans, NULL},
    {"sampler.inspection_brief", sampler_inspection_brief, NULL},
    {"sampler.record_inspection", sampler_record_inspection, NULL},
    {"sampler.public_plan", sampler_public_plan, NULL},
    {"sampler.declare_conflict", sampler_declare_conflict, NULL},
};

void sampler_defaults_from_cfg(const cfg_t *cfg, sampler_defaults_t *d)
{
    d->n_per_stratum = (int)cfg_int(cfg, "LZ_SAMPLER_N");
    d->township = !strcmp(cfg_str(cfg, "LZ_SAMPLER_STRATUM_LEVEL"), "township");
    d->weighted = cfg_bool(cfg, "LZ_SAMPLER_WEIGHTED");
    d->weight[0] = (int)cfg_int(cfg, "LZ_SAMPLER_WEIGHT_A");
    d->weight[1] = (int)cfg_int(cfg, "LZ_SAMPLER_WEIGHT_B");
    d->weight[2] = (int)cfg_int(cfg, "LZ_SAMPLER_WEIGHT_C");
    d->weight[3] = (int)cfg_int(cfg, "LZ_SAMPLER_WEIGHT_D");
    d->exclude_previous = cfg_bool(cfg, "LZ_SAMPLER_EXCLUDE_PREVIOUS");
}

int sampler_check_settings_from_cfg(const cfg_t *cfg, sampler_t *self)
{
    self->grace_s = cfg_int(cfg, "LZ_LEDGER_GRACE_S");
    self->problem_due_days = (int)cfg_int(cfg, "LZ_SAMPLER_PROBLEM_DUE_DAYS");
    self->fail_general = (int)cfg_int(cfg, "LZ_SAMPLER_FAIL_GENERAL");
    return visit_freqs_from_cfg(cfg, self->visit_freq);
}

/* Housekeeping every 200 ms: relay committed events. */
static void s_housekeeping(void *ctx, int64_t now_ms)
{
    (void)now_ms;
    sampler_t *self = ctx;
    while (outbox_relay_once(self->pg, self->rds, self->relay_batch) == self->relay_batch)
        ;
}

int sampler_run(const cfg_t *cfg)
{
    const char *level = cfg_str(cfg, "LZ_SAMPLER_STRATUM_LEVEL");
    if (strcmp(level, "community") != 0 && strcmp(level, "township") != 0) {
        log_error("setting LZ_SAMPLER_STRATUM_LEVEL must be community or township");
        return 2;
    }
    if (sodium_init() < 0) {
        log_error("could not initialise libsodium");
        return 1;
    }
    sampler_tune_malloc();
    sampler_t self;
    memset(&self, 0, sizeof self);
    self.relay_batch = (int)cfg_int(cfg, "LZ_RELAY_BATCH");
    sampler_defaults_from_cfg(cfg, &self.defaults);
    self.public_anonymous = cfg_bool(cfg, "LZ_SAMPLER_PUBLIC_ANONYMOUS");
    if (sampler_check_settings_from_cfg(cfg, &self) != 0)
        return 2;
    self.pg = pg_connect(cfg_str(cfg, "LZ_PG_URL"), 60, 500);
    if (!self.pg)
        return 1;
    /* JIT costs the province frame query more than it saves (bench/sampler_plan.sh) */
    pg_exec(self.pg, "SET jit = off", 0, NULL);
    self.rds = rds_connect(cfg_str(cfg, "LZ_REDIS_HOST"), (int)cfg_int(cfg, "LZ_REDIS_PORT"), 2000);
    if (!self.rds) {
        pg_destroy(&self.pg);
        return 1;
    }
    rpc_worker_t *worker = rpc_worker_new(cfg_str(cfg, "LZ_BROKER"), "sampler", s_methods,
                                          sizeof s_methods / sizeof s_methods[0], &self, 1);
    rpc_worker_set_timer(worker, 200, s_housekeeping);
    log_info("sampler serving %zu methods", sizeof s_methods / sizeof s_methods[0]);
    int rc = rpc_worker_run(worker);
    rpc_worker_destroy(&worker);
    rds_destroy(&self.rds);
    pg_destroy(&self.pg);
    return rc == 0 ? 0 : 1;
}

void sampler_tune_malloc(void)
{
    /* A province plan holds a 1M-row PGresult; freeing it in a heap that trims on every
     * free costs seconds of brk calls and TLB flushes (perf, bench/sampler_plan.sh).  Keep
     * freed memory; sampler_create_plan gives it back once at its end (malloc_trim). */
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
    mallopt(M_TOP_PAD, 16 << 20);
}

/* ---- phase timings (the benchmark) --- */

int64_t sampler_phase_start(const sampler_phases_t *p)
{
    return p ? clock_mono_ms() : 0;
}

void sampler_phase(sampler_phases_t *p, const char *name, int64_t *t0)
{
    if (!p)
        return;
    int64_t now = clock_mono_ms();
    if (p->n < SAMPLER_PHASES_MAX) {
        p->name[p->n] = name;
        p->ms[p->n++] = now - *t0;
    }
    *t0 = now;
}

/* ---- write helpers --------------------------------------------------------------------------- */

void sampler_db_failed(pg_t *pg, rpc_reply_t *rep)
{
    pg_rollback(pg);
    rpc_reply_error(rep, LZ__STATUS__UNAVAILABLE, NULL, "database unavailable");
}

void sampler_caller_key(const Lz__Caller *c, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%" PRId64, c && c->role ? c->role : "none",
             c && c->has_token_id ? c->token_id : (int64_t)0);
}

int sampler_event(pg_t *pg, const char *topic, int64_t business_id, const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = xmalloc(len + 1);
    protobuf_c_message_pack(msg, buf);
    char key[24];
    snprintf(key, sizeof key, "%" PRId64, business_id);
    int rc = outbox_write(pg, topic, key, buf, len);
    free(buf);
    return rc;
}
