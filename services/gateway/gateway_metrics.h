/*
 * gateway_metrics.h - request counters and latency histograms, in Prometheus text.
 *
 * Series are labelled by route pattern ("/api/v1/regions/{code}", never the
 * raw path), method (GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS or OTHER)
 * and status, so their number is bounded by the route table:
 *
 *   lz_http_requests_total{route,method,status}      counter
 *   lz_http_request_duration_seconds{route,method}   histogram
 *
 * Two labels exist besides the routes: GW_METRICS_STATIC ("static", files
 * from the web directory) and GW_METRICS_UNMATCHED ("unmatched", 404s).
 * Observing is lock-free (relaxed atomics) and safe from any thread.
 */
#ifndef LZ_GATEWAY_METRICS_H
#define LZ_GATEWAY_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef struct gw_metrics_s gw_metrics_t;

/* Return metrics for n route labels (copied); labels n and n + 1 are
 * "static" and "unmatched".  Caller destroys it. */
gw_metrics_t *gw_metrics_new(const char *const *labels, size_t n);
void gw_metrics_destroy(gw_metrics_t **self_p);

/* Index of the "static" and "unmatched" labels of self. */
size_t gw_metrics_static(const gw_metrics_t *self);
size_t gw_metrics_unmatched(const gw_metrics_t *self);

/* Count one request of label index label (out of range: "unmatched"). */
void gw_metrics_observe(gw_metrics_t *self, size_t label, const char *method, int status,
                        int64_t duration_us);

/* Return the exposition text (caller frees) and its length in *len. */
char *gw_metrics_render(const gw_metrics_t *self, size_t *len);

#endif
