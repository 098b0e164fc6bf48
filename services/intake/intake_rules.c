/*
 * intake_rules.c - the ledger rules of API.md and DOMAIN.md as pure functions.
 *
 * Nothing here reads the clock, the environment or a database: "now", the
 * settings and the checklist are parameters, so the unit tests pin every
 * edge (tests/unit/test_intake_ledger.c).
 */
#include "intake_ledger.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define S_DAY_S 86400

void ledger_rules_default(ledger_rules_t *r)
{
    r->grace_s = 0;
    r->late_days[0] = 3;
    r->late_days[1] = 7;
    r->late_days[2] = 10;
}

/* Fill err and return -1. */
static int s_fail(ledger_error_t *err, Lz__Status status, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int s_fail(ledger_error_t *err, Lz__Status status, const char *field, const char *fmt, ...)
{
    err->status = status;
    snprintf(err->field, sizeof err->field, "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return -1;
}

/* Returns the index of the back-fill window of kind k, or -1. */
static int s_kind_index(period_kind_t k)
{
    switch (k) {
    case PERIOD_DAILY:
        return 0;
    case PERIOD_WEEKLY:
        return 1;
    case PERIOD_MONTHLY:
        return 2;
    default:
        return -1;
    }
}

ledger_timing_t ledger_timing(const ledger_rules_t *r, const period_t *p, int64_t now)
{
    int k = s_kind_index(p->kind);
    int64_t start = period_start(p);
    if (k < 0 || start == INT64_MIN)
        return LEDGER_REFUSED;
    if (start > now)
        return LEDGER_FUTURE;
    int64_t deadline = period_deadline(p, r->grace_s);
    if (now < deadline)
        return LEDGER_ON_TIME;
    if (now - deadline < (int64_t)r->late_days[k] * S_DAY_S)
        return LEDGER_LATE;
    return LEDGER_REFUSED;
}

static const char *s_example(period_kind_t k)
{
    return k == PERIOD_DAILY ? "2026-11-29" : k == PERIOD_WEEKLY ? "2026-W48" : "2026-11";
}

int ledger_check_submission(const ledger_rules_t *r, const Lz__SubmitRecordRequest *in, int64_t now,
                            period_t *period, bool *late, ledger_error_t *err)
{
    if (!in->has_business_id)
        return s_fail(err, LZ__STATUS__MISSING_FIELD, "business_id", "business_id is required");
    if (in->business_id <= 0)
        return s_fail(err, LZ__STATUS__INVALID_FIELD, "business_id",
                      "business_id must be a positive integer");
    if (!in->kind)
        return s_fail(err, LZ__STATUS__MISSING_FIELD, "kind", "kind is required");
    period_kind_t kind;
    if (period_kind_parse(in->kind, &kind) != 0 || s_kind_index(kind) < 0)
        return s_fail(err, LZ__STATUS__INVALID_FIELD, "kind",
                      "kind must be one of: daily, weekly, monthly");
    if (!in->period)
        return s_fail(err, LZ__STATUS__MISSING_FIELD, "period", "period is required");
    period_t p;
    if (period_parse_kind(kind, in->period, &p) != 0)
        return s_fail(err, LZ__STATUS__INVALID_FIELD, "period",
                      "period must be a %s period like %s", in->kind, s_example(kind));
    if (!in->submitted_by || !in->submitted_by[0])
        return s_fail(err, LZ__STATUS__MISSING_FIELD, "submitted_by", "submitted_by is required");
    if (strlen(in->submitted_by) > LEDGER_NAME_MAX)
        return s_fail(err, LZ__STATUS__INVALID_FIELD, "submitted_by",
                      "submitted_by is longer than %d bytes", LEDGER_NAME_MAX);
    if (in->summary) {
        if (kind == PERIOD_DAILY)
            return s_fail(err, LZ__STATUS__INVALID_FIELD, "summary",
                          "summary is for weekly and monthly records only");
        if (strlen(in->summary) > LEDGER_SUMMARY_MAX)
            return s_fail(err, LZ__STATUS__INVALID_FIELD, "summary",
                          "summary is longer than %d bytes", LEDGER_SUMMARY_MAX);
    }
    if (in->n_items == 0)
        return s_fail(err, LZ__STATUS__MISSING_FIELD, "items", "items are required");
    if (in->n_items > LEDGER_ITEMS_MAX)
        return s_fail(err, LZ__STATUS__INVALID_FIELD, "items", "more than %d items",
                      LEDGER_ITEMS_MAX);
    if (in->n_problems > LEDGER_PROBLEMS_MAX)
        return s_fail(err, LZ__STATUS__INVALID_FIELD, "problems", "more than %d problems",
                      LEDGER_PROBLEMS_MAX);
    switch (ledger_timing(r, &p, now)) {
    case LEDGER_ON_TIME:
        *late = false;
        break;
    case LEDGER_LATE:
        *late = true;
        break;
    case LEDGER_FUTURE:
        return s_fail(err, LZ__STATUS__INVALID_FIELD, "period", "period %s has not begun yet",
                      in->period);
    case LEDGER_REFUSED: {
        char closed[RFC3339_TEXT_MAX];
        int64_t deadline = period_deadline(&p, r->grace_s);
        rfc3339_format(deadline + (int64_t)r->late_days[s_kind_index(kind)] * S_DAY_S, closed,
                       sizeof closed);
        return s_fail(err, LZ__STATUS__INVALID_FIELD, "period",
                      "the back-fill window of %s %s closed at %s; only a regulator may reopen "
                      "the period",
                      in->kind, in->period, closed);
    }
    }
    *period = p;
    return 0;
}

int ledger_check_items(const ledger_item_def_t *defs, size_t ndefs, Lz__RecordItem *const *items,
                       size_t nitems, ledger_error_t *err)
{
    char field[64];
    for (size_t i = 0; i < nitems; i++) {
        const Lz__RecordItem *it = items[i];
        if (!it->code) {
            snprintf(field, sizeof field, "items[%zu].code", i);
            return s_fail(err, LZ__STATUS__MISSING_FIELD, field, "code is required");
        }
        size_t d = 0;
        while (d < ndefs && strcmp(defs[d].code, it->code) != 0)
            d++;
        if (d == ndefs) {
            snprintf(field, sizeof field, "items[%zu].code", i);
            return s_fail(err, LZ__STATUS__INVALID_FIELD, field,
                          "item %.16s is not on this checklist", it->code);
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(items[j]->code, it->code) == 0) {
                snprintf(field, sizeof field, "items[%zu].code", i);
                return s_fail(err, LZ__STATUS__INVALID_FIELD, field, "item %.16s is answered twice",
                              it->code);
            }
        }
        if (!it->has_ok) {
            snprintf(field, sizeof field, "items[%zu].ok", i);
            return s_fail(err, LZ__STATUS__MISSING_FIELD, field, "ok is required");
        }
        if (it->note && strlen(it->note) > LEDGER_TEXT_MAX) {
            snprintf(field, sizeof field, "items[%zu].note", i);
            return s_fail(err, LZ__STATUS__INVALID_FIELD, field, "note is longer than %d bytes",
                          LEDGER_TEXT_MAX);
        }
        if (!it->ok && (!it->note || !it->note[0])) {
            snprintf(field, sizeof field, "items[%zu].note", i);
            return s_fail(err, LZ__STATUS__INVALID_FIELD, field, "failed item %.16s needs a note",
                          it->code);
        }
    }
    for (size_t d = 0; d < ndefs; d++) {
        if (!defs[d].required)
            continue;
        size_t i = 0;
        while (i < nitems && strcmp(items[i]->code, defs[d].code) != 0)
            i++;
        if (i == nitems)
            return s_fail(err, LZ__STATUS__INVALID_FIELD, "items",
                          "required item %.16s is not answered", defs[d].code);
    }
    return 0;
}

int ledger_check_problems(Lz__RecordItem *const *items, size_t nitems,
                          Lz__RecordProblem *const *problems, size_t nproblems, ledger_error_t *err)
{
    char field[64];
    for (size_t i = 0; i < nproblems; i++) {
        const Lz__RecordProblem *p = problems[i];
        if (!p->item) {
            snprintf(field, sizeof field, "problems[%zu].item", i);
            return s_fail(err, LZ__STATUS__MISSING_FIELD, field, "item is required");
        }
        size_t k = 0;
        while (k < nitems && strcmp(items[k]->code, p->item) != 0)
            k++;
        if (k == nitems || items[k]->ok) {
            snprintf(field, sizeof field, "problems[%zu].item", i);
            return s_fail(err, LZ__STATUS__INVALID_FIELD, field,
                          "problem names %.16s, which is not a failed item of this record",
                          p->item);
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(problems[j]->item, p->item) == 0) {
                snprintf(field, sizeof field, "problems[%zu].item", i);
                return s_fail(err, LZ__STATUS__INVALID_FIELD, field,
                              "item %.16s has more than one problem", p->item);
            }
        }
        if ((p->description && strlen(p->description) > LEDGER_TEXT_MAX) ||
            (p->action && strlen(p->action) > LEDGER_TEXT_MAX)) {
            snprintf(field, sizeof field, "problems[%zu]", i);
            return s_fail(err, LZ__STATUS__INVALID_FIELD, field,
                          "description and action are at most %d bytes", LEDGER_TEXT_MAX);
        }
        if (p->has_fixed && p->fixed && (!p->action || !p->action[0])) {
            snprintf(field, sizeof field, "problems[%zu].action", i);
            return s_fail(err, LZ__STATUS__MISSING_FIELD, field,
                          "a problem fixed at once needs the action taken");
        }
    }
    return 0;
}

const Lz__RecordProblem *ledger_problem_for(const Lz__SubmitRecordRequest *in, const char *code)
{
    for (size_t i = 0; i < in->n_problems; i++)
        if (in->problems[i]->item && strcmp(in->problems[i]->item, code) == 0)
            return in->problems[i];
    return NULL;
}
