/*
 * intake_ledger.h - the three ledgers (三本账): records, their problems, checklists.
 *
 * Two halves.  The rules (intake_rules.c) are pure functions over the
 * request and plain structs, with "now" a parameter: period and kind,
 * not in the future, on time / late / refused by the back-fill window,
 * items against the checklist, problems against the failed items.  The
 * handlers (intake_ledger.c) are the intake methods: submit_record is a
 * batch method (group commit: the valid records of a batch are written
 * in one transaction with multi-row statements, then every request is
 * answered), fix_problem, list_records, list_problems, get_checklist.
 *
 * After a commit the Redis keys lz:done:<kind>:<period> (bitmap, bit =
 * business id) and lz:cnt:<kind>:<period> (hash, "<region>:submitted",
 * "<region>:late", "<region>:problems" for the community and every
 * ancestor) are updated by one Lua script per record that counts only
 * when the bit was not yet set; ledger_cache_rebuild restores them from
 * PostgreSQL.
 */
#ifndef LZ_INTAKE_LEDGER_H
#define LZ_INTAKE_LEDGER_H

#include "envelope.pb-c.h"
#include "ledger.pb-c.h"
#include "period.h"
#include "pg.h"
#include "rds.h"
#include "rpc.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- rules (intake_rules.c, pure) ------------------------------------- */

#define LEDGER_ITEMS_MAX    200   /* items in one record */
#define LEDGER_PROBLEMS_MAX 200   /* problems in one record */
#define LEDGER_TEXT_MAX     1000  /* bytes of a note, description, action */
#define LEDGER_NAME_MAX     200   /* bytes of submitted_by */
#define LEDGER_SUMMARY_MAX  20000 /* bytes of a weekly/monthly summary */

/* The settings the timing rules read (LZ_LEDGER_* in intake_spec). */
typedef struct {
    int64_t grace_s;  /* added to every period's end to give its deadline */
    int late_days[3]; /* back-fill window after the deadline: daily, weekly, monthly */
} ledger_rules_t;

/* Fill r with the defaults: grace 0, windows 3 / 7 / 10 days. */
void ledger_rules_default(ledger_rules_t *r);

typedef enum {
    LEDGER_ON_TIME, /* now < deadline */
    LEDGER_LATE,    /* deadline <= now < deadline + window */
    LEDGER_REFUSED, /* the back-fill window has passed */
    LEDGER_FUTURE   /* the period has not begun */
} ledger_timing_t;

/* Returns where now falls for period p (daily, weekly or monthly) under r. */
ledger_timing_t ledger_timing(const ledger_rules_t *r, const period_t *p, int64_t now);

/* What a rule refused: the reply status, the field at fault, a lower-case reason. */
typedef struct {
    Lz__Status status;
    char field[64];
    char message[256];
} ledger_error_t;

/*
 * Check a submission's own fields (business_id, kind, period, submitted_by,
 * lengths, summary only for weekly/monthly) and its timing at now.  Returns
 * 0 and sets *period and *late, or -1 with err filled.
 */
int ledger_check_submission(const ledger_rules_t *r, const Lz__SubmitRecordRequest *in, int64_t now,
                            period_t *period, bool *late, ledger_error_t *err);

/* One item of a checklist, as the item rules see it. */
typedef struct {
    const char *code;
    bool required;
} ledger_item_def_t;

/*
 * Check answers against a checklist of ndefs items: every answer has a code
 * of the list, given once, and ok; a failed one has a note; every required
 * item is answered.  Returns 0, or -1 with err filled (field "items[i].x",
 * or "items" naming a missing required item).
 */
int ledger_check_items(const ledger_item_def_t *defs, size_t ndefs, Lz__RecordItem *const *items,
                       size_t nitems, ledger_error_t *err);

/*
 * Check problems against the answers: each names a failed item ("item"),
 * at most one per item, texts within bounds.  Returns 0, or -1 with err.
 */
int ledger_check_problems(Lz__RecordItem *const *items, size_t nitems,
                          Lz__RecordProblem *const *problems, size_t nproblems,
                          ledger_error_t *err);

/* Returns the problem of in that names item code, or NULL. */
const Lz__RecordProblem *ledger_problem_for(const Lz__SubmitRecordRequest *in, const char *code);

/* The checklist items a worker (or lane) keeps, by type and kind; freed with
 * its intake_t. */
typedef struct ledger_lists_s ledger_lists_t;
void ledger_lists_free(ledger_lists_t **lists_p);

/* ---- handlers (intake_ledger.c); ctx is the intake_t ------------------- */

void intake_submit_records(void *ctx, size_t n, const Lz__Envelope *const *reqs, rpc_reply_t *reps);
void intake_fix_problem(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep);
void intake_list_records(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep);
void intake_list_problems(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep);
void intake_get_checklist(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep);

/*
 * Update the done bitmap and the region counters of one committed record:
 * counted only when its bit was not yet set.  Returns 1 when it counted,
 * 0 when the bit was already set, -1 on a Redis failure (logged).
 */
int ledger_cache_mark(rds_t *rds, int64_t business_id, const char *region_code, const char *kind,
                      const char *period, bool late, int failed);

/*
 * Rebuild lz:done:<kind>:<period> and lz:cnt:<kind>:<period> from the
 * records in PostgreSQL (built under temporary keys, then renamed over the
 * old ones).  Returns the number of records counted, or -1 (logged).
 */
long ledger_cache_rebuild(pg_t *pg, rds_t *rds, const char *kind, const char *period);

#endif
