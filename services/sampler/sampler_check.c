/*
 * sampler_check.c - the pure part of an inspection's check: ledger record over a quarter,
 * supervision visits against their frequency, checklist answers, the derived outcome.
 */
#include "sampler_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const s_kinds[3] = {"daily", "weekly", "monthly"};
static const period_kind_t s_pkinds[3] = {PERIOD_DAILY, PERIOD_WEEKLY, PERIOD_MONTHLY};

const char *check_kind_name(int kind)
{
    return kind >= 0 && kind < 3 ? s_kinds[kind] : NULL;
}

int check_kind_of(const char *name)
{
    for (int i = 0; name && i < 3; i++)
        if (!strcmp(name, s_kinds[i]))
            return i;
    return -1;
}

static int s_cmp_text(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Returns true if p (of quarter q) is in q: a week by its Monday. */
static bool s_in_quarter(const period_t *p, const period_t *q)
{
    period_t pq;
    return period_quarter_of(p, &pq) == 0 && period_compare(&pq, q) == 0;
}

int check_ledgers(const period_t *q, int64_t as_of, int64_t grace_s, bool active, char *const *rest,
                  size_t nrest, const check_record_t *recs, size_t nrecs, ledger_tally_t out[3])
{
    memset(out, 0, 3 * sizeof *out);
    if (!period_valid(q) || q->kind != PERIOD_QUARTERLY)
        return -1;
    int64_t qs = period_start(q);
    bool *used = calloc(nrecs ? nrecs : 1, sizeof *used);
    if (!used)
        abort();
    for (int k = 0; k < 3; k++) {
        period_t p;
        if (period_containing(s_pkinds[k], qs, &p) != 0)
            continue;
        if (!s_in_quarter(&p, q) && period_add(&p, 1, &p) != 0)
            continue;
        for (; s_in_quarter(&p, q); period_add(&p, 1, &p)) {
            if (!active || period_deadline(&p, grace_s) > as_of)
                continue;
            char text[PERIOD_TEXT_MAX];
            period_format(&p, text, sizeof text);
            const char *key = text;
            if (k == 0 && nrest && bsearch(&key, rest, nrest, sizeof *rest, s_cmp_text))
                continue;
            out[k].owed++;
            size_t r = 0;
            while (r < nrecs && !(recs[r].kind == k && !strcmp(recs[r].period, text)))
                r++;
            if (r < nrecs && !used[r]) {
                used[r] = true;
                out[k].submitted++;
                if (recs[r].late)
                    out[k].late++;
                else
                    out[k].on_time++;
            } else {
                out[k].missing++;
                if (out[k].nmissing_list < CHECK_MISSING_LIST_MAX)
                    memcpy(out[k].missing_list[out[k].nmissing_list++], text, sizeof text);
            }
        }
    }
    for (size_t r = 0; r < nrecs; r++)
        if (!used[r] && recs[r].kind >= 0 && recs[r].kind < 3)
            out[recs[r].kind].extra++;
    free(used);
    return 0;
}

void check_visits(const period_t *q, int64_t as_of, const check_assignment_t *a, const int64_t *at,
                  size_t nat, visit_tally_t *out)
{
    memset(out, 0, sizeof *out);
    int64_t qs = period_start(q), qe = period_end(q);
    int64_t hi = as_of < qe ? as_of : qe;
    for (size_t i = 0; i < nat; i++)
        if (at[i] >= qs && at[i] < hi)
            out->visits++;
    int64_t t = qs;
    while (t < hi) {
        char text[16];
        int64_t ps, pe;
        if (visit_period_of(a->freq, t, text, sizeof text, &ps, &pe) != 0)
            break;
        bool held = a->since < pe && (a->until == 0 || a->until > ps);
        if (pe <= as_of) {
            if (held && pe > qs && pe <= qe) {
                out->owed++;
                for (size_t i = 0; i < nat; i++)
                    if (at[i] >= ps && at[i] < pe) {
                        out->met++;
                        break;
                    }
            }
        } else {
            snprintf(out->current_period, sizeof out->current_period, "%s", text);
            for (size_t i = 0; i < nat; i++)
                if (at[i] >= ps && at[i] < as_of)
                    out->current_visits++;
        }
        t = pe;
    }
}

int check_answers(const check_item_t *items, size_t nitems, Lz__InspectionAnswer *const *a,
                  size_t n, check_answers_t *sum, char *field, size_t flen, char *msg, size_t mlen)
{
#define BAD(f, ...)                                                                                \
    do {                                                                                           \
        snprintf(field, flen, "%s", (f));                                                          \
        snprintf(msg, mlen, __VA_ARGS__);                                                          \
        return -1;                                                                                 \
    } while (0)
    memset(sum, 0, sizeof *sum);
    char f[48];
    for (size_t i = 0; i < n; i++) {
        const Lz__InspectionAnswer *x = a[i];
        snprintf(f, sizeof f, "answers[%zu].code", i);
        if (!x->code || !x->code[0])
            BAD(f, "code is required");
        size_t d = 0;
        while (d < nitems && strcmp(items[d].code, x->code) != 0)
            d++;
        if (d == nitems)
            BAD(f, "item %.16s is not on this checklist", x->code);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(a[j]->code, x->code))
                BAD(f, "item %.16s is answered twice", x->code);
        snprintf(f, sizeof f, "answers[%zu].ok", i);
        if (!x->has_ok)
            BAD(f, "ok is required");
        snprintf(f, sizeof f, "answers[%zu].note", i);
        if (x->note && strlen(x->note) > CHECK_ANSWER_NOTE_MAX)
            BAD(f, "note is longer than %d bytes", CHECK_ANSWER_NOTE_MAX);
        bool text = false;
        for (const char *s = x->note; s && *s && !text; s++)
            text = *s != ' ' && *s != '\t' && *s != '\r' && *s != '\n';
        if (!x->ok && !text)
            BAD(f, "failed item %.16s needs a note", x->code);
        sum->answered++;
        if (!x->ok) {
            sum->failed++;
            if (items[d].required)
                sum->key_failed++;
        }
    }
    for (size_t d = 0; d < nitems; d++) {
        if (!items[d].required)
            continue;
        size_t i = 0;
        while (i < n && strcmp(a[i]->code, items[d].code) != 0)
            i++;
        if (i == n)
            BAD("answers", "key item %.16s is not answered", items[d].code);
    }
    return 0;
#undef BAD
}

const char *check_outcome(int key_failed, int general_failed, size_t findings, int fail_general)
{
    if (key_failed > 0 || (fail_general > 0 && general_failed >= fail_general))
        return "fail";
    if (general_failed > 0 || findings > 0)
        return "pass_with_remarks";
    return "pass";
}
