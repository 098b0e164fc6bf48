/*
 * scorer_formula.c - the scoring rules as pure functions (see scorer_formula.h).
 */
#include "scorer_formula.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const s_types[SCORE_TYPES] = {"production", "sales", "catering", "canteen",
                                                 "small_workshop"};
static const char *const s_scales[SCORE_SCALES] = {"large", "medium", "small", "micro"};
static const char *const s_kind_names[3] = {"daily_ledgers", "weekly_ledgers", "monthly_ledgers"};

void score_settings_default(score_settings_t *s)
{
    memset(s, 0, sizeof *s);
    s->w_ledger[0] = 40;
    s->w_ledger[1] = 15;
    s->w_ledger[2] = 15;
    s->w_problems = 15;
    s->w_inspection = 15;
    s->late_credit_pct = 50;
    s->remarks_credit_pct = 50;
    s->warning_penalty = 5;
    static const int type[SCORE_TYPES] = {25, 10, 20, 25, 15};
    static const int scale[SCORE_SCALES] = {15, 10, 5, 0};
    memcpy(s->static_type, type, sizeof type);
    memcpy(s->static_scale, scale, sizeof scale);
    s->static_max = 40;
    s->dyn_compliance = 45;
    s->dyn_fail = 15;
    s->dyn_remarks = 5;
    s->dyn_max = 60;
    s->band[0] = 30;
    s->band[1] = 45;
    s->band[2] = 60;
    s->wc_visits = 40;
    s->wc_found = 10;
    s->wc_rectified = 20;
    s->wc_overdue = 15;
    s->wc_inspections = 15;
    s->found_target_pct = 20;
    s->overdue_step_pct = 20;
    s->commend_pct = 10;
    s->notice_bottom_pct = 10;
    s->notice_floor = 60;
    s->red_min = 95;
    s->notice_max = 60;
}

double score_round2(double x)
{
    return x < 0 ? -floor(-x * 100.0 + 0.5) / 100.0 : floor(x * 100.0 + 0.5) / 100.0;
}

static double s_round4(double x)
{
    return floor(x * 10000.0 + 0.5) / 10000.0;
}

/* ---- periods -------------------------------------------------------------------- */

int score_quarter_of_text(const char *p, char *out)
{
    period_t pp, q;
    if (period_parse(p, &pp) != 0 || period_quarter_of(&pp, &q) != 0)
        return -1;
    return period_format(&q, out, PERIOD_TEXT_MAX) > 0 ? 0 : -1;
}

int score_quarter_of_time(int64_t t, char *out)
{
    period_t q;
    if (period_containing(PERIOD_QUARTERLY, t, &q) != 0)
        return -1;
    return period_format(&q, out, PERIOD_TEXT_MAX) > 0 ? 0 : -1;
}

/* The first period of kind whose first day lies in q; 0 or -1. */
static int s_first_in(period_kind_t kind, const period_t *q, period_t *p)
{
    int64_t qs = period_start(q);
    if (qs == INT64_MIN || period_containing(kind, qs, p) != 0)
        return -1;
    if (period_start(p) < qs && period_add(p, 1, p) != 0)
        return -1;
    return 0;
}

static bool s_is_rest(int64_t day_start, const int64_t *rest, size_t nrest)
{
    for (size_t i = 0; i < nrest; i++)
        if (rest[i] == day_start)
            return true;
    return false;
}

int score_owed(period_kind_t kind, const period_t *q, int64_t created_at, int64_t horizon,
               int64_t grace_s, const int64_t *rest, size_t nrest)
{
    if (q->kind != PERIOD_QUARTERLY || kind == PERIOD_QUARTERLY || !period_valid(q))
        return 0;
    int64_t qend = period_end(q);
    period_t p;
    if (s_first_in(kind, q, &p) != 0)
        return 0;
    int owed = 0;
    for (int guard = 0; guard < 100; guard++) {
        int64_t st = period_start(&p), en = period_end(&p);
        if (st == INT64_MIN || st >= qend)
            break;
        if (created_at < en && period_deadline(&p, grace_s) <= horizon &&
            !(kind == PERIOD_DAILY && s_is_rest(st, rest, nrest)))
            owed++;
        if (period_add(&p, 1, &p) != 0)
            break;
    }
    return owed;
}

int64_t score_not_due_from(period_kind_t kind, const period_t *q, int64_t horizon, int64_t grace_s)
{
    int64_t qend = period_end(q);
    period_t p;
    if (q->kind != PERIOD_QUARTERLY || s_first_in(kind, q, &p) != 0)
        return qend;
    for (int guard = 0; guard < 100; guard++) {
        int64_t st = period_start(&p);
        if (st == INT64_MIN || st >= qend)
            break;
        if (period_deadline(&p, grace_s) > horizon)
            return st;
        if (period_add(&p, 1, &p) != 0)
            break;
    }
    return qend;
}

/* ---- components ----------------------------------------------------------------- */

static score_component_t *s_comp(score_result_t *out, const char *name, double value, double weight,
                                 double points)
{
    score_component_t *c = &out->comp[out->n++];
    snprintf(c->name, sizeof c->name, "%s", name);
    c->value = s_round4(value);
    c->weight = weight;
    c->points = score_round2(points);
    c->detail[0] = '\0';
    return c;
}

static double s_sum(const score_result_t *out, double lo, double hi)
{
    double t = 0;
    for (size_t i = 0; i < out->n; i++)
        t += out->comp[i].points;
    t = score_round2(t);
    return t < lo ? lo : t > hi ? hi : t;
}

/* ---- businesses ----------------------------------------------------------------- */

static const char *s_insp_name(score_insp_t i)
{
    switch (i) {
    case SCORE_INSP_PASS:
        return "pass";
    case SCORE_INSP_REMARKS:
        return "pass_with_remarks";
    case SCORE_INSP_FAIL:
        return "fail";
    default:
        return "none";
    }
}

int score_insp_parse(const char *outcome, score_insp_t *out)
{
    if (!outcome)
        return -1;
    if (!strcmp(outcome, "pass"))
        *out = SCORE_INSP_PASS;
    else if (!strcmp(outcome, "pass_with_remarks"))
        *out = SCORE_INSP_REMARKS;
    else if (!strcmp(outcome, "fail"))
        *out = SCORE_INSP_FAIL;
    else
        return -1;
    return 0;
}

static double s_insp_value(score_insp_t i, const score_settings_t *s)
{
    switch (i) {
    case SCORE_INSP_FAIL:
        return 0.0;
    case SCORE_INSP_REMARKS:
        return s->remarks_credit_pct / 100.0;
    default:
        return 1.0;
    }
}

void score_business(const score_business_in_t *in, const score_settings_t *s, score_result_t *out)
{
    memset(out, 0, sizeof *out);
    double late_credit = s->late_credit_pct / 100.0;
    for (int k = 0; k < 3; k++) {
        const score_ledger_t *l = &in->ledger[k];
        double v = 1.0;
        if (l->owed > 0) {
            double got = l->on_time + late_credit * l->late;
            v = (got > l->owed ? l->owed : got) / l->owed;
        }
        score_component_t *c = s_comp(out, s_kind_names[k], v, s->w_ledger[k], s->w_ledger[k] * v);
        snprintf(c->detail, sizeof c->detail, "owed %d, on time %d, late %d (late counts %d%%)",
                 l->owed, l->on_time, l->late, s->late_credit_pct);
    }
    double v = 1.0;
    if (in->problems_opened > 0)
        v = in->problems_fixed >= in->problems_opened
                ? 1.0
                : (double)in->problems_fixed / in->problems_opened;
    score_component_t *c = s_comp(out, "problems_rectified", v, s->w_problems, s->w_problems * v);
    snprintf(c->detail, sizeof c->detail, "opened %d, fixed %d", in->problems_opened,
             in->problems_fixed);
    v = s_insp_value(in->inspection, s);
    c = s_comp(out, "latest_inspection", v, s->w_inspection, s->w_inspection * v);
    snprintf(c->detail, sizeof c->detail, "%s", s_insp_name(in->inspection));
    c = s_comp(out, "unanswered_warnings", in->warnings_unanswered, -s->warning_penalty,
               -(double)s->warning_penalty * in->warnings_unanswered);
    snprintf(c->detail, sizeof c->detail, "%d unanswered, %d points each", in->warnings_unanswered,
             s->warning_penalty);
    out->score = s_sum(out, 0, 100);
}

int score_type_index(const char *type)
{
    for (int i = 0; type && i < SCORE_TYPES; i++)
        if (!strcmp(type, s_types[i]))
            return i;
    return -1;
}

int score_scale_index(const char *scale)
{
    for (int i = 0; scale && i < SCORE_SCALES; i++)
        if (!strcmp(scale, s_scales[i]))
            return i;
    return -1;
}

char score_grade_of(double risk, const score_settings_t *s)
{
    if (risk <= s->band[0])
        return 'A';
    if (risk <= s->band[1])
        return 'B';
    if (risk <= s->band[2])
        return 'C';
    return 'D';
}

void score_risk(int type_idx, int scale_idx, double compliance, score_insp_t inspection,
                const score_settings_t *s, score_result_t *out, char *grade)
{
    memset(out, 0, sizeof *out);
    int tp = type_idx >= 0 && type_idx < SCORE_TYPES ? s->static_type[type_idx] : 0;
    int sp = scale_idx >= 0 && scale_idx < SCORE_SCALES ? s->static_scale[scale_idx] : 0;
    int st = tp + sp > s->static_max ? s->static_max : tp + sp;
    score_component_t *c = s_comp(out, "static_type", tp, tp, tp);
    snprintf(c->detail, sizeof c->detail, "type %s",
             type_idx >= 0 && type_idx < SCORE_TYPES ? s_types[type_idx] : "unknown");
    c = s_comp(out, "static_scale", sp, sp, st - tp);
    snprintf(c->detail, sizeof c->detail, "scale %s (static part at most %d)",
             scale_idx >= 0 && scale_idx < SCORE_SCALES ? s_scales[scale_idx] : "unknown",
             s->static_max);
    double comp = compliance < 0 ? 0 : compliance > 100 ? 100 : compliance;
    double dc = s->dyn_compliance * (100.0 - comp) / 100.0;
    double di = inspection == SCORE_INSP_FAIL      ? s->dyn_fail
                : inspection == SCORE_INSP_REMARKS ? s->dyn_remarks
                                                   : 0;
    if (dc + di > s->dyn_max) /* the dynamic part is capped; the inspection gives way */
        di = s->dyn_max - dc > 0 ? s->dyn_max - dc : 0;
    c = s_comp(out, "dynamic_compliance", comp, s->dyn_compliance, dc);
    snprintf(c->detail, sizeof c->detail, "(100 - compliance %.2f) / 100 * %d", comp,
             s->dyn_compliance);
    c = s_comp(out, "dynamic_inspection", di, s->dyn_fail, di);
    snprintf(c->detail, sizeof c->detail, "latest inspection %s", s_insp_name(inspection));
    out->score = s_sum(out, 0, 100);
    *grade = score_grade_of(out->score, s);
}

/* ---- lists ---------------------------------------------------------------------- */

/* Add a reason (copied, truncated to fit). */
static void s_reason(score_reasons_t *why, const char *text)
{
    if (why->n < SCORE_REASON_MAX)
        snprintf(why->r[why->n++], sizeof why->r[0], "%s", text);
}

bool score_red_eligible(double compliance, int open_problems, bool failed_inspection, bool insured,
                        const score_settings_t *s, score_reasons_t *why)
{
    memset(why, 0, sizeof *why);
    char t[64];
    bool ok = true;
    if (compliance < s->red_min) {
        snprintf(t, sizeof t, "compliance %.2f below %d", compliance, s->red_min);
        s_reason(why, t);
        ok = false;
    }
    if (open_problems > 0) {
        snprintf(t, sizeof t, "%d open problems", open_problems);
        s_reason(why, t);
        ok = false;
    }
    if (failed_inspection) {
        s_reason(why, "failed inspection");
        ok = false;
    }
    if (!insured) {
        s_reason(why, "not insured");
        ok = false;
    }
    if (ok) {
        snprintf(t, sizeof t, "compliance %.2f", compliance);
        s_reason(why, t);
        s_reason(why, "no open problem, no failed inspection, insured");
    }
    return ok;
}

bool score_notice_listed(double compliance, bool failed_inspection, int warnings_unanswered,
                         const score_settings_t *s, score_reasons_t *why)
{
    memset(why, 0, sizeof *why);
    char t[64];
    if (compliance < s->notice_max) {
        snprintf(t, sizeof t, "compliance %.2f below %d", compliance, s->notice_max);
        s_reason(why, t);
    }
    if (failed_inspection)
        s_reason(why, "failed inspection");
    if (warnings_unanswered > 0) {
        snprintf(t, sizeof t, "%d unanswered warnings", warnings_unanswered);
        s_reason(why, t);
    }
    return why->n > 0;
}

/* ---- cadres ----------------------------------------------------------------------- */

void score_cadre(const score_cadre_in_t *in, const score_settings_t *s, score_result_t *out)
{
    memset(out, 0, sizeof *out);
    double v = 1.0;
    if (in->visits_owed > 0)
        v = in->visits_done >= in->visits_owed ? 1.0 : (double)in->visits_done / in->visits_owed;
    score_component_t *c = s_comp(out, "visit_completion", v, s->wc_visits, s->wc_visits * v);
    snprintf(c->detail, sizeof c->detail, "owed %d, done %d", in->visits_owed, in->visits_done);

    v = 1.0;
    if (in->visits > 0 && s->found_target_pct > 0) {
        double expect = in->visits * s->found_target_pct / 100.0;
        v = in->findings >= expect ? 1.0 : in->findings / expect;
    }
    c = s_comp(out, "problems_found", v, s->wc_found, s->wc_found * v);
    snprintf(c->detail, sizeof c->detail, "%d findings in %d visits (expected %d per 100)",
             in->findings, in->visits, s->found_target_pct);

    v = 1.0;
    if (in->findings > 0)
        v = in->findings_fixed >= in->findings ? 1.0 : (double)in->findings_fixed / in->findings;
    c = s_comp(out, "rectification", v, s->wc_rectified, s->wc_rectified * v);
    snprintf(c->detail, sizeof c->detail, "%d of %d findings fixed", in->findings_fixed,
             in->findings);

    v = 1.0 - in->overdue_tasks * s->overdue_step_pct / 100.0;
    if (v < 0)
        v = 0;
    c = s_comp(out, "overdue_tasks", v, s->wc_overdue, s->wc_overdue * v);
    snprintf(c->detail, sizeof c->detail, "%d overdue tasks, each -%d%%", in->overdue_tasks,
             s->overdue_step_pct);

    int n = in->insp_pass + in->insp_remarks + in->insp_fail;
    v = 1.0;
    if (n > 0)
        v = (in->insp_pass + in->insp_remarks * s->remarks_credit_pct / 100.0) / n;
    c = s_comp(out, "inspections", v, s->wc_inspections, s->wc_inspections * v);
    snprintf(c->detail, sizeof c->detail, "%d inspected: %d pass, %d with remarks, %d fail", n,
             in->insp_pass, in->insp_remarks, in->insp_fail);
    out->score = s_sum(out, 0, 100);
}

typedef struct {
    double score;
    size_t i;
} s_ranked_t;

static int s_by_score_desc(const void *a, const void *b)
{
    const s_ranked_t *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

void score_standings(const double *scores, size_t n, const score_settings_t *s,
                     score_standing_t *out)
{
    if (n == 0)
        return;
    s_ranked_t *r = malloc(n * sizeof *r);
    if (!r)
        abort();
    for (size_t i = 0; i < n; i++) {
        r[i].score = scores[i];
        r[i].i = i;
    }
    qsort(r, n, sizeof *r, s_by_score_desc);
    size_t top = (n * (size_t)s->commend_pct + 99) / 100;
    size_t bottom = (n * (size_t)s->notice_bottom_pct + 99) / 100;
    int rank = 1;
    for (size_t k = 0; k < n; k++) {
        if (k > 0 && r[k].score != r[k - 1].score)
            rank = (int)k + 1;
        score_standing_t *o = &out[r[k].i];
        o->rank = rank;
        o->commended = (size_t)rank <= top;
        o->on_notice = (!o->commended && (size_t)rank > n - bottom) || r[k].score < s->notice_floor;
    }
    free(r);
}
