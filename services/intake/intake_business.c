/*
 * intake_business.c - reading the registry: a business with its cadres,
 * filtered lists with keyset paging, coverage (应包尽包).
 *
 * Lists and coverage run as unnamed statements (pg_query), not prepared
 * ones: the planner then sees the real region range and filters and can
 * choose between the businesses_region (region_code, id) range and the
 * primary key order, which a generic plan for "any region" cannot.
 */
#include "intake_business.h"
#include "business.pb-c.h"
#include "intake_server.h"
#include "log.h"
#include "mem.h"
#include "period.h"
#include "scope.h"

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- pure helpers ---------------------------------------------------------------------- */

#define CURSOR_VERSION "v1"

int intake_cursor_encode(const int64_t *keys, size_t n, char *buf, size_t len)
{
    if (n < 1 || n > INTAKE_CURSOR_KEYS || !buf)
        return -1;
    char raw[8 + INTAKE_CURSOR_KEYS * 21];
    size_t used = (size_t)snprintf(raw, sizeof raw, "%s", CURSOR_VERSION);
    for (size_t i = 0; i < n; i++)
        used += (size_t)snprintf(raw + used, sizeof raw - used, ".%" PRId64, keys[i]);
    size_t need = sodium_base64_ENCODED_LEN(used, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    if (need > len || need > INTAKE_CURSOR_MAX + 1)
        return -1;
    sodium_bin2base64(buf, len, (const unsigned char *)raw, used,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return 0;
}

/* Parse a decimal int64 from s[0..n): optional '-', digits only, in range. */
static int s_parse_i64(const char *s, size_t n, int64_t *out)
{
    char tmp[24];
    if (n == 0 || n >= sizeof tmp)
        return -1;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    size_t i = tmp[0] == '-' ? 1 : 0;
    if (!tmp[i])
        return -1;
    for (; tmp[i]; i++)
        if (tmp[i] < '0' || tmp[i] > '9')
            return -1;
    errno = 0;
    char *end = NULL;
    long long v = strtoll(tmp, &end, 10);
    if (errno || !end || *end)
        return -1;
    *out = (int64_t)v;
    return 0;
}

int intake_cursor_decode(const char *cursor, int64_t *keys, size_t n)
{
    if (!cursor || n < 1 || n > INTAKE_CURSOR_KEYS)
        return -1;
    size_t clen = strnlen(cursor, INTAKE_CURSOR_MAX + 1);
    if (clen == 0 || clen > INTAKE_CURSOR_MAX)
        return -1;
    unsigned char raw[INTAKE_CURSOR_MAX];
    size_t rlen = 0;
    if (sodium_base642bin(raw, sizeof raw - 1, cursor, clen, NULL, &rlen, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return -1;
    raw[rlen] = '\0';
    const char *s = (const char *)raw;
    size_t vlen = strlen(CURSOR_VERSION);
    if (rlen != strlen(s) || strncmp(s, CURSOR_VERSION, vlen) != 0)
        return -1;
    int64_t tmp[INTAKE_CURSOR_KEYS];
    const char *p = s + vlen;
    for (size_t i = 0; i < n; i++) {
        if (*p != '.')
            return -1;
        p++;
        const char *end = strchr(p, '.');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (s_parse_i64(p, len, &tmp[i]) != 0)
            return -1;
        p += len;
    }
    if (*p)
        return -1;
    memcpy(keys, tmp, n * sizeof *keys);
    return 0;
}

int intake_region_range(const char *code, char lo[REGION_CODE_LEN + 1],
                        char hi[REGION_CODE_LEN + 1])
{
    region_level_t level;
    if (!code || region_level_of(code, &level) != 0)
        return -1;
    size_t plen = region_prefix_len(level);
    if (plen == 0 || plen > REGION_CODE_LEN)
        return -1;
    memcpy(lo, code, plen);
    memcpy(hi, code, plen);
    memset(lo + plen, '0', REGION_CODE_LEN - plen);
    memset(hi + plen, '9', REGION_CODE_LEN - plen);
    lo[REGION_CODE_LEN] = '\0';
    hi[REGION_CODE_LEN] = '\0';
    return 0;
}

int intake_like_pattern(const char *q, char *buf, size_t len)
{
    if (!q || !buf)
        return -1;
    size_t qlen = strnlen(q, INTAKE_Q_MAX + 1);
    if (qlen > INTAKE_Q_MAX)
        return -1;
    size_t o = 0;
    if (len < 3)
        return -1;
    buf[o++] = '%';
    for (size_t i = 0; i < qlen; i++) {
        if (q[i] == '%' || q[i] == '_' || q[i] == '\\') {
            if (o + 1 >= len)
                return -1;
            buf[o++] = '\\';
        }
        if (o + 1 >= len)
            return -1;
        buf[o++] = q[i];
    }
    if (o + 2 > len)
        return -1;
    buf[o++] = '%';
    buf[o] = '\0';
    return 0;
}

int intake_limit(bool has, int32_t v, int *out)
{
    if (!has) {
        *out = INTAKE_LIMIT_DEFAULT;
        return 0;
    }
    if (v < 1 || v > INTAKE_LIMIT_MAX)
        return -1;
    *out = (int)v;
    return 0;
}

static bool s_in(const char *s, const char *const *list)
{
    if (!s)
        return false;
    for (size_t i = 0; list[i]; i++)
        if (!strcmp(s, list[i]))
            return true;
    return false;
}

bool intake_business_type_valid(const char *s)
{
    static const char *const types[] = {"production", "sales",          "catering",
                                        "canteen",    "small_workshop", NULL};
    return s_in(s, types);
}

bool intake_risk_grade_valid(const char *s)
{
    static const char *const grades[] = {"A", "B", "C", "D", NULL};
    return s_in(s, grades);
}

bool intake_business_status_valid(const char *s)
{
    static const char *const statuses[] = {"active", "suspended", "closed", NULL};
    return s_in(s, statuses);
}

/* ---- handlers -------------------------------------------------------------------------- */

/* Answer a database failure: UNAVAILABLE (rolled back if a transaction was open). */
static void s_db_failed(intake_t *self, rpc_reply_t *rep)
{
    pg_rollback(self->pg);
    rpc_reply_error(rep, LZ__STATUS__UNAVAILABLE, NULL, "database unavailable");
}

/* Returns the caller's cadre id, or 0 when it is not a cadre token. */
static int64_t s_caller_cadre(const Lz__Caller *c)
{
    return scope_has_role(c, "cadre") && c->has_cadre_id && c->cadre_id > 0 ? c->cadre_id : 0;
}

/* Returns the caller's business id, or 0 when it is not a business token. */
static int64_t s_caller_business(const Lz__Caller *c)
{
    return scope_has_role(c, "business") && c->has_business_id && c->business_id > 0
               ? c->business_id
               : 0;
}

/*
 * Fill the nine list fields of b from row r of res (columns: id, license_no,
 * credit_code, name, type, risk_grade, region_code, status, address).
 * Strings point into res.
 */
static void s_business_row(Lz__Business *b, const PGresult *res, int r)
{
    lz__business__init(b);
    b->has_id = 1;
    b->id = pg_int(res, r, 0);
    b->license_no = (char *)pg_str(res, r, 1);
    b->credit_code = (char *)pg_str(res, r, 2);
    b->name = (char *)pg_str(res, r, 3);
    b->type = (char *)pg_str(res, r, 4);
    b->risk_grade = (char *)pg_str(res, r, 5);
    b->region_code = (char *)pg_str(res, r, 6);
    b->status = (char *)pg_str(res, r, 7);
    b->address = (char *)pg_str(res, r, 8);
}

#define BUSINESS_LIST_COLUMNS                                                                      \
    "b.id, b.license_no, b.credit_code, b.name, b.type, b.risk_grade, b.region_code, b.status, "   \
    "b.address"

void intake_get_business(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep)
{
    intake_t *self = ctx;
    Lz__GetBusinessRequest *in =
        (Lz__GetBusinessRequest *)rpc_unpack(req, &lz__get_business_request__descriptor);
    if (!in) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, NULL, "request does not parse");
        return;
    }
    PGresult *res = NULL, *cad = NULL;
    Lz__BusinessCadre *cadres = NULL;
    Lz__BusinessCadre **cadre_ptrs = NULL;
    char(*since)[RFC3339_TEXT_MAX] = NULL;
    if (!in->has_id) {
        rpc_reply_error(rep, LZ__STATUS__MISSING_FIELD, "id", "id is required");
        goto done;
    }
    const Lz__Caller *c = req->caller;
    int64_t cadre = s_caller_cadre(c);
    char idtext[24], cadretext[24];
    snprintf(idtext, sizeof idtext, "%" PRId64, in->id);
    snprintf(cadretext, sizeof cadretext, "%" PRId64, cadre);
    const char *params[] = {idtext, cadre ? cadretext : NULL};
    res = pg_query_prepared(
        self->pg, "intake_get_business",
        "SELECT " BUSINESS_LIST_COLUMNS ", b.scale, b.head_name, b.head_phone, b.officer_name, "
        "b.officer_phone, b.director_name, b.director_phone, b.needs_director, b.insured, "
        "b.insurance_policy, b.insurance_from::text, b.insurance_to::text, "
        "($2::bigint IS NOT NULL AND EXISTS (SELECT 1 FROM assignments a WHERE a.business_id = "
        "b.id AND a.cadre_id = $2::bigint AND a.until IS NULL)) "
        "FROM businesses b WHERE b.id = $1::bigint",
        2, params);
    if (!res) {
        s_db_failed(self, rep);
        goto done;
    }
    bool visible = false;
    if (PQntuples(res) == 1) {
        if (cadre)
            visible = pg_bool(res, 0, 21);
        else
            visible = scope_business_visible(c, in->id, pg_str(res, 0, 6));
    }
    if (!visible) {
        rpc_reply_error(rep, LZ__STATUS__NOT_FOUND, "id", "no business %" PRId64, in->id);
        goto done;
    }
    cad = pg_query_prepared(self->pg, "intake_business_cadres",
                            "SELECT c.id, c.name, c.level, c.phone, c.title, "
                            "extract(epoch FROM a.since)::bigint "
                            "FROM assignments a JOIN cadres c ON c.id = a.cadre_id "
                            "WHERE a.business_id = $1::bigint AND a.until IS NULL "
                            "ORDER BY array_position(ARRAY['city','county','township','village'], "
                            "c.level), c.id",
                            1, params);
    if (!cad) {
        s_db_failed(self, rep);
        goto done;
    }
    Lz__Business b;
    s_business_row(&b, res, 0);
    b.scale = (char *)pg_str(res, 0, 9);
    b.head_name = (char *)pg_str(res, 0, 10);
    b.head_phone = (char *)pg_str(res, 0, 11);
    b.officer_name = (char *)pg_str(res, 0, 12);
    b.officer_phone = (char *)pg_str(res, 0, 13);
    b.director_name = (char *)pg_str(res, 0, 14);
    b.director_phone = (char *)pg_str(res, 0, 15);
    b.has_needs_director = 1;
    b.needs_director = pg_bool(res, 0, 16);
    b.has_director_missing = 1;
    b.director_missing = b.needs_director && (!b.director_name || !b.director_name[0]);
    b.has_insured = 1;
    b.insured = pg_bool(res, 0, 17);
    b.insurance_policy = (char *)pg_str(res, 0, 18);
    b.insurance_from = (char *)pg_str(res, 0, 19);
    b.insurance_to = (char *)pg_str(res, 0, 20);
    int n = PQntuples(cad);
    if (n > 0) {
        cadres = xcalloc((size_t)n, sizeof *cadres);
        cadre_ptrs = xcalloc((size_t)n, sizeof *cadre_ptrs);
        since = xcalloc((size_t)n, sizeof *since);
        for (int i = 0; i < n; i++) {
            lz__business_cadre__init(&cadres[i]);
            cadres[i].has_id = 1;
            cadres[i].id = pg_int(cad, i, 0);
            cadres[i].name = (char *)pg_str(cad, i, 1);
            cadres[i].level = (char *)pg_str(cad, i, 2);
            cadres[i].phone = (char *)pg_str(cad, i, 3);
            cadres[i].title = (char *)pg_str(cad, i, 4);
            if (rfc3339_format(pg_int(cad, i, 5), since[i], sizeof since[i]) > 0)
                cadres[i].since = since[i];
            cadre_ptrs[i] = &cadres[i];
        }
    }
    b.n_cadres = (size_t)n;
    b.cadres = cadre_ptrs;
    rpc_reply_ok(rep, &b.base);
done:
    free(since);
    free(cadre_ptrs);
    free(cadres);
    pg_free(&cad);
    pg_free(&res);
    protobuf_c_message_free_unpacked(&in->base, NULL);
}

/*
 * Check that region exists (answers NOT_FOUND when not).  Returns 0 when it
 * does, -1 when rep is set.
 */
static int s_region_exists(intake_t *self, const char *region, rpc_reply_t *rep)
{
    const char *params[] = {region};
    PGresult *res = pg_query_prepared(self->pg, "intake_region_exists",
                                      "SELECT 1 FROM regions WHERE code = $1", 1, params);
    if (!res) {
        s_db_failed(self, rep);
        return -1;
    }
    int found = PQntuples(res) == 1;
    pg_free(&res);
    if (!found) {
        rpc_reply_error(rep, LZ__STATUS__NOT_FOUND, "region", "no region %s", region);
        return -1;
    }
    return 0;
}

/*
 * The region a regulator or admin asks about: the given one (which must be
 * valid, in the caller's jurisdiction and exist), else the regulator's own;
 * for an admin without one, *region stays NULL when allow_all.  Other roles
 * may narrow their own view with a region: it is then only validated.
 * Returns 0, or -1 when rep is set.
 */
static int s_resolve_region(intake_t *self, const Lz__Caller *c, const char *given, bool allow_all,
                            const char **region, rpc_reply_t *rep)
{
    *region = NULL;
    if (given && !region_code_valid(given)) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "region",
                        "region must be a 12-digit region code");
        return -1;
    }
    if (scope_is_regulator(c)) {
        if (!given) {
            *region = c->region;
            return 0;
        }
        if (!scope_region_visible(c, given)) {
            rpc_reply_error(rep, LZ__STATUS__NOT_FOUND, "region", "no region %s", given);
            return -1;
        }
    } else if (scope_is_admin(c) && !given && !allow_all) {
        rpc_reply_error(rep, LZ__STATUS__MISSING_FIELD, "region", "region is required");
        return -1;
    }
    if (given && s_region_exists(self, given, rep) != 0)
        return -1;
    *region = given;
    return 0;
}

void intake_list_businesses(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep)
{
    intake_t *self = ctx;
    Lz__ListBusinessesRequest *in =
        (Lz__ListBusinessesRequest *)rpc_unpack(req, &lz__list_businesses_request__descriptor);
    if (!in) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, NULL, "request does not parse");
        return;
    }
    PGresult *res = NULL;
    Lz__Business *items = NULL;
    Lz__Business **ptrs = NULL;
    const Lz__Caller *c = req->caller;
    int64_t cadre = s_caller_cadre(c), own = s_caller_business(c);
    if (!scope_is_admin(c) && !scope_is_regulator(c) && !cadre && !own) {
        rpc_reply_error(rep, LZ__STATUS__FORBIDDEN, NULL, "this caller may not list businesses");
        goto done;
    }
    int limit;
    if (intake_limit(in->has_limit, in->limit, &limit) != 0) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "limit", "limit must be 1 to %d",
                        INTAKE_LIMIT_MAX);
        goto done;
    }
    if (in->type && !intake_business_type_valid(in->type)) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "type",
                        "type must be one of: production, sales, catering, canteen, "
                        "small_workshop");
        goto done;
    }
    if (in->risk_grade && !intake_risk_grade_valid(in->risk_grade)) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "risk_grade",
                        "risk_grade must be one of: A, B, C, D");
        goto done;
    }
    if (in->status && !intake_business_status_valid(in->status)) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "status",
                        "status must be one of: active, suspended, closed");
        goto done;
    }
    char like[2 * INTAKE_Q_MAX + 3];
    const char *q = in->q && in->q[0] ? in->q : NULL;
    if (q && intake_like_pattern(q, like, sizeof like) != 0) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "q", "q must be at most %d bytes",
                        INTAKE_Q_MAX);
        goto done;
    }
    int64_t after = 0;
    if (in->cursor && (intake_cursor_decode(in->cursor, &after, 1) != 0 || after < 0)) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "cursor", "cursor is not valid");
        goto done;
    }
    const char *region = NULL;
    if (s_resolve_region(self, c, in->region, true, &region, rep) != 0)
        goto done;
    char lo[REGION_CODE_LEN + 1], hi[REGION_CODE_LEN + 1];
    if (region && intake_region_range(region, lo, hi) != 0) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "region", "region is not valid");
        goto done;
    }
    char after_t[24], limit_t[16], cadre_t[24], own_t[24];
    snprintf(after_t, sizeof after_t, "%" PRId64, after);
    snprintf(limit_t, sizeof limit_t, "%d", limit + 1);
    snprintf(cadre_t, sizeof cadre_t, "%" PRId64, cadre);
    snprintf(own_t, sizeof own_t, "%" PRId64, own);
    const char *params[] = {region ? lo : NULL,
                            region ? hi : NULL,
                            in->type,
                            in->risk_grade,
                            in->status,
                            q ? like : NULL,
                            after_t,
                            cadre ? cadre_t : NULL,
                            own ? own_t : NULL,
                            limit_t};
    res = pg_query(self->pg,
                   "SELECT " BUSINESS_LIST_COLUMNS " FROM businesses b "
                   "WHERE ($1::bpchar IS NULL OR b.region_code BETWEEN $1::bpchar AND $2::bpchar) "
                   "AND ($3::text IS NULL OR b.type = $3::text) "
                   "AND ($4::bpchar IS NULL OR b.risk_grade = $4::bpchar) "
                   "AND ($5::text IS NULL OR b.status = $5::text) "
                   "AND ($6::text IS NULL OR b.name ILIKE $6::text OR b.license_no ILIKE $6::text) "
                   "AND b.id > $7::bigint "
                   "AND ($8::bigint IS NULL OR b.id IN (SELECT a.business_id FROM assignments a "
                   "WHERE a.cadre_id = $8::bigint AND a.until IS NULL)) "
                   "AND ($9::bigint IS NULL OR b.id = $9::bigint) "
                   "ORDER BY b.id LIMIT $10::int",
                   10, params);
    if (!res) {
        s_db_failed(self, rep);
        goto done;
    }
    int n = PQntuples(res);
    bool more = n > limit;
    if (more)
        n = limit;
    Lz__BusinessList out = LZ__BUSINESS_LIST__INIT;
    char next[INTAKE_CURSOR_MAX + 1];
    if (n > 0) {
        items = xcalloc((size_t)n, sizeof *items);
        ptrs = xcalloc((size_t)n, sizeof *ptrs);
        for (int i = 0; i < n; i++) {
            s_business_row(&items[i], res, i);
            ptrs[i] = &items[i];
        }
    }
    out.n_items = (size_t)n;
    out.items = ptrs;
    if (more && n > 0 && intake_cursor_encode(&items[n - 1].id, 1, next, sizeof next) == 0)
        out.next_cursor = next;
    rpc_reply_ok(rep, &out.base);
done:
    free(ptrs);
    free(items);
    pg_free(&res);
    protobuf_c_message_free_unpacked(&in->base, NULL);
}

void intake_coverage(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep)
{
    intake_t *self = ctx;
    Lz__CoverageRequest *in =
        (Lz__CoverageRequest *)rpc_unpack(req, &lz__coverage_request__descriptor);
    if (!in) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, NULL, "request does not parse");
        return;
    }
    PGresult *counts = NULL, *gaps = NULL;
    int64_t *ids = NULL;
    const Lz__Caller *c = req->caller;
    if (!scope_is_admin(c) && !scope_is_regulator(c)) {
        rpc_reply_error(rep, LZ__STATUS__FORBIDDEN, NULL, "coverage is for regulators");
        goto done;
    }
    const char *region = NULL;
    if (s_resolve_region(self, c, in->region, false, &region, rep) != 0)
        goto done;
    char lo[REGION_CODE_LEN + 1], hi[REGION_CODE_LEN + 1];
    if (intake_region_range(region, lo, hi) != 0) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "region", "region is not valid");
        goto done;
    }
    char max_t[16];
    snprintf(max_t, sizeof max_t, "%d", INTAKE_UNCOVERED_MAX);
    const char *params[] = {lo, hi, max_t};
    /* both counts from one snapshot */
    if (pg_begin(self->pg) != 0 ||
        pg_exec(self->pg, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", 0, NULL) !=
            0) {
        s_db_failed(self, rep);
        goto done;
    }
    /* one row per active business with the bit set of its current cadres' levels */
    counts = pg_query(self->pg,
                      "SELECT count(*), count(*) FILTER (WHERE m <> 0), "
                      "count(*) FILTER (WHERE m & 1 <> 0), count(*) FILTER (WHERE m & 2 <> 0), "
                      "count(*) FILTER (WHERE m & 4 <> 0), count(*) FILTER (WHERE m & 8 <> 0) "
                      "FROM (SELECT b.id, coalesce(bit_or(CASE c.level WHEN 'city' THEN 1 "
                      "WHEN 'county' THEN 2 WHEN 'township' THEN 4 WHEN 'village' THEN 8 "
                      "ELSE 0 END), 0) AS m "
                      "FROM businesses b "
                      "LEFT JOIN assignments a ON a.business_id = b.id AND a.until IS NULL "
                      "LEFT JOIN cadres c ON c.id = a.cadre_id AND c.status = 'active' "
                      "WHERE b.region_code BETWEEN $1::bpchar AND $2::bpchar "
                      "AND b.status = 'active' GROUP BY b.id) s",
                      2, params);
    if (!counts) {
        s_db_failed(self, rep);
        goto done;
    }
    gaps = pg_query(self->pg,
                    "SELECT b.id FROM businesses b "
                    "WHERE b.region_code BETWEEN $1::bpchar AND $2::bpchar AND b.status = 'active' "
                    "AND NOT EXISTS (SELECT 1 FROM assignments a JOIN cadres c ON c.id = "
                    "a.cadre_id WHERE a.business_id = b.id AND a.until IS NULL "
                    "AND c.status = 'active') ORDER BY b.id LIMIT $3::int",
                    3, params);
    if (!gaps || pg_commit(self->pg) != 0) {
        s_db_failed(self, rep);
        goto done;
    }
    Lz__Coverage out = LZ__COVERAGE__INIT;
    Lz__CoverageByLevel by = LZ__COVERAGE_BY_LEVEL__INIT;
    out.region = (char *)region;
    out.has_businesses = out.has_covered = out.has_uncovered_count = 1;
    out.businesses = pg_int(counts, 0, 0);
    out.covered = pg_int(counts, 0, 1);
    out.uncovered_count = out.businesses - out.covered;
    by.has_city = by.has_county = by.has_township = by.has_village = 1;
    by.city = pg_int(counts, 0, 2);
    by.county = pg_int(counts, 0, 3);
    by.township = pg_int(counts, 0, 4);
    by.village = pg_int(counts, 0, 5);
    out.by_level = &by;
    if (out.businesses > 0) {
        out.has_rate = 1;
        out.rate = (double)out.covered / (double)out.businesses;
    }
    int n = PQntuples(gaps);
    if (n > 0) {
        ids = xcalloc((size_t)n, sizeof *ids);
        for (int i = 0; i < n; i++)
            ids[i] = pg_int(gaps, i, 0);
    }
    out.n_uncovered = (size_t)n;
    out.uncovered = ids;
    rpc_reply_ok(rep, &out.base);
done:
    free(ids);
    pg_free(&gaps);
    pg_free(&counts);
    protobuf_c_message_free_unpacked(&in->base, NULL);
}
