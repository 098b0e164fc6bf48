/*
 * it_broker.c - integration test of the broker, rpc client and rpc worker.
 *
 * Starts build/bin/lz-broker on tcp://127.0.0.1:26110 and echo_worker
 * processes (tests/integration/echo_worker.c) itself, drives them as a
 * client would, and prints TAP on stdout ("ok N - ...", plan at the end).
 * Every child is killed by its pid at the end, also on failure; children
 * also die with this process (PR_SET_PDEATHSIG).  Logs of the children go
 * to build/tests/it_broker-NAME.log.  Exit status 0 when every case passed.
 */
#include "clock.h"
#include "common.pb-c.h"
#include "log.h"
#include "rpc.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define S_ENDPOINT     "tcp://127.0.0.1:26110"
#define S_HEARTBEAT    "200" /* broker and workers: a silent worker is gone after 600 ms */
#define S_FRAME_MAX    65536
#define S_MAX_CHILDREN 16

static char s_dir[PATH_MAX];
static char s_broker_bin[PATH_MAX + 32];
static char s_worker_bin[PATH_MAX + 32];
static pid_t s_children[S_MAX_CHILDREN];
static int s_nchildren;
static int s_tap_n, s_tap_failed;

/* ---- TAP -------------------------------------------------------------- */

static void s_tap(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void s_tap(bool ok, const char *fmt, ...)
{
    char text[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    printf("%sok %d - %s\n", ok ? "" : "not ", ++s_tap_n, text);
    fflush(stdout);
    if (!ok)
        s_tap_failed++;
}

static void s_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void s_diag(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("# ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
}

/* ---- child processes -------------------------------------------------- */

static pid_t s_spawn(const char *name, char *const argv[])
{
    char log_path[PATH_MAX + 64];
    snprintf(log_path, sizeof log_path, "%s/it_broker-%s.log", s_dir, name);
    if (s_nchildren == S_MAX_CHILDREN)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    if (pid > 0)
        s_children[s_nchildren++] = pid;
    return pid;
}

static pid_t s_spawn_worker(const char *name, const char *service, const char *credit,
                            const char *batch, const char *wait, const char *delay_us)
{
    char *argv[] = {s_worker_bin,     S_ENDPOINT, (char *)service, "-h", S_HEARTBEAT,  "-c",
                    (char *)credit,   "-b",       (char *)batch,   "-w", (char *)wait, "-d",
                    (char *)delay_us, NULL};
    return s_spawn(name, argv);
}

/* A batch worker whose batches run on 2 lanes (lane_min 1). */
static pid_t s_spawn_lanes(const char *name, const char *service, const char *credit,
                           const char *batch, const char *delay_us)
{
    char *argv[] = {s_worker_bin,
                    S_ENDPOINT,
                    (char *)service,
                    "-h",
                    S_HEARTBEAT,
                    "-c",
                    (char *)credit,
                    "-b",
                    (char *)batch,
                    "-w",
                    "0",
                    "-d",
                    (char *)delay_us,
                    "-L",
                    "2",
                    "-m",
                    "1",
                    NULL};
    return s_spawn(name, argv);
}

static void s_forget(pid_t pid)
{
    for (int i = 0; i < s_nchildren; i++) {
        if (s_children[i] == pid) {
            s_children[i] = s_children[--s_nchildren];
            return;
        }
    }
}

/* Wait up to ms for pid to exit; return its wait status, or -1 if it did not. */
static int s_reap(pid_t pid, int ms)
{
    int64_t until = clock_mono_ms() + ms;
    int status;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            s_forget(pid);
            return status;
        }
        if (r < 0 || clock_mono_ms() >= until)
            return -1;
        clock_sleep_ms(10);
    }
}

/* SIGTERM pid, and SIGKILL it when it does not go within 3 s; return its wait status. */
static int s_stop(pid_t pid)
{
    kill(pid, SIGCONT);
    kill(pid, SIGTERM);
    int status = s_reap(pid, 3000);
    if (status == -1) {
        kill(pid, SIGKILL);
        status = s_reap(pid, 3000);
    }
    return status;
}

static void s_cleanup(void)
{
    while (s_nchildren > 0) {
        pid_t pid = s_children[s_nchildren - 1];
        kill(pid, SIGCONT);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        s_forget(pid);
    }
}

static bool s_clean_exit(int status)
{
    return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* ---- calls ------------------------------------------------------------ */

typedef struct {
    bool replied;
    int status;
    int64_t pid;
    int64_t seen;                    /* batch size the worker saw */
    char id[RPC_REQUEST_ID_MAX + 1]; /* request id the worker echoed */
    char build[16];                  /* "echo", or the lane that answered ("lane0", ...) */
} s_result_t;

static void s_take(Lz__Envelope *reply, s_result_t *out)
{
    memset(out, 0, sizeof *out);
    if (!reply)
        return;
    out->replied = true;
    out->status = reply->has_status ? (int)reply->status : LZ__STATUS__OK;
    if (out->status == LZ__STATUS__OK) {
        Lz__PingReply *pr = (Lz__PingReply *)rpc_unpack(reply, &lz__ping_reply__descriptor);
        if (pr) {
            out->pid = pr->pid;
            out->seen = pr->uptime_s;
            snprintf(out->id, sizeof out->id, "%s", pr->service ? pr->service : "");
            snprintf(out->build, sizeof out->build, "%s", pr->build ? pr->build : "");
            lz__ping_reply__free_unpacked(pr, NULL);
        }
    }
    rpc_envelope_free(&reply);
}

static void s_call(rpc_client_t *c, const char *service, const char *method, const char *rid,
                   int timeout_ms, s_result_t *out)
{
    s_take(rpc_call_msg(c, service, method, rid, NULL, NULL, timeout_ms), out);
}

static bool s_ok(const s_result_t *r)
{
    return r->replied && r->status == LZ__STATUS__OK;
}

/* Ping service until each of pids has answered, for up to ms. */
static bool s_wait_workers(const char *service, const pid_t *pids, int n, int ms)
{
    rpc_client_t *c = rpc_client_new(S_ENDPOINT);
    rpc_client_set_retry_ms(c, 250);
    bool seen[8] = {false};
    int nseen = 0;
    int64_t until = clock_mono_ms() + ms;
    while (nseen < n && clock_mono_ms() < until) {
        s_result_t r;
        s_call(c, service, "ping", NULL, 500, &r);
        if (!s_ok(&r)) {
            clock_sleep_ms(20);
            continue;
        }
        for (int i = 0; i < n; i++) {
            if (!seen[i] && r.pid == pids[i]) {
                seen[i] = true;
                nseen++;
            }
        }
    }
    rpc_client_destroy(&c);
    return nseen == n;
}

/* ---- concurrent load -------------------------------------------------- */

#define S_LOAD_MAX 1000

typedef struct {
    const char *service;
    const char *method;
    const char *prefix;
    int first, count;
    int timeout_ms, retry_ms;
    atomic_int *replies; /* per request number, counted from the echoed id */
    atomic_int *done;
    atomic_int *failed;
    atomic_int *bad_id;
    atomic_long *max_seen;
    pid_t *pids;       /* who answered, per request number */
    atomic_int *lanes; /* bit k: lane k answered something */
} s_load_t;

static void *s_load_thread(void *arg)
{
    s_load_t *l = arg;
    rpc_client_t *c = rpc_client_new(S_ENDPOINT);
    rpc_client_set_retry_ms(c, l->retry_ms);
    for (int i = l->first; i < l->first + l->count; i++) {
        char rid[32];
        snprintf(rid, sizeof rid, "%s-%04d", l->prefix, i);
        s_result_t r;
        s_call(c, l->service, l->method, rid, l->timeout_ms, &r);
        if (!s_ok(&r)) {
            atomic_fetch_add(l->failed, 1);
        } else {
            size_t plen = strlen(l->prefix);
            char *end;
            long idx = -1;
            if (strncmp(r.id, l->prefix, plen) == 0 && r.id[plen] == '-')
                idx = strtol(r.id + plen + 1, &end, 10);
            if (idx < 0 || idx >= S_LOAD_MAX || idx != i)
                atomic_fetch_add(l->bad_id, 1);
            if (idx >= 0 && idx < S_LOAD_MAX) {
                atomic_fetch_add(&l->replies[idx], 1);
                l->pids[idx] = (pid_t)r.pid;
            }
            if (strncmp(r.build, "lane", 4) == 0)
                atomic_fetch_or(l->lanes, 1 << (strtol(r.build + 4, NULL, 10) & 15));
            long seen = atomic_load(l->max_seen);
            while (r.seen > seen && !atomic_compare_exchange_weak(l->max_seen, &seen, r.seen))
                ;
        }
        atomic_fetch_add(l->done, 1);
    }
    rpc_client_destroy(&c);
    return NULL;
}

typedef struct {
    atomic_int replies[S_LOAD_MAX];
    atomic_int done, failed, bad_id;
    atomic_long max_seen;
    atomic_int lanes;
    pid_t pids[S_LOAD_MAX];
    pthread_t threads[32];
    s_load_t loads[32];
    int nthreads;
} s_run_t;

/* Start nthreads clients sending total requests between them. */
static void s_run_start(s_run_t *run, const char *service, const char *method, const char *prefix,
                        int nthreads, int total, int timeout_ms, int retry_ms)
{
    memset(run, 0, sizeof *run);
    run->nthreads = nthreads;
    for (int t = 0; t < nthreads; t++) {
        s_load_t *l = &run->loads[t];
        *l = (s_load_t){service,          method,       prefix,       t * (total / nthreads),
                        total / nthreads, timeout_ms,   retry_ms,     run->replies,
                        &run->done,       &run->failed, &run->bad_id, &run->max_seen,
                        run->pids,        &run->lanes};
        pthread_create(&run->threads[t], NULL, s_load_thread, l);
    }
}

static void s_run_join(s_run_t *run)
{
    for (int t = 0; t < run->nthreads; t++)
        pthread_join(run->threads[t], NULL);
}

static int s_count_exactly_one(s_run_t *run, int total)
{
    int ones = 0;
    for (int i = 0; i < total; i++)
        ones += atomic_load(&run->replies[i]) == 1;
    return ones;
}

static int s_count_pid(s_run_t *run, int total, pid_t pid)
{
    int n = 0;
    for (int i = 0; i < total; i++)
        n += run->pids[i] == pid;
    return n;
}

/* ---- the cases -------------------------------------------------------- */

static void s_case_share(pid_t a, pid_t b)
{
    rpc_client_t *c = rpc_client_new(S_ENDPOINT);
    int by_a = 0, by_b = 0, good = 0;
    for (int i = 0; i < 200; i++) {
        char rid[32];
        snprintf(rid, sizeof rid, "share-%d", i);
        s_result_t r;
        s_call(c, "echo1", "echo", rid, 2000, &r);
        if (s_ok(&r) && strcmp(r.id, rid) == 0)
            good++;
        by_a += r.pid == a;
        by_b += r.pid == b;
    }
    rpc_client_destroy(&c);
    s_tap(good == 200 && by_a > 0 && by_b > 0,
          "two workers of one service share requests (%d answered: %d and %d)", good, by_a, by_b);
}

static void s_case_kill9(pid_t victim, pid_t survivor)
{
    enum { TOTAL = 1000, THREADS = 4 };
    static s_run_t run;
    int64_t t0 = clock_mono_ms();
    s_run_start(&run, "echo2", "echo", "k9", THREADS, TOTAL, 5000, 300);
    while (atomic_load(&run.done) < TOTAL / 4 && clock_mono_ms() - t0 < 10000)
        clock_sleep_ms(1);
    kill(victim, SIGKILL);
    int at = atomic_load(&run.done);
    s_run_join(&run);
    s_reap(victim, 1000);
    int ones = s_count_exactly_one(&run, TOTAL);
    s_diag("killed worker %d after %d replies; %d by the victim, %d by the survivor, %lld ms",
           victim, at, s_count_pid(&run, TOTAL, victim), s_count_pid(&run, TOTAL, survivor),
           (long long)(clock_mono_ms() - t0));
    s_tap(ones == TOTAL && atomic_load(&run.failed) == 0 && atomic_load(&run.bad_id) == 0,
          "kill -9 of one of two workers under load: %d of %d requests got exactly one reply "
          "(%d failed, %d mismatched)",
          ones, TOTAL, atomic_load(&run.failed), atomic_load(&run.bad_id));
}

static void s_case_no_worker(void)
{
    rpc_client_t *c = rpc_client_new(S_ENDPOINT);
    int64_t t0 = clock_mono_ms();
    s_result_t r;
    s_call(c, "nosuch", "echo", "nosuch-1", 1000, &r);
    int64_t ms = clock_mono_ms() - t0;
    rpc_client_destroy(&c);
    bool unavailable = !r.replied || r.status == LZ__STATUS__UNAVAILABLE;
    s_tap(unavailable && ms <= 1200, "no worker for a service: %s in %lld ms (deadline 1000 ms)",
          r.replied ? "UNAVAILABLE" : "no reply", (long long)ms);
}

static void s_case_worker_gone(pid_t only)
{
    /* the only worker leaves: requests wait out the grace (3 x 200 ms), then UNAVAILABLE */
    s_stop(only);
    rpc_client_t *c = rpc_client_new(S_ENDPOINT);
    int64_t t0 = clock_mono_ms();
    s_result_t r;
    s_call(c, "gone", "echo", "gone-1", 2000, &r);
    int64_t ms = clock_mono_ms() - t0;
    rpc_client_destroy(&c);
    s_tap(r.replied && r.status == LZ__STATUS__UNAVAILABLE && ms <= 2200,
          "service whose only worker just left: %s (status %d) after %lld ms, deadline 2000 ms",
          r.replied ? "answered" : "no reply", r.status, (long long)ms);
}

static Lz__Envelope *s_call_payload(rpc_client_t *c, size_t size, int timeout_ms)
{
    uint8_t *data = calloc(1, size);
    Lz__Envelope req = LZ__ENVELOPE__INIT;
    req.method = "echo";
    req.has_payload = 1;
    req.payload.data = data;
    req.payload.len = size;
    Lz__Envelope *reply = rpc_client_call(c, "echo1", &req, timeout_ms);
    free(data);
    return reply;
}

static void s_case_too_large(pid_t broker)
{
    rpc_client_t *c = rpc_client_new(S_ENDPOINT);
    Lz__Envelope *reply = s_call_payload(c, S_FRAME_MAX + 1000, 2000);
    int status = reply && reply->has_status ? (int)reply->status : -1;
    s_diag("oversized request answered: %s", reply && reply->reason ? reply->reason : "(nothing)");
    rpc_envelope_free(&reply);
    /* past the hard cap libzmq drops the connection: no answer, but no harm */
    rpc_client_set_retry_ms(c, 300);
    Lz__Envelope *huge = s_call_payload(c, 4 * S_FRAME_MAX, 800);
    bool huge_ok = huge == NULL || (huge->has_status && huge->status == LZ__STATUS__TOO_LARGE);
    rpc_envelope_free(&huge);
    s_result_t r;
    s_call(c, "echo1", "echo", "after-large", 2000, &r);
    rpc_client_destroy(&c);
    bool alive = waitpid(broker, NULL, WNOHANG) == 0;
    s_tap(status == LZ__STATUS__TOO_LARGE && huge_ok && s_ok(&r) && alive,
          "oversized frame refused with TOO_LARGE (status %d), one past the hard cap dropped, "
          "broker still serving",
          status);
}

static void s_case_batch(void)
{
    enum { TOTAL = 160, THREADS = 16 };
    static s_run_t run;
    s_run_start(&run, "batch", "echo_batch", "b", THREADS, TOTAL, 5000, 1000);
    s_run_join(&run);
    long max = atomic_load(&run.max_seen);
    s_tap(atomic_load(&run.failed) == 0 && s_count_exactly_one(&run, TOTAL) == TOTAL && max > 1 &&
              max <= 4,
          "worker with credit 4 gets up to 4 at once, batched (largest batch %ld, %d failed)", max,
          atomic_load(&run.failed));
}

static void s_case_lanes(void)
{
    enum { TOTAL = 160, THREADS = 16 };
    static s_run_t run;
    s_run_start(&run, "lanes", "echo_batch", "l", THREADS, TOTAL, 5000, 1000);
    s_run_join(&run);
    long max = atomic_load(&run.max_seen);
    int lanes = atomic_load(&run.lanes);
    s_tap(atomic_load(&run.failed) == 0 && atomic_load(&run.bad_id) == 0 &&
              s_count_exactly_one(&run, TOTAL) == TOTAL && max >= 1 && max <= 4 && lanes == 3,
          "worker with 2 lanes: every request answered once, batches of at most 4, both lanes "
          "wrote (largest batch %ld, lanes seen %#x, %d failed)",
          max, lanes, atomic_load(&run.failed));
}

/* Requests in flight on 8 clients from one thread (rpc_client_send / take). */
static void s_case_async(void)
{
    enum { N = 8, ROUNDS = 20 };
    rpc_client_t *c[N];
    char rid[N][32];
    int answered = 0, wrong = 0, early = 0;
    for (int k = 0; k < N; k++)
        c[k] = rpc_client_new(S_ENDPOINT);
    for (int round = 0; round < ROUNDS; round++) {
        bool pending[N];
        for (int k = 0; k < N; k++) {
            Lz__Envelope req = LZ__ENVELOPE__INIT;
            snprintf(rid[k], sizeof rid[k], "async-%d-%d", round, k);
            req.method = "echo";
            req.request_id = rid[k];
            pending[k] = rpc_client_send(c[k], "echo1", &req, 5000) == 0;
        }
        if (round == 0) /* nothing can have come back yet for a fresh socket's first send */
            early += rpc_client_take(c[0]) != NULL;
        int64_t until = clock_mono_ms() + 5000;
        int left = N;
        while (left > 0 && clock_mono_ms() < until) {
            zmq_pollitem_t items[N];
            int who[N], m = 0;
            for (int k = 0; k < N; k++)
                if (pending[k]) {
                    items[m] = (zmq_pollitem_t){rpc_client_socket(c[k]), 0, ZMQ_POLLIN, 0};
                    who[m++] = k;
                }
            if (zmq_poll(items, m, 100) < 0)
                break;
            for (int q = 0; q < m; q++) {
                if (!(items[q].revents & ZMQ_POLLIN))
                    continue;
                s_result_t r;
                s_take(rpc_client_take(c[who[q]]), &r);
                if (!r.replied)
                    continue;
                answered++;
                wrong += !s_ok(&r) || strcmp(r.id, rid[who[q]]) != 0;
                pending[who[q]] = false;
                left--;
            }
        }
    }
    for (int k = 0; k < N; k++)
        rpc_client_destroy(&c[k]);
    s_tap(answered == N * ROUNDS && wrong == 0 && early == 0,
          "one thread keeps %d requests in flight with rpc_client_send/take: %d of %d answered, "
          "%d with the wrong id",
          N, answered, N * ROUNDS, wrong);
}

/* Threads calling through one rpc_mux: one socket, every call answered by its own id. */
typedef struct {
    rpc_mux_t *mux;
    int thread, answered, wrong;
    bool same_id; /* every thread uses the same request id */
} s_mux_load_t;

static void *s_mux_thread(void *arg)
{
    s_mux_load_t *l = arg;
    for (int i = 0; i < 20; i++) {
        char rid[48];
        if (l->same_id)
            snprintf(rid, sizeof rid, "mux-same-%d", i);
        else
            snprintf(rid, sizeof rid, "mux-%d-%d", l->thread, i);
        s_result_t r;
        s_take(rpc_mux_call_msg(l->mux, "echo1", "echo", rid, NULL, NULL, 5000), &r);
        if (r.replied) {
            l->answered++;
            l->wrong += !s_ok(&r) || strcmp(r.id, rid) != 0;
        }
    }
    return NULL;
}

static void s_case_mux(void)
{
    enum { THREADS = 16 };
    rpc_mux_t *mux = rpc_mux_new(S_ENDPOINT);
    s_mux_load_t loads[THREADS];
    pthread_t ids[THREADS];
    int answered = 0, wrong = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (int t = 0; t < THREADS; t++) {
            loads[t] = (s_mux_load_t){mux, t, 0, 0, pass == 1};
            pthread_create(&ids[t], NULL, s_mux_thread, &loads[t]);
        }
        for (int t = 0; t < THREADS; t++) {
            pthread_join(ids[t], NULL);
            answered += loads[t].answered;
            wrong += loads[t].wrong;
        }
    }
    rpc_mux_destroy(&mux);
    s_tap(mux == NULL && answered == 2 * THREADS * 20 && wrong == 0,
          "%d threads through one rpc_mux: %d of %d calls answered with their own id, also when "
          "all threads use the same ids at once (%d wrong)",
          THREADS, answered, 2 * THREADS * 20, wrong);
}

/* Bad arguments to the non-blocking client and the mux: refused at once, nothing sent. */
static void s_case_bad_calls(void)
{
    rpc_client_t *c = rpc_client_new(S_ENDPOINT);
    rpc_mux_t *mux = rpc_mux_new(S_ENDPOINT);
    char long_id[RPC_REQUEST_ID_MAX + 2], long_service[RPC_SERVICE_MAX + 2];
    memset(long_id, 'r', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    memset(long_service, 's', sizeof long_service - 1);
    long_service[sizeof long_service - 1] = '\0';
    Lz__Envelope no_id = LZ__ENVELOPE__INIT, too_long = LZ__ENVELOPE__INIT;
    no_id.method = too_long.method = "echo";
    too_long.request_id = long_id;
    int64_t t0 = clock_mono_ms();
    bool refused = rpc_client_post(c, "echo1", &no_id, 1000) == -1 &&
                   rpc_client_post(c, "echo1", &too_long, 1000) == -1 &&
                   rpc_client_send(c, "echo1", &too_long, 1000) == -1 &&
                   rpc_client_send(c, "", &no_id, 1000) == -1 && rpc_client_take(c) == NULL &&
                   rpc_client_take_any(c) == NULL &&
                   rpc_mux_call(mux, long_service, &no_id, 1000) == NULL &&
                   rpc_mux_call(mux, "echo1", &too_long, 1000) == NULL;
    int64_t took = clock_mono_ms() - t0;
    s_tap(refused && took < 500 && rpc_client_socket(c) == NULL,
          "no request id to post, ids and service names too long: refused in %" PRId64
          " ms, no socket opened",
          took);
    rpc_mux_destroy(&mux);
    rpc_client_destroy(&c);
}

static void s_case_sigstop(pid_t stopped, pid_t other)
{
    enum { TOTAL = 40, THREADS = 4 };
    static s_run_t run;
    kill(stopped, SIGSTOP);
    int64_t t0 = clock_mono_ms();
    /* no client resend: only the broker dropping the worker can save its request */
    s_run_start(&run, "stop", "echo", "st", THREADS, TOTAL, 3000, 0);
    s_run_join(&run);
    int64_t ms = clock_mono_ms() - t0;
    int by_other = s_count_pid(&run, TOTAL, other);
    s_tap(atomic_load(&run.failed) == 0 && by_other == TOTAL,
          "silent (SIGSTOPped) worker dropped, its requests served by the other: %d of %d in %lld "
          "ms",
          by_other, TOTAL, (long long)ms);
    kill(stopped, SIGCONT);
    pid_t both[2] = {stopped, other};
    s_tap(s_wait_workers("stop", both, 2, 5000), "resumed worker rejoins the service");
}

/* ---- main ------------------------------------------------------------- */

static bool s_find_binaries(void)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return false;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return false;
    *slash = '\0';
    snprintf(s_dir, sizeof s_dir, "%s", exe);
    snprintf(s_broker_bin, sizeof s_broker_bin, "%s/../bin/lz-broker", s_dir);
    snprintf(s_worker_bin, sizeof s_worker_bin, "%s/echo_worker", s_dir);
    return access(s_broker_bin, X_OK) == 0 && access(s_worker_bin, X_OK) == 0;
}

int main(void)
{
    log_init("it_broker", LZ_LOG_WARN);
    if (!s_find_binaries()) {
        printf("Bail out! lz-broker or echo_worker not built next to %s\n", s_dir);
        return 1;
    }
    atexit(s_cleanup);
    zsys_handler_set(NULL); /* let ^C kill the test; the children die with it */
    setenv("LZ_BROKER_BIND", S_ENDPOINT, 1);
    setenv("LZ_HEARTBEAT_MS", S_HEARTBEAT, 1);
    setenv("LZ_FRAME_MAX", "65536", 1);
    if (!getenv("LZ_LOG_LEVEL"))
        setenv("LZ_LOG_LEVEL", "info", 1);
    s_diag("logs in %s/it_broker-*.log", s_dir);

    char *broker_argv[] = {s_broker_bin, NULL};
    pid_t broker = s_spawn("broker", broker_argv);
    pid_t a = s_spawn_worker("a", "echo1", "1", "0", "0", "0");
    pid_t b = s_spawn_worker("b", "echo1", "1", "0", "0", "0");
    pid_t c = s_spawn_worker("c", "echo2", "1", "0", "0", "1000");
    pid_t d = s_spawn_worker("d", "echo2", "1", "0", "0", "1000");
    pid_t e = s_spawn_worker("e", "batch", "4", "16", "30", "0");
    pid_t f = s_spawn_worker("f", "stop", "1", "0", "0", "0");
    pid_t g = s_spawn_worker("g", "stop", "1", "0", "0", "0");
    pid_t h = s_spawn_worker("h", "gone", "1", "0", "0", "0");
    pid_t i = s_spawn_lanes("i", "lanes", "8", "4", "20000");
    pid_t ab[2] = {a, b}, cd[2] = {c, d}, fg[2] = {f, g};
    bool up = s_wait_workers("echo1", ab, 2, 5000) && s_wait_workers("echo2", cd, 2, 5000) &&
              s_wait_workers("batch", &e, 1, 5000) && s_wait_workers("stop", fg, 2, 5000) &&
              s_wait_workers("gone", &h, 1, 5000) && s_wait_workers("lanes", &i, 1, 5000);
    s_tap(up, "broker and 9 workers up");
    if (up) {
        s_case_share(a, b);
        s_case_kill9(c, d);
        s_case_no_worker();
        s_case_worker_gone(h);
        s_case_too_large(broker);
        s_case_batch();
        s_case_lanes();
        s_case_async();
        s_case_mux();
        s_case_bad_calls();
        s_case_sigstop(f, g);
    }
    pid_t rest[] = {a, b, d, e, f, g, i};
    int clean = 0;
    for (size_t k = 0; k < sizeof rest / sizeof rest[0]; k++)
        clean += s_clean_exit(s_stop(rest[k]));
    s_tap(clean == 7, "workers stop cleanly on SIGTERM (%d of 7)", clean);
    s_tap(s_clean_exit(s_stop(broker)), "broker stops cleanly on SIGTERM");
    printf("1..%d\n", s_tap_n);
    if (s_tap_failed)
        s_diag("%d of %d failed; see %s/it_broker-*.log", s_tap_failed, s_tap_n, s_dir);
    return s_tap_failed ? 1 : 0;
}
