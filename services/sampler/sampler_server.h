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

#include <stdbool.h>

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
} sampler_t;

/* The settings the sampler reads, common ones included. */
extern const cfg_spec_t sampler_spec[];
extern const size_t sampler_spec_count;

/* Fill d from cfg (which must have been loaded with sampler_spec). */
void sampler_defaults_from_cfg(const cfg_t *cfg, sampler_defaults_t *d);

/* Connect to PostgreSQL and Redis and serve until stopped; process exit code. */
int sampler_run(const cfg_t *cfg);

/* Handlers (sampler_plan.c). */
void sampler_create_plan(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep);
void sampler_get_plan(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep);
void sampler_verify_plan(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep);
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
