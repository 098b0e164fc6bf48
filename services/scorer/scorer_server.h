/*
 * scorer_server.h - the scorer service: scores, grades, rankings, lists.
 *
 * One scorer_t per worker process: its connections, settings and event
 * consumers.  A background thread (own connections) relays the outbox,
 * pumps the consumers (running aggregates), regrades dirty businesses,
 * computes the rankings (on its period and when asked through
 * SCORER_RANK_QUEUE) and, once a day, marks every business for a regrade;
 * the worker thread only answers requests, so heartbeats never starve.  Handlers live in
 * scorer_api.c (scores, rankings) and scorer_lists.c (red and notice lists).
 */
#ifndef LZ_SCORER_SERVER_H
#define LZ_SCORER_SERVER_H

#include "cfg.h"
#include "pg.h"
#include "rds.h"
#include "rpc.h"
#include "scorer_events.h"
#include "scorer_score.h"

/* Redis list of as-of instants (unix s) whose rankings were asked for. */
#define SCORER_RANK_QUEUE "lz:scorer:rank_queue"

typedef struct {
    pg_t *pg;
    rds_t *rds;
    scorer_cfg_t cfg;
    scorer_events_t *events;
    int relay_batch, event_batch, regrade_batch;
    int rank_interval_s, rank_w_ledger, rank_w_visit;
    int64_t next_rank_ms, next_daily_ms, next_purge_ms;
    int64_t clock_offset_s;
} scorer_t;

extern const cfg_spec_t scorer_spec[];
extern const size_t scorer_spec_count;

/* Fill cfg's formula settings from the loaded settings (pure but for cfg reads). */
void scorer_settings_from_cfg(const cfg_t *cfg, scorer_cfg_t *out);

/* Connect and serve until stopped; process exit code. */
int scorer_run(const cfg_t *cfg);

/* Handlers (scorer_api.c). */
void scorer_business_score(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep);
void scorer_cadre_score(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep);
void scorer_rankings(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep);
void scorer_compute_rankings(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep);

/* Handlers (scorer_lists.c). */
void scorer_list(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep);
void scorer_close_list(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep);
void scorer_record_reward(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep);

/* The region a ranking or list is about: the given one (visible to the
 * caller) or the caller's own; "" for an admin without one.  0, or -1 with
 * the answer set on rep. */
int scorer_scope_region(const Lz__Caller *c, const char *given, char *out, size_t len,
                        rpc_reply_t *rep);

/* The instant a handler works at: as_of when given (RFC 3339), else now. -1 when bad. */
int scorer_as_of(const scorer_t *self, const char *as_of, int64_t *out);

#endif
