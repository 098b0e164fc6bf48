/*
 * intake_server.h - the intake service: registry, ledgers, visits.
 *
 * One intake_t per worker process, and one more per lane (LZ_INTAKE_LANES:
 * the threads that write groups of records while the worker gathers the
 * next): database and Redis connections, settings, checklist cache.  Handlers live in one
 * module per concern (intake_registry.c, ...); this file ties them to the
 * worker loop and runs housekeeping (outbox relay, partitions) on a timer.
 */
#ifndef LZ_INTAKE_SERVER_H
#define LZ_INTAKE_SERVER_H

#include "cfg.h"
#include "intake_ledger.h"
#include "pg.h"
#include "rds.h"
#include "rpc.h"

typedef struct {
    pg_t *pg;
    rds_t *rds;
    int64_t next_partition_check_ms;
    int relay_batch;
    int visit_max_age_days; /* LZ_VISIT_MAX_AGE_DAYS (intake_visit.c) */
    ledger_rules_t rules;   /* LZ_LEDGER_* settings (intake_ledger.h) */
    int64_t clock_offset_s; /* LZ_CLOCK_OFFSET_S: test/demo only, added to the clock */
    char mark_sha[41];      /* SHA1 of the Redis mark script once loaded (intake_ledger.c) */
    bool relay_thread;      /* LZ_INTAKE_RELAY_THREAD: the outbox relay runs on its own thread */
    ledger_lists_t *lists;  /* checklist items, loaded on first use (intake_ledger.c) */
    const cfg_t *cfg;       /* where lanes find their connections */
} intake_t;

/* The settings intake reads, common ones included. */
extern const cfg_spec_t intake_spec[];
extern const size_t intake_spec_count;

/* Connect to PostgreSQL and Redis and serve until stopped; process exit code. */
int intake_run(const cfg_t *cfg);

/* Handlers (intake_registry.c). */
void intake_get_region(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep);

/* Bulk CSV imports (intake_import.c). */
void intake_import_regions(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep);
void intake_import_businesses(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep);
void intake_import_cadres(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep);
void intake_import_assignments(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep);
void intake_import_inspectors(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep);

#endif
