/*
 * intake_records.c - benchmark of daily-ledger submissions (issue 3, "Benchmark").
 *
 * Against a scratch database that already holds a registry (bench/intake_records.sh
 * loads a province through the import path and starts the broker, the intake workers
 * and the gateway), this sends LZ_BENCH_COUNT daily records for today, one business
 * each, with a realistic payload — every required item of the sales daily checklist
 * (13 items), one in ten with a failed item, its note and a problem — three ways:
 *
 *   broker  LZ_BENCH_CLIENTS threads, each an rpc_client, straight to the broker
 *           (intake.submit_record, caller admin) -> intake workers (group commit);
 *   http    LZ_BENCH_CLIENTS threads, each a keep-alive libcurl handle, POST
 *           /api/v1/records through the gateway with an admin token;
 *   plain   LZ_BENCH_PLAIN_CONNS libpq connections (as many as intake workers) inserting
 *           the same rows (records and problems) 100 per transaction with multi-row
 *           INSERTs — the baseline.
 *
 * Each mode uses its own slice of businesses, so every record is new.  Prints
 * records/s and latency percentiles (plain: per 100-row transaction) and the ratios
 * intake/plain.  synchronous_commit is reported as the database has it.
 */
#include "bench.h"
#include "cfg.h"
#include "envelope.pb-c.h"
#include "ledger.pb-c.h"
#include "log.h"
#include "mem.h"
#include "period.h"
#include "pg.h"
#include "rpc.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cfg_spec_t s_spec[] = {
    {"LZ_PG_URL", CFG_STR, "", 1, 0, true, "the scratch database"},
    {"LZ_BENCH_BROKER", CFG_STR, "tcp://127.0.0.1:55611", 1, 255, false, "broker endpoint"},
    {"LZ_BENCH_HTTP", CFG_STR, "http://127.0.0.1:18211", 1, 255, false, "gateway base URL"},
    {"LZ_BENCH_TOKEN", CFG_STR, "", 0, 255, false, "admin bearer token (empty: skip http)"},
    {"LZ_BENCH_COUNT", CFG_INT, "50000", 100, 10000000, false, "records per mode"},
    {"LZ_BENCH_CLIENTS", CFG_INT, "64", 1, 1024, false, "concurrent clients (broker, http)"},
    {"LZ_BENCH_PLAIN_CONNS", CFG_INT, "1", 1, 64, false,
     "connections of the plain client (as many as intake workers)"},
    {"LZ_BENCH_TIMEOUT_MS", CFG_INT, "30000", 100, 600000, false, "deadline of each call"},
};

static const char *s_pg_url, *s_broker, *s_http, *s_token;
static int s_timeout_ms;
static int64_t *s_ids; /* sales businesses, 3 slices of count */
static char **s_codes; /* required codes of the sales daily checklist */
static size_t s_ncodes;
static int64_t s_checklist_id;
static char s_today[16];
static long s_count;
static const char s_note[] = "冷藏柜温度 9℃，超过 0-8℃ 要求";

/* ---- broker ----------------------------------------------------------------- */

static void *s_rpc_setup(void *arg, int thread)
{
    (void)arg;
    (void)thread;
    return rpc_client_new(s_broker);
}

static void s_rpc_teardown(void *ctx)
{
    rpc_client_t *c = ctx;
    rpc_client_destroy(&c);
}

static int s_rpc_call(void *ctx, long i)
{
    Lz__SubmitRecordRequest in = LZ__SUBMIT_RECORD_REQUEST__INIT;
    in.has_business_id = 1;
    in.business_id = s_ids[i];
    in.kind = "daily";
    in.period = s_today;
    in.submitted_by = "王芳";
    Lz__RecordItem items[64], *ptrs[64];
    size_t n = s_ncodes < 64 ? s_ncodes : 64;
    for (size_t k = 0; k < n; k++) {
        lz__record_item__init(&items[k]);
        items[k].code = s_codes[k];
        items[k].has_ok = 1;
        items[k].ok = !(i % 10 == 0 && k == 3);
        if (!items[k].ok)
            items[k].note = (char *)s_note;
        ptrs[k] = &items[k];
    }
    in.n_items = n;
    in.items = ptrs;
    Lz__RecordProblem pr = LZ__RECORD_PROBLEM__INIT, *pp = &pr;
    if (i % 10 == 0) {
        pr.item = s_codes[3];
        pr.description = "冷藏柜温度偏高";
        pr.action = "调整温控，转移食材";
        pr.has_fixed = 1;
        pr.fixed = i % 20 == 0;
        in.n_problems = 1;
        in.problems = &pp;
    }
    Lz__Caller caller = LZ__CALLER__INIT;
    caller.role = "admin";
    caller.name = "bench";
    caller.has_token_id = 1;
    caller.token_id = 1;
    char rid[48];
    snprintf(rid, sizeof rid, "bench-b-%ld-%" PRId64, i, s_ids[i]);
    Lz__Envelope *r =
        rpc_call_msg(ctx, "intake", "intake.submit_record", rid, &caller, &in.base, s_timeout_ms);
    int rc = r && r->has_status && r->status == LZ__STATUS__CREATED ? 0 : -1;
    if (rc != 0 && i % 1000 == 0)
        fprintf(stderr, "broker call %ld: status %d %s\n", i, r ? (int)r->status : -1,
                r && r->reason ? r->reason : "");
    rpc_envelope_free(&r);
    return rc;
}

/* ---- http ---------------------------------------------------------------------- */

typedef struct {
    CURL *curl;
    struct curl_slist *hdrs;
    char url[300];
} s_http_t;

static size_t s_discard(char *p, size_t sz, size_t n, void *u)
{
    (void)p;
    (void)u;
    return sz * n;
}

static void *s_http_setup(void *arg, int thread)
{
    (void)arg;
    (void)thread;
    s_http_t *h = xcalloc(1, sizeof *h);
    h->curl = curl_easy_init();
    char auth[320];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", s_token);
    h->hdrs = curl_slist_append(NULL, auth);
    h->hdrs = curl_slist_append(h->hdrs, "Content-Type: application/json");
    snprintf(h->url, sizeof h->url, "%s/api/v1/records", s_http);
    curl_easy_setopt(h->curl, CURLOPT_URL, h->url);
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, h->hdrs);
    curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, s_discard);
    curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, (long)s_timeout_ms);
    curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
    return h;
}

static void s_http_teardown(void *ctx)
{
    s_http_t *h = ctx;
    curl_slist_free_all(h->hdrs);
    curl_easy_cleanup(h->curl);
    free(h);
}

static int s_http_call(void *ctx, long i)
{
    s_http_t *h = ctx;
    long j = s_count + i; /* the second slice */
    char body[4096];
    size_t off =
        (size_t)snprintf(body, sizeof body,
                         "{\"request_id\":\"bench-h-%ld-%" PRId64 "\",\"business_id\":%" PRId64
                         ",\"kind\":\"daily\",\"period\":\"%s\",\"submitted_by\":\"王芳\","
                         "\"items\":[",
                         i, s_ids[j], s_ids[j], s_today);
    for (size_t k = 0; k < s_ncodes && off < sizeof body - 200; k++) {
        bool failed = i % 10 == 0 && k == 3;
        off += (size_t)snprintf(body + off, sizeof body - off,
                                "%s{\"code\":\"%s\",\"ok\":%s%s%s%s}", k ? "," : "", s_codes[k],
                                failed ? "false" : "true", failed ? ",\"note\":\"" : "",
                                failed ? s_note : "", failed ? "\"" : "");
    }
    if (i % 10 == 0)
        off +=
            (size_t)snprintf(body + off, sizeof body - off,
                             "],\"problems\":[{\"item\":\"%s\",\"description\":\"冷藏柜温度偏高\","
                             "\"action\":\"调整温控，转移食材\",\"fixed\":%s}]}",
                             s_codes[3], i % 20 == 0 ? "true" : "false");
    else
        off += (size_t)snprintf(body + off, sizeof body - off, "]}");
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE, (long)off);
    long code = 0;
    if (curl_easy_perform(h->curl) != CURLE_OK)
        return -1;
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &code);
    if (code != 201 && i % 1000 == 0)
        fprintf(stderr, "http call %ld: %ld\n", i, code);
    return code == 201 ? 0 : -1;
}

/* ---- plain libpq ---------------------------------------------------------------- */

static void *s_pg_setup(void *arg, int thread)
{
    (void)arg;
    (void)thread;
    return pg_connect(s_pg_url, 5, 200);
}

static void s_pg_teardown(void *ctx)
{
    pg_t *pg = ctx;
    pg_destroy(&pg);
}

/* Transaction i: rows [i*100, i*100+100) of the third slice, records then problems. */
static int s_pg_call(void *ctx, long i)
{
    pg_t *pg = ctx;
    char *ids = xmalloc(100 * 24 + 8), *fail = xmalloc(100 * 3 + 8);
    size_t a = 0, b = 0;
    ids[a++] = '{';
    fail[b++] = '{';
    for (long k = 0; k < 100; k++) {
        long j = 2 * s_count + i * 100 + k;
        a += (size_t)snprintf(ids + a, 24, "%s%" PRId64, k ? "," : "", s_ids[j]);
        b += (size_t)snprintf(fail + b, 4, "%s%c", k ? "," : "", j % 10 == 0 ? 't' : 'f');
    }
    ids[a++] = '}';
    ids[a] = '\0';
    fail[b++] = '}';
    fail[b] = '\0';
    char cl[24], tag[24];
    snprintf(cl, sizeof cl, "%" PRId64, s_checklist_id);
    snprintf(tag, sizeof tag, "bench-p-%ld", i);
    const char *params[] = {ids, fail, s_today, cl, s_codes[3], s_note, tag};
    int rc = -1;
    if (pg_begin(pg) != 0)
        goto out;
    PGresult *res = pg_query(
        pg,
        "WITH ins AS (INSERT INTO records (business_id, region_code, kind, period, period_start, "
        "checklist_id, status, submitted_by, submitted_at, failed_codes, failed_notes, request_id) "
        "SELECT b.id, b.region_code, 'daily', $3::text, $3::date::timestamp AT TIME ZONE "
        "'Asia/Shanghai', $4::bigint, 'on_time', '王芳', now(), "
        "CASE WHEN t.f THEN ARRAY[$5] ELSE '{}'::text[] END, "
        "CASE WHEN t.f THEN ARRAY[$6] ELSE '{}'::text[] END, $7 || '-' || b.id "
        "FROM unnest($1::bigint[], $2::bool[]) AS t(id, f) JOIN businesses b ON b.id = t.id "
        "RETURNING id, business_id, region_code, failed_codes, failed_notes) "
        "INSERT INTO problems (business_id, region_code, source, source_id, item_code, "
        "description, action, opened_at) SELECT business_id, region_code, 'ledger', id, "
        "failed_codes[1], failed_notes[1], '调整温控，转移食材', now() FROM ins "
        "WHERE cardinality(failed_codes) > 0",
        7, params);
    if (!res) {
        pg_rollback(pg);
        goto out;
    }
    pg_free(&res);
    rc = pg_commit(pg);
out:
    free(ids);
    free(fail);
    return rc;
}

/* ---- main ----------------------------------------------------------------------- */

static int s_load(pg_t *pg)
{
    char lim[24];
    snprintf(lim, sizeof lim, "%ld", 3 * s_count);
    const char *p1[] = {lim};
    PGresult *res = pg_query(pg,
                             "SELECT id FROM businesses WHERE type = 'sales' AND status = "
                             "'active' ORDER BY id LIMIT $1::bigint",
                             1, p1);
    if (!res || PQntuples(res) < 3 * s_count) {
        fprintf(stderr, "intake_records: need %ld sales businesses, have %d\n", 3 * s_count,
                res ? PQntuples(res) : -1);
        pg_free(&res);
        return -1;
    }
    s_ids = xcalloc((size_t)(3 * s_count), sizeof *s_ids);
    for (long i = 0; i < 3 * s_count; i++)
        s_ids[i] = pg_int(res, (int)i, 0);
    pg_free(&res);
    res = pg_query(pg,
                   "SELECT c.id, i.code FROM checklists c JOIN checklist_items i "
                   "ON i.checklist_id = c.id WHERE c.id = (SELECT id FROM checklists WHERE "
                   "type = 'sales' AND kind = 'daily' ORDER BY version DESC LIMIT 1) "
                   "AND i.required ORDER BY i.position",
                   0, NULL);
    if (!res || PQntuples(res) < 4) {
        pg_free(&res);
        return -1;
    }
    s_ncodes = (size_t)PQntuples(res);
    s_codes = xcalloc(s_ncodes, sizeof *s_codes);
    for (size_t k = 0; k < s_ncodes; k++) {
        s_checklist_id = pg_int(res, (int)k, 0);
        s_codes[k] = xstrdup(pg_str(res, (int)k, 1));
    }
    pg_free(&res);
    return 0;
}

static void s_row(const bench_result_t *r)
{
    bench_print_row(r);
    if (r->errors)
        printf("  (%ld errors)\n", r->errors);
}

int main(void)
{
    char err[256];
    cfg_t *cfg = cfg_load(s_spec, sizeof s_spec / sizeof s_spec[0], NULL, err, sizeof err);
    if (!cfg) {
        fprintf(stderr, "intake_records: %s\n", err);
        return 1;
    }
    log_init("bench", LZ_LOG_WARN);
    s_pg_url = cfg_str(cfg, "LZ_PG_URL");
    s_broker = cfg_str(cfg, "LZ_BENCH_BROKER");
    s_http = cfg_str(cfg, "LZ_BENCH_HTTP");
    s_token = cfg_str(cfg, "LZ_BENCH_TOKEN");
    s_count = cfg_int(cfg, "LZ_BENCH_COUNT");
    int clients = (int)cfg_int(cfg, "LZ_BENCH_CLIENTS");
    int conns = (int)cfg_int(cfg, "LZ_BENCH_PLAIN_CONNS");
    s_timeout_ms = (int)cfg_int(cfg, "LZ_BENCH_TIMEOUT_MS");
    s_count = s_count / 100 * 100;
    int y, m, d;
    local_date(time(NULL), &y, &m, &d);
    snprintf(s_today, sizeof s_today, "%04d-%02d-%02d", y, m, d);
    pg_t *pg = pg_connect(s_pg_url, 5, 200);
    if (!pg || s_load(pg) != 0)
        return 1;
    PGresult *res = pg_query(pg, "SHOW synchronous_commit", 0, NULL);
    printf("daily records for %s, %zu items each (1 in 10 with a failed item and a problem), "
           "%ld per mode; synchronous_commit=%s; build %s\n",
           s_today, s_ncodes, s_count, res ? pg_str(res, 0, 0) : "?", LZ_BUILD);
    pg_free(&res);
    pg_destroy(&pg);
    curl_global_init(CURL_GLOBAL_ALL);
    bench_print_header();
    char label[64];
    snprintf(label, sizeof label, "broker -> %d intake worker%s", conns, conns == 1 ? "" : "s");
    bench_result_t rb =
        bench_run(label, clients, s_count, s_rpc_setup, s_rpc_call, s_rpc_teardown, NULL);
    s_row(&rb);
    bench_result_t rh = {0};
    if (s_token[0]) {
        rh = bench_run("http gateway -> broker -> intake", clients, s_count, s_http_setup,
                       s_http_call, s_http_teardown, NULL);
        s_row(&rh);
    }
    bench_result_t rp = bench_run("plain libpq, 100 rows/txn (per txn)", conns, s_count / 100,
                                  s_pg_setup, s_pg_call, s_pg_teardown, NULL);
    s_row(&rp);
    double plain = rp.per_second * 100;
    printf("\nrecords/s: broker %.0f (p50 %.1f ms, p99 %.1f ms)", rb.per_second,
           (double)rb.p50_us / 1000, (double)rb.p99_us / 1000);
    if (s_token[0])
        printf(", http %.0f (p50 %.1f ms, p99 %.1f ms)", rh.per_second, (double)rh.p50_us / 1000,
               (double)rh.p99_us / 1000);
    printf(", plain %.0f (%d connections)\n", plain, conns);
    printf("ratio intake/plain: broker %.2f%s", plain > 0 ? rb.per_second / plain : 0.0,
           s_token[0] ? "" : "\n");
    if (s_token[0])
        printf(", http %.2f\n", plain > 0 ? rh.per_second / plain : 0.0);
    curl_global_cleanup();
    cfg_destroy(&cfg);
    return rb.errors || rh.errors || rp.errors ? 1 : 0;
}
