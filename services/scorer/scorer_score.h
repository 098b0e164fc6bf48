/*
 * scorer_score.h - scores from PostgreSQL: business and cadre inputs read in
 * sets, the formulas applied (scorer_formula.h), grades kept with their
 * history, and the full recompute of the running aggregates.
 */
#ifndef LZ_SCORER_SCORE_H
#define LZ_SCORER_SCORE_H

#include "pg.h"
#include "scorer_formula.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the service knows at start: settings and which optional tables exist. */
typedef struct {
    score_settings_t s;
    int64_t grace_s;        /* LZ_LEDGER_GRACE_S, as intake */
    int visits_per_quarter; /* visits owed per assignment per quarter */
    bool notifier_warnings; /* the notifier's warnings table exists */
    bool scheduler_tasks;   /* the scheduler's tasks table exists */
} scorer_cfg_t;

/* Look up the optional tables of other services (warnings, tasks); 0 or -1. */
int scorer_cfg_probe(pg_t *pg, scorer_cfg_t *cfg);

typedef struct {
    int64_t id;
    char name[208];
    char region[13];
    char type[16], scale[8], status[12];
    bool insured;
    char registry_grade, stored_grade; /* stored_grade '\0' when none yet */
    score_business_in_t in;
    int open_problems;
    bool failed_inspection;
    score_result_t compliance, risk;
    char grade;
} scorer_bscore_t;

/*
 * Score businesses for quarter q as of as_of: those in ids[0..nids) when
 * ids is not NULL, else up to limit of those under region (a code prefix,
 * "" for all) with id > after, by id.  Returns a new array (caller frees)
 * and its length in *n, or NULL (logged) on a database failure.
 */
scorer_bscore_t *scorer_business_scores(pg_t *pg, const scorer_cfg_t *cfg, const period_t *q,
                                        int64_t as_of, const int64_t *ids, size_t nids,
                                        const char *region, int64_t after, int limit, size_t *n);

typedef struct {
    int64_t id;
    char name[104];
    char level[12];
    char region[13];
    char group[13]; /* the district it is ranked in */
    score_cadre_in_t in;
    score_result_t result;
    score_standing_t standing;
    int ranked;
} scorer_cscore_t;

/*
 * Score every active cadre under region (a code prefix) for quarter q and
 * rank them within their districts.  New array (caller frees), length in
 * *n; NULL (logged) on failure.
 */
scorer_cscore_t *scorer_cadre_scores(pg_t *pg, const scorer_cfg_t *cfg, const period_t *q,
                                     int64_t as_of, const char *region, size_t *n);

/* The significant prefix of a region code (its jurisdiction as a LIKE prefix). */
void scorer_region_prefix(const char *code, char *out, size_t len);

/*
 * Regrade up to limit businesses marked dirty, as of as_of (their current
 * quarter): a grade that changed is stored with its reasons in
 * score_grade_history and announced as score.grade_changed, in one
 * transaction.  Returns how many were looked at, or -1.
 */
int scorer_regrade(pg_t *pg, const scorer_cfg_t *cfg, int64_t as_of, int limit);

/* Mark every active business dirty (the daily full regrade); count or -1. */
int scorer_mark_all_dirty(pg_t *pg);

/*
 * Recompute quarter's aggregates from records, problems and visits (for
 * businesses and cadres under region, a code prefix, "" for all) and
 * compare them with the running ones.  With fix, replace the running rows
 * with the recomputed ones.  Returns the number of rows that differed
 * (up to 10 described in report), or -1.
 */
int scorer_recompute(pg_t *pg, const char *quarter, const char *region, bool fix, char *report,
                     size_t reportlen);

#endif
