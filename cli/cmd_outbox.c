/*
 * cmd_outbox.c - "liangze outbox": relay the event outbox, show its state.
 *
 *   liangze outbox relay [--once] [--batch N] [--interval-ms N] [--maxlen N]
 *       relay committed events to their Redis streams until SIGTERM or
 *       SIGINT (or one batch with --once, printing "relayed N"); a full
 *       batch is followed at once by the next, otherwise the relay waits
 *       interval-ms (default 200).  Counts are logged every 10 s and at exit.
 *   liangze outbox stats
 *       events waiting in PostgreSQL per topic; per stream its length, its
 *       dead letters and each consumer group's pending entries and lag.
 *   liangze outbox purge [--older-than-s N]
 *       delete rows relayed more than N seconds ago (default 7 days).
 *
 * Exit status: 0 done, 1 a database or Redis failure, 2 bad usage.
 */
#include "cli.h"
#include "clock.h"
#include "log.h"
#include "mem.h"
#include "outbox.h"
#include "pg.h"
#include "rds.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_SUMMARY_MS    10000
#define S_BACKOFF_MAX   5000
#define S_STATS_STREAMS 10000

static volatile sig_atomic_t s_stop;

static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

static int s_usage(void)
{
    fprintf(stderr,
            "usage: liangze outbox relay [--once] [--batch N] [--interval-ms N] [--maxlen N]\n"
            "       liangze outbox stats\n"
            "       liangze outbox purge [--older-than-s N]\n");
    return 2;
}

/* Parse a decimal in [min, max]; 0 or -1. */
static int s_parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static rds_t *s_redis(const cfg_t *cfg)
{
    const char *host = cfg_str(cfg, "LZ_REDIS_HOST");
    int port = (int)cfg_int(cfg, "LZ_REDIS_PORT");
    for (int i = 0; i < 10; i++) {
        rds_t *rds = rds_connect(host, port, 2000);
        if (rds)
            return rds;
        clock_sleep_ms(500);
    }
    fprintf(stderr, "liangze: could not connect to redis at %s:%d\n", host, port);
    return NULL;
}

/* Sleep ms in short slices, returning early once a stop was asked for. */
static void s_nap(int64_t ms)
{
    int64_t until = clock_mono_ms() + ms;
    while (!s_stop) {
        int64_t left = until - clock_mono_ms();
        if (left <= 0)
            break;
        clock_sleep_ms(left < 50 ? left : 50);
    }
}

static int s_relay(int argc, char **argv, pg_t *pg, rds_t *rds)
{
    outbox_relay_opts_t opts;
    outbox_relay_opts_default(&opts);
    bool once = false;
    long interval_ms = 200, v;
    for (int i = 2; i < argc; i++) {
        const char *opt = argv[i];
        if (!strcmp(opt, "--once")) {
            once = true;
            continue;
        }
        if (i + 1 >= argc)
            return s_usage();
        const char *val = argv[++i];
        if (!strcmp(opt, "--batch") && s_parse_long(val, 1, OUTBOX_BATCH_MAX, &v) == 0)
            opts.batch_max = (int)v;
        else if (!strcmp(opt, "--interval-ms") && s_parse_long(val, 1, 600000, &v) == 0)
            interval_ms = v;
        else if (!strcmp(opt, "--maxlen") && s_parse_long(val, 1, 1000000000L, &v) == 0)
            opts.stream_maxlen = v;
        else {
            fprintf(stderr, "liangze: bad option or value: %s %s\n", opt, val);
            return s_usage();
        }
    }
    if (once) {
        int n = outbox_relay_once_opts(pg, rds, &opts);
        if (n < 0)
            return 1;
        printf("relayed %d\n", n);
        return 0;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    log_info("outbox relay started (batch %d, interval %ld ms, maxlen %ld)", opts.batch_max,
             interval_ms, opts.stream_maxlen);
    int64_t total = 0, batches = 0, failures = 0, since = 0;
    int64_t next_summary = clock_mono_ms() + S_SUMMARY_MS;
    int64_t backoff = interval_ms;
    while (!s_stop) {
        int n = outbox_relay_once_opts(pg, rds, &opts);
        if (n < 0) {
            failures++;
            s_nap(backoff);
            backoff = backoff * 2 > S_BACKOFF_MAX ? S_BACKOFF_MAX : backoff * 2;
            continue;
        }
        backoff = interval_ms;
        if (n > 0) {
            total += n;
            since += n;
            batches++;
        }
        int64_t now = clock_mono_ms();
        if (now >= next_summary) {
            if (since > 0)
                log_info("outbox relay: %" PRId64 " events in the last %d s (%" PRId64 " in all)",
                         since, S_SUMMARY_MS / 1000, total);
            since = 0;
            next_summary = now + S_SUMMARY_MS;
        }
        if (n < opts.batch_max)
            s_nap(interval_ms);
    }
    log_info("outbox relay stopped: relayed=%" PRId64 " batches=%" PRId64 " failures=%" PRId64,
             total, batches, failures);
    return 0;
}

static int s_purge(int argc, char **argv, pg_t *pg)
{
    long age = OUTBOX_DEDUPE_TTL_DEFAULT_S;
    if (argc == 4 && !strcmp(argv[2], "--older-than-s")) {
        if (s_parse_long(argv[3], 0, 100L * 365 * 24 * 3600, &age) != 0)
            return s_usage();
    } else if (argc != 2) {
        return s_usage();
    }
    int n = outbox_purge(pg, age);
    if (n < 0)
        return 1;
    printf("purged %d\n", n);
    return 0;
}

static int s_cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Integer or nil (printed "-") of a reply element. */
static void s_print_num(const redisReply *r)
{
    if (r && r->type == REDIS_REPLY_INTEGER)
        printf(" %10lld", r->integer);
    else
        printf(" %10s", "-");
}

static long long s_xlen(rds_t *rds, const char *key)
{
    redisReply *r = rds_cmd(rds, "XLEN %s", key);
    long long n = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    rds_free(&r);
    return n;
}

static void s_print_groups(rds_t *rds, const char *key)
{
    redisReply *g = rds_cmd(rds, "XINFO GROUPS %s", key);
    if (!g || g->type != REDIS_REPLY_ARRAY) {
        rds_free(&g);
        return;
    }
    for (size_t i = 0; i < g->elements; i++) {
        const redisReply *m = g->element[i];
        const redisReply *name = NULL, *pending = NULL, *lag = NULL, *consumers = NULL;
        for (size_t j = 0; m->type == REDIS_REPLY_ARRAY && j + 1 < m->elements; j += 2) {
            const char *f = m->element[j]->str;
            if (!f)
                continue;
            if (!strcmp(f, "name"))
                name = m->element[j + 1];
            else if (!strcmp(f, "pending"))
                pending = m->element[j + 1];
            else if (!strcmp(f, "lag"))
                lag = m->element[j + 1];
            else if (!strcmp(f, "consumers"))
                consumers = m->element[j + 1];
        }
        printf("    group %-30s", name && name->str ? name->str : "?");
        printf(" consumers");
        s_print_num(consumers);
        printf(" pending");
        s_print_num(pending);
        printf(" lag");
        s_print_num(lag);
        printf("\n");
    }
    rds_free(&g);
}

static int s_stats(pg_t *pg, rds_t *rds)
{
    PGresult *res = pg_query(
        pg,
        "SELECT topic, count(*) FILTER (WHERE relayed_at IS NULL),"
        " coalesce(extract(epoch FROM now() - min(created_at) FILTER (WHERE relayed_at IS NULL)),"
        " 0)::bigint, count(*) FILTER (WHERE relayed_at IS NOT NULL)"
        " FROM outbox GROUP BY topic ORDER BY topic",
        0, NULL);
    if (!res)
        return 1;
    printf("outbox (postgresql)\n  %-40s %10s %10s %10s\n", "topic", "pending", "oldest_s",
           "relayed");
    int64_t pending = 0;
    for (int i = 0; i < PQntuples(res); i++) {
        printf("  %-40s %10" PRId64 " %10" PRId64 " %10" PRId64 "\n", pg_str(res, i, 0),
               pg_int(res, i, 1), pg_int(res, i, 2), pg_int(res, i, 3));
        pending += pg_int(res, i, 1);
    }
    printf("  pending in all: %" PRId64 "\n", pending);
    pg_free(&res);

    char **keys = NULL;
    size_t nkeys = 0, cap = 0;
    char cursor[32] = "0";
    int rc = 0;
    do {
        redisReply *r = rds_cmd(rds, "SCAN %s MATCH lz:stream:* COUNT 1000 TYPE stream", cursor);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 || !r->element[0]->str) {
            rds_free(&r);
            rc = 1;
            break;
        }
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        const redisReply *list = r->element[1];
        for (size_t i = 0; i < list->elements && nkeys < S_STATS_STREAMS; i++) {
            const char *k = list->element[i]->str;
            size_t len = strlen(k);
            if (len > 5 && !strcmp(k + len - 5, ":dead"))
                continue;
            if (nkeys == cap) {
                cap = cap ? cap * 2 : 64;
                keys = xrealloc(keys, cap * sizeof *keys);
            }
            keys[nkeys++] = xstrdup(k);
        }
        rds_free(&r);
    } while (strcmp(cursor, "0") != 0 && nkeys < S_STATS_STREAMS);
    if (nkeys > 0)
        qsort(keys, nkeys, sizeof *keys, s_cmp_str);
    printf("streams (redis)\n  %-40s %10s %10s\n", "stream", "length", "dead");
    for (size_t i = 0; i < nkeys; i++) {
        char *dead = xasprintf("%s:dead", keys[i]);
        long long dn = s_xlen(rds, dead);
        printf("  %-40s %10lld %10lld\n", keys[i], s_xlen(rds, keys[i]), dn < 0 ? 0 : dn);
        s_print_groups(rds, keys[i]);
        free(dead);
        free(keys[i]);
    }
    free(keys);
    if (rc != 0)
        fprintf(stderr, "liangze: could not list the streams: %s\n", rds_errmsg(rds));
    return rc;
}

int cmd_outbox(int argc, char **argv, const cfg_t *cfg)
{
    if (argc < 2)
        return s_usage();
    const char *sub = argv[1];
    bool relay = !strcmp(sub, "relay"), stats = !strcmp(sub, "stats"),
         purge = !strcmp(sub, "purge");
    if (!relay && !stats && !purge)
        return s_usage();
    pg_t *pg = pg_connect(cfg_str(cfg, "LZ_PG_URL"), 10, 500);
    if (!pg) {
        fprintf(stderr, "liangze: could not connect to the database\n");
        return 1;
    }
    int rc;
    if (purge) {
        rc = s_purge(argc, argv, pg);
    } else {
        rds_t *rds = s_redis(cfg);
        if (!rds)
            rc = 1;
        else if (relay)
            rc = s_relay(argc, argv, pg, rds);
        else
            rc = s_stats(pg, rds);
        rds_destroy(&rds);
    }
    pg_destroy(&pg);
    return rc;
}
