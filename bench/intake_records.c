/*
 * intake_records.c - benchmark of daily-ledger submissions (issue 3, "Benchmark").
 *
 * Against a scratch database that already holds a registry (bench/intake_records.sh
 * loads a province through the import path and starts the broker, the intake workers
 * and the gateway), this sends LZ_BENCH_COUNT daily records for today, one business
 * each, with a realistic payload — every required item of the sales daily checklist
 * (13 items), one in ten with a failed item, its note and a problem — per mode:
 *
 *   broker  LZ_BENCH_CLIENTS clients, each with one request in flight
 *           (intake.submit_record, caller admin) -> intake workers (group commit).
 *           Their requests share LZ_BENCH_BROKER_SOCKETS sockets (default 1: what
 *           the gateway, whose threads call through one rpc_mux, sends); in the
 *           first round once more with a socket per client, driven from
 *           LZ_BENCH_BROKER_THREADS event loops (epoll on the sockets; 0: one
 *           blocking thread per client);
 *   http    LZ_BENCH_CLIENTS threads, each a keep-alive libcurl handle, POST
 *           /api/v1/records through the gateway with an admin token (once);
 *   plain   LZ_BENCH_PLAIN_CONNS libpq connections (as many as intake workers), 100
 *           submissions per transaction with multi-row INSERTs, two baselines:
 *           "every row" inserts what intake commits for a submission (the record, its
 *           problem, the write_requests row with the packed answer, the outbox events,
 *           the audit entry) — the apples-to-apples one; "records only" inserts the
 *           records and problems alone.
 *
 * The broker and plain modes run LZ_BENCH_ROUNDS times, alternating, each time on new
 * businesses, and before each mode the database settles (outbox relayed, VACUUM,
 * CHECKPOINT), so drift of the machine reaches both sides; the ratios compare the
 * medians.  Prints records/s and latency percentiles (plain: per 100-submission
 * transaction) per run, then the medians and both ratios, labelled.
 * synchronous_commit is reported as the database has it.
 */
#include "bench.h"
#include "buf.h"
#include "cfg.h"
#include "envelope.pb-c.h"
#include "ledger.pb-c.h"
#include "log.h"
#include "mem.h"
#include "period.h"
#include "pg.h"
#include "rpc.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

static const cfg_spec_t s_spec[] = {
    {"LZ_PG_URL", CFG_STR, "", 1, 0, true, "the scratch database"},
    {"LZ_PG_ADMIN_URL", CFG_STR, "", 0, 0, true,
     "the scratch database as its owner (CHECKPOINT between modes; empty: none)"},
    {"LZ_BENCH_BROKER", CFG_STR, "tcp://127.0.0.1:25611", 1, 255, false, "broker endpoint"},
    {"LZ_BENCH_HTTP", CFG_STR, "http://127.0.0.1:18211", 1, 255, false, "gateway base URL"},
    {"LZ_BENCH_TOKEN", CFG_STR, "", 0, 255, false, "admin bearer token (empty: skip http)"},
    {"LZ_BENCH_COUNT", CFG_INT, "40000", 100, 10000000, false, "records per mode"},
    {"LZ_BENCH_CLIENTS", CFG_INT, "64", 1, 1024, false, "concurrent clients (broker, http)"},
    {"LZ_BENCH_PLAIN_CONNS", CFG_INT, "1", 1, 64, false,
     "connections of the plain client (as many as intake workers)"},
    {"LZ_BENCH_BROKER_THREADS", CFG_INT, "1", 0, 64, false,
     "threads driving the broker clients from event loops (0: one blocking thread per client)"},
    {"LZ_BENCH_BROKER_SOCKETS", CFG_INT, "1", 0, 1024, false,
     "sockets the broker clients share (0: one each; fewer: requests multiplexed, one thread)"},
    {"LZ_BENCH_ROUNDS", CFG_INT, "2", 1, 20, false,
     "rounds of broker and plain runs, each on new businesses (medians are compared)"},
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
#define S_WARMUP 5000     /* submissions before the first timed run */
static int s_rounds;      /* LZ_BENCH_ROUNDS */
static int s_sockets;     /* LZ_BENCH_BROKER_SOCKETS: 0, one per client */
static long s_slice[3];   /* first business index of broker, plain, plain every row this round */
static long s_http_slice; /* first business index of the http run; the next: one socket each */
static Lz__Caller s_caller = LZ__CALLER__INIT; /* admin "bench", token 1 */
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

/* Submission i of the first slice as a request envelope; *payload_p is its
 * packed payload and rid[48] its request id (the caller frees *payload_p). */
static Lz__Envelope s_rpc_request(long i, uint8_t **payload_p, char rid[48])
{
    Lz__SubmitRecordRequest in = LZ__SUBMIT_RECORD_REQUEST__INIT;
    in.has_business_id = 1;
    in.business_id = s_ids[s_slice[0] + i];
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
    snprintf(rid, 48, "bench-b-%ld-%" PRId64, i, s_ids[s_slice[0] + i]);
    Lz__Envelope env = LZ__ENVELOPE__INIT;
    env.method = "intake.submit_record";
    env.request_id = rid;
    env.caller = &s_caller;
    *payload_p = xmalloc(protobuf_c_message_get_packed_size(&in.base));
    env.has_payload = 1;
    env.payload.len = protobuf_c_message_pack(&in.base, *payload_p);
    env.payload.data = *payload_p;
    return env;
}

/* 0 when r is the 201 of submission i, else -1 (every 1000th failure printed). */
static int s_rpc_check(const Lz__Envelope *r, long i)
{
    int rc = r && r->has_status && r->status == LZ__STATUS__CREATED ? 0 : -1;
    if (rc != 0 && i % 1000 == 0)
        fprintf(stderr, "broker call %ld: status %d %s\n", i, r ? (int)r->status : -1,
                r && r->reason ? r->reason : "");
    return rc;
}

/* One client per thread, each blocking in rpc_client_call (LZ_BENCH_BROKER_THREADS=0). */
static int s_rpc_call(void *ctx, long i)
{
    uint8_t *payload;
    char rid[48];
    Lz__Envelope env = s_rpc_request(i, &payload, rid);
    Lz__Envelope *r = rpc_client_call(ctx, "intake", &env, s_timeout_ms);
    free(payload);
    int rc = s_rpc_check(r, i);
    rpc_envelope_free(&r);
    return rc;
}

/*
 * The clients driven from event loops: each of `threads` threads owns its
 * share of the clients, keeps one request in flight on each (the next
 * submission from a shared counter as soon as the last one is answered) and
 * waits in epoll on their sockets' ZMQ_FDs, so a wake-up costs the sockets
 * that signalled, not all of them (zmq_poll asks every socket each time).
 * Same clients as one thread each as far as the broker can tell, without a
 * woken thread per reply.  A quiet 50 ms looks at every client again.
 */
typedef struct {
    int nclients;
    int nsockets; /* s_mux_main: sockets the clients share */
    int64_t *lat; /* s_count latencies, shared; s_loop_done counts those written */
    long errors;
} s_loop_t;

/* Add sock's ZMQ_FD to epoll ep with k as its data; returns sock. */
static void *s_watch(int ep, void *sock, int k)
{
    int fd;
    size_t fdlen = sizeof fd;
    zmq_getsockopt(sock, ZMQ_FD, &fd, &fdlen);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)k};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    return sock;
}

static atomic_long s_loop_next, s_loop_done; /* submissions taken, answered */

static void *s_loop_main(void *arg)
{
    s_loop_t *l = arg;
    int n = l->nclients;
    rpc_client_t **c = xcalloc((size_t)n, sizeof *c);
    long *cur = xcalloc((size_t)n, sizeof *cur);
    int64_t *t0 = xcalloc((size_t)n, sizeof *t0);
    void **watched = xcalloc((size_t)n, sizeof *watched); /* socket whose ZMQ_FD epoll has */
    struct epoll_event *evs = xcalloc((size_t)n, sizeof *evs);
    int ep = epoll_create1(0);
    int live = 0;
    for (int k = 0; k < n; k++) {
        c[k] = rpc_client_new(s_broker);
        cur[k] = -1;
    }
    bool sweep = true; /* look at every client (the first round, and after a quiet wait) */
    while (ep >= 0) {
        /* every idle client takes the next submission */
        for (int k = 0; k < n; k++) {
            if (cur[k] >= 0)
                continue;
            long i = atomic_fetch_add(&s_loop_next, 1);
            if (i >= s_count)
                continue;
            uint8_t *payload;
            char rid[48];
            Lz__Envelope env = s_rpc_request(i, &payload, rid);
            t0[k] = bench_now_us();
            if (rpc_client_send(c[k], "intake", &env, s_timeout_ms) == 0) {
                cur[k] = i;
                live++;
                void *sock = rpc_client_socket(c[k]);
                if (sock != watched[k])
                    watched[k] = s_watch(ep, sock, k);
            } else {
                l->errors++;
                l->lat[atomic_fetch_add(&s_loop_done, 1)] = bench_now_us() - t0[k];
            }
            free(payload);
        }
        if (live == 0)
            break;
        /* the clients whose socket signalled (ZMQ_FD: "look at ZMQ_EVENTS"), or all */
        int m = 0;
        if (!sweep) {
            m = epoll_wait(ep, evs, n, 50);
            if (m < 0 && errno != EINTR)
                break;
            sweep = m == 0;
        }
        int64_t now = bench_now_us();
        for (int q = 0; q < (sweep ? n : m); q++) {
            int k = sweep ? q : (int)evs[q].data.u32;
            if (cur[k] < 0)
                continue;
            Lz__Envelope *r = rpc_client_take(c[k]);
            bool late = !r && now - t0[k] > (int64_t)s_timeout_ms * 1000;
            if (!r && !late)
                continue;
            if (s_rpc_check(r, cur[k]) != 0)
                l->errors++;
            rpc_envelope_free(&r);
            l->lat[atomic_fetch_add(&s_loop_done, 1)] = bench_now_us() - t0[k];
            cur[k] = -1;
            live--;
        }
        sweep = false;
    }
    if (ep >= 0)
        close(ep);
    for (int k = 0; k < n; k++)
        rpc_client_destroy(&c[k]);
    free(c);
    free(cur);
    free(t0);
    free(watched);
    free(evs);
    return NULL;
}

/*
 * The same clients sharing LZ_BENCH_BROKER_SOCKETS sockets (as an
 * asynchronous gateway multiplexes its users over its broker connection):
 * each socket keeps its share of the requests in flight with
 * rpc_client_post and matches answers by request id.  One thread.
 */
static int64_t *s_mux_t0; /* send time per submission */

static void *s_mux_main(void *arg)
{
    s_loop_t *l = arg;
    int ns = l->nsockets, per = l->nclients / (ns ? ns : 1);
    rpc_client_t **c = xcalloc((size_t)ns, sizeof *c);
    int *inflight = xcalloc((size_t)ns, sizeof *inflight);
    struct epoll_event *evs = xcalloc((size_t)ns, sizeof *evs);
    int ep = epoll_create1(0), live = 0;
    bool sweep = true;
    for (int k = 0; k < ns; k++)
        c[k] = rpc_client_new(s_broker);
    while (ep >= 0) {
        for (int k = 0; k < ns; k++) {
            while (inflight[k] < per + (k < l->nclients % ns)) {
                long i = atomic_fetch_add(&s_loop_next, 1);
                if (i >= s_count)
                    break;
                uint8_t *payload;
                char rid[48];
                Lz__Envelope env = s_rpc_request(i, &payload, rid);
                s_mux_t0[i] = bench_now_us();
                bool first = !rpc_client_socket(c[k]);
                if (rpc_client_post(c[k], "intake", &env, s_timeout_ms) == 0) {
                    inflight[k]++;
                    live++;
                } else {
                    l->errors++;
                    l->lat[atomic_fetch_add(&s_loop_done, 1)] = 0;
                }
                free(payload);
                if (first && rpc_client_socket(c[k]))
                    s_watch(ep, rpc_client_socket(c[k]), k);
            }
        }
        if (live == 0)
            break;
        /* sending may have consumed the signal of a reply that came meanwhile */
        for (int k = 0; k < ns && !sweep; k++) {
            int events = 0;
            size_t elen = sizeof events;
            zmq_getsockopt(rpc_client_socket(c[k]), ZMQ_EVENTS, &events, &elen);
            sweep = events & ZMQ_POLLIN;
        }
        int m = 0;
        if (!sweep) {
            m = epoll_wait(ep, evs, ns, 1000);
            if (m < 0 && errno != EINTR)
                break;
            sweep = m == 0;
        }
        for (int q = 0; q < (sweep ? ns : m); q++) {
            int k = sweep ? q : (int)evs[q].data.u32;
            Lz__Envelope *r;
            while ((r = rpc_client_take_any(c[k]))) {
                long i = -1;
                if (r->request_id && strncmp(r->request_id, "bench-b-", 8) == 0)
                    i = strtol(r->request_id + 8, NULL, 10);
                if (i >= 0 && i < s_count) {
                    if (s_rpc_check(r, i) != 0)
                        l->errors++;
                    l->lat[atomic_fetch_add(&s_loop_done, 1)] = bench_now_us() - s_mux_t0[i];
                    inflight[k]--;
                    live--;
                }
                rpc_envelope_free(&r);
            }
        }
        sweep = false;
    }
    if (ep >= 0)
        close(ep);
    for (int k = 0; k < ns; k++)
        rpc_client_destroy(&c[k]);
    free(c);
    free(inflight);
    free(evs);
    return NULL;
}

static bench_result_t s_rpc_loops(const char *label, int clients, int threads)
{
    bench_result_t r = {.label = label, .threads = clients};
    int64_t *lat = xcalloc((size_t)s_count, sizeof *lat);
    s_loop_t *ls = xcalloc((size_t)threads, sizeof *ls);
    pthread_t *ids = xcalloc((size_t)threads, sizeof *ids);
    atomic_store(&s_loop_next, 0);
    atomic_store(&s_loop_done, 0);
    int64_t t0 = bench_now_us();
    if (s_sockets > 0 && s_sockets < clients) {
        threads = 1;
        s_mux_t0 = xcalloc((size_t)s_count, sizeof *s_mux_t0);
        ls[0] = (s_loop_t){.nclients = clients, .nsockets = s_sockets, .lat = lat};
        pthread_create(&ids[0], NULL, s_mux_main, &ls[0]);
    } else {
        for (int t = 0; t < threads; t++) {
            ls[t].nclients = clients / threads + (t < clients % threads);
            ls[t].lat = lat;
            pthread_create(&ids[t], NULL, s_loop_main, &ls[t]);
        }
    }
    for (int t = 0; t < threads; t++) {
        pthread_join(ids[t], NULL);
        r.errors += ls[t].errors;
    }
    bench_result_fill(&r, lat, atomic_load(&s_loop_done), bench_now_us() - t0);
    free(lat);
    free(s_mux_t0);
    s_mux_t0 = NULL;
    free(ls);
    free(ids);
    return r;
}

/* ---- http ---------------------------------------------------------------------- */

typedef struct {
    CURL *curl;
    struct curl_slist *hdrs;
    char url[300];
} s_http_t;

static atomic_long s_http_connects; /* TCP connections the http clients opened */

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
    long j = s_http_slice + i;
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
    long code = 0, fresh = 0;
    if (curl_easy_perform(h->curl) != CURLE_OK)
        return -1;
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_getinfo(h->curl, CURLINFO_NUM_CONNECTS, &fresh);
    atomic_fetch_add(&s_http_connects, fresh);
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
        long j = s_slice[1] + i * 100 + k;
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

/* ---- plain libpq, every row intake commits --------------------------------------- */

/* Append v to an array literal (quoted text; NULL: SQL NULL). */
static void s_lit_text(buf_t *b, const char *v)
{
    buf_putc(b, buf_len(b) > 1 ? ',' : '{');
    if (!v) {
        buf_append_str(b, "NULL");
        return;
    }
    buf_putc(b, '"');
    for (; *v; v++) {
        if (*v == '"' || *v == '\\')
            buf_putc(b, '\\');
        buf_putc(b, *v);
    }
    buf_putc(b, '"');
}

/* Append msg packed, as hex text, to an array literal. */
static void s_lit_hex(buf_t *b, const ProtobufCMessage *msg)
{
    uint8_t bin[512];
    size_t len = protobuf_c_message_get_packed_size(msg);
    if (len > sizeof bin)
        len = 0;
    else
        protobuf_c_message_pack(msg, bin);
    static const char digits[] = "0123456789abcdef";
    buf_putc(b, buf_len(b) > 1 ? ',' : '{');
    for (size_t i = 0; i < len; i++) {
        buf_putc(b, digits[bin[i] >> 4]);
        buf_putc(b, digits[bin[i] & 15]);
    }
    if (len == 0)
        buf_append_str(b, "\"\"");
}

/* Close an array literal ("{}" when empty); returns its text (the buffer keeps it). */
static const char *s_lit_done(buf_t *b)
{
    if (buf_len(b) == 0)
        buf_putc(b, '{');
    buf_putc(b, '}');
    return buf_data(b);
}

/*
 * Transaction i of the fourth slice: for 100 submissions every row intake
 * commits for one (see intake_ledger.c, s_write_fast) — the record, its
 * problem (1 in 10; fixed at once 1 in 20), the write_requests row with the
 * packed answer, the outbox events (ledger.accepted, problem.opened when the
 * problem stays open) and the audit entry — with multi-row INSERTs: records
 * and problems in one statement returning their ids, then the answers,
 * events and audit entries built from them, COMMIT.
 */
static int s_pg_full_call(void *ctx, long i)
{
    pg_t *pg = ctx;
    buf_t *ids = buf_new(1 << 20), *fail = buf_new(1 << 20), *fixed = buf_new(1 << 20),
          *rids = buf_new(1 << 20);
    for (long k = 0; k < 100; k++) {
        long j = s_slice[2] + i * 100 + k;
        char v[64];
        snprintf(v, sizeof v, "%" PRId64, s_ids[j]);
        buf_putc(ids, buf_len(ids) ? ',' : '{');
        buf_append_str(ids, v);
        buf_putc(fail, buf_len(fail) ? ',' : '{');
        buf_putc(fail, j % 10 == 0 ? 't' : 'f');
        buf_putc(fixed, buf_len(fixed) ? ',' : '{');
        buf_putc(fixed, j % 20 == 0 ? 't' : 'f');
        snprintf(v, sizeof v, "bench-q-%ld-%" PRId64, j, s_ids[j]);
        s_lit_text(rids, v);
    }
    char cl[24];
    snprintf(cl, sizeof cl, "%" PRId64, s_checklist_id);
    const char *params[] = {s_lit_done(ids), s_lit_done(fail), s_today,          cl,
                            s_codes[3],      s_note,           s_lit_done(rids), s_lit_done(fixed)};
    buf_t *wr = buf_new(1 << 20), *wh = buf_new(1 << 20), *ot = buf_new(1 << 20),
          *ok_ = buf_new(1 << 20), *oh = buf_new(1 << 20), *uo = buf_new(1 << 20),
          *ur = buf_new(1 << 20), *ud = buf_new(1 << 20);
    int rc = -1;
    if (pg_begin(pg) != 0)
        goto out;
    /* rows: record id, business id, region, failed, problem id (or NULL), problem open */
    PGresult *res = pg_query(
        pg,
        "WITH ins AS (INSERT INTO records (business_id, region_code, kind, period, period_start, "
        "checklist_id, status, submitted_by, submitted_at, failed_codes, failed_notes, summary, "
        "request_id) "
        "SELECT b.id, b.region_code, 'daily', $3::text, $3::date::timestamp AT TIME ZONE "
        "'Asia/Shanghai', $4::bigint, 'on_time', '王芳', now(), "
        "CASE WHEN t.f THEN ARRAY[$5] ELSE '{}'::text[] END, "
        "CASE WHEN t.f THEN ARRAY[$6] ELSE '{}'::text[] END, NULL, t.r "
        "FROM unnest($1::bigint[], $2::bool[], $7::text[], $8::bool[]) AS t(id, f, r, x) "
        "JOIN businesses b ON b.id = t.id "
        "RETURNING id, business_id, region_code, failed_codes, failed_notes, request_id), "
        "pr AS (INSERT INTO problems (business_id, region_code, source, source_id, item_code, "
        "description, action, opened_at, fixed_at, fixed_action) "
        "SELECT ins.business_id, ins.region_code, 'ledger', ins.id, failed_codes[1], "
        "'冷藏柜温度偏高', '调整温控，转移食材', now(), CASE WHEN t.x THEN now() END, "
        "CASE WHEN t.x THEN '调整温控，转移食材' END FROM ins JOIN unnest($7::text[], "
        "$8::bool[]) AS t(r, x) ON t.r = ins.request_id WHERE cardinality(failed_codes) > 0 "
        "RETURNING id, source_id, fixed_at IS NULL AS open) "
        "SELECT ins.id, ins.business_id, ins.region_code, cardinality(ins.failed_codes), pr.id, "
        "pr.open, ins.request_id FROM ins LEFT JOIN pr ON pr.source_id = ins.id",
        8, params);
    if (!res) {
        pg_rollback(pg);
        goto out;
    }
    for (int r = 0; r < PQntuples(res); r++) {
        int64_t rec = pg_int(res, r, 0), biz = pg_int(res, r, 1);
        char *region = (char *)pg_str(res, r, 2);
        int failed = (int)pg_int(res, r, 3);
        bool open = pg_str(res, r, 4) && pg_bool(res, r, 5);
        char key[24], obj[48];
        snprintf(key, sizeof key, "%" PRId64, biz);
        snprintf(obj, sizeof obj, "records/%" PRId64, rec);
        Lz__SubmitRecordReply rep = LZ__SUBMIT_RECORD_REPLY__INIT;
        rep.has_id = rep.has_problems_open = 1;
        rep.id = rec;
        rep.status = "on_time";
        rep.problems_open = open;
        s_lit_text(wr, pg_str(res, r, 6));
        s_lit_hex(wh, &rep.base);
        Lz__LedgerAccepted ev = LZ__LEDGER_ACCEPTED__INIT;
        ev.has_record_id = ev.has_business_id = ev.has_failed = ev.has_problems_open =
            ev.has_submitted_at = 1;
        ev.record_id = rec;
        ev.business_id = biz;
        ev.region_code = region;
        ev.kind = "daily";
        ev.period = s_today;
        ev.status = "on_time";
        ev.failed = failed;
        ev.problems_open = open;
        ev.submitted_at = time(NULL);
        s_lit_text(ot, "ledger.accepted");
        s_lit_text(ok_, key);
        s_lit_hex(oh, &ev.base);
        if (open) {
            Lz__ProblemEvent pev = LZ__PROBLEM_EVENT__INIT;
            pev.has_problem_id = pev.has_business_id = pev.has_source_id = 1;
            pev.problem_id = pg_int(res, r, 4);
            pev.business_id = biz;
            pev.region_code = region;
            pev.source = "ledger";
            pev.source_id = rec;
            pev.item = s_codes[3];
            s_lit_text(ot, "problem.opened");
            s_lit_text(ok_, key);
            s_lit_hex(oh, &pev.base);
        }
        char detail[256];
        snprintf(detail, sizeof detail,
                 "{\"business_id\":%" PRId64 ",\"kind\":\"daily\",\"period\":\"%s\","
                 "\"status\":\"on_time\",\"failed\":%d,\"problems_open\":%d}",
                 biz, s_today, failed, open ? 1 : 0);
        s_lit_text(uo, obj);
        s_lit_text(ur, pg_str(res, r, 6));
        s_lit_text(ud, detail);
    }
    pg_free(&res);
    const char *p2[] = {"intake.submit_record", s_lit_done(wr), "admin:1", s_lit_done(wh)};
    const char *p3[] = {s_lit_done(ot), s_lit_done(ok_), s_lit_done(oh)};
    const char *p4[] = {s_lit_done(uo), s_lit_done(ur), s_lit_done(ud)};
    if (pg_exec(pg,
                "INSERT INTO write_requests (request_id, method, caller, status, reply) "
                "SELECT r, $1, $3, 201, decode(h, 'hex') FROM unnest($2::text[], $4::text[]) "
                "AS t(r, h)",
                4, p2) != 0 ||
        pg_exec(pg,
                "INSERT INTO outbox (topic, key, payload) SELECT t, k, decode(h, 'hex') "
                "FROM unnest($1::text[], $2::text[], $3::text[]) AS u(t, k, h)",
                3, p3) != 0 ||
        pg_exec(pg,
                "INSERT INTO audit_log (actor_role, actor_id, actor_name, action, object, "
                "request_id, detail) SELECT 'admin', 1, 'bench', 'record.submit', o, r, d::jsonb "
                "FROM unnest($1::text[], $2::text[], $3::text[]) AS t(o, r, d)",
                3, p4) != 0) {
        pg_rollback(pg);
        goto out;
    }
    rc = pg_commit(pg);
out:
    buf_destroy(&ids);
    buf_destroy(&fail);
    buf_destroy(&fixed);
    buf_destroy(&rids);
    buf_destroy(&wr);
    buf_destroy(&wh);
    buf_destroy(&ot);
    buf_destroy(&ok_);
    buf_destroy(&oh);
    buf_destroy(&uo);
    buf_destroy(&ur);
    buf_destroy(&ud);
    return rc;
}

/* ---- between modes -------------------------------------------------------------- */

/*
 * Let the database settle before a mode is timed, so no mode pays for the
 * one before it: wait (up to 120 s) until the intake workers' relay has
 * taken every outbox event, VACUUM the tables the modes write (so
 * autovacuum does not start on the last mode's rows during this one), then
 * CHECKPOINT, so every mode starts with the same full-page-write cost.
 * Prints what it waited for.
 */
static void s_settle(const char *admin_url)
{
    if (!admin_url[0])
        return;
    pg_t *pg = pg_connect(admin_url, 5, 200);
    if (!pg)
        return;
    int64_t t0 = bench_now_us();
    long pending = -1;
    while (bench_now_us() - t0 < 120 * 1000000LL) {
        PGresult *res =
            pg_query(pg, "SELECT count(*) FROM outbox WHERE relayed_at IS NULL", 0, NULL);
        pending = res ? (long)pg_int(res, 0, 0) : -1;
        pg_free(&res);
        if (pending <= 0)
            break;
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    int64_t t1 = bench_now_us();
    int rc = pg_exec(pg, "VACUUM (ANALYZE) records, problems, write_requests, outbox, audit_log", 0,
                     NULL);
    if (rc == 0)
        rc = pg_exec(pg, "CHECKPOINT", 0, NULL);
    printf("  (settled: outbox relayed in %.1f s%s, vacuum and checkpoint %s in %.1f s)\n",
           (double)(t1 - t0) / 1e6, pending > 0 ? ", still pending" : "",
           rc == 0 ? "done" : "failed", (double)(bench_now_us() - t1) / 1e6);
    fflush(stdout);
    pg_destroy(&pg);
}

/* The median of n values (sorted here). */
static double s_median(double *v, int n)
{
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
            double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return n == 0 ? 0 : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- main ----------------------------------------------------------------------- */

static int s_load(pg_t *pg)
{
    /* a slice of count businesses per mode and round, and one for http */
    long need = (3L * s_rounds + 2) * s_count + S_WARMUP;
    char lim[24];
    snprintf(lim, sizeof lim, "%ld", need);
    const char *p1[] = {lim};
    PGresult *res = pg_query(pg,
                             "SELECT id FROM businesses WHERE type = 'sales' AND status = "
                             "'active' ORDER BY id LIMIT $1::bigint",
                             1, p1);
    if (!res || PQntuples(res) < need) {
        fprintf(stderr,
                "intake_records: %d rounds of %ld need %ld active sales businesses, have %d\n",
                s_rounds, s_count, need, res ? PQntuples(res) : -1);
        pg_free(&res);
        return -1;
    }
    s_ids = xcalloc((size_t)need, sizeof *s_ids);
    for (long i = 0; i < need; i++)
        s_ids[i] = pg_int(res, (int)i, 0);
    s_http_slice = 3L * s_rounds * s_count;
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
    int loops = (int)cfg_int(cfg, "LZ_BENCH_BROKER_THREADS");
    if (loops > clients)
        loops = clients;
    s_timeout_ms = (int)cfg_int(cfg, "LZ_BENCH_TIMEOUT_MS");
    s_count = s_count / 100 * 100;
    s_rounds = (int)cfg_int(cfg, "LZ_BENCH_ROUNDS");
    s_sockets = (int)cfg_int(cfg, "LZ_BENCH_BROKER_SOCKETS");
    s_caller.role = "admin";
    s_caller.name = "bench";
    s_caller.has_token_id = 1;
    s_caller.token_id = 1;
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
    const char *admin_url = cfg_str(cfg, "LZ_PG_ADMIN_URL");
    char label[64];
    snprintf(label, sizeof label, "broker -> %d intake worker%s", conns, conns == 1 ? "" : "s");
    bool mux = s_sockets > 0 && s_sockets < clients;
    if (mux)
        printf("broker: %d clients' requests over %d socket%s (as the gateway sends them)\n",
               clients, s_sockets, s_sockets == 1 ? "" : "s");
    /* rounds of broker, plain records only, plain every row, each on new businesses, so
     * the machine's drift over the run reaches both sides; http once, after round 1 */
    double *rb_s = xcalloc((size_t)s_rounds, sizeof *rb_s),
           *rp_s = xcalloc((size_t)s_rounds, sizeof *rp_s),
           *rf_s = xcalloc((size_t)s_rounds, sizeof *rf_s);
    bench_result_t rb = {0}, rb1 = {0}, rh = {0}, rp = {0}, rf = {0};
    long errors = 0;
    bench_print_header();
    {
        /* warm-up, not counted: the first submissions of a fresh database and workers run
         * cold (caches, prepared statements, the bitmap's first pages) */
        long keep = s_count;
        s_count = S_WARMUP;
        s_slice[0] = (3L * s_rounds + 2) * keep;
        bench_result_t w = s_rpc_loops("warm-up", clients, loops > 0 ? loops : 1);
        printf("  (warm-up: %ld submissions through the broker, %ld errors, not counted)\n",
               w.total, w.errors);
        s_count = keep;
    }
    for (int round = 0; round < s_rounds; round++) {
        for (int m = 0; m < 3; m++)
            s_slice[m] = (3L * round + m) * s_count;
        s_settle(admin_url);
        rb = loops > 0 ? s_rpc_loops(label, clients, loops)
                       : bench_run(label, clients, s_count, s_rpc_setup, s_rpc_call, s_rpc_teardown,
                                   NULL);
        s_row(&rb);
        if (round == 0 && mux && loops > 0) {
            /* once: the same clients, each on a socket of its own */
            int keep = s_sockets;
            s_sockets = 0;
            s_slice[0] = s_http_slice + s_count;
            s_settle(admin_url);
            bench_result_t r1 = s_rpc_loops("broker, a socket per client", clients, loops);
            s_row(&r1);
            errors += r1.errors;
            s_sockets = keep;
            s_slice[0] = 3L * round * s_count;
            rb1 = r1;
        }
        if (round == 0 && s_token[0]) {
            s_settle(admin_url);
            rh = bench_run("http gateway -> broker -> intake", clients, s_count, s_http_setup,
                           s_http_call, s_http_teardown, NULL);
            s_row(&rh);
            printf("  (http: %ld TCP connections opened for %ld requests: keep-alive)\n",
                   (long)atomic_load(&s_http_connects), rh.total);
            errors += rh.errors;
        }
        s_settle(admin_url);
        rp = bench_run("plain: records only (per txn)", conns, s_count / 100, s_pg_setup, s_pg_call,
                       s_pg_teardown, NULL);
        s_row(&rp);
        s_settle(admin_url);
        rf = bench_run("plain: every row (per txn)", conns, s_count / 100, s_pg_setup,
                       s_pg_full_call, s_pg_teardown, NULL);
        s_row(&rf);
        rb_s[round] = rb.per_second;
        rp_s[round] = rp.per_second * 100;
        rf_s[round] = rf.per_second * 100;
        errors += rb.errors + rp.errors + rf.errors;
        printf("  round %d: broker %.0f/s, plain every row %.0f/s (ratio %.2f), records only "
               "%.0f/s (ratio %.2f)\n",
               round + 1, rb_s[round], rf_s[round], rf_s[round] > 0 ? rb_s[round] / rf_s[round] : 0,
               rp_s[round], rp_s[round] > 0 ? rb_s[round] / rp_s[round] : 0);
    }
    double broker = s_median(rb_s, s_rounds), full = s_median(rf_s, s_rounds),
           plain = s_median(rp_s, s_rounds);
    printf("\nmedians of %d round%s:\n", s_rounds, s_rounds == 1 ? "" : "s");
    printf("records/s: broker %.0f", broker);
    if (s_token[0])
        printf(", http %.0f (one run: p50 %.1f ms, p99 %.1f ms)", rh.per_second,
               (double)rh.p50_us / 1000, (double)rh.p99_us / 1000);
    printf("\nplain libpq, 100 submissions per transaction, %d connection%s:\n", conns,
           conns == 1 ? "" : "s");
    printf("  every row intake commits (record, problems, write_requests, outbox, audit): %.0f/s\n",
           full);
    printf("  records and problems only:                                              %.0f/s\n",
           plain);
    if (rb1.total)
        printf("broker with a socket per client (one run): %.0f/s, p50 %.1f ms, p99 %.1f ms; "
               "ratio to plain every row %.2f\n",
               rb1.per_second, (double)rb1.p50_us / 1000, (double)rb1.p99_us / 1000,
               full > 0 ? rb1.per_second / full : 0.0);
    printf("ratio intake/plain (every row, apples to apples): broker %.2f",
           full > 0 ? broker / full : 0.0);
    if (s_token[0])
        printf(", http %.2f", full > 0 ? rh.per_second / full : 0.0);
    printf("\nratio intake/plain (records only):               broker %.2f",
           plain > 0 ? broker / plain : 0.0);
    if (s_token[0])
        printf(", http %.2f", plain > 0 ? rh.per_second / plain : 0.0);
    printf("\n");
    free(rb_s);
    free(rp_s);
    free(rf_s);
    curl_global_cleanup();
    cfg_destroy(&cfg);
    return errors ? 1 : 0;
}
