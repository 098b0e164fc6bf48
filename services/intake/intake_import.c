/*
 * intake_import.c - bulk CSV imports of the registry (see intake_import.h).
 *
 * The parse keeps no copy of the fields: each good row is written at once as
 * a COPY text line, and only what the later checks need is kept per row
 * (its line and indexes into sets of distinct keys).  The sets are open
 * addressing hash tables over one string arena, so a file of a million
 * businesses is parsed and checked in one pass without a per-row malloc.
 */
#include "intake_import.h"
#include "audit.h"
#include "buf.h"
#include "clock.h"
#include "common.pb-c.h"
#include "csv.h"
#include "idem.h"
#include "ident.h"
#include "import.pb-c.h"
#include "intake_server.h"
#include "log.h"
#include "mem.h"
#include "outbox.h"
#include "region.h"
#include "scope.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_NONE         UINT32_MAX
#define S_FIELD_MAX    1024 /* bytes of one CSV field */
#define S_FIELDS_MAX   32   /* fields of one CSV record */
#define S_ANALYZE_ROWS 10000
#define S_LOCK_BASE    0x6c7a1000LL /* advisory lock key of an import kind: base + kind */

/* ---- kinds -------------------------------------------------------------------- */

typedef struct {
    const char *name;
    const char *header;
    int ncols;
} s_kind_t;

static const s_kind_t s_kinds[IMPORT_KIND_COUNT] = {
    [IMPORT_REGIONS] = {"regions", "code,name,level,parent_code", 4},
    [IMPORT_BUSINESSES] = {"businesses",
                           "license_no,credit_code,name,type,risk_grade,region_code,address,"
                           "head_name,head_phone,officer_name,officer_phone",
                           11},
    [IMPORT_CADRES] = {"cadres", "phone,name,level,region_code,title", 5},
    [IMPORT_ASSIGNMENTS] = {"assignments", "cadre_phone,license_no", 2},
    [IMPORT_INSPECTORS] = {"inspectors", "phone,name,region_code,badge_no", 4},
};

const char *import_kind_name(import_kind_t kind)
{
    return (unsigned)kind < IMPORT_KIND_COUNT ? s_kinds[kind].name : NULL;
}

int import_kind_parse(const char *s, import_kind_t *out)
{
    for (int k = 0; s && k < IMPORT_KIND_COUNT; k++)
        if (!strcmp(s, s_kinds[k].name)) {
            *out = (import_kind_t)k;
            return 0;
        }
    return -1;
}

const char *import_header(import_kind_t kind)
{
    return (unsigned)kind < IMPORT_KIND_COUNT ? s_kinds[kind].header : NULL;
}

/* ---- sets of distinct keys ------------------------------------------------------ */

typedef struct {
    size_t off;      /* the key in the arena */
    uint32_t line;   /* regions: line of the file row that defines it (0: none) */
    int8_t level;    /* regions: level that row declares */
    int8_t db_level; /* regions: level in the database, -1 unknown */
    bool known;      /* looked up and found */
    char value[13];  /* looked-up region code */
} s_entry_t;

typedef struct {
    char *arena;
    size_t arena_len, arena_cap;
    uint32_t *slots; /* entry index + 1; 0 empty */
    size_t nslots;
    s_entry_t *entries;
    size_t n, cap;
} s_set_t;

static uint64_t s_hash(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h ^ (h >> 29);
}

static void s_set_free(s_set_t *set)
{
    free(set->arena);
    free(set->slots);
    free(set->entries);
    memset(set, 0, sizeof *set);
}

static const char *s_set_key(const s_set_t *set, uint32_t i)
{
    return set->arena + set->entries[i].off;
}

static void s_set_grow(s_set_t *set)
{
    size_t nslots = set->nslots ? set->nslots * 2 : 1024;
    uint32_t *slots = xcalloc(nslots, sizeof *slots);
    for (size_t i = 0; i < set->n; i++) {
        const char *k = s_set_key(set, (uint32_t)i);
        size_t at = s_hash(k, strlen(k)) & (nslots - 1);
        while (slots[at])
            at = (at + 1) & (nslots - 1);
        slots[at] = (uint32_t)i + 1;
    }
    free(set->slots);
    set->slots = slots;
    set->nslots = nslots;
}

/* Return the index of key in set, or S_NONE. */
static uint32_t s_set_find(const s_set_t *set, const char *key)
{
    if (!set->nslots)
        return UINT32_MAX;
    size_t at = s_hash(key, strlen(key)) & (set->nslots - 1);
    while (set->slots[at]) {
        uint32_t i = set->slots[at] - 1;
        if (!strcmp(set->arena + set->entries[i].off, key))
            return i;
        at = (at + 1) & (set->nslots - 1);
    }
    return UINT32_MAX;
}

/* Return the index of key (len bytes) in set, adding it when new (*fresh then true). */
static uint32_t s_set_intern(s_set_t *set, const char *key, size_t len, bool *fresh)
{
    if ((set->n + 1) * 2 > set->nslots)
        s_set_grow(set);
    size_t at = s_hash(key, len) & (set->nslots - 1);
    while (set->slots[at]) {
        uint32_t i = set->slots[at] - 1;
        const char *k = s_set_key(set, i);
        if (!strncmp(k, key, len) && k[len] == '\0') {
            *fresh = false;
            return i;
        }
        at = (at + 1) & (set->nslots - 1);
    }
    if (set->arena_len + len + 1 > set->arena_cap) {
        set->arena_cap = (set->arena_cap + len + 1) * 2;
        set->arena = xrealloc(set->arena, set->arena_cap);
    }
    if (set->n == set->cap) {
        set->cap = set->cap ? set->cap * 2 : 256;
        set->entries = xrealloc(set->entries, set->cap * sizeof *set->entries);
    }
    s_entry_t *e = &set->entries[set->n];
    memset(e, 0, sizeof *e);
    e->off = set->arena_len;
    e->level = -1;
    e->db_level = -1;
    memcpy(set->arena + set->arena_len, key, len);
    set->arena[set->arena_len + len] = '\0';
    set->arena_len += len + 1;
    set->slots[at] = (uint32_t)set->n + 1;
    *fresh = true;
    return (uint32_t)set->n++;
}

/* ---- the import ------------------------------------------------------------------ */

enum { S_REGIONS, S_CADRES, S_BUSINESSES, S_KEYS, S_BADGES, S_NSETS };

typedef struct {
    uint32_t line;
    uint32_t region;   /* region the row lies in (regions: its parent) */
    uint32_t key;      /* the row's own key in S_KEYS (regions: in S_REGIONS) */
    uint32_t cadre;    /* assignments */
    uint32_t business; /* assignments */
    int8_t want;       /* level the region must have */
} s_row_t;

typedef struct {
    import_error_t *v;
    size_t n, total;
} s_errors_t;

struct import_s {
    import_kind_t kind;
    char scope[REGION_CODE_LEN + 1]; /* "" when unlimited */
    s_set_t sets[S_NSETS];
    s_row_t *rows;
    size_t nrows, cap;
    s_errors_t local, dep;
    import_error_t *merged;
    size_t nmerged;
    buf_t *copy;
    bool checked;
};

static void s_error_add(s_errors_t *errs, size_t line, const char *field, const char *fmt,
                        va_list ap)
{
    errs->total++;
    if (errs->n == IMPORT_ERRORS_MAX)
        return;
    if (!errs->v)
        errs->v = xcalloc(IMPORT_ERRORS_MAX, sizeof *errs->v);
    import_error_t *e = &errs->v[errs->n++];
    e->line = (int)line;
    snprintf(e->field, sizeof e->field, "%s", field ? field : "");
    vsnprintf(e->message, sizeof e->message, fmt, ap);
}

/* A row fails a check that needs only the row; always returns -1. */
static int s_bad(import_t *self, size_t line, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int s_bad(import_t *self, size_t line, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_error_add(&self->local, line, field, fmt, ap);
    va_end(ap);
    return -1;
}

/* A row fails a check that needs the database. */
static void s_bad_dep(import_t *self, size_t line, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void s_bad_dep(import_t *self, size_t line, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_error_add(&self->dep, line, field, fmt, ap);
    va_end(ap);
}

/* Characters in a UTF-8 string without control characters; -1 when it is not one. */
static long s_text_chars(const char *s)
{
    long n = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p;
        size_t more;
        if (c < 0x20 || c == 0x7f)
            return -1;
        if (c < 0x80)
            more = 0;
        else if (c >= 0xc2 && c <= 0xdf)
            more = 1;
        else if (c >= 0xe0 && c <= 0xef)
            more = 2;
        else if (c >= 0xf0 && c <= 0xf4)
            more = 3;
        else
            return -1;
        p++;
        for (size_t i = 0; i < more; i++, p++)
            if ((*p & 0xc0) != 0x80)
                return -1;
        n++;
    }
    return n;
}

/* Check a text field of min..max characters; 0 or -1 (error recorded). */
static int s_text(import_t *self, size_t line, const char *field, const char *v, long min, long max)
{
    long n = s_text_chars(v);
    if (n < 0)
        return s_bad(self, line, field, "%s must be UTF-8 text without control characters", field);
    if (n < min || n > max)
        return min > 0
                   ? s_bad(self, line, field, "%s must be %ld to %ld characters", field, min, max)
                   : s_bad(self, line, field, "%s must be at most %ld characters", field, max);
    return 0;
}

static int s_phone(import_t *self, size_t line, const char *field, const char *v)
{
    if (!ident_mobile_valid(v))
        return s_bad(self, line, field,
                     "%s must be a mainland mobile number (11 digits, 1[3-9]...)", field);
    return 0;
}

/* A region code field, inside the scope; interned into S_REGIONS. */
static int s_region(import_t *self, size_t line, const char *field, const char *v, uint32_t *idx)
{
    if (!region_code_valid(v))
        return s_bad(self, line, field, "%s must be a 12-digit region code", field);
    if (self->scope[0] && !region_contains(self->scope, v))
        return s_bad(self, line, field, "%s %s is outside your jurisdiction %s", field, v,
                     self->scope);
    bool fresh;
    *idx = s_set_intern(&self->sets[S_REGIONS], v, REGION_CODE_LEN, &fresh);
    return 0;
}

/* The row's own key, which must not repeat in the file. */
static int s_unique(import_t *self, int set, size_t line, const char *field, const char *v,
                    uint32_t *idx)
{
    bool fresh;
    uint32_t i = s_set_intern(&self->sets[set], v, strlen(v), &fresh);
    if (!fresh)
        return s_bad(self, line, field, "%s %s appears more than once in the file", field, v);
    self->sets[set].entries[i].line = (uint32_t)line;
    if (idx)
        *idx = i;
    return 0;
}

static bool s_one_of(const char *v, const char *const *list)
{
    for (; *list; list++)
        if (!strcmp(v, *list))
            return true;
    return false;
}

/* Append a COPY text field: backslashes doubled (no control characters get here). */
static void s_copy_field(buf_t *b, const char *v, bool null_if_empty)
{
    buf_putc(b, '\t');
    if (null_if_empty && !v[0]) {
        buf_append(b, "\\N", 2);
        return;
    }
    const char *bs;
    while ((bs = strchr(v, '\\')) != NULL) {
        buf_append(b, v, (size_t)(bs - v) + 1);
        buf_putc(b, '\\');
        v = bs + 1;
    }
    buf_append_str(b, v);
}

static void s_copy_row(import_t *self, size_t line, const char *const *f, int n, int nullable)
{
    buf_printf(self->copy, "%zu", line);
    for (int i = 0; i < n; i++)
        s_copy_field(self->copy, f[i], i == nullable);
    buf_putc(self->copy, '\n');
}

static s_row_t *s_row_new(import_t *self, size_t line)
{
    if (self->nrows == self->cap) {
        self->cap = self->cap ? self->cap * 2 : 1024;
        self->rows = xrealloc(self->rows, self->cap * sizeof *self->rows);
    }
    s_row_t *r = &self->rows[self->nrows];
    r->line = (uint32_t)line;
    r->region = r->key = r->cadre = r->business = S_NONE;
    r->want = -1;
    return r;
}

/* code,name,level,parent_code */
static int s_row_region(import_t *self, size_t line, const char *const *f)
{
    region_level_t level, code_level;
    if (!region_code_valid(f[0]))
        return s_bad(self, line, "code", "code must be a 12-digit region code");
    if (self->scope[0] && !region_contains(self->scope, f[0]))
        return s_bad(self, line, "code", "code %s is outside your jurisdiction %s", f[0],
                     self->scope);
    if (s_text(self, line, "name", f[1], 1, 100))
        return -1;
    if (region_level_parse(f[2], &level) != 0)
        return s_bad(self, line, "level",
                     "level must be province, city, district, township or community");
    region_level_of(f[0], &code_level);
    if (code_level != level)
        return s_bad(self, line, "level", "code %s is a %s code, not a %s", f[0],
                     region_level_name(code_level), f[2]);
    uint32_t parent = S_NONE;
    if (level == REGION_PROVINCE) {
        if (f[3][0])
            return s_bad(self, line, "parent_code", "a province has no parent_code");
    } else {
        if (!f[3][0])
            return s_bad(self, line, "parent_code", "a %s needs a parent_code", f[2]);
        if (!region_code_valid(f[3]) || !strcmp(f[3], f[0]) || !region_contains(f[3], f[0]))
            return s_bad(self, line, "parent_code",
                         "parent_code must be a 12-digit region code containing code %s", f[0]);
        bool fresh;
        parent = s_set_intern(&self->sets[S_REGIONS], f[3], REGION_CODE_LEN, &fresh);
    }
    bool fresh;
    uint32_t own = s_set_intern(&self->sets[S_REGIONS], f[0], REGION_CODE_LEN, &fresh);
    s_entry_t *e = &self->sets[S_REGIONS].entries[own];
    if (e->line)
        return s_bad(self, line, "code", "code %s appears more than once in the file", f[0]);
    e->line = (uint32_t)line;
    e->level = (int8_t)level;
    s_row_t *r = s_row_new(self, line);
    r->region = parent;
    r->key = own;
    r->want = (int8_t)(level - 1);
    self->nrows++;
    s_copy_row(self, line, f, 4, 3);
    return 0;
}

static const char *const s_types[] = {"production", "sales",          "catering",
                                      "canteen",    "small_workshop", NULL};
static const char *const s_grades[] = {"A", "B", "C", "D", NULL};

/* license_no,credit_code,name,type,risk_grade,region_code,address,head_name,head_phone,
 * officer_name,officer_phone */
static int s_row_business(import_t *self, size_t line, const char *const *f)
{
    uint32_t region, key;
    if (s_text(self, line, "license_no", f[0], 1, 64))
        return -1;
    if (!ident_credit_code_valid(f[1]))
        return s_bad(self, line, "credit_code",
                     "credit_code must be an 18-character unified social credit code with a "
                     "valid check character (GB 32100-2015)");
    if (s_text(self, line, "name", f[2], 1, 200))
        return -1;
    if (!s_one_of(f[3], s_types))
        return s_bad(self, line, "type",
                     "type must be production, sales, catering, canteen or small_workshop");
    if (!s_one_of(f[4], s_grades))
        return s_bad(self, line, "risk_grade", "risk_grade must be A, B, C or D");
    if (s_region(self, line, "region_code", f[5], &region) ||
        s_text(self, line, "address", f[6], 0, 500) ||
        s_text(self, line, "head_name", f[7], 1, 100) || s_phone(self, line, "head_phone", f[8]) ||
        s_text(self, line, "officer_name", f[9], 1, 100) ||
        s_phone(self, line, "officer_phone", f[10]) ||
        s_unique(self, S_KEYS, line, "license_no", f[0], &key))
        return -1;
    s_row_t *r = s_row_new(self, line);
    r->region = region;
    r->key = key;
    r->want = REGION_COMMUNITY;
    self->nrows++;
    s_copy_row(self, line, f, 11, -1);
    return 0;
}

/* phone,name,level,region_code,title */
static int s_row_cadre(import_t *self, size_t line, const char *const *f)
{
    static const struct {
        const char *name;
        region_level_t region;
    } levels[] = {{"city", REGION_CITY},
                  {"county", REGION_DISTRICT},
                  {"township", REGION_TOWNSHIP},
                  {"village", REGION_COMMUNITY}};
    uint32_t region, key;
    int want = -1;
    if (s_phone(self, line, "phone", f[0]) || s_text(self, line, "name", f[1], 1, 100))
        return -1;
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++)
        if (!strcmp(f[2], levels[i].name))
            want = levels[i].region;
    if (want < 0)
        return s_bad(self, line, "level", "level must be city, county, township or village");
    if (s_region(self, line, "region_code", f[3], &region) ||
        s_text(self, line, "title", f[4], 0, 100) ||
        s_unique(self, S_KEYS, line, "phone", f[0], &key))
        return -1;
    s_row_t *r = s_row_new(self, line);
    r->region = region;
    r->key = key;
    r->want = (int8_t)want;
    self->nrows++;
    s_copy_row(self, line, f, 5, -1);
    return 0;
}

/* cadre_phone,license_no */
static int s_row_assignment(import_t *self, size_t line, const char *const *f)
{
    if (s_phone(self, line, "cadre_phone", f[0]) || s_text(self, line, "license_no", f[1], 1, 64))
        return -1;
    char pair[S_FIELD_MAX + 16];
    snprintf(pair, sizeof pair, "%s,%s", f[0], f[1]);
    bool fresh;
    s_set_intern(&self->sets[S_KEYS], pair, strlen(pair), &fresh);
    if (!fresh)
        return s_bad(self, line, "license_no",
                     "the pair cadre_phone %s, license_no %s appears more than once in the file",
                     f[0], f[1]);
    s_row_t *r = s_row_new(self, line);
    r->cadre = s_set_intern(&self->sets[S_CADRES], f[0], strlen(f[0]), &fresh);
    r->business = s_set_intern(&self->sets[S_BUSINESSES], f[1], strlen(f[1]), &fresh);
    self->nrows++;
    s_copy_row(self, line, f, 2, -1);
    return 0;
}

/* phone,name,region_code,badge_no */
static int s_row_inspector(import_t *self, size_t line, const char *const *f)
{
    uint32_t region, key;
    if (s_phone(self, line, "phone", f[0]) || s_text(self, line, "name", f[1], 1, 100) ||
        s_region(self, line, "region_code", f[2], &region) ||
        s_text(self, line, "badge_no", f[3], 1, 32) ||
        s_unique(self, S_KEYS, line, "phone", f[0], &key) ||
        s_unique(self, S_BADGES, line, "badge_no", f[3], NULL))
        return -1;
    s_row_t *r = s_row_new(self, line);
    r->region = region;
    r->key = key;
    r->want = REGION_DISTRICT;
    self->nrows++;
    s_copy_row(self, line, f, 4, -1);
    return 0;
}

import_t *import_parse(import_kind_t kind, const char *data, size_t len, const char *scope)
{
    import_t *self = xcalloc(1, sizeof *self);
    self->kind = kind;
    if (scope)
        snprintf(self->scope, sizeof self->scope, "%s", scope);
    self->copy = buf_new(len * 2 + 4096);
    const s_kind_t *k = &s_kinds[kind];
    csv_t *csv = csv_new(data, len, S_FIELDS_MAX, S_FIELD_MAX);
    const char *const *f;
    int n = csv_next(csv, &f);
    if (n <= 0) {
        s_bad(self, 1, "", "%s",
              n == 0 ? "the file is empty: the header row is missing" : csv_error(csv));
        csv_destroy(&csv);
        return self;
    }
    bool header_ok = n == k->ncols;
    const char *h = k->header;
    for (int i = 0; header_ok && i < n; i++) {
        size_t fl = strlen(f[i]);
        header_ok = !strncmp(h, f[i], fl) && (h[fl] == ',' || h[fl] == '\0');
        h += fl + 1;
    }
    if (!header_ok || csv_line(csv) != 1) {
        s_bad(self, 1, "", "the header row must be exactly %s", k->header);
        csv_destroy(&csv);
        return self;
    }
    while ((n = csv_next(csv, &f)) != 0) {
        size_t line = csv_line(csv);
        if (n < 0) {
            s_bad(self, line, "", "%s", csv_error(csv));
            break;
        }
        if (n != k->ncols) {
            s_bad(self, line, "", "the row has %d fields, the header %d", n, k->ncols);
            continue;
        }
        switch (kind) {
        case IMPORT_REGIONS:
            s_row_region(self, line, f);
            break;
        case IMPORT_BUSINESSES:
            s_row_business(self, line, f);
            break;
        case IMPORT_CADRES:
            s_row_cadre(self, line, f);
            break;
        case IMPORT_ASSIGNMENTS:
            s_row_assignment(self, line, f);
            break;
        case IMPORT_INSPECTORS:
            s_row_inspector(self, line, f);
            break;
        default:
            break;
        }
    }
    csv_destroy(&csv);
    if (buf_overflowed(self->copy))
        s_bad(self, 1, "", "the file is too large");
    return self;
}

void import_destroy(import_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    import_t *self = *self_p;
    for (int i = 0; i < S_NSETS; i++)
        s_set_free(&self->sets[i]);
    free(self->rows);
    free(self->local.v);
    free(self->dep.v);
    free(self->merged);
    buf_destroy(&self->copy);
    free(self);
    *self_p = NULL;
}

size_t import_rows(const import_t *self)
{
    return self->nrows;
}

/* The set behind a lookup class, or NULL when the class is not needed. */
static const s_set_t *s_lookup_set(const import_t *self, import_lookup_t what)
{
    switch (what) {
    case IMPORT_LOOKUP_REGIONS:
        return &self->sets[S_REGIONS];
    case IMPORT_LOOKUP_CADRES:
        return &self->sets[S_CADRES];
    case IMPORT_LOOKUP_BUSINESSES:
        return &self->sets[S_BUSINESSES];
    case IMPORT_LOOKUP_EXISTING:
        if (!self->scope[0] || self->kind == IMPORT_REGIONS || self->kind == IMPORT_ASSIGNMENTS)
            return NULL;
        return &self->sets[S_KEYS];
    default:
        return NULL;
    }
}

size_t import_lookup_count(const import_t *self, import_lookup_t what)
{
    const s_set_t *set = s_lookup_set(self, what);
    return set ? set->n : 0;
}

const char *import_lookup_key(const import_t *self, import_lookup_t what, size_t i)
{
    const s_set_t *set = s_lookup_set(self, what);
    return set && i < set->n ? s_set_key(set, (uint32_t)i) : NULL;
}

void import_lookup_set(import_t *self, import_lookup_t what, size_t i, const char *value)
{
    s_set_t *set = (s_set_t *)s_lookup_set(self, what);
    if (!set || i >= set->n || !value)
        return;
    s_entry_t *e = &set->entries[i];
    if (what == IMPORT_LOOKUP_REGIONS) {
        region_level_t l;
        if (region_level_parse(value, &l) == 0) {
            e->db_level = (int8_t)l;
            e->known = true;
        }
        return;
    }
    e->known = true;
    snprintf(e->value, sizeof e->value, "%s", value);
}

static const char *s_level_name(int l)
{
    const char *n = l >= 0 ? region_level_name((region_level_t)l) : NULL;
    return n ? n : "?";
}

/* The region of a row: exists in the database with the level wanted. */
static void s_check_region(import_t *self, const s_row_t *r, const char *field)
{
    const s_entry_t *e = &self->sets[S_REGIONS].entries[r->region];
    const char *code = s_set_key(&self->sets[S_REGIONS], r->region);
    if (!e->known)
        s_bad_dep(self, r->line, field, "%s %s does not exist", field, code);
    else if (e->db_level != r->want)
        s_bad_dep(self, r->line, field, "%s %s is a %s, it must be a %s", field, code,
                  s_level_name(e->db_level), s_level_name(r->want));
}

/* A region row's parent: earlier in the file or in the database, one level up. */
static void s_check_parent(import_t *self, const s_row_t *r)
{
    if (r->region == S_NONE)
        return;
    const s_entry_t *p = &self->sets[S_REGIONS].entries[r->region];
    const char *code = s_set_key(&self->sets[S_REGIONS], r->region);
    int level = p->line && p->line < r->line ? p->level : p->known ? p->db_level : -2;
    if (level == -2)
        s_bad_dep(self, r->line, "parent_code",
                  "parent_code %s does not exist (in the database or earlier in the file)", code);
    else if (level != r->want)
        s_bad_dep(self, r->line, "parent_code", "parent_code %s is a %s, it must be a %s", code,
                  s_level_name(level), s_level_name(r->want));
}

static void s_check_assignment(import_t *self, const s_row_t *r)
{
    const s_entry_t *c = &self->sets[S_CADRES].entries[r->cadre];
    const s_entry_t *b = &self->sets[S_BUSINESSES].entries[r->business];
    if (!c->known) {
        s_bad_dep(self, r->line, "cadre_phone", "no cadre has phone %s",
                  s_set_key(&self->sets[S_CADRES], r->cadre));
    } else if (!b->known) {
        s_bad_dep(self, r->line, "license_no", "no business has license_no %s",
                  s_set_key(&self->sets[S_BUSINESSES], r->business));
    } else if (self->scope[0] && !region_contains(self->scope, b->value)) {
        s_bad_dep(self, r->line, "license_no",
                  "business %s lies in %s, outside your jurisdiction %s",
                  s_set_key(&self->sets[S_BUSINESSES], r->business), b->value, self->scope);
    } else if (!region_contains(c->value, b->value)) {
        s_bad_dep(self, r->line, "license_no",
                  "the cadre's region %s does not contain the business's region %s", c->value,
                  b->value);
    }
}

void import_check(import_t *self)
{
    if (self->checked)
        return;
    self->checked = true;
    const s_set_t *existing = s_lookup_set(self, IMPORT_LOOKUP_EXISTING);
    for (size_t i = 0; i < self->nrows; i++) {
        const s_row_t *r = &self->rows[i];
        size_t before = self->dep.total;
        switch (self->kind) {
        case IMPORT_REGIONS:
            s_check_parent(self, r);
            break;
        case IMPORT_BUSINESSES:
        case IMPORT_CADRES:
        case IMPORT_INSPECTORS:
            s_check_region(self, r, "region_code");
            break;
        case IMPORT_ASSIGNMENTS:
            s_check_assignment(self, r);
            break;
        default:
            break;
        }
        if (self->dep.total == before && existing && r->key != S_NONE) {
            const s_entry_t *e = &existing->entries[r->key];
            if (e->known && !region_contains(self->scope, e->value)) {
                const char *field = self->kind == IMPORT_BUSINESSES ? "license_no" : "phone";
                s_bad_dep(self, r->line, field, "%s %s belongs to %s, outside your jurisdiction %s",
                          field, s_set_key(existing, r->key), e->value, self->scope);
            }
        }
    }
}

size_t import_error_total(const import_t *self)
{
    return self->local.total + self->dep.total;
}

static int s_by_line(const void *a, const void *b)
{
    const import_error_t *x = a, *y = b;
    return (x->line > y->line) - (x->line < y->line);
}

const import_error_t *import_errors(import_t *self, size_t *n)
{
    free(self->merged);
    self->nmerged = self->local.n + self->dep.n;
    self->merged = xcalloc(self->nmerged + 1, sizeof *self->merged);
    if (self->local.n)
        memcpy(self->merged, self->local.v, self->local.n * sizeof *self->merged);
    if (self->dep.n)
        memcpy(self->merged + self->local.n, self->dep.v, self->dep.n * sizeof *self->merged);
    qsort(self->merged, self->nmerged, sizeof *self->merged, s_by_line);
    if (self->nmerged > IMPORT_ERRORS_MAX)
        self->nmerged = IMPORT_ERRORS_MAX;
    *n = self->nmerged;
    return self->merged;
}

const char *import_copy_data(const import_t *self, size_t *len)
{
    *len = buf_len(self->copy);
    return buf_data(self->copy);
}

/* ---- against the database ------------------------------------------------------------ */

typedef struct {
    const char *stage;  /* CREATE TEMP TABLE lz_import_stage ... */
    const char *update; /* existing rows that differ; NULL: none */
    const char *insert; /* new rows */
    const char *lookup_existing;
} s_sql_t;

static const s_sql_t s_sql[IMPORT_KIND_COUNT] = {
    [IMPORT_REGIONS] =
        {"CREATE TEMP TABLE lz_import_stage (line int, code char(12), name text, level text, "
         "parent_code char(12)) ON COMMIT DROP",
         "UPDATE regions r SET name = s.name, level = s.level, parent_code = s.parent_code "
         "FROM lz_import_stage s WHERE r.code = s.code AND (r.name, r.level, r.parent_code) "
         "IS DISTINCT FROM (s.name, s.level, s.parent_code)",
         "INSERT INTO regions (code, name, level, parent_code) "
         "SELECT s.code, s.name, s.level, s.parent_code FROM lz_import_stage s "
         "WHERE NOT EXISTS (SELECT 1 FROM regions r WHERE r.code = s.code) ORDER BY s.line",
         NULL},
    [IMPORT_BUSINESSES] =
        {"CREATE TEMP TABLE lz_import_stage (line int, license_no text, credit_code char(18), "
         "name text, type text, risk_grade char(1), region_code char(12), address text, "
         "head_name text, head_phone char(11), officer_name text, officer_phone char(11)) "
         "ON COMMIT DROP",
         "UPDATE businesses b SET credit_code = s.credit_code, name = s.name, type = s.type, "
         "risk_grade = s.risk_grade, region_code = s.region_code, address = s.address, "
         "head_name = s.head_name, head_phone = s.head_phone, officer_name = s.officer_name, "
         "officer_phone = s.officer_phone, updated_at = now() "
         "FROM lz_import_stage s WHERE b.license_no = s.license_no AND "
         "(b.credit_code, b.name, b.type, b.risk_grade, b.region_code, b.address, b.head_name, "
         "b.head_phone, b.officer_name, b.officer_phone) IS DISTINCT FROM "
         "(s.credit_code, s.name, s.type, s.risk_grade, s.region_code, s.address, s.head_name, "
         "s.head_phone, s.officer_name, s.officer_phone)",
         "INSERT INTO businesses (license_no, credit_code, name, type, risk_grade, region_code, "
         "address, head_name, head_phone, officer_name, officer_phone) "
         "SELECT s.license_no, s.credit_code, s.name, s.type, s.risk_grade, s.region_code, "
         "s.address, s.head_name, s.head_phone, s.officer_name, s.officer_phone "
         "FROM lz_import_stage s "
         "WHERE NOT EXISTS (SELECT 1 FROM businesses b WHERE b.license_no = s.license_no)",
         "SELECT license_no, region_code FROM businesses WHERE license_no = ANY($1::text[])"},
    [IMPORT_CADRES] =
        {"CREATE TEMP TABLE lz_import_stage (line int, phone char(11), name text, level text, "
         "region_code char(12), title text) ON COMMIT DROP",
         "UPDATE cadres c SET name = s.name, level = s.level, region_code = s.region_code, "
         "title = s.title, updated_at = now() FROM lz_import_stage s WHERE c.phone = s.phone "
         "AND (c.name, c.level, c.region_code, c.title) IS DISTINCT FROM "
         "(s.name, s.level, s.region_code, s.title)",
         "INSERT INTO cadres (phone, name, level, region_code, title) "
         "SELECT s.phone, s.name, s.level, s.region_code, s.title FROM lz_import_stage s "
         "WHERE NOT EXISTS (SELECT 1 FROM cadres c WHERE c.phone = s.phone) ORDER BY s.line",
         "SELECT phone, region_code FROM cadres WHERE phone = ANY($1::bpchar[])"},
    [IMPORT_ASSIGNMENTS] =
        {"CREATE TEMP TABLE lz_import_stage (line int, cadre_phone char(11), license_no text) "
         "ON COMMIT DROP",
         NULL,
         "INSERT INTO assignments (cadre_id, business_id, region_code, since) "
         "SELECT c.id, b.id, b.region_code, now() FROM lz_import_stage s "
         "JOIN cadres c ON c.phone = s.cadre_phone "
         "JOIN businesses b ON b.license_no = s.license_no "
         "WHERE NOT EXISTS (SELECT 1 FROM assignments a WHERE a.cadre_id = c.id "
         "AND a.business_id = b.id AND a.until IS NULL) ORDER BY s.line",
         NULL},
    [IMPORT_INSPECTORS] =
        {"CREATE TEMP TABLE lz_import_stage (line int, phone char(11), name text, "
         "region_code char(12), badge_no text) ON COMMIT DROP",
         "UPDATE inspectors i SET name = s.name, region_code = s.region_code, "
         "badge_no = s.badge_no FROM lz_import_stage s WHERE i.phone = s.phone AND "
         "(i.name, i.region_code, i.badge_no) IS DISTINCT FROM (s.name, s.region_code, "
         "s.badge_no)",
         "INSERT INTO inspectors (phone, name, region_code, badge_no) "
         "SELECT s.phone, s.name, s.region_code, s.badge_no FROM lz_import_stage s "
         "WHERE NOT EXISTS (SELECT 1 FROM inspectors i WHERE i.phone = s.phone) ORDER BY s.line",
         "SELECT phone, region_code FROM inspectors WHERE phone = ANY($1::bpchar[])"},
};

/* Look up every key of class what with sql ($1 a text array of the keys; rows key, value). */
static int s_lookup(pg_t *pg, import_t *imp, import_lookup_t what, const char *sql)
{
    size_t n = import_lookup_count(imp, what);
    if (n == 0 || !sql)
        return 0;
    buf_t *arr = buf_new((size_t)1 << 31);
    buf_putc(arr, '{');
    for (size_t i = 0; i < n; i++) {
        const char *k = import_lookup_key(imp, what, i);
        buf_append_str(arr, i ? ",\"" : "\"");
        for (; *k; k++) {
            if (*k == '"' || *k == '\\')
                buf_putc(arr, '\\');
            buf_putc(arr, *k);
        }
        buf_putc(arr, '"');
    }
    buf_putc(arr, '}');
    const char *params[] = {buf_data(arr)};
    PGresult *res = pg_query(pg, sql, 1, params);
    buf_destroy(&arr);
    if (!res)
        return -1;
    /* map the answers back to key indexes through the set's own hash */
    s_set_t *set = (s_set_t *)s_lookup_set(imp, what);
    for (int r = 0; r < PQntuples(res); r++) {
        uint32_t i = s_set_find(set, pg_str(res, r, 0));
        if (i != UINT32_MAX)
            import_lookup_set(imp, what, i, pg_str(res, r, 1));
    }
    pg_free(&res);
    return 0;
}

static int64_t s_cmd_tuples(PGresult *res)
{
    const char *t = PQcmdTuples(res);
    return t && t[0] ? strtoll(t, NULL, 10) : 0;
}

/* Run sql (no parameters) and return the rows it touched, or -1. */
static int64_t s_exec_count(pg_t *pg, const char *sql)
{
    int64_t t0 = clock_mono_us();
    PGresult *res = pg_query(pg, sql, 0, NULL);
    if (!res)
        return -1;
    int64_t n = s_cmd_tuples(res);
    pg_free(&res);
    log_debug("%.6s: %lld rows in %.2f s", sql, (long long)n, (double)(clock_mono_us() - t0) / 1e6);
    return n;
}

static void s_fail(import_result_t *out, Lz__Status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void s_fail(import_result_t *out, Lz__Status status, const char *fmt, ...)
{
    out->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->reason, sizeof out->reason, fmt, ap);
    va_end(ap);
}

/* Inspectors: a badge in the file held by another inspector in the database. */
static int s_badge_conflicts(pg_t *pg, import_result_t *out)
{
    PGresult *res = pg_query(pg,
                             "SELECT s.line, s.badge_no FROM lz_import_stage s "
                             "JOIN inspectors i ON i.badge_no = s.badge_no AND i.phone <> s.phone "
                             "ORDER BY s.line LIMIT 100",
                             0, NULL);
    if (!res)
        return -1;
    int n = PQntuples(res);
    if (n > 0) {
        out->errors = xcalloc((size_t)n, sizeof *out->errors);
        for (int i = 0; i < n; i++) {
            import_error_t *e = &out->errors[i];
            e->line = (int)pg_int(res, i, 0);
            snprintf(e->field, sizeof e->field, "badge_no");
            snprintf(e->message, sizeof e->message, "badge_no %s belongs to another inspector",
                     pg_str(res, i, 1));
        }
        out->nerrors = (size_t)n;
        s_fail(out, LZ__STATUS__INVALID_ROWS, "%d rows are invalid", n);
    }
    pg_free(&res);
    return n;
}

/* Everything inside the transaction once the file is known good; 0 or -1 (out set). */
static int s_apply(pg_t *pg, import_t *imp, const Lz__Caller *caller, const char *request_id,
                   import_result_t *out)
{
    import_kind_t kind = imp->kind;
    const s_sql_t *q = &s_sql[kind];
    size_t len;
    const char *data = import_copy_data(imp, &len);
    int64_t t0 = clock_mono_us();
    /* the anti-join's hash of a million rows stays in memory; no JIT (its
     * compile time is lost on a plain insert).  New businesses take their
     * ids in the order the anti-join gives them (the file's, in practice):
     * dense either way, and a sort of a million rows is saved */
    if (pg_exec(pg, "SET LOCAL work_mem = '256MB'", 0, NULL) != 0 ||
        pg_exec(pg, "SET LOCAL jit = off", 0, NULL) != 0 || pg_exec(pg, q->stage, 0, NULL) != 0 ||
        pg_copy_in(pg, "COPY lz_import_stage FROM STDIN", data, len) != 0)
        return -1;
    log_debug("import %s: copied in %.2f s", s_kinds[kind].name,
              (double)(clock_mono_us() - t0) / 1e6);
    if (imp->nrows >= S_ANALYZE_ROWS && pg_exec(pg, "ANALYZE lz_import_stage", 0, NULL) != 0)
        return -1;
    if (kind == IMPORT_INSPECTORS) {
        int c = s_badge_conflicts(pg, out);
        if (c != 0)
            return -1;
    }
    int64_t ins = 0, upd = 0;
    if (kind == IMPORT_REGIONS) { /* new parents first: an update may point at one */
        ins = s_exec_count(pg, q->insert);
        upd = ins < 0 ? -1 : s_exec_count(pg, q->update);
    } else {
        upd = q->update ? s_exec_count(pg, q->update) : 0;
        ins = upd < 0 ? -1 : s_exec_count(pg, q->insert);
    }
    if (ins < 0 || upd < 0)
        return -1;
    log_debug("import %s: staged and applied %zu rows in %.2f s", s_kinds[kind].name, imp->nrows,
              (double)(clock_mono_us() - t0) / 1e6);
    out->imported = ins;
    out->updated = upd;
    char detail[256], action[64], object[64];
    snprintf(detail, sizeof detail,
             "{\"kind\":\"%s\",\"rows\":%zu,\"imported\":%lld,"
             "\"updated\":%lld}",
             s_kinds[kind].name, imp->nrows, (long long)ins, (long long)upd);
    snprintf(action, sizeof action, "import.%s", s_kinds[kind].name);
    snprintf(object, sizeof object, "%s", s_kinds[kind].name);
    if (audit_write(pg, caller, action, object, request_id, detail) != 0 ||
        outbox_write(pg, "registry.imported", s_kinds[kind].name, detail, strlen(detail)) != 0)
        return -1;
    if (request_id) {
        char method[64];
        snprintf(method, sizeof method, "intake.import_%s", s_kinds[kind].name);
        rpc_reply_t answer = {0};
        import_reply(out, &answer);
        int rc = idem_finish(pg, method, request_id, &answer);
        rpc_reply_clear(&answer);
        if (rc != 0)
            return -1;
    }
    return 0;
}

int import_run(pg_t *pg, import_kind_t kind, const char *data, size_t len, const Lz__Caller *caller,
               const char *request_id, import_result_t *out)
{
    memset(out, 0, sizeof *out);
    out->status = LZ__STATUS__OK;
    if ((unsigned)kind >= IMPORT_KIND_COUNT) {
        s_fail(out, LZ__STATUS__INTERNAL, "no such import");
        return -1;
    }
    const char *scope = NULL;
    if (caller && !scope_is_admin(caller)) {
        if (!scope_is_regulator(caller)) {
            s_fail(out, LZ__STATUS__FORBIDDEN, "only admins and regulators may import");
            return -1;
        }
        scope = caller->region;
    }
    int64_t t0 = clock_mono_us();
    import_t *imp = import_parse(kind, data, len, scope);
    log_debug("import %s: parsed %zu rows in %.2f s", s_kinds[kind].name, imp->nrows,
              (double)(clock_mono_us() - t0) / 1e6);
    char method[64], who[IDEM_CALLER_MAX];
    snprintf(method, sizeof method, "intake.import_%s", s_kinds[kind].name);
    idem_caller_key(caller, who, sizeof who);
    int rc = -1;
    if (!request_id) {
        if (pg_begin(pg) != 0) {
            s_fail(out, LZ__STATUS__UNAVAILABLE, "database unavailable");
            goto done;
        }
    } else {
        int claimed = idem_begin(pg, method, request_id, who, &out->stored);
        if (claimed == 0) {
            out->replayed = true;
            out->status = out->stored.status;
            rc = out->status == LZ__STATUS__OK ? 0 : -1;
            goto done;
        }
        if (claimed < 0) {
            s_fail(out, out->stored.status, "%s", out->stored.reason ? out->stored.reason : "");
            rpc_reply_clear(&out->stored);
            goto done;
        }
    }
    char lock[24];
    snprintf(lock, sizeof lock, "%lld", S_LOCK_BASE + kind);
    const char *lp[] = {lock};
    if (pg_exec(pg, "SELECT pg_advisory_xact_lock($1::bigint)", 1, lp) != 0)
        goto db_fail;
    if (imp->local.total == 0 || imp->nrows > 0) {
        /* KEY SHARE: the regions found stay until COMMIT (businesses have no
         * foreign key to regions; migration 0014) */
        if (s_lookup(pg, imp, IMPORT_LOOKUP_REGIONS,
                     "SELECT code, level FROM regions WHERE code = ANY($1::bpchar[]) "
                     "FOR KEY SHARE") ||
            s_lookup(pg, imp, IMPORT_LOOKUP_CADRES,
                     "SELECT phone, region_code FROM cadres WHERE phone = ANY($1::bpchar[])") ||
            s_lookup(pg, imp, IMPORT_LOOKUP_BUSINESSES,
                     "SELECT license_no, region_code FROM businesses "
                     "WHERE license_no = ANY($1::text[])") ||
            s_lookup(pg, imp, IMPORT_LOOKUP_EXISTING, s_sql[kind].lookup_existing))
            goto db_fail;
        import_check(imp);
        log_debug("import %s: checked in %.2f s", s_kinds[kind].name,
                  (double)(clock_mono_us() - t0) / 1e6);
    }
    if (import_error_total(imp) > 0) {
        pg_rollback(pg);
        size_t n;
        const import_error_t *errs = import_errors(imp, &n);
        out->errors = xmemdup(errs, (n ? n : 1) * sizeof *errs);
        out->nerrors = n;
        s_fail(out, LZ__STATUS__INVALID_ROWS, "%zu %s invalid", import_error_total(imp),
               import_error_total(imp) == 1 ? "row is" : "rows are");
        goto done;
    }
    if (s_apply(pg, imp, caller, request_id, out) != 0) {
        if (out->status != LZ__STATUS__OK) {
            pg_rollback(pg);
            goto done;
        }
        goto db_fail;
    }
    if (pg_commit(pg) != 0)
        goto db_fail;
    rc = 0;
    goto done;
db_fail:
    pg_rollback(pg);
    out->imported = out->updated = 0;
    if (pg_unique_violation(pg))
        s_fail(out, LZ__STATUS__CONFLICT, "a row conflicts with another: %s", pg_errmsg(pg));
    else
        s_fail(out, LZ__STATUS__UNAVAILABLE, "the import could not be written");
done:
    import_destroy(&imp);
    return rc;
}

void import_result_clear(import_result_t *out)
{
    free(out->errors);
    rpc_reply_clear(&out->stored);
    memset(out, 0, sizeof *out);
}

void import_reply(const import_result_t *res, rpc_reply_t *rep)
{
    if (res->replayed) {
        const rpc_reply_t *st = &res->stored;
        rpc_reply_clear(rep);
        rep->status = st->status;
        rep->reason = st->reason ? xstrdup(st->reason) : NULL;
        rep->field = st->field ? xstrdup(st->field) : NULL;
        if (st->payload_len) {
            rep->payload = xmemdup(st->payload, st->payload_len);
            rep->payload_len = st->payload_len;
        }
        return;
    }
    if (res->status == LZ__STATUS__OK) {
        Lz__ImportReply r = LZ__IMPORT_REPLY__INIT;
        r.has_imported = r.has_updated = true;
        r.imported = res->imported;
        r.updated = res->updated;
        rpc_reply_ok(rep, &r.base);
        return;
    }
    if (res->status != LZ__STATUS__INVALID_ROWS) {
        rpc_reply_error(rep, res->status, NULL, "%s", res->reason);
        return;
    }
    Lz__RowErrors re = LZ__ROW_ERRORS__INIT;
    Lz__RowError *rows = xcalloc(res->nerrors + 1, sizeof *rows);
    Lz__RowError **ptrs = xcalloc(res->nerrors + 1, sizeof *ptrs);
    for (size_t i = 0; i < res->nerrors; i++) {
        lz__row_error__init(&rows[i]);
        rows[i].has_line = true;
        rows[i].line = res->errors[i].line;
        rows[i].field = res->errors[i].field[0] ? res->errors[i].field : NULL;
        rows[i].message = res->errors[i].message;
        ptrs[i] = &rows[i];
    }
    re.n_rows = res->nerrors;
    re.rows = ptrs;
    rpc_reply_error_msg(rep, LZ__STATUS__INVALID_ROWS, res->reason, &re.base);
    free(ptrs);
    free(rows);
}

/* ---- the methods ---------------------------------------------------------------------- */

static void s_handle(intake_t *self, import_kind_t kind, const Lz__Envelope *req, rpc_reply_t *rep)
{
    if (!scope_is_admin(req->caller) && !scope_is_regulator(req->caller)) {
        rpc_reply_error(rep, LZ__STATUS__FORBIDDEN, NULL, "only admins and regulators may import");
        return;
    }
    if (!req->request_id || !req->request_id[0]) {
        rpc_reply_error(rep, LZ__STATUS__MISSING_FIELD, "request_id",
                        "an import needs a request_id");
        return;
    }
    Lz__ImportRequest *in = (Lz__ImportRequest *)rpc_unpack(req, &lz__import_request__descriptor);
    if (!in) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, NULL, "request does not parse");
        return;
    }
    if (!in->csv) {
        rpc_reply_error(rep, LZ__STATUS__MISSING_FIELD, "csv", "the CSV file is required");
    } else {
        import_result_t res;
        import_run(self->pg, kind, in->csv, strlen(in->csv), req->caller, req->request_id, &res);
        if (res.replayed)
            log_info("import %s: the stored answer of %s again", s_kinds[kind].name,
                     req->request_id);
        else if (res.status == LZ__STATUS__OK)
            log_info("import %s: %lld imported, %lld updated", s_kinds[kind].name,
                     (long long)res.imported, (long long)res.updated);
        import_reply(&res, rep);
        import_result_clear(&res);
    }
    protobuf_c_message_free_unpacked(&in->base, NULL);
}

void intake_import_regions(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep)
{
    s_handle(ctx, IMPORT_REGIONS, req, rep);
}

void intake_import_businesses(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep)
{
    s_handle(ctx, IMPORT_BUSINESSES, req, rep);
}

void intake_import_cadres(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep)
{
    s_handle(ctx, IMPORT_CADRES, req, rep);
}

void intake_import_assignments(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep)
{
    s_handle(ctx, IMPORT_ASSIGNMENTS, req, rep);
}

void intake_import_inspectors(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep)
{
    s_handle(ctx, IMPORT_INSPECTORS, req, rep);
}
