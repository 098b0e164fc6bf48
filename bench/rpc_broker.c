/*
 * rpc_broker.c - benchmark of "ping" through client -> broker -> worker.
 *
 * Starts build/bin/lz-broker on LZ_BENCH_PORT (unless LZ_BENCH_BROKER names
 * a running one) and LZ_BENCH_WORKERS worker processes (forked from here,
 * each an rpc_worker of service "bench" with credit LZ_BENCH_CREDIT), then
 * for 1, 8 and 64 client threads (each its own rpc_client) sends
 * LZ_BENCH_REQUESTS pings in all and prints requests/s and latency
 * percentiles.  The measuring core is bench/bench.h.
 */
#include "bench.h"
#include "cfg.h"
#include "common.pb-c.h"
#include "log.h"
#include "rpc.h"

#include <czmq.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define S_MAX_WORKERS 16

static const cfg_spec_t s_spec[] = {
    {"LZ_BENCH_BROKER", CFG_STR, "", 0, 255, false,
     "endpoint of a running broker (empty: start one)"},
    {"LZ_BENCH_PORT", CFG_INT, "26130", 1024, 65535, false, "port of the broker started here"},
    {"LZ_BENCH_WORKERS", CFG_INT, "2", 1, S_MAX_WORKERS, false, "worker processes"},
    {"LZ_BENCH_CREDIT", CFG_INT, "8", 1, 1000, false, "credit of each worker"},
    {"LZ_BENCH_REQUESTS", CFG_INT, "20000", 64, 10000000, false, "requests per thread count"},
    {"LZ_BENCH_TIMEOUT_MS", CFG_INT, "5000", 10, 600000, false, "deadline of each call"},
};

static char s_endpoint[300];
static int s_timeout_ms;

static pid_t s_spawn_broker(int port)
{
    char exe[PATH_MAX], bin[PATH_MAX + 32];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return -1;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = '\0';
    snprintf(bin, sizeof bin, "%s/../bin/lz-broker", exe);
    char bind[64];
    snprintf(bind, sizeof bind, "tcp://127.0.0.1:%d", port);
    setenv("LZ_BROKER_BIND", bind, 1);
    setenv("LZ_LOG_LEVEL", "warn", 1);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        char *argv[] = {bin, NULL};
        execv(bin, argv);
        _exit(127);
    }
    return pid;
}

/* Fork a worker; called before this process touches ZeroMQ. */
static pid_t s_spawn_worker(int credit)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        log_init("bench-worker", LZ_LOG_WARN);
        rpc_worker_t *w = rpc_worker_new(s_endpoint, "bench", NULL, 0, NULL, credit);
        int rc = w ? rpc_worker_run(w) : -1;
        rpc_worker_destroy(&w);
        zsys_shutdown();
        _exit(rc == 0 ? 0 : 1);
    }
    return pid;
}

static void *s_setup(void *arg, int thread)
{
    (void)arg;
    (void)thread;
    return rpc_client_new(s_endpoint);
}

static int s_ping(void *ctx, long i)
{
    (void)i;
    Lz__Envelope *r = rpc_call_msg(ctx, "bench", "ping", NULL, NULL, NULL, s_timeout_ms);
    int rc = r && r->has_status && r->status == LZ__STATUS__OK ? 0 : -1;
    rpc_envelope_free(&r);
    return rc;
}

static void s_teardown(void *ctx)
{
    rpc_client_t *c = ctx;
    rpc_client_destroy(&c);
}

/* Ping until n different workers have answered (or 10 s passed). */
static bool s_wait_workers(int n)
{
    rpc_client_t *c = rpc_client_new(s_endpoint);
    rpc_client_set_retry_ms(c, 250);
    int32_t seen[S_MAX_WORKERS];
    int nseen = 0;
    for (int tries = 0; tries < 200 && nseen < n; tries++) {
        Lz__Envelope *r = rpc_call_msg(c, "bench", "ping", NULL, NULL, NULL, 500);
        Lz__PingReply *pr = r && r->status == LZ__STATUS__OK
                                ? (Lz__PingReply *)rpc_unpack(r, &lz__ping_reply__descriptor)
                                : NULL;
        if (pr) {
            bool known = false;
            for (int i = 0; i < nseen; i++)
                known = known || seen[i] == pr->pid;
            if (!known)
                seen[nseen++] = pr->pid;
            lz__ping_reply__free_unpacked(pr, NULL);
        } else {
            usleep(50 * 1000);
        }
        rpc_envelope_free(&r);
    }
    rpc_client_destroy(&c);
    return nseen >= n;
}

int main(void)
{
    char err[256];
    cfg_t *cfg = cfg_load(s_spec, sizeof s_spec / sizeof s_spec[0], NULL, err, sizeof err);
    if (!cfg) {
        fprintf(stderr, "rpc_broker: %s\n", err);
        return 1;
    }
    log_init("bench", LZ_LOG_WARN);
    int nworkers = (int)cfg_int(cfg, "LZ_BENCH_WORKERS");
    int credit = (int)cfg_int(cfg, "LZ_BENCH_CREDIT");
    long requests = cfg_int(cfg, "LZ_BENCH_REQUESTS");
    s_timeout_ms = (int)cfg_int(cfg, "LZ_BENCH_TIMEOUT_MS");
    pid_t broker = 0;
    if (*cfg_str(cfg, "LZ_BENCH_BROKER")) {
        snprintf(s_endpoint, sizeof s_endpoint, "%s", cfg_str(cfg, "LZ_BENCH_BROKER"));
    } else {
        int port = (int)cfg_int(cfg, "LZ_BENCH_PORT");
        snprintf(s_endpoint, sizeof s_endpoint, "tcp://127.0.0.1:%d", port);
        broker = s_spawn_broker(port);
        if (broker < 0) {
            fprintf(stderr, "rpc_broker: could not start lz-broker\n");
            return 1;
        }
    }
    cfg_destroy(&cfg);
    pid_t workers[S_MAX_WORKERS];
    for (int i = 0; i < nworkers; i++)
        workers[i] = s_spawn_worker(credit);

    int rc = 0;
    if (!s_wait_workers(nworkers)) {
        fprintf(stderr, "rpc_broker: workers did not come up at %s\n", s_endpoint);
        rc = 1;
    } else {
        printf("ping via broker %s, %d worker processes with credit %d, build %s\n", s_endpoint,
               nworkers, credit, LZ_BUILD);
        bench_run("warm-up", 8, 2000, s_setup, s_ping, s_teardown, NULL);
        bench_print_header();
        const int levels[] = {1, 8, 64};
        for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
            bench_result_t r = bench_run("client->broker->worker", levels[i], requests, s_setup,
                                         s_ping, s_teardown, NULL);
            bench_print_row(&r);
            if (r.errors)
                rc = 1;
        }
    }
    for (int i = 0; i < nworkers; i++) {
        kill(workers[i], SIGTERM);
        waitpid(workers[i], NULL, 0);
    }
    if (broker > 0) {
        kill(broker, SIGTERM);
        waitpid(broker, NULL, 0);
    }
    return rc;
}
