/*
 * rpc.c - benchmark of a whole API call: HTTP client -> gateway -> broker -> worker.
 *
 * Sends LZ_BENCH_REQUESTS GETs of LZ_BENCH_PATH (default /api/v1/ping/intake,
 * which the gateway turns into an RPC "ping" answered by an intake worker)
 * to a running gateway, from 1, 8 and 64 client threads, each with its own
 * libcurl handle and keep-alive connection, and prints requests/s and
 * latency percentiles (bench/bench.h).  Start the stack first (make run, or
 * lz_start_suite in tests/integration/lib.sh) and give an admin token:
 *
 *   LZ_BENCH_TOKEN=$(liangze token create --role admin --name bench) build/bench/rpc
 *
 * A call counts as an error unless it answers 200.
 */
#include "bench.h"
#include "cfg.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cfg_spec_t s_spec[] = {
    {"LZ_BENCH_URL", CFG_STR, "http://127.0.0.1:8080", 1, 255, false, "the gateway's base URL"},
    {"LZ_BENCH_PATH", CFG_STR, "/api/v1/ping/intake", 1, 255, false, "the route to call"},
    {"LZ_BENCH_TOKEN", CFG_STR, NULL, 4, 128, true, "bearer token allowed on the route"},
    {"LZ_BENCH_REQUESTS", CFG_INT, "20000", 64, 10000000, false, "requests per thread count"},
    {"LZ_BENCH_TIMEOUT_MS", CFG_INT, "10000", 10, 600000, false, "deadline of each call"},
};

static char s_url[600];
static char s_auth[200];
static long s_timeout_ms;

typedef struct {
    CURL *curl;
    struct curl_slist *headers;
} s_client_t;

/* The body is not needed: count it away. */
static size_t s_discard(char *data, size_t size, size_t n, void *arg)
{
    (void)data;
    (void)arg;
    return size * n;
}

static void *s_setup(void *arg, int thread)
{
    (void)arg;
    (void)thread;
    s_client_t *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    c->curl = curl_easy_init();
    if (!c->curl)
        abort();
    c->headers = curl_slist_append(NULL, s_auth);
    curl_easy_setopt(c->curl, CURLOPT_URL, s_url);
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, s_discard);
    curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, s_timeout_ms);
    curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c->curl, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(c->curl, CURLOPT_TCP_KEEPALIVE, 1L);
    return c;
}

static int s_get(void *ctx, long i)
{
    (void)i;
    s_client_t *c = ctx;
    long code = 0;
    if (curl_easy_perform(c->curl) != CURLE_OK)
        return -1;
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &code);
    return code == 200 ? 0 : -1;
}

static void s_teardown(void *ctx)
{
    s_client_t *c = ctx;
    curl_easy_cleanup(c->curl);
    curl_slist_free_all(c->headers);
    free(c);
}

int main(void)
{
    char err[256];
    cfg_t *cfg = cfg_load(s_spec, sizeof s_spec / sizeof s_spec[0], NULL, err, sizeof err);
    if (!cfg) {
        fprintf(stderr, "bench rpc: %s\n", err);
        return 2;
    }
    snprintf(s_url, sizeof s_url, "%s%s", cfg_str(cfg, "LZ_BENCH_URL"),
             cfg_str(cfg, "LZ_BENCH_PATH"));
    snprintf(s_auth, sizeof s_auth, "Authorization: Bearer %s", cfg_str(cfg, "LZ_BENCH_TOKEN"));
    s_timeout_ms = cfg_int(cfg, "LZ_BENCH_TIMEOUT_MS");
    long requests = cfg_int(cfg, "LZ_BENCH_REQUESTS");
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "bench rpc: could not initialise libcurl\n");
        cfg_destroy(&cfg);
        return 1;
    }

    /* one call first, so a wrong URL or token is reported plainly */
    s_client_t *probe = s_setup(NULL, 0);
    int rc = s_get(probe, 0);
    long code = 0;
    curl_easy_getinfo(probe->curl, CURLINFO_RESPONSE_CODE, &code);
    s_teardown(probe);
    if (rc != 0) {
        fprintf(stderr, "bench rpc: GET %s answered %ld; is the stack up and the token right?\n",
                s_url, code);
        curl_global_cleanup();
        cfg_destroy(&cfg);
        return 1;
    }

    printf("GET %s\n", s_url);
    bench_run("warm-up", 8, 2000, s_setup, s_get, s_teardown, NULL);
    bench_print_header();
    static const int levels[] = {1, 8, 64};
    long errors = 0;
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
        bench_result_t r = bench_run("http->gateway->broker->wkr", levels[i], requests, s_setup,
                                     s_get, s_teardown, NULL);
        bench_print_row(&r);
        errors += r.errors;
    }
    curl_global_cleanup();
    cfg_destroy(&cfg);
    return errors ? 1 : 0;
}
