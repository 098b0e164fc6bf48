/*
 * notifier_notify.c - bench/notify: N queued notification requests against
 * a local SMS provider that answers in 20 ms (tests/integration/fake_provider),
 * drained by 1 and by 4 notifier processes; prints deliveries per second
 * and the duplicate count (provider calls beyond one accepted message per
 * dedupe key, and deliveries with more than one successful attempt: both
 * must be 0).
 *
 *   . deploy/local/env.sh test
 *   build/bench/notifier_notify [--n 100000] [--procs 1,4] [--delay 20] [--inflight 64]
 *
 * Each round uses a topic and Redis keys of its own (bench.notify.*,
 * lz:benchnotify:*), starts the provider on port 18233, puts the N requests
 * on the stream before the notifiers start, and removes its rows and keys
 * afterwards.  The notifiers' clock is moved to 10:00 local so quiet hours
 * never interfere; every request goes to its own phone (no daily cap).
 */
#include "clock.h"
#include "notify.pb-c.h"
#include "pg.h"
#include "rds.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define FP_PORT 18233

static char s_root[1024] = ".";

static pid_t s_spawn(char *const argv[], char *const extra_env[])
{
    pid_t pid = fork();
    if (pid == 0) {
        for (int i = 0; extra_env && extra_env[i]; i++)
            putenv(extra_env[i]);
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

static void s_stop(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    for (int i = 0; i < 100; i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return;
        clock_sleep_ms(100);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static size_t s_collect(char *p, size_t sz, size_t n, void *ud)
{
    char *out = ud;
    size_t len = strlen(out), k = sz * n;
    if (len + k < 511) {
        memcpy(out + len, p, k);
        out[len + k] = '\0';
    }
    return k;
}

/* Ask the provider for a counter ("accepted", "calls", "dups"); -1 when it does not answer. */
static long s_stat(CURL *c, const char *name)
{
    char out[512] = "", url[128], key[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/ctl/stats", FP_PORT);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, s_collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    if (curl_easy_perform(c) != CURLE_OK)
        return -1;
    snprintf(key, sizeof key, "\"%s\":", name);
    const char *p = strstr(out, key);
    return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

static int s_round(pg_t *pg, rds_t *rds, long n, int procs, int delay_ms, int inflight)
{
    char tag[64], topic[96], prefix[96], stream[128], logp[256];
    snprintf(tag, sizeof tag, "%ld_%d", (long)getpid(), procs);
    snprintf(topic, sizeof topic, "bench.notify.r%s", tag);
    snprintf(prefix, sizeof prefix, "lz:benchnotify:%s", tag);
    snprintf(stream, sizeof stream, "lz:stream:%s", topic);
    snprintf(logp, sizeof logp, "/tmp/lz-bench-notify-%s.jsonl", tag);

    char fp_bin[1200], port[16], delay[16];
    snprintf(fp_bin, sizeof fp_bin, "%s/build/tests/fake_provider", s_root);
    snprintf(port, sizeof port, "%d", FP_PORT);
    snprintf(delay, sizeof delay, "%d", delay_ms);
    char *fp_argv[] = {fp_bin,    "--port", port,           "--log",     logp,
                       "--delay", delay,    "--secret-key", "bench-key", NULL};
    unlink(logp);
    pid_t fp = s_spawn(fp_argv, NULL);
    clock_sleep_ms(300);

    /* the requests, on the stream before anyone reads it */
    int64_t t0 = clock_mono_ms();
    for (long i = 0; i < n; i++) {
        char key[96], phone[32], id[24], at[24];
        snprintf(key, sizeof key, "bench-%s-%ld", tag, i);
        snprintf(phone, sizeof phone, "199%08ld", i % 100000000);
        Lz__NotifyParam p1 = LZ__NOTIFY_PARAM__INIT, p2 = LZ__NOTIFY_PARAM__INIT;
        p1.key = "business_name";
        p1.value = "压测饭店";
        p2.key = "owed";
        p2.value = "日管控台账";
        Lz__NotifyParam *ps[] = {&p1, &p2};
        Lz__NotifyRequest r = LZ__NOTIFY_REQUEST__INIT;
        r.dedupe_key = key;
        r.template_ = "ledger_reminder";
        r.channel = "sms";
        r.to = phone;
        r.n_params = 2;
        r.params = ps;
        uint8_t buf[512];
        size_t len = lz__notify_request__pack(&r, buf);
        snprintf(id, sizeof id, "%ld", i + 1);
        snprintf(at, sizeof at, "%lld", (long long)clock_now_ms());
        rds_append(rds, "XADD %s * id %s key %s payload %b at %s", stream, id, key, buf, len, at);
        if ((i + 1) % 1000 == 0 || i + 1 == n) {
            long k = (i % 1000) + 1;
            for (long j = 0; j < k; j++) {
                redisReply *rep = rds_get_reply(rds);
                rds_free(&rep);
            }
        }
    }
    printf("  queued %ld requests in %.1f s\n", n, (clock_mono_ms() - t0) / 1000.0);
    fflush(stdout);

    /* the notifiers */
    time_t now = time(NULL);
    struct tm lt;
    time_t local = now + 8 * 3600;
    gmtime_r(&local, &lt);
    long offset = (10 - lt.tm_hour) * 3600L - lt.tm_min * 60L - lt.tm_sec;
    char e_topic[160], e_prefix[160], e_url[96], e_off[64], e_inf[64], e_key[64];
    snprintf(e_topic, sizeof e_topic, "LZ_NOTIFY_TOPIC=%s", topic);
    snprintf(e_prefix, sizeof e_prefix, "LZ_NOTIFY_KEY_PREFIX=%s", prefix);
    snprintf(e_url, sizeof e_url, "LZ_SMS_URL=http://127.0.0.1:%d/", FP_PORT);
    snprintf(e_off, sizeof e_off, "LZ_CLOCK_OFFSET_S=%ld", offset);
    snprintf(e_inf, sizeof e_inf, "LZ_NOTIFY_INFLIGHT=%d", inflight);
    snprintf(e_key, sizeof e_key, "LZ_SMS_SECRET_KEY=bench-key");
    char *env[] = {e_topic,
                   e_prefix,
                   e_url,
                   e_off,
                   e_inf,
                   e_key,
                   "LZ_SMS_TEMPLATE_IDS=ledger_reminder=1001",
                   "LZ_SMS_SECRET_ID=AKIDbench",
                   "LZ_BROKER=tcp://127.0.0.1:25639",
                   "LZ_LOG_LEVEL=warn",
                   NULL};
    char nt_bin[1200];
    snprintf(nt_bin, sizeof nt_bin, "%s/build/bin/lz-notifier", s_root);
    char *nt_argv[] = {nt_bin, NULL};
    pid_t nts[16];
    t0 = clock_mono_ms();
    for (int i = 0; i < procs; i++)
        nts[i] = s_spawn(nt_argv, env);
    CURL *c = curl_easy_init();
    long accepted = 0, last = -1;
    int64_t last_change = clock_mono_ms();
    while (accepted < n) {
        clock_sleep_ms(250);
        accepted = s_stat(c, "accepted");
        if (accepted != last) {
            last = accepted;
            last_change = clock_mono_ms();
        } else if (clock_mono_ms() - last_change > 30000) {
            printf("  stalled at %ld\n", accepted);
            break;
        }
    }
    double secs = (clock_mono_ms() - t0) / 1000.0;
    long calls = s_stat(c, "calls"), dups = s_stat(c, "dups");
    curl_easy_cleanup(c);
    for (int i = 0; i < procs; i++)
        s_stop(nts[i]);
    s_stop(fp);

    char like[128];
    snprintf(like, sizeof like, "bench-%s-%%", tag);
    const char *lp[] = {like};
    PGresult *res =
        pg_query(pg,
                 "SELECT count(*) FILTER (WHERE status = 'sent'), "
                 "(SELECT count(*) FROM (SELECT a.delivery_id FROM delivery_attempts a "
                 "JOIN deliveries d2 ON d2.id = a.delivery_id WHERE d2.dedupe_key LIKE $1 "
                 "AND a.outcome = 'ok' GROUP BY a.delivery_id HAVING count(*) > 1) x) "
                 "FROM deliveries d WHERE dedupe_key LIKE $1",
                 1, lp);
    long sent = res ? (long)pg_int(res, 0, 0) : -1, twice = res ? (long)pg_int(res, 0, 1) : -1;
    pg_free(&res);
    printf(
        "notifier processes %d: %ld delivered in %.1f s = %.0f deliveries/s; provider calls %ld, "
        "duplicates %ld (provider) / %ld (recorded twice); %ld rows sent\n",
        procs, accepted, secs, accepted / secs, calls, dups + (calls - accepted - dups), twice,
        sent);
    fflush(stdout);

    /* clean up this round's rows and keys */
    pg_exec(pg,
            "WITH d AS (DELETE FROM deliveries WHERE dedupe_key LIKE $1 RETURNING id) "
            "DELETE FROM notify_keys WHERE dedupe_key LIKE $1",
            1, lp);
    rds_do(rds, "DEL %s %s:dead %s:due", stream, stream, prefix);
    unlink(logp);
    return accepted == n && twice == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    long n = 100000;
    int delay = 20, inflight = 64;
    const char *procs = "1,4";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--n"))
            n = strtol(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--procs"))
            procs = argv[i + 1];
        else if (!strcmp(argv[i], "--delay"))
            delay = (int)strtol(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--inflight"))
            inflight = (int)strtol(argv[i + 1], NULL, 10);
    }
    const char *root = getenv("LZ_ROOT");
    if (root)
        snprintf(s_root, sizeof s_root, "%s", root);
    const char *pg_url = getenv("LZ_PG_ADMIN_URL");
    const char *rport = getenv("LZ_REDIS_PORT");
    if (!pg_url || !rport) {
        fprintf(stderr, "notifier_notify: source deploy/local/env.sh test first\n");
        return 2;
    }
    pg_t *pg = pg_connect(pg_url, 3, 500);
    rds_t *rds = rds_connect("127.0.0.1", (int)strtol(rport, NULL, 10), 5000);
    if (!pg || !rds)
        return 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    printf("bench/notify: %ld requests, provider answers in %d ms, %d in flight per process\n", n,
           delay, inflight);
    int rc = 0;
    for (const char *p = procs; *p;) {
        int k = (int)strtol(p, NULL, 10);
        if (k >= 1 && k <= 16 && s_round(pg, rds, n, k, delay, inflight) != 0)
            rc = 1;
        p += strcspn(p, ",");
        if (*p == ',')
            p++;
    }
    pg_destroy(&pg);
    rds_destroy(&rds);
    curl_global_cleanup();
    return rc;
}
