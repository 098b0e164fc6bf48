/*
 * scheduler_deadline.c - deadlines, who owes what, per-region counts (see scheduler_deadline.h).
 */
#include "scheduler_deadline.h"
#include "mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int deadline_ledger_list(period_kind_t kind, int64_t grace_s, int64_t from, int64_t to,
                         deadline_t *out, int max)
{
    period_t p;
    int n = 0;
    if (to <= from)
        return 0;
    if (period_containing(kind, from - grace_s, &p) != 0)
        return -1;
    for (;;) {
        int64_t dl = period_deadline(&p, grace_s);
        if (dl > to)
            break;
        if (dl > from) {
            if (n >= max)
                return -1;
            deadline_t *d = &out[n++];
            memset(d, 0, sizeof *d);
            snprintf(d->kind, sizeof d->kind, "%s", period_kind_name(kind));
            period_format(&p, d->period, sizeof d->period);
            d->start = period_start(&p);
            d->deadline = dl;
        }
        if (period_add(&p, 1, &p) != 0)
            break;
    }
    return n;
}

int visit_level_by_grade_parse(const char *text, char out[4][16])
{
    static const char *const levels[4] = {"city", "county", "township", "village"};
    for (int i = 0; i < 4; i++)
        out[i][0] = '\0';
    const char *p = text ? text : "";
    while (*p) {
        if (p[0] < 'A' || p[0] > 'D' || p[1] != ':' || out[p[0] - 'A'][0])
            return -1;
        int g = p[0] - 'A';
        p += 2;
        size_t n = strcspn(p, ",");
        int lv = -1;
        for (int i = 0; i < 4; i++)
            if (strlen(levels[i]) == n && !strncmp(p, levels[i], n))
                lv = i;
        if (lv < 0)
            return -1;
        snprintf(out[g], 16, "%s", levels[lv]);
        p += n;
        if (*p == ',' && *++p == '\0')
            return -1;
    }
    return 0;
}

int deadline_visit_list(visit_freq_t f, int64_t grace_s, int64_t from, int64_t to, deadline_t *out,
                        int max)
{
    int n = 0;
    if (to <= from)
        return 0;
    int64_t t = from - grace_s;
    for (;;) {
        char text[16];
        int64_t start, end;
        if (visit_period_of(f, t, text, sizeof text, &start, &end) != 0)
            return -1;
        int64_t dl = end + grace_s;
        if (dl > to)
            break;
        if (dl > from) {
            if (n >= max)
                return -1;
            deadline_t *d = &out[n++];
            memset(d, 0, sizeof *d);
            snprintf(d->kind, sizeof d->kind, "visit");
            snprintf(d->period, sizeof d->period, "%s", text);
            d->start = start;
            d->deadline = dl;
        }
        t = end;
    }
    return n;
}

bool deadline_owes(const owe_facts_t *f, int64_t deadline)
{
    if (f->created_at >= deadline)
        return false;
    if (!f->active && f->changed_at < deadline)
        return false;
    return !f->rest_day;
}

bool bitmap_test(const unsigned char *bm, size_t len, int64_t id)
{
    if (!bm || id < 0 || (uint64_t)id / 8 >= len)
        return false;
    return (bm[id / 8] >> (7 - id % 8)) & 1;
}

void bitmap_set(unsigned char *bm, size_t len, int64_t id)
{
    if (bm && id >= 0 && (uint64_t)id / 8 < len)
        bm[id / 8] |= (unsigned char)(1u << (7 - id % 8));
}

/* ---- counts per region: open addressing on the code ------------------------ */

struct region_counts_s {
    region_count_t *rows;
    size_t n, cap; /* cap is a power of two */
};

region_counts_t *region_counts_new(void)
{
    region_counts_t *self = xcalloc(1, sizeof *self);
    self->cap = 1024;
    self->rows = xcalloc(self->cap, sizeof *self->rows);
    return self;
}

void region_counts_destroy(region_counts_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->rows);
    free(*self_p);
    *self_p = NULL;
}

static size_t s_hash(const char *code)
{
    uint64_t h = 1469598103934665603ULL;
    for (int i = 0; i < REGION_CODE_LEN; i++)
        h = (h ^ (unsigned char)code[i]) * 1099511628211ULL;
    return (size_t)h;
}

static region_count_t *s_slot(region_count_t *rows, size_t cap, const char *code)
{
    size_t i = s_hash(code) & (cap - 1);
    while (rows[i].code[0] && memcmp(rows[i].code, code, REGION_CODE_LEN) != 0)
        i = (i + 1) & (cap - 1);
    return &rows[i];
}

region_count_t *region_counts_get(region_counts_t *self, const char *code)
{
    if (!region_code_valid(code))
        return NULL;
    if ((self->n + 1) * 2 > self->cap) {
        size_t cap = self->cap * 2;
        region_count_t *rows = xcalloc(cap, sizeof *rows);
        for (size_t i = 0; i < self->cap; i++)
            if (self->rows[i].code[0])
                *s_slot(rows, cap, self->rows[i].code) = self->rows[i];
        free(self->rows);
        self->rows = rows;
        self->cap = cap;
    }
    region_count_t *r = s_slot(self->rows, self->cap, code);
    if (!r->code[0]) {
        memcpy(r->code, code, REGION_CODE_LEN);
        r->code[REGION_CODE_LEN] = '\0';
        self->n++;
    }
    return r;
}

void region_counts_rollup(region_counts_t *self)
{
    /* take the communities first: adding ancestors may grow (and move) the table */
    size_t nc = 0;
    region_count_t *comm = xmalloc((self->n + 1) * sizeof *comm);
    for (size_t i = 0; i < self->cap; i++) {
        region_level_t lv;
        if (self->rows[i].code[0] && region_level_of(self->rows[i].code, &lv) == 0 &&
            lv == REGION_COMMUNITY)
            comm[nc++] = self->rows[i];
    }
    for (size_t i = 0; i < nc; i++) {
        char code[REGION_CODE_LEN + 1], parent[REGION_CODE_LEN + 1];
        memcpy(code, comm[i].code, sizeof code);
        while (region_parent(code, parent) == 0) {
            region_count_t *a = region_counts_get(self, parent);
            a->owed += comm[i].owed;
            a->submitted += comm[i].submitted;
            a->on_time += comm[i].on_time;
            a->late += comm[i].late;
            a->missing += comm[i].missing;
            a->problems += comm[i].problems;
            memcpy(code, parent, sizeof code);
        }
    }
    free(comm);
}

size_t region_counts_size(const region_counts_t *self)
{
    return self->n;
}

const region_count_t *region_counts_next(const region_counts_t *self, size_t *cursor)
{
    while (*cursor < self->cap) {
        const region_count_t *r = &self->rows[(*cursor)++];
        if (r->code[0])
            return r;
    }
    return NULL;
}
