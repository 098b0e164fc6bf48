/*
 * echo_worker.c - a test worker for it_broker and the benchmark.
 *
 *   echo_worker ENDPOINT SERVICE [-c credit] [-b batch_max] [-w wait_ms]
 *                                [-h heartbeat_ms] [-d delay_us] [-l level]
 *                                [-L lanes] [-m lane_min]
 *
 * Methods:
 *   echo        answers lz.PingReply {service = the request id (echoed),
 *               build = "echo", pid = this process, uptime_s = 1}
 *   echo_batch  the same, from a batch function; uptime_s = how many
 *               requests that call of the batch function saw; with -L the
 *               batches run on lanes and build names the lane ("lane0", ...)
 * and "ping", which every worker answers itself.  delay_us sleeps that long
 * per request (per batch for echo_batch), to keep requests in flight.
 * Stops on SIGINT/SIGTERM with status 0.
 */
#include "clock.h"
#include "common.pb-c.h"
#include "log.h"
#include "rpc.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct {
    long delay_us;
    char build[16]; /* "echo", or the lane's name */
} s_ctx_t;

static void s_answer(rpc_reply_t *rep, const Lz__Envelope *req, int64_t seen, const s_ctx_t *ctx)
{
    Lz__PingReply pr = LZ__PING_REPLY__INIT;
    pr.service = req->request_id ? req->request_id : "";
    pr.build = (char *)ctx->build;
    pr.has_pid = 1;
    pr.pid = (int32_t)getpid();
    pr.has_uptime_s = 1;
    pr.uptime_s = seen;
    rpc_reply_ok(rep, &pr.base);
}

static void s_delay(const s_ctx_t *ctx)
{
    if (ctx->delay_us > 0)
        usleep((useconds_t)ctx->delay_us);
}

static void s_echo(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep)
{
    s_delay(ctx);
    s_answer(rep, req, 1, ctx);
}

static void s_echo_batch(void *ctx, size_t n, const Lz__Envelope *const *reqs, rpc_reply_t *reps)
{
    s_delay(ctx);
    for (size_t i = 0; i < n; i++)
        s_answer(&reps[i], reqs[i], (int64_t)n, ctx);
}

static void *s_lane_new(void *ctx, int lane)
{
    s_ctx_t *l = malloc(sizeof *l);
    if (!l)
        return NULL;
    l->delay_us = ((const s_ctx_t *)ctx)->delay_us;
    snprintf(l->build, sizeof l->build, "lane%d", lane);
    return l;
}

static const rpc_method_t s_methods[] = {
    {"echo", s_echo, NULL},
    {"echo_batch", NULL, s_echo_batch},
};

static long s_num(const char *text, const char *what)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < 0) {
        fprintf(stderr, "echo_worker: %s must be a number, not \"%s\"\n", what, text);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    long credit = 1, batch_max = 0, wait_ms = 0, hb_ms = 1000, lanes = 0, lane_min = 1;
    s_ctx_t ctx = {0, "echo"};
    log_level_t level = LZ_LOG_WARN;
    int opt;
    while ((opt = getopt(argc, argv, "c:b:w:h:d:l:L:m:")) != -1) {
        switch (opt) {
        case 'c':
            credit = s_num(optarg, "credit");
            break;
        case 'b':
            batch_max = s_num(optarg, "batch_max");
            break;
        case 'w':
            wait_ms = s_num(optarg, "wait_ms");
            break;
        case 'h':
            hb_ms = s_num(optarg, "heartbeat_ms");
            break;
        case 'd':
            ctx.delay_us = s_num(optarg, "delay_us");
            break;
        case 'L':
            lanes = s_num(optarg, "lanes");
            break;
        case 'm':
            lane_min = s_num(optarg, "lane_min");
            break;
        case 'l':
            if (log_level_parse(optarg, &level) < 0) {
                fprintf(stderr, "echo_worker: bad log level \"%s\"\n", optarg);
                return 2;
            }
            break;
        default:
            fprintf(stderr, "usage: echo_worker ENDPOINT SERVICE [-c credit] [-b batch_max] "
                            "[-w wait_ms] [-h heartbeat_ms] [-d delay_us] [-l level] "
                            "[-L lanes] [-m lane_min]\n");
            return 2;
        }
    }
    if (argc - optind != 2) {
        fprintf(stderr, "usage: echo_worker ENDPOINT SERVICE [options]\n");
        return 2;
    }
    log_init("echo", level);
    rpc_worker_t *w = rpc_worker_new(argv[optind], argv[optind + 1], s_methods,
                                     sizeof s_methods / sizeof s_methods[0], &ctx, (int)credit);
    if (!w)
        return 1;
    if (batch_max > 0)
        rpc_worker_set_batch(w, (int)batch_max, (int)wait_ms);
    rpc_worker_set_heartbeat(w, (int)hb_ms);
    if (lanes > 1)
        rpc_worker_set_lanes(w, (int)lanes, (int)lane_min, s_lane_new, free);
    int rc = rpc_worker_run(w);
    rpc_worker_destroy(&w);
    return rc == 0 ? 0 : 1;
}
