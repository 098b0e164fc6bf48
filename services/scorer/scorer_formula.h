/*
 * scorer_formula.h - the scoring rules as pure functions (DOMAIN.md "Scores").
 *
 * Nothing here reads the clock, the database or the environment: every
 * function takes plain inputs and settings and returns a result that says
 * why, as a list of components (name, value, weight, points, detail).
 *
 * Owed ledgers (what a business must have submitted in a quarter), exactly:
 *   - horizon = as_of for an active business; for a suspended or closed one
 *     min(as_of, the time its status last changed);
 *   - a period of kind K belongs to quarter Q when its first day is in Q (a
 *     week by its Monday, as period_quarter_of does);
 *   - it is owed when it ended after the business was created
 *     (created_at < end) and its deadline (end + grace) is <= horizon; a
 *     daily period on a declared rest day is not owed;
 *   - a ledger submitted for a period of Q that is not yet due (today's,
 *     this week's, this month's) counts as owed too, so submitting early
 *     never lowers a rate (score_not_due_from gives where those start).
 *
 * Business compliance (0..100), weights as settings (default 40/15/15/15/15):
 *   ledger rate of kind K = min(owed, on_time + late_credit * late) / owed
 *     (1 when nothing is owed);
 *   rectification = min(1, fixed / opened) over the problems opened in the
 *     quarter that were left open when reported (1 when none);
 *   inspection = latest in the quarter: pass 1, pass_with_remarks
 *     remarks_credit, fail 0, none 1;
 *   minus warning_penalty per unanswered warning (past rectify_by, no answer);
 *   points = weight * rate rounded to 0.01; score = sum clamped to 0..100.
 *
 * Risk (0..100) = static (<= 40: type + scale points) + dynamic (<= 60:
 *   dyn_compliance * (100 - compliance) / 100 + dyn_fail for a failed latest
 *   inspection or dyn_remarks for one passed with remarks);
 *   grade A <= band[0] < B <= band[1] < C <= band[2] < D.
 *
 * Cadre evaluation (0..100), weights as settings (default 40/10/20/15/15):
 *   visit completion = done / owed (1 when nothing is owed);
 *   problems found = min(1, findings / (found_target_pct/100 * visits)),
 *     1 when there were no visits;
 *   rectification = fixed / findings (1 when none);
 *   overdue tasks = max(0, 1 - overdue * overdue_step_pct / 100);
 *   inspections of its businesses = (pass + remarks_credit * remarks) / n
 *     (1 when none).
 */
#ifndef LZ_SCORER_FORMULA_H
#define LZ_SCORER_FORMULA_H

#include "period.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCORE_COMP_MAX   8
#define SCORE_NAME_MAX   32
#define SCORE_DETAIL_MAX 160
#define SCORE_REASON_MAX 4

typedef enum { SCORE_INSP_NONE, SCORE_INSP_PASS, SCORE_INSP_REMARKS, SCORE_INSP_FAIL } score_insp_t;

/* Business types and scales in the registry's words, indexed 0..4 and 0..3. */
#define SCORE_TYPES  5
#define SCORE_SCALES 4

typedef struct {
    /* compliance */
    int w_ledger[3]; /* daily, weekly, monthly */
    int w_problems, w_inspection;
    int late_credit_pct;    /* share of a late ledger's credit, percent */
    int remarks_credit_pct; /* share of a pass with remarks, percent */
    int warning_penalty;    /* points per unanswered warning */
    /* risk */
    int static_type[SCORE_TYPES];   /* production, sales, catering, canteen, small_workshop */
    int static_scale[SCORE_SCALES]; /* large, medium, small, micro */
    int static_max;                 /* 40 */
    int dyn_compliance;             /* 45: points when compliance is 0 */
    int dyn_fail, dyn_remarks;      /* 15, 5 */
    int dyn_max;                    /* 60 */
    int band[3];                    /* A <= 30 < B <= 45 < C <= 60 < D */
    /* cadres */
    int wc_visits, wc_found, wc_rectified, wc_overdue, wc_inspections;
    int found_target_pct;  /* findings expected per 100 visits */
    int overdue_step_pct;  /* what each overdue task takes off its component */
    int commend_pct;       /* top share commended */
    int notice_bottom_pct; /* bottom share named in the notice */
    int notice_floor;      /* below this score: named in the notice */
    /* lists */
    int red_min;    /* 95 */
    int notice_max; /* 60: below it on the notice list */
} score_settings_t;

/* Fill s with DOMAIN.md's defaults. */
void score_settings_default(score_settings_t *s);

typedef struct {
    char name[SCORE_NAME_MAX];
    double value;
    double weight;
    double points;
    char detail[SCORE_DETAIL_MAX];
} score_component_t;

typedef struct {
    double score;
    size_t n;
    score_component_t comp[SCORE_COMP_MAX];
} score_result_t;

/* ---- periods ---------------------------------------------------------------- */

/* Write the quarter ("2026-Q4") holding period text p into out
 * (PERIOD_TEXT_MAX bytes).  0, or -1 when p is not a period. */
int score_quarter_of_text(const char *p, char *out);
/* Write the quarter holding instant t into out.  0 or -1. */
int score_quarter_of_time(int64_t t, char *out);

/*
 * Count the periods of kind (daily, weekly, monthly) of quarter q that are
 * owed at horizon by a business created at created_at (see the top of this
 * file); rest[0..nrest) are the local midnights of declared rest days (any
 * order, any range).  0 when q is not a quarter.
 */
int score_owed(period_kind_t kind, const period_t *q, int64_t created_at, int64_t horizon,
               int64_t grace_s, const int64_t *rest, size_t nrest);

/* The first instant of the earliest period of kind in q not due at horizon
 * (a ledger for it submitted early counts as owed), or q's end when all are. */
int64_t score_not_due_from(period_kind_t kind, const period_t *q, int64_t horizon, int64_t grace_s);

/* ---- businesses --------------------------------------------------------------- */

typedef struct {
    int owed, on_time, late;
} score_ledger_t;

typedef struct {
    score_ledger_t ledger[3]; /* daily, weekly, monthly */
    int problems_opened, problems_fixed;
    score_insp_t inspection; /* latest in the quarter */
    int warnings_unanswered;
} score_business_in_t;

/* Compliance with its components (daily, weekly, monthly, rectification,
 * inspection, warnings). */
void score_business(const score_business_in_t *in, const score_settings_t *s, score_result_t *out);

/* Index of a type / scale name, or -1. */
int score_type_index(const char *type);
int score_scale_index(const char *scale);

/* Risk score with its components (static type, static scale, dynamic
 * compliance, dynamic inspection); *grade gets 'A'..'D'. */
void score_risk(int type_idx, int scale_idx, double compliance, score_insp_t inspection,
                const score_settings_t *s, score_result_t *out, char *grade);

/* The grade of a risk score under the bands. */
char score_grade_of(double risk, const score_settings_t *s);

/* Parse an inspection outcome ("pass", "pass_with_remarks", "fail"); -1 if none of them. */
int score_insp_parse(const char *outcome, score_insp_t *out);

/* ---- lists ---------------------------------------------------------------------- */

typedef struct {
    size_t n;
    char r[SCORE_REASON_MAX][64];
} score_reasons_t;

/*
 * Red list (红榜): compliance >= red_min, no open problem, no failed
 * inspection in the quarter, insured.  True when eligible; reasons get
 * why (when eligible) or every criterion it misses.
 */
bool score_red_eligible(double compliance, int open_problems, bool failed_inspection, bool insured,
                        const score_settings_t *s, score_reasons_t *why);

/* Notice list (反面通报): compliance < notice_max, a failed inspection, or a
 * warning left unanswered.  True when listed; reasons say which. */
bool score_notice_listed(double compliance, bool failed_inspection, int warnings_unanswered,
                         const score_settings_t *s, score_reasons_t *why);

/* ---- cadres ---------------------------------------------------------------------- */

typedef struct {
    int visits_owed, visits_done; /* per assignment, capped at what is owed */
    int visits;                   /* visits made in the quarter */
    int findings, findings_fixed;
    int overdue_tasks;
    int insp_pass, insp_remarks, insp_fail;
} score_cadre_in_t;

void score_cadre(const score_cadre_in_t *in, const score_settings_t *s, score_result_t *out);

typedef struct {
    int rank; /* 1 = best; ties share a rank */
    bool commended, on_notice;
} score_standing_t;

/*
 * Rank n scores of one district (competition ranking: 1, 2, 2, 4) and mark
 * the top commend_pct (ceil) commended and the bottom notice_bottom_pct
 * (ceil) plus anyone below notice_floor on notice; a tie with a better
 * place keeps that place's standing.  out[i] answers scores[i].
 */
void score_standings(const double *scores, size_t n, const score_settings_t *s,
                     score_standing_t *out);

/* Round to two decimals (half away from zero). */
double score_round2(double x);

#endif
