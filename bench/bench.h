/*
 * bench.h - the measuring core the benchmarks share: run one call from N
 * threads for a fixed total, time every call, and print a table of
 * requests/s and latency percentiles.
 *
 * A benchmark gives three functions: setup (once per thread, returns that
 * thread's context, e.g. an rpc client), call (one request; 0 or -1) and
 * teardown.  bench_run starts the threads together behind a barrier, so
 * the clock covers only the calls.  Header-only (static inline) so each
 * benchmark stays a single file.
 */
#ifndef LZ_BENCH_H
#define LZ_BENCH_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef void *(bench_setup_fn)(void *arg, int thread);
typedef int(bench_call_fn)(void *thread_ctx, long i);
typedef void(bench_teardown_fn)(void *thread_ctx);

typedef struct {
    const char *label;
    int threads;
    long total; /* calls made */
    long errors;
    double seconds;
    double per_second;
    int64_t p50_us, p90_us, p99_us, max_us;
} bench_result_t;

typedef struct {
    bench_setup_fn *setup;
    bench_call_fn *call;
    bench_teardown_fn *teardown;
    void *arg;
    int thread;
    long first, count;
    int64_t *lat_us; /* count of them */
    long errors;
    pthread_barrier_t *start;
} bench_thread_t;

static inline int64_t bench_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static inline int bench_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* The p-th percentile (0..100) of n sorted values, nearest rank. */
static inline int64_t bench_percentile(const int64_t *sorted, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return sorted[rank - 1];
}

/* Fill r's totals and percentiles from total latencies (sorted here) taken in elapsed_us. */
static inline void bench_result_fill(bench_result_t *r, int64_t *lat, long total,
                                     int64_t elapsed_us)
{
    qsort(lat, (size_t)total, sizeof *lat, bench_cmp_i64);
    r->total = total;
    r->seconds = (double)elapsed_us / 1e6;
    r->per_second = r->seconds > 0 ? (double)total / r->seconds : 0;
    r->p50_us = bench_percentile(lat, (size_t)total, 50);
    r->p90_us = bench_percentile(lat, (size_t)total, 90);
    r->p99_us = bench_percentile(lat, (size_t)total, 99);
    r->max_us = total ? lat[total - 1] : 0;
}

static inline void *bench_thread_main(void *arg)
{
    bench_thread_t *t = arg;
    void *ctx = t->setup ? t->setup(t->arg, t->thread) : t->arg;
    pthread_barrier_wait(t->start);
    for (long i = 0; i < t->count; i++) {
        int64_t t0 = bench_now_us();
        if (t->call(ctx, t->first + i) < 0)
            t->errors++;
        t->lat_us[i] = bench_now_us() - t0;
    }
    if (t->teardown)
        t->teardown(ctx);
    return NULL;
}

/* Run total calls split over threads; return the figures (nothing to free). */
static inline bench_result_t bench_run(const char *label, int threads, long total,
                                       bench_setup_fn *setup, bench_call_fn *call,
                                       bench_teardown_fn *teardown, void *arg)
{
    bench_result_t r = {0};
    r.label = label;
    r.threads = threads;
    long per = total / threads;
    total = per * threads;
    int64_t *lat = calloc((size_t)total, sizeof *lat);
    bench_thread_t *ts = calloc((size_t)threads, sizeof *ts);
    pthread_t *ids = calloc((size_t)threads, sizeof *ids);
    if (!lat || !ts || !ids) {
        fprintf(stderr, "bench: out of memory\n");
        abort();
    }
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
    for (int i = 0; i < threads; i++) {
        ts[i] =
            (bench_thread_t){setup, call, teardown, arg, i, i * per, per, lat + i * per, 0, &start};
        pthread_create(&ids[i], NULL, bench_thread_main, &ts[i]);
    }
    pthread_barrier_wait(&start);
    int64_t t0 = bench_now_us();
    for (int i = 0; i < threads; i++) {
        pthread_join(ids[i], NULL);
        r.errors += ts[i].errors;
    }
    int64_t t1 = bench_now_us();
    pthread_barrier_destroy(&start);
    bench_result_fill(&r, lat, total, t1 - t0);
    free(lat);
    free(ts);
    free(ids);
    return r;
}

static inline void bench_print_header(void)
{
    printf("%-28s %7s %9s %7s %10s %9s %9s %9s %9s\n", "path", "threads", "requests", "errors",
           "req/s", "p50 us", "p90 us", "p99 us", "max us");
    printf("%-28s %7s %9s %7s %10s %9s %9s %9s %9s\n", "----", "-------", "--------", "------",
           "-----", "------", "------", "------", "------");
}

static inline void bench_print_row(const bench_result_t *r)
{
    printf("%-28s %7d %9ld %7ld %10.0f %9lld %9lld %9lld %9lld\n", r->label, r->threads, r->total,
           r->errors, r->per_second, (long long)r->p50_us, (long long)r->p90_us,
           (long long)r->p99_us, (long long)r->max_us);
    fflush(stdout);
}

#endif
