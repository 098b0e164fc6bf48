/*
 * scheduler_server.h - the scheduler service: deadlines, tasks, escalation ladders.
 *
 * One sched_t per worker process: its database and Redis connections, its
 * settings, its consumers of intake's and the notifier's events, and the
 * lease that makes one scheduler of a scope the active one.  The sweep
 * (scheduler_sweep.c) opens the tasks of every deadline due, fires every
 * ladder step due and closes what arrived; the handlers (scheduler_tasks.c)
 * answer the API; scheduler_events.c closes tasks as the owed things arrive.
 */
#ifndef LZ_SCHEDULER_SERVER_H
#define LZ_SCHEDULER_SERVER_H

#include "cfg.h"
#include "outbox.h"
#include "pg.h"
#include "rds.h"
#include "rpc.h"
#include "scheduler_deadline.h"
#include "scheduler_ladder.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    pg_t *pg;
    rds_t *rds;
    char scope[REGION_CODE_LEN + 1]; /* LZ_SCHEDULER_SCOPE: region code prefix, "" = all */
    int64_t grace_s;                 /* LZ_LEDGER_GRACE_S */
    int64_t lookback_s;              /* LZ_SCHEDULER_LOOKBACK_S: first sweep of a scope */
    int64_t catchup_max_s;           /* longest window one sweep catches up */
    int64_t unassigned_grace_s;      /* LZ_UNASSIGNED_GRACE_DAYS in seconds */
    visit_freq_t visit_freq[4];      /* city, county, township, village */
    int batch;                       /* tasks per escalation transaction */
    int relay_batch;
    bool auto_sweep; /* LZ_SCHEDULER_AUTO_SWEEP */
    int64_t sweep_interval_ms;
    int64_t next_sweep_ms;
    int64_t lease_check_ms;
    int64_t next_lease_ms;
    bool leader;            /* holds the lease of its scope */
    int64_t clock_offset_s; /* LZ_CLOCK_OFFSET_S: test/demo only */
    outbox_consumer_t *c_ledger, *c_visit, *c_warn_issued, *c_warn_answered, *c_grade;
    char level_by_grade[4][16]; /* LZ_VISIT_LEVEL_BY_GRADE: the level owing visits, A..D */
    char consumer[64];
    char pg_url[1024]; /* LZ_PG_URL: a second connection reads escalation batches ahead */
} sched_t;

/* What a sweep did. */
typedef struct {
    int64_t opened, escalated, closed;
    int64_t deadlines; /* deadlines processed */
} sweep_result_t;

extern const cfg_spec_t scheduler_spec[];
extern const size_t scheduler_spec_count;

/* Fill self's settings from cfg (no connections).  0, or -1 (logged) on a bad value. */
int sched_configure(sched_t *self, const cfg_t *cfg);

/* Connect, serve until stopped; process exit code. */
int scheduler_run(const cfg_t *cfg);

/*
 * Run everything due by as_of (unix seconds) for self's scope: each deadline
 * not yet processed since the watermark, unanswered warnings, unassigned
 * businesses, then every ladder step due.  Sweeps of one scope run one at a
 * time (an advisory lock), whichever process asks.  0 with *res filled, or -1
 * (logged; what was committed stays, a new sweep continues from there).
 */
int sched_sweep(sched_t *self, int64_t as_of, sweep_result_t *res);

/* Load ladder name's steps from PostgreSQL into *out: 0, 1 when there is no such ladder, -1. */
int sched_ladder_load(pg_t *pg, const char *name, ladder_t *out);

/* Try to take (or confirm) the lease of self's scope; true when self holds it. */
bool sched_lease(sched_t *self);

/* Event handlers (scheduler_events.c); ctx is the sched_t. */
int sched_on_ledger_accepted(void *ctx, const outbox_event_t *ev);
int sched_on_visit_recorded(void *ctx, const outbox_event_t *ev);
int sched_on_warning_issued(void *ctx, const outbox_event_t *ev);
int sched_on_warning_answered(void *ctx, const outbox_event_t *ev);
/* score.grade_changed: the business's grade from then on (scheduler_grades); 0 or -1. */
int sched_on_grade_changed(void *ctx, const outbox_event_t *ev);

/* Handlers (scheduler_tasks.c). */
void sched_h_sweep(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep);
void sched_h_list_tasks(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep);
void sched_h_ledger_stats(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep);
void sched_h_get_ladder(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep);
void sched_h_put_ladder(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep);
void sched_h_get_letter(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep);
void sched_h_list_letters(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep);

#endif
