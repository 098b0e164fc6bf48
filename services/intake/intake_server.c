/*
 * intake_server.c - the intake worker: method table, housekeeping, loop.
 */
#include "intake_server.h"
#include "clock.h"
#include "log.h"
#include "outbox.h"

#include <string.h>

const cfg_spec_t intake_spec[] = {
    {"LZ_PG_URL", CFG_STR, "postgresql://lz_app@127.0.0.1:55432/liangze", 1, 0, true,
     "PostgreSQL connection string of the service role"},
    {"LZ_REDIS_HOST", CFG_STR, "127.0.0.1", 1, 255, false, "Redis host"},
    {"LZ_REDIS_PORT", CFG_INT, "56379", 1, 65535, false, "Redis port"},
    {"LZ_BROKER", CFG_STR, "tcp://127.0.0.1:55555", 1, 255, false, "broker endpoint"},
    {"LZ_LOG_LEVEL", CFG_STR, "info", 1, 8, false, "debug, info, warn, error or off"},
    {"LZ_INTAKE_CREDIT", CFG_INT, "64", 1, 4096, false, "requests a worker takes at once"},
    {"LZ_RELAY_BATCH", CFG_INT, "500", 1, 100000, false, "outbox events relayed per round"},
};
const size_t intake_spec_count = sizeof intake_spec / sizeof intake_spec[0];

static const rpc_method_t s_methods[] = {
    {"intake.get_region", intake_get_region, NULL},
};

/* Housekeeping every 200 ms: relay committed events; hourly, make partitions ahead. */
static void s_housekeeping(void *ctx, int64_t now_ms)
{
    intake_t *self = ctx;
    while (outbox_relay_once(self->pg, self->rds, self->relay_batch) == self->relay_batch)
        ;
    if (now_ms >= self->next_partition_check_ms) {
        pg_exec(self->pg, "SELECT lz_ensure_partitions_all(3)", 0, NULL);
        self->next_partition_check_ms = now_ms + 3600 * 1000;
    }
}

int intake_run(const cfg_t *cfg)
{
    intake_t self;
    memset(&self, 0, sizeof self);
    self.relay_batch = (int)cfg_int(cfg, "LZ_RELAY_BATCH");
    self.pg = pg_connect(cfg_str(cfg, "LZ_PG_URL"), 60, 500);
    if (!self.pg)
        return 1;
    self.rds = rds_connect(cfg_str(cfg, "LZ_REDIS_HOST"), (int)cfg_int(cfg, "LZ_REDIS_PORT"), 2000);
    if (!self.rds) {
        pg_destroy(&self.pg);
        return 1;
    }
    rpc_worker_t *worker =
        rpc_worker_new(cfg_str(cfg, "LZ_BROKER"), "intake", s_methods,
                       sizeof s_methods / sizeof s_methods[0], &self,
                       (int)cfg_int(cfg, "LZ_INTAKE_CREDIT"));
    rpc_worker_set_timer(worker, 200, s_housekeeping);
    log_info("intake serving %zu methods", sizeof s_methods / sizeof s_methods[0]);
    int rc = rpc_worker_run(worker);
    rpc_worker_destroy(&worker);
    rds_destroy(&self.rds);
    pg_destroy(&self.pg);
    return rc == 0 ? 0 : 1;
}
