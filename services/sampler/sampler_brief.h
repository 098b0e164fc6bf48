/*
 * sampler_brief.h - the record check of a drawn business (its ledgers over the plan's
 * quarter, its problems, its cadres' visits) read from the database, and the inspection
 * checklist of its type.  Used by the brief an inspector reads before the visit and by
 * the inspection, which stores the check as the inspector saw it.
 */
#ifndef LZ_SAMPLER_BRIEF_H
#define LZ_SAMPLER_BRIEF_H

#include "pg.h"
#include "sampler.pb-c.h"
#include "sampler_check.h"
#include "sampler_server.h"

/* One assignment of the business with its cadre. */
typedef struct {
    int64_t cadre_id;
    char name[104];
    char level[12];
    visit_freq_t freq;
    bool current;
    visit_tally_t t;
} brief_visit_t;

/* A record check and the message views of it (fill with sampler_record_check_load). */
typedef struct {
    char quarter[PERIOD_TEXT_MAX], from[RFC3339_TEXT_MAX], as_of[RFC3339_TEXT_MAX];
    char status[16];
    ledger_tally_t ledgers[3];
    int problems_open, problems_overdue, opened_in_q, fixed_in_q, rest_days;
    brief_visit_t *visits;
    size_t nvisits;
    int visits_owed, visits_met;
    /* the message: msg and what it points to live here */
    Lz__RecordCheck msg;
    Lz__LedgerTally lt[3];
    Lz__LedgerTally *ltp[3];
    char *missp[3][CHECK_MISSING_LIST_MAX];
    Lz__VisitTally *vt, **vtp;
} record_check_t;

/*
 * Load the record check of business business_id (region region, status status) over
 * quarter q up to as_of = min(now, end of q), with self's settings, and build rc->msg.
 * Returns 0, or -1 on a database failure (logged).  Free with sampler_record_check_clear.
 */
int sampler_record_check_load(pg_t *pg, const sampler_t *self, int64_t business_id,
                              const char *region, const char *status, const period_t *q,
                              int64_t now, record_check_t *rc);
void sampler_record_check_clear(record_check_t *rc);

/* An inspection checklist: its id, version and items (codes and key flags point into res). */
typedef struct {
    int64_t id;
    int version;
    PGresult *res; /* code, text, measure, category, required */
    check_item_t *items;
    size_t nitems;
} brief_checklist_t;

/* Load the inspection checklist of business type type, version (0: the latest).
 * Returns 1 found, 0 none, -1 database failure. Free with sampler_checklist_clear. */
int sampler_checklist_load(pg_t *pg, const char *type, int version, brief_checklist_t *cl);
void sampler_checklist_clear(brief_checklist_t *cl);

#endif
