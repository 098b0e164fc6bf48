/*
 * scorer_events.h - the events the scorer consumes and the running aggregates they update.
 *
 * Topics (consumer group "scorer"): ledger.accepted, problem.opened,
 * problem.fixed, visit.recorded (intake), inspection.recorded (sampler),
 * warning.issued, warning.answered (notifier).  Each event is decoded into
 * a plain scorer_event_t (pure, unit-tested), then a batch of them is
 * applied in one PostgreSQL transaction: the outbox ids not found in
 * score_processed_sets count and are stored there as one set, so a
 * redelivered event changes nothing.
 *
 * Batching without losing at-least-once: the consumer's handler keeps a
 * first delivery in memory and leaves it pending; after the round the batch
 * is applied and committed, and only then acknowledged.  A batch that fails
 * is not acknowledged: its entries are reclaimed after the claim timeout and
 * applied one by one (a redelivery is always applied on its own), so one bad
 * event reaches the dead-letter stream alone.
 */
#ifndef LZ_SCORER_EVENTS_H
#define LZ_SCORER_EVENTS_H

#include "outbox.h"
#include "period.h"
#include "pg.h"
#include "rds.h"
#include "scorer_formula.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    SEV_LEDGER,
    SEV_PROBLEM_OPENED,
    SEV_PROBLEM_FIXED,
    SEV_VISIT,
    SEV_INSPECTION,
    SEV_WARNING_ISSUED,
    SEV_WARNING_ANSWERED
} scorer_event_type_t;

typedef struct {
    int64_t outbox_id;
    scorer_event_type_t type;
    int64_t business_id;
    char region[13];
    char quarter[PERIOD_TEXT_MAX]; /* ledger: of the period; visit: of visited_at; inspection */
    /* ledger */
    int kind; /* 0 daily, 1 weekly, 2 monthly */
    bool late;
    /* problems */
    int64_t problem_id;
    /* visits */
    int64_t visit_id, cadre_id;
    int findings, findings_open;
    /* inspections */
    int64_t plan_id;
    score_insp_t outcome;
    int64_t at; /* inspected_at, issued_at or answered_at (unix s) */
    /* warnings */
    int64_t warning_id, rectify_by;
    /* filled while applying */
    bool dup;
} scorer_event_t;

/* The topics consumed, NULL-terminated. */
extern const char *const scorer_topics[];

/*
 * Decode one event of topic.  0 = decoded into *out; 1 = nothing for the
 * scorer (acknowledge it); -1 = malformed (retry, then dead-letter).
 */
int scorer_event_decode(const char *topic, const uint8_t *payload, size_t len, int64_t outbox_id,
                        scorer_event_t *out);

/*
 * Apply ev[0..n) inside the caller's open transaction: skip the outbox ids
 * counted before (ev[i].dup set), add the rest to the aggregates, record
 * inspections and warnings, mark the businesses for regrading.  0, or -1
 * (logged; the caller rolls back).
 */
int scorer_apply(pg_t *pg, scorer_event_t *ev, size_t n);

/* Apply in a transaction of its own (begin, apply, commit); 0 or -1. */
int scorer_apply_tx(pg_t *pg, scorer_event_t *ev, size_t n);

/* Where scorer_apply's time went (microseconds, summed over the calls of
 * this process since the last reset): the phase timers the benchmark and
 * the service's debug log print.  Not synchronised: only one thread of a
 * process applies events. */
typedef struct {
    int64_t batches, events, fresh;
    int64_t us_processed; /* score_processed insert: which ids are new */
    int64_t us_problems;  /* problems looked up for problem events */
    int64_t us_build;     /* the delta arrays built in memory */
    int64_t us_business;  /* score_business_q upsert */
    int64_t us_cadre;     /* score_cadre_q and score_visit_pairs upserts */
    int64_t us_other;     /* inspections and warnings */
    int64_t us_dirty;     /* score_dirty marks */
    int64_t us_commit;    /* COMMIT of scorer_apply_tx */
    int64_t us_decode;    /* payloads decoded and staged (scorer_events_pump) */
    int64_t us_redis;     /* XAUTOCLAIM, XREADGROUP, XACK (scorer_events_pump) */
} scorer_apply_stats_t;

/* Copy the timers into *out and, with reset, zero them. */
void scorer_apply_stats(scorer_apply_stats_t *out, bool reset);

typedef struct scorer_events_s scorer_events_t;

/* Consumers of every topic as consumer `name` of group "scorer" (rds borrowed).
 * NULL (logged) on a Redis failure.  Destroy with scorer_events_destroy. */
scorer_events_t *scorer_events_new(rds_t *rds, const char *name, int max_attempts,
                                   int64_t claim_idle_ms);
void scorer_events_destroy(scorer_events_t **self_p);

/* One round over every topic: up to batch events each (the idle entries
 * reclaimed and up to 1000 new ones through outbox_consume, the rest of the
 * batch in one more XREADGROUP COUNT), applied in one transaction per topic
 * and acknowledged with one XACK.  Returns how many events were dealt with, or -1 when Redis
 * or PostgreSQL failed. */
int scorer_events_pump(scorer_events_t *self, pg_t *pg, int batch);

/* Delete the score_processed_sets rows older than older_than_s; how many
 * sets, or -1. */
int scorer_processed_purge(pg_t *pg, int64_t older_than_s);

#endif
