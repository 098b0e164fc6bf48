/*
 * gateway_metrics.c - request counters and latency histograms, in Prometheus text.
 *
 * One series per (label, method): counts per status from the fixed list of
 * codes the gateway answers (anything else is counted as status="other"),
 * and a histogram of durations.  Everything is a relaxed atomic: a scrape may see
 * a request in the counter before the histogram, which Prometheus tolerates.
 */
#include "gateway_metrics.h"
#include "buf.h"
#include "mem.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define RENDER_MAX (16 * 1024 * 1024)

static const char *const s_methods[] = {"GET",    "POST", "PUT",     "PATCH",
                                        "DELETE", "HEAD", "OPTIONS", "OTHER"};
#define NMETHODS (sizeof s_methods / sizeof s_methods[0])

static const int s_statuses[] = {200, 201, 204, 304, 400, 401, 403, 404,
                                 405, 409, 413, 415, 422, 500, 503};
#define NSTATUS (sizeof s_statuses / sizeof s_statuses[0])

/* upper bounds in microseconds, and as written in "le" */
static const int64_t s_bounds_us[] = {1000,   5000,   10000,   25000,   50000,   100000,
                                      250000, 500000, 1000000, 2500000, 5000000, 10000000};
static const char *const s_bounds_text[] = {"0.001", "0.005", "0.01", "0.025", "0.05", "0.1",
                                            "0.25",  "0.5",   "1",    "2.5",   "5",    "10"};
#define NBOUNDS (sizeof s_bounds_us / sizeof s_bounds_us[0])

typedef struct {
    atomic_uint_fast64_t by_status[NSTATUS + 1]; /* last: any other status */
    atomic_uint_fast64_t buckets[NBOUNDS + 1];   /* not cumulative; last: above every bound */
    atomic_uint_fast64_t sum_us;
    atomic_uint_fast64_t count;
} s_series_t;

struct gw_metrics_s {
    size_t nlabels;
    char **labels;
    s_series_t *series; /* nlabels * NMETHODS */
};

gw_metrics_t *gw_metrics_new(const char *const *labels, size_t n)
{
    gw_metrics_t *self = xcalloc(1, sizeof *self);
    self->nlabels = n + 2;
    self->labels = xcalloc(self->nlabels, sizeof *self->labels);
    for (size_t i = 0; i < n; i++)
        self->labels[i] = xstrdup(labels[i]);
    self->labels[n] = xstrdup("static");
    self->labels[n + 1] = xstrdup("unmatched");
    self->series = xcalloc(self->nlabels * NMETHODS, sizeof *self->series);
    return self;
}

void gw_metrics_destroy(gw_metrics_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gw_metrics_t *self = *self_p;
    for (size_t i = 0; i < self->nlabels; i++)
        free(self->labels[i]);
    free(self->labels);
    free(self->series);
    free(self);
    *self_p = NULL;
}

size_t gw_metrics_static(const gw_metrics_t *self)
{
    return self->nlabels - 2;
}

size_t gw_metrics_unmatched(const gw_metrics_t *self)
{
    return self->nlabels - 1;
}

static size_t s_method_index(const char *method)
{
    for (size_t i = 0; method && i < NMETHODS - 1; i++)
        if (strcmp(method, s_methods[i]) == 0)
            return i;
    return NMETHODS - 1;
}

void gw_metrics_observe(gw_metrics_t *self, size_t label, const char *method, int status,
                        int64_t duration_us)
{
    if (label >= self->nlabels)
        label = gw_metrics_unmatched(self);
    s_series_t *s = &self->series[label * NMETHODS + s_method_index(method)];
    size_t si = NSTATUS;
    for (size_t i = 0; i < NSTATUS; i++)
        if (s_statuses[i] == status) {
            si = i;
            break;
        }
    size_t bi = NBOUNDS;
    if (duration_us < 0)
        duration_us = 0;
    for (size_t i = 0; i < NBOUNDS; i++)
        if (duration_us <= s_bounds_us[i]) {
            bi = i;
            break;
        }
    atomic_fetch_add_explicit(&s->by_status[si], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->buckets[bi], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->sum_us, (uint_fast64_t)duration_us, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
}

/* Write a label value with Prometheus escaping (\\, \", \n). */
static void s_label(buf_t *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            buf_putc(b, '\\');
        if (*v == '\n') {
            buf_append_str(b, "\\n");
            continue;
        }
        buf_putc(b, *v);
    }
}

static uint64_t s_load(const atomic_uint_fast64_t *a)
{
    return (uint64_t)atomic_load_explicit(a, memory_order_relaxed);
}

char *gw_metrics_render(const gw_metrics_t *self, size_t *len)
{
    buf_t *b = buf_new(RENDER_MAX);
    buf_append_str(b, "# HELP lz_http_requests_total HTTP requests answered, by route pattern, "
                      "method and status.\n# TYPE lz_http_requests_total counter\n");
    for (size_t l = 0; l < self->nlabels; l++)
        for (size_t m = 0; m < NMETHODS; m++) {
            const s_series_t *s = &self->series[l * NMETHODS + m];
            for (size_t i = 0; i <= NSTATUS; i++) {
                uint64_t n = s_load(&s->by_status[i]);
                if (!n)
                    continue;
                buf_append_str(b, "lz_http_requests_total{route=\"");
                s_label(b, self->labels[l]);
                if (i < NSTATUS)
                    buf_printf(b, "\",method=\"%s\",status=\"%d\"} %llu\n", s_methods[m],
                               s_statuses[i], (unsigned long long)n);
                else
                    buf_printf(b, "\",method=\"%s\",status=\"other\"} %llu\n", s_methods[m],
                               (unsigned long long)n);
            }
        }
    buf_append_str(b, "# HELP lz_http_request_duration_seconds Time from the request's headers "
                      "to its answer being queued.\n"
                      "# TYPE lz_http_request_duration_seconds histogram\n");
    for (size_t l = 0; l < self->nlabels; l++)
        for (size_t m = 0; m < NMETHODS; m++) {
            const s_series_t *s = &self->series[l * NMETHODS + m];
            uint64_t count = s_load(&s->count);
            if (!count)
                continue;
            uint64_t cum = 0;
            for (size_t i = 0; i <= NBOUNDS; i++) {
                cum += s_load(&s->buckets[i]);
                buf_append_str(b, "lz_http_request_duration_seconds_bucket{route=\"");
                s_label(b, self->labels[l]);
                buf_printf(b, "\",method=\"%s\",le=\"%s\"} %llu\n", s_methods[m],
                           i < NBOUNDS ? s_bounds_text[i] : "+Inf", (unsigned long long)cum);
            }
            buf_append_str(b, "lz_http_request_duration_seconds_sum{route=\"");
            s_label(b, self->labels[l]);
            buf_printf(b, "\",method=\"%s\"} %.6f\n", s_methods[m],
                       (double)s_load(&s->sum_us) / 1e6);
            buf_append_str(b, "lz_http_request_duration_seconds_count{route=\"");
            s_label(b, self->labels[l]);
            buf_printf(b, "\",method=\"%s\"} %llu\n", s_methods[m], (unsigned long long)cum);
        }
    char *text = buf_steal(b, len);
    buf_destroy(&b);
    return text;
}
