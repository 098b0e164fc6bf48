/*
 * sampler_server.h - the sampler service: quarterly spot-check plans (四不两直), inspections,
 * the published results (双随机一公开).
 *
 * One sampler_t per worker process: its connections, its settings and the method table it
 * serves through the broker.  Handlers live in sampler_plan.c (create, get, verify) and
 * sampler_inspect.c (inspections, conflicts, the public list); the draw itself is the pure
 * sampler_draw.c.  This file ties them to the worker loop, runs the outbox relay on a timer
 * and holds the write helpers they share (request-id claims, stored answers, events).
 */
#ifndef LZ_SAMPLER_SERVER_H
#define LZ_SAMPLER_SERVER_H

#include "cfg.h"
#include "pg.h"
#include "rds.h"
#include "rpc.h"
#include "visit.h"

#include <stdbool.h>

/* Phase timings of a plan build or verify, for the benchmark (bench/sampler_plan.c); the
 * service leaves them off (NULL). */
#define SAMPLER_PHASES_MAX 16
typedef struct {
    int n;
    const char *name[SAMPLER_PHASES_MAX];
    int64_t ms[SAMPLER_PHASES_MAX];
} sampler_phases_t;

/* If p is not NULL: record the monotonic ms since *t0 as phase name, and restart *t0. */
void sampler_phase(sampler_phases_t *p, const char *name, int64_t *t0);
/* Returns the monotonic clock in ms if p is not NULL, else 0. */
int64_t sampler_phase_start(const sampler_phases_t *p);

/* Defaults of a plan's settings (LZ_SAMPLER_* settings). */
typedef struct {
    int n_per_stratum;
    bool township; /* strata are townships (else communities) */
    bool weighted;
    int weight[4]; /* A, B, C, D */
    bool exclude_previous;
} sampler_defaults_t;

typedef struct {
    pg_t *pg;
    rds_t *rds;
    int relay_batch;
    sampler_defaults_t defaults;
    bool public_anonymous; /* LZ_SAMPLER_PUBLIC_ANONYMOUS */
    int64_t grace_s;       /* LZ_LEDGER_GRACE_S: a ledger is owed once end + grace passed */
    visit_freq_t visit_freq[VISIT_LEVELS]; /* city, county, township, village */
    int problem_due_days;     /* LZ_SAMPLER_PROBLEM_DUE_DAYS: an open problem older is overdue */
    int fail_general;         /* LZ_SAMPLER_FAIL_GENERAL: failed general items that fail */
    sampler_phases_t *phases; /* NULL; the benchmark's timings of create_plan */
} sampler_t;

/* The settings the sampler reads, common ones included. */
extern const cfg_spec_t sampler_spec[];
extern const size_t sampler_spec_count;

/* Fill d from cfg (which must have been loaded with sampler_spec). */
void sampler_defaults_from_cfg(const cfg_t *cfg, sampler_defaults_t *d);

/* Fill self's inspection settings (grace, visit frequencies, problem due days, fail
 * threshold) from cfg.  Returns 0, or -1 (logged) on a bad visit preset or frequency. */
int sampler_check_settings_from_cfg(const cfg_t *cfg, sampler_t *self);

/* Set the process's malloc to keep freed memory (no trimming per free): call once at
 * start.  Big plans then free their frame without thousands of brk calls. */
void sampler_tune_malloc(void);

/* Connect to PostgreSQL and Redis and serve until stopped; process exit code. */
int sampler_run(const cfg_t *cfg);

/* Handlers (sampler_plan.c). */
void sampler_create_plan(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep);
void sampler_get_plan(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep);
void sampler_verify_plan(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep);
void sampler_list_plans(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep);
/* Handlers (sampler_brief.c). */
void sampler_inspection_brief(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep);
/* Handlers (sampler_inspect.c). */
void sampler_record_inspection(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep);
void sampler_public_plan(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep);
void sampler_declare_conflict(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep);

/* ---- write helpers shared by the handlers ---- */

/* "role/token id": who created a plan (buf of at least 96 bytes). */
void sampler_caller_key(const Lz__Caller *c, char *buf, size_t len);

/* Write msg to the outbox under topic keyed by the business id; 0 or -1. */
int sampler_event(pg_t *pg, const char *topic, int64_t business_id, const ProtobufCMessage *msg);
/* Roll back and answer UNAVAILABLE. */
void sampler_db_failed(pg_t *pg, rpc_reply_t *rep);

#endif
