/*
 * broker_server.c - the broker loop (Majordomo-style, one ROUTER socket).
 *
 * State: services by name, workers by ROUTER identity, requests by tag.
 * A request is either queued on its service or in flight at one worker;
 * it is freed when the worker holding it replies, or when it expires in
 * the queue.  A worker that dies puts its requests back at the head of
 * their queue.  A request answered by someone else while in flight (a
 * late reply from a worker that was dropped) stays with its holder, marked
 * answered, so the client gets one reply and the holder's credit returns
 * when it replies.
 *
 * Envelopes are never unpacked here: the envelope frame is kept as a
 * zmq_msg_t and shared (zmq_msg_copy) with the worker it is sent to, so a
 * re-queue costs no copy.  Only the broker's own answers (UNAVAILABLE,
 * TOO_LARGE, INTERNAL) are packed here.
 */
#include "broker_server.h"
#include "common.pb-c.h"
#include "clock.h"
#include "envelope.pb-c.h"
#include "log.h"
#include "mem.h"
#include "rpc.h"

#include <assert.h>
#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_MAX_FRAMES     8
#define S_DRAIN_MAX      1024 /* messages handled per wake-up before housekeeping */
#define S_POLL_MAX_MS    250  /* longest poll, so broker_stop is seen soon */
#define S_SERVICES_MAX   4096 /* services clients may make wait during the start grace */
#define S_HB_MIN_MS      10
#define S_HB_MAX_MS      600000
#define S_CREDIT_MAX     10000
#define S_ID_MAX         255 /* a ROUTER identity is at most 255 bytes */
#define S_STOP_LINGER_MS 200

typedef struct service_s service_t;
typedef struct worker_s worker_t;

typedef struct {
    uint64_t tag; /* the hash key points here */
    uint8_t client[S_ID_MAX];
    size_t client_len;
    char rid[RPC_REQUEST_ID_MAX + 1];
    int64_t deadline_ms; /* unix ms */
    int64_t received_us; /* mono us, for the debug line */
    zmq_msg_t env;
    service_t *service;
    worker_t *worker; /* holder, NULL while queued */
    void *handle;     /* in service->queue or worker->inflight */
    bool answered;
} request_t;

struct worker_s {
    char key[2 * S_ID_MAX + 1]; /* identity in hex */
    uint8_t id[S_ID_MAX];
    size_t id_len;
    service_t *service;
    int credit_max;
    int credit;
    int hb_ms;      /* the worker's interval: dead after RPC_LIVENESS of them */
    int hb_send_ms; /* how often we heartbeat it */
    int64_t expiry; /* mono ms */
    int64_t hb_at;  /* mono ms */
    zlistx_t *inflight;
    void *waiting; /* handle in service->waiting while it has credit */
};

struct service_s {
    char name[RPC_SERVICE_MAX + 1];
    zlistx_t *queue;   /* request_t, oldest first */
    zlistx_t *waiting; /* worker_t with credit, least recently used first */
    size_t nworkers;
    int64_t last_seen; /* mono ms when it last had a live worker (or the broker started) */
};

typedef struct {
    uint64_t requests, replies, unavailable, too_large, expired, requeued, malformed, late;
    uint64_t workers_joined, workers_dropped;
} s_counters_t;

struct broker_s {
    broker_params_t p;
    char *bind;
    zsock_t *zsock;
    void *sock;
    zhashx_t *services; /* name -> service_t */
    zhashx_t *workers;  /* hex identity -> worker_t */
    zhashx_t *requests; /* &tag -> request_t */
    uint64_t next_tag;
    int64_t started;     /* mono ms */
    int64_t grace_ms;    /* RPC_LIVENESS x heartbeat */
    int64_t sweep_at;    /* mono ms of the next worker sweep */
    int64_t next_expiry; /* unix ms of the earliest queued deadline */
    int64_t grace_at;    /* mono ms when a workerless service's grace ends */
    atomic_int stop;
    s_counters_t n;
};

/* One multipart message; frames past S_MAX_FRAMES are read and dropped. */
typedef struct {
    zmq_msg_t part[S_MAX_FRAMES];
    int n;
    bool truncated;
} s_frames_t;

static int64_t s_min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

static void s_frames_close(s_frames_t *m)
{
    for (int i = 0; i < m->n; i++)
        zmq_msg_close(&m->part[i]);
    m->n = 0;
}

static int s_frames_recv(void *sock, s_frames_t *m)
{
    m->n = 0;
    m->truncated = false;
    for (;;) {
        zmq_msg_t spare;
        zmq_msg_t *p = m->n < S_MAX_FRAMES ? &m->part[m->n] : &spare;
        zmq_msg_init(p);
        bool first = m->n == 0 && !m->truncated;
        if (zmq_msg_recv(p, sock, first ? ZMQ_DONTWAIT : 0) < 0) {
            int err = errno;
            zmq_msg_close(p);
            s_frames_close(m);
            errno = err;
            return -1;
        }
        bool more = zmq_msg_more(p);
        if (p == &spare) {
            zmq_msg_close(p);
            m->truncated = true;
        } else {
            m->n++;
        }
        if (!more)
            return 0;
    }
}

static bool s_frame_is(zmq_msg_t *f, const char *s)
{
    size_t len = strlen(s);
    return zmq_msg_size(f) == len && memcmp(zmq_msg_data(f), s, len) == 0;
}

/* Copy a frame into out as a string of min..max bytes; false when it is not one. */
static bool s_frame_str(zmq_msg_t *f, char *out, size_t min, size_t max)
{
    size_t len = zmq_msg_size(f);
    if (len < min || len > max || memchr(zmq_msg_data(f), '\0', len))
        return false;
    memcpy(out, zmq_msg_data(f), len);
    out[len] = '\0';
    return true;
}

static bool s_frame_long(zmq_msg_t *f, long long min, long long max, long long *out)
{
    char text[24];
    if (!s_frame_str(f, text, 1, 20))
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

static void s_hex(const uint8_t *data, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 15];
    }
    out[2 * len] = '\0';
}

static void s_send(broker_t *self, const void *data, size_t len, bool more)
{
    /* A ROUTER drops what it cannot route; it never blocks. */
    zmq_send(self->sock, data, len, ZMQ_DONTWAIT | (more ? ZMQ_SNDMORE : 0));
}

/* ---- hashing requests by tag ------------------------------------------ */

static size_t s_tag_hash(const void *key)
{
    uint64_t x = *(const uint64_t *)key;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)x;
}

static int s_tag_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* ---- answering clients ------------------------------------------------ */

/* [client][""][LZC01][service] then the envelope the caller sends */
static void s_send_client_head(broker_t *self, const uint8_t *client, size_t client_len,
                               const char *service)
{
    s_send(self, client, client_len, true);
    s_send(self, "", 0, true);
    s_send(self, RPC_PROTO_CLIENT, 5, true);
    s_send(self, service, strlen(service), true);
}

static void s_answer(broker_t *self, const uint8_t *client, size_t client_len, const char *service,
                     const char *rid, Lz__Status status, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

/* Answer a client with the broker's own envelope (status and reason). */
static void s_answer(broker_t *self, const uint8_t *client, size_t client_len, const char *service,
                     const char *rid, Lz__Status status, const char *fmt, ...)
{
    char reason[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    Lz__Envelope env = LZ__ENVELOPE__INIT;
    env.request_id = (char *)rid;
    env.has_status = 1;
    env.status = status;
    env.reason = reason;
    env.service = "broker";
    size_t len;
    uint8_t *buf = rpc_envelope_pack(&env, &len);
    s_send_client_head(self, client, client_len, service);
    s_send(self, buf, len, false);
    free(buf);
    log_debug("answered %s for %s: %s", rid, service, reason);
}

/* The broker answers service "broker" itself, whatever the method: a
 * lz.PingReply, so health checks see the broker, not a worker. */
static void s_answer_ping(broker_t *self, const uint8_t *client, size_t client_len, const char *rid,
                          int64_t now_mono)
{
    Lz__PingReply ping = LZ__PING_REPLY__INIT;
    ping.service = "broker";
    ping.build = LZ_BUILD;
    ping.has_uptime_s = 1;
    ping.uptime_s = (now_mono - self->started) / 1000;
    ping.has_pid = 1;
    ping.pid = (int32_t)getpid();
    uint8_t payload[256];
    size_t plen = lz__ping_reply__pack(&ping, payload);
    Lz__Envelope env = LZ__ENVELOPE__INIT;
    env.request_id = (char *)rid;
    env.has_status = 1;
    env.status = LZ__STATUS__OK;
    env.service = "broker";
    env.has_payload = 1;
    env.payload.data = payload;
    env.payload.len = plen;
    size_t len;
    uint8_t *buf = rpc_envelope_pack(&env, &len);
    s_send_client_head(self, client, client_len, "broker");
    s_send(self, buf, len, false);
    free(buf);
}

/* ---- requests --------------------------------------------------------- */

static void s_request_free(broker_t *self, request_t *req)
{
    zhashx_delete(self->requests, &req->tag);
    zmq_msg_close(&req->env);
    free(req);
}

/* Detach a queued request, answer UNAVAILABLE (unless answered) and free it. */
static void s_request_expire(broker_t *self, request_t *req, const char *why)
{
    service_t *svc = req->service;
    zlistx_detach(svc->queue, req->handle);
    if (!req->answered) {
        s_answer(self, req->client, req->client_len, svc->name, req->rid, LZ__STATUS__UNAVAILABLE,
                 "%s", why);
        self->n.unavailable++;
    }
    s_request_free(self, req);
}

static void s_note_deadline(broker_t *self, int64_t deadline_ms)
{
    if (deadline_ms < self->next_expiry)
        self->next_expiry = deadline_ms;
}

/* ---- services --------------------------------------------------------- */

static service_t *s_service_new(broker_t *self, const char *name, int64_t last_seen)
{
    service_t *svc = xcalloc(1, sizeof *svc);
    snprintf(svc->name, sizeof svc->name, "%s", name);
    svc->queue = zlistx_new();
    svc->waiting = zlistx_new();
    svc->last_seen = last_seen;
    zhashx_insert(self->services, svc->name, svc);
    return svc;
}

static void s_service_free(service_t *svc)
{
    zlistx_destroy(&svc->queue);
    zlistx_destroy(&svc->waiting);
    free(svc);
}

static void s_send_request(broker_t *self, worker_t *w, request_t *req)
{
    uint8_t tag[8];
    for (int i = 0; i < 8; i++)
        tag[i] = (uint8_t)(req->tag >> (56 - 8 * i));
    char deadline[24];
    int dlen = snprintf(deadline, sizeof deadline, "%" PRId64, req->deadline_ms);
    uint8_t cmd = RPC_W_REQUEST;
    s_send(self, w->id, w->id_len, true);
    s_send(self, "", 0, true);
    s_send(self, RPC_PROTO_WORKER, 5, true);
    s_send(self, &cmd, 1, true);
    s_send(self, tag, sizeof tag, true);
    s_send(self, req->rid, strlen(req->rid), true);
    s_send(self, deadline, (size_t)dlen, true);
    zmq_msg_t copy;
    zmq_msg_init(&copy);
    zmq_msg_copy(&copy, &req->env); /* shares the data; the request keeps its own */
    if (zmq_msg_send(&copy, self->sock, ZMQ_DONTWAIT) < 0)
        zmq_msg_close(&copy);
}

/* Hand queued requests to workers with credit, least recently used first. */
static void s_service_dispatch(broker_t *self, service_t *svc)
{
    int64_t now_ms = clock_now_ms();
    while (zlistx_size(svc->queue) && zlistx_size(svc->waiting)) {
        request_t *req = zlistx_first(svc->queue);
        if (req->deadline_ms <= now_ms) {
            self->n.expired++;
            s_request_expire(self, req, "deadline passed before a worker was free");
            continue;
        }
        worker_t *w = zlistx_first(svc->waiting);
        zlistx_detach(svc->queue, req->handle);
        req->worker = w;
        req->handle = zlistx_add_end(w->inflight, req);
        if (--w->credit == 0) {
            zlistx_detach(svc->waiting, w->waiting);
            w->waiting = NULL;
        } else {
            zlistx_move_end(svc->waiting, w->waiting);
        }
        s_send_request(self, w, req);
        log_debug("request %s for %s to worker %s (credit left %d)", req->rid, svc->name, w->key,
                  w->credit);
    }
}

/* ---- workers ---------------------------------------------------------- */

static void s_send_worker_cmd(broker_t *self, const uint8_t *id, size_t id_len, uint8_t cmd)
{
    s_send(self, id, id_len, true);
    s_send(self, "", 0, true);
    s_send(self, RPC_PROTO_WORKER, 5, true);
    s_send(self, &cmd, 1, false);
}

/* Forget w; put what it held back at the head of its queue, oldest first. */
static void s_worker_delete(broker_t *self, worker_t *w, bool disconnect)
{
    if (disconnect)
        s_send_worker_cmd(self, w->id, w->id_len, RPC_W_DISCONNECT);
    service_t *svc = w->service;
    if (w->waiting)
        zlistx_detach(svc->waiting, w->waiting);
    request_t *req;
    while ((req = zlistx_last(w->inflight))) {
        zlistx_detach(w->inflight, req->handle);
        req->worker = NULL;
        if (req->answered) {
            s_request_free(self, req);
            continue;
        }
        req->handle = zlistx_add_start(svc->queue, req);
        s_note_deadline(self, req->deadline_ms);
        self->n.requeued++;
        log_debug("request %s for %s back in the queue", req->rid, svc->name);
    }
    zlistx_destroy(&w->inflight);
    if (--svc->nworkers == 0) {
        svc->last_seen = clock_mono_ms();
        self->grace_at = s_min64(self->grace_at, svc->last_seen + self->grace_ms);
    }
    zhashx_delete(self->workers, w->key);
    free(w);
    s_service_dispatch(self, svc);
}

/* READY [service][credit][heartbeat ms] */
static void s_worker_ready(broker_t *self, s_frames_t *m, const uint8_t *id, size_t id_len,
                           const char *key)
{
    char name[RPC_SERVICE_MAX + 1];
    long long credit, hb;
    if (m->n != 7 || !s_frame_str(&m->part[4], name, 1, RPC_SERVICE_MAX) ||
        !s_frame_long(&m->part[5], 1, S_CREDIT_MAX, &credit) ||
        !s_frame_long(&m->part[6], S_HB_MIN_MS, S_HB_MAX_MS, &hb)) {
        log_warn("worker %s sent a malformed READY, disconnecting it", key);
        self->n.malformed++;
        s_send_worker_cmd(self, id, id_len, RPC_W_DISCONNECT);
        return;
    }
    service_t *svc = zhashx_lookup(self->services, name);
    if (!svc)
        svc = s_service_new(self, name, clock_mono_ms());
    worker_t *w = xcalloc(1, sizeof *w);
    snprintf(w->key, sizeof w->key, "%s", key);
    memcpy(w->id, id, id_len);
    w->id_len = id_len;
    w->service = svc;
    w->credit_max = w->credit = (int)credit;
    w->hb_ms = (int)hb;
    w->hb_send_ms = w->hb_ms < self->p.heartbeat_ms ? w->hb_ms : self->p.heartbeat_ms;
    int64_t now = clock_mono_ms();
    w->expiry = now + (int64_t)w->hb_ms * RPC_LIVENESS;
    w->hb_at = now + w->hb_send_ms;
    w->inflight = zlistx_new();
    w->waiting = zlistx_add_end(svc->waiting, w);
    svc->nworkers++;
    zhashx_insert(self->workers, w->key, w);
    self->n.workers_joined++;
    self->sweep_at = s_min64(self->sweep_at, now + w->hb_send_ms / 2);
    log_info("worker %s joined %s (credit %d, heartbeat %d ms, %zu live)", key, name, w->credit,
             w->hb_ms, svc->nworkers);
    s_service_dispatch(self, svc);
}

/* REPLY [tag][envelope]; w is the sender, NULL when it is not (or no longer) known. */
static void s_worker_reply(broker_t *self, worker_t *w, s_frames_t *m, const char *key)
{
    zmq_msg_t *tagf = &m->part[4], *envf = &m->part[5];
    if (m->n != 6 || zmq_msg_size(tagf) != 8) {
        log_warn("worker %s sent a malformed REPLY", key);
        self->n.malformed++;
        return;
    }
    const uint8_t *t = zmq_msg_data(tagf);
    uint64_t tag = 0;
    for (int i = 0; i < 8; i++)
        tag = tag << 8 | t[i];
    request_t *req = zhashx_lookup(self->requests, &tag);
    if (!req) {
        self->n.late++;
        log_debug("late reply from worker %s for a request already answered", key);
        return;
    }
    service_t *svc = req->service;
    size_t size = zmq_msg_size(envf);
    if (size == 0) {
        log_debug("worker %s dropped %s for %s past its deadline", key, req->rid, svc->name);
    } else if (!req->answered) {
        if (size > self->p.frame_max) {
            log_warn("reply to %s from worker %s is %zu bytes, over the limit of %zu", req->rid,
                     key, size, self->p.frame_max);
            s_answer(self, req->client, req->client_len, svc->name, req->rid, LZ__STATUS__INTERNAL,
                     "reply too large");
        } else {
            s_send_client_head(self, req->client, req->client_len, svc->name);
            zmq_msg_send(envf, self->sock, ZMQ_DONTWAIT);
        }
        req->answered = true;
        self->n.replies++;
        log_debug("reply %s for %s from worker %s in %" PRId64 " us", req->rid, svc->name, key,
                  clock_mono_us() - req->received_us);
    }
    if (w && req->worker == w) {
        zlistx_detach(w->inflight, req->handle);
        s_request_free(self, req);
        if (w->credit < w->credit_max && w->credit++ == 0)
            w->waiting = zlistx_add_end(svc->waiting, w);
        s_service_dispatch(self, svc);
    } else if (!req->worker && req->answered) {
        zlistx_detach(svc->queue, req->handle);
        s_request_free(self, req);
    }
    /* else: another worker holds it; it is freed (not forwarded) when that one replies */
}

static void s_worker_message(broker_t *self, s_frames_t *m)
{
    zmq_msg_t *idf = &m->part[0];
    const uint8_t *id = zmq_msg_data(idf);
    size_t id_len = zmq_msg_size(idf);
    char key[2 * S_ID_MAX + 1];
    s_hex(id, id_len, key);
    if (m->n < 4 || zmq_msg_size(&m->part[3]) != 1) {
        log_warn("worker %s sent a malformed message", key);
        self->n.malformed++;
        return;
    }
    uint8_t cmd = *(uint8_t *)zmq_msg_data(&m->part[3]);
    worker_t *w = zhashx_lookup(self->workers, key);
    if (w)
        w->expiry = clock_mono_ms() + (int64_t)w->hb_ms * RPC_LIVENESS;
    switch (cmd) {
    case RPC_W_READY:
        if (w) {
            log_warn("worker %s sent READY twice, disconnecting it", key);
            s_worker_delete(self, w, true);
            return;
        }
        s_worker_ready(self, m, id, id_len, key);
        break;
    case RPC_W_REPLY:
        s_worker_reply(self, w, m, key);
        if (!w)
            s_send_worker_cmd(self, id, id_len, RPC_W_DISCONNECT);
        break;
    case RPC_W_HEARTBEAT:
        if (!w)
            s_send_worker_cmd(self, id, id_len, RPC_W_DISCONNECT);
        break;
    case RPC_W_DISCONNECT:
        if (w) {
            log_info("worker %s left %s", key, w->service->name);
            s_worker_delete(self, w, false);
        }
        break;
    default:
        log_warn("worker %s sent unknown command %u", key, cmd);
        self->n.malformed++;
    }
}

/* ---- clients ---------------------------------------------------------- */

/* [client][""][LZC01][service][request id][deadline][envelope] */
static void s_client_message(broker_t *self, s_frames_t *m)
{
    char name[RPC_SERVICE_MAX + 1], rid[RPC_REQUEST_ID_MAX + 1];
    long long deadline;
    zmq_msg_t *idf = &m->part[0];
    if (m->n != 7 || !s_frame_str(&m->part[3], name, 1, RPC_SERVICE_MAX) ||
        !s_frame_str(&m->part[4], rid, 1, RPC_REQUEST_ID_MAX) ||
        !s_frame_long(&m->part[5], 0, INT64_MAX, &deadline)) {
        log_debug("dropped a malformed request");
        self->n.malformed++;
        return;
    }
    const uint8_t *client = zmq_msg_data(idf);
    size_t client_len = zmq_msg_size(idf);
    zmq_msg_t *envf = &m->part[6];
    size_t size = zmq_msg_size(envf);
    self->n.requests++;
    if (size > self->p.frame_max) {
        self->n.too_large++;
        s_answer(self, client, client_len, name, rid, LZ__STATUS__TOO_LARGE,
                 "request of %zu bytes exceeds the limit of %zu bytes", size, self->p.frame_max);
        return;
    }
    if (deadline <= clock_now_ms()) {
        self->n.expired++;
        log_debug("dropped %s for %s: its deadline has passed", rid, name);
        return;
    }
    int64_t now = clock_mono_ms();
    if (strcmp(name, "broker") == 0) {
        s_answer_ping(self, client, client_len, rid, now);
        return;
    }
    service_t *svc = zhashx_lookup(self->services, name);
    if (!svc && now < self->started + self->grace_ms &&
        zhashx_size(self->services) < S_SERVICES_MAX) {
        /* just started: its workers may not have come back yet */
        svc = s_service_new(self, name, self->started);
        self->grace_at = s_min64(self->grace_at, self->started + self->grace_ms);
    }
    if (!svc || (svc->nworkers == 0 && now >= svc->last_seen + self->grace_ms)) {
        self->n.unavailable++;
        s_answer(self, client, client_len, name, rid, LZ__STATUS__UNAVAILABLE,
                 "no live worker for service %s", name);
        return;
    }
    if (zlistx_size(svc->queue) >= self->p.queue_max) {
        self->n.unavailable++;
        s_answer(self, client, client_len, name, rid, LZ__STATUS__UNAVAILABLE,
                 "queue of service %s is full", name);
        return;
    }
    request_t *req = xcalloc(1, sizeof *req);
    req->tag = ++self->next_tag;
    memcpy(req->client, client, client_len);
    req->client_len = client_len;
    memcpy(req->rid, rid, sizeof rid);
    req->deadline_ms = deadline;
    req->received_us = clock_mono_us();
    zmq_msg_init(&req->env);
    zmq_msg_move(&req->env, envf);
    req->service = svc;
    req->handle = zlistx_add_end(svc->queue, req);
    zhashx_insert(self->requests, &req->tag, req);
    s_note_deadline(self, deadline);
    log_debug("request %s for %s (%zu bytes, %zu queued)", rid, name, size,
              zlistx_size(svc->queue));
    s_service_dispatch(self, svc);
}

static void s_message(broker_t *self, s_frames_t *m)
{
    if (m->truncated || m->n < 4 || zmq_msg_size(&m->part[0]) > S_ID_MAX ||
        zmq_msg_size(&m->part[1]) != 0) {
        self->n.malformed++;
        return;
    }
    if (s_frame_is(&m->part[2], RPC_PROTO_CLIENT))
        s_client_message(self, m);
    else if (s_frame_is(&m->part[2], RPC_PROTO_WORKER))
        s_worker_message(self, m);
    else
        self->n.malformed++;
}

/* ---- housekeeping ----------------------------------------------------- */

/* Heartbeat the workers, drop the silent ones. */
static void s_sweep_workers(broker_t *self, int64_t now)
{
    zlistx_t *dead = zlistx_new();
    int64_t shortest = self->p.heartbeat_ms;
    for (worker_t *w = zhashx_first(self->workers); w; w = zhashx_next(self->workers)) {
        if (now >= w->expiry) {
            zlistx_add_end(dead, w);
            continue;
        }
        if (now >= w->hb_at) {
            s_send_worker_cmd(self, w->id, w->id_len, RPC_W_HEARTBEAT);
            w->hb_at = now + w->hb_send_ms;
        }
        shortest = s_min64(shortest, w->hb_send_ms);
    }
    for (worker_t *w = zlistx_first(dead); w; w = zlistx_next(dead)) {
        log_warn("worker %s of %s silent for %d ms, dropped (%zu in flight)", w->key,
                 w->service->name, w->hb_ms * RPC_LIVENESS, zlistx_size(w->inflight));
        self->n.workers_dropped++;
        s_worker_delete(self, w, false);
    }
    zlistx_destroy(&dead);
    /* one sweep every half of the shortest interval, whatever the workers' phases:
     * heartbeats go out every 1 to 1.5 intervals, the silent are dropped within
     * RPC_LIVENESS + 0.5 of theirs */
    self->sweep_at = now + (shortest / 2 > 5 ? shortest / 2 : 5);
}

/* Expire queued requests past their deadline; answer and forget services
 * whose grace without workers is over. */
static void s_sweep_services(broker_t *self, int64_t now, int64_t now_ms)
{
    zlistx_t *gone = zlistx_new();
    self->next_expiry = INT64_MAX;
    self->grace_at = INT64_MAX;
    for (service_t *svc = zhashx_first(self->services); svc; svc = zhashx_next(self->services)) {
        bool orphan = svc->nworkers == 0;
        if (orphan && now >= svc->last_seen + self->grace_ms) {
            request_t *req;
            while ((req = zlistx_first(svc->queue))) {
                char why[RPC_SERVICE_MAX + 64];
                snprintf(why, sizeof why, "no live worker for service %s", svc->name);
                s_request_expire(self, req, why);
            }
            zlistx_add_end(gone, svc);
            continue;
        }
        if (orphan)
            self->grace_at = s_min64(self->grace_at, svc->last_seen + self->grace_ms);
        /* zlistx_detach steps the cursor back, so zlistx_next still finds the next one */
        for (request_t *req = zlistx_first(svc->queue); req; req = zlistx_next(svc->queue)) {
            if (req->deadline_ms <= now_ms) {
                char why[RPC_SERVICE_MAX + 64];
                snprintf(why, sizeof why, "%s for service %s",
                         orphan ? "no live worker" : "deadline passed before a worker was free",
                         svc->name);
                self->n.expired++;
                s_request_expire(self, req, why);
            } else {
                s_note_deadline(self, req->deadline_ms);
            }
        }
    }
    for (service_t *svc = zlistx_first(gone); svc; svc = zlistx_next(gone)) {
        zhashx_delete(self->services, svc->name);
        s_service_free(svc);
    }
    zlistx_destroy(&gone);
}

/* Do what is due; return the mono ms of the next thing due. */
static int64_t s_housekeeping(broker_t *self)
{
    int64_t now = clock_mono_ms();
    int64_t now_ms = clock_now_ms();
    bool swept = false;
    if (now >= self->sweep_at) {
        s_sweep_workers(self, now);
        swept = true;
    }
    if (swept || now_ms >= self->next_expiry || now >= self->grace_at)
        s_sweep_services(self, now, now_ms);
    int64_t wake = s_min64(self->sweep_at, self->grace_at);
    if (self->next_expiry != INT64_MAX)
        wake = s_min64(wake, now + (self->next_expiry - now_ms));
    return wake;
}

/* ---- the object ------------------------------------------------------- */

broker_t *broker_new(const broker_params_t *params)
{
    assert(params && params->bind && params->heartbeat_ms > 0 && params->frame_max > 0);
    zsys_init();
    broker_t *self = xcalloc(1, sizeof *self);
    self->p = *params;
    if (self->p.queue_max == 0)
        self->p.queue_max = 1;
    self->bind = xstrdup(params->bind);
    self->p.bind = self->bind;
    self->zsock = zsock_new(ZMQ_ROUTER);
    if (!self->zsock) {
        log_error("could not create the broker socket: %s", zmq_strerror(zmq_errno()));
        broker_destroy(&self);
        return NULL;
    }
    self->sock = zsock_resolve(self->zsock);
    int64_t cap = (int64_t)rpc_frame_hard_max(self->p.frame_max);
    zmq_setsockopt(self->sock, ZMQ_MAXMSGSIZE, &cap, sizeof cap);
    zsock_set_sndhwm(self->zsock, 100000);
    zsock_set_rcvhwm(self->zsock, 100000);
    if (zsock_bind(self->zsock, "%s", self->bind) < 0) {
        log_error("could not bind \"%s\": %s", self->bind, zmq_strerror(zmq_errno()));
        broker_destroy(&self);
        return NULL;
    }
    self->services = zhashx_new();
    self->workers = zhashx_new();
    self->requests = zhashx_new();
    zhashx_set_key_hasher(self->requests, s_tag_hash);
    zhashx_set_key_comparator(self->requests, s_tag_cmp);
    zhashx_set_key_duplicator(self->requests, NULL);
    zhashx_set_key_destructor(self->requests, NULL);
    self->started = clock_mono_ms();
    self->grace_ms = (int64_t)self->p.heartbeat_ms * RPC_LIVENESS;
    self->sweep_at = self->started + self->p.heartbeat_ms;
    self->next_expiry = INT64_MAX;
    self->grace_at = INT64_MAX;
    return self;
}

void broker_destroy(broker_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    broker_t *self = *self_p;
    if (self->workers) {
        /* tell workers to reconnect now rather than after their liveness */
        for (worker_t *w = zhashx_first(self->workers); w; w = zhashx_next(self->workers)) {
            s_send_worker_cmd(self, w->id, w->id_len, RPC_W_DISCONNECT);
            request_t *req;
            while ((req = zlistx_first(w->inflight))) {
                zlistx_detach(w->inflight, req->handle);
                zmq_msg_close(&req->env);
                free(req);
            }
            zlistx_destroy(&w->inflight);
            free(w);
        }
        zhashx_destroy(&self->workers);
    }
    if (self->services) {
        for (service_t *svc = zhashx_first(self->services); svc;
             svc = zhashx_next(self->services)) {
            request_t *req;
            while ((req = zlistx_first(svc->queue))) {
                zlistx_detach(svc->queue, req->handle);
                zmq_msg_close(&req->env);
                free(req);
            }
            s_service_free(svc);
        }
        zhashx_destroy(&self->services);
    }
    zhashx_destroy(&self->requests);
    if (self->zsock) {
        zsock_set_linger(self->zsock, S_STOP_LINGER_MS);
        zsock_destroy(&self->zsock);
    }
    free(self->bind);
    free(self);
    *self_p = NULL;
}

void broker_stop(broker_t *self)
{
    atomic_store(&self->stop, 1);
}

int broker_run(broker_t *self)
{
    log_info("broker serving at %s (heartbeat %d ms, frame max %zu, queue max %zu)", self->bind,
             self->p.heartbeat_ms, self->p.frame_max, self->p.queue_max);
    int rc = 0;
    int64_t wake = self->sweep_at;
    while (!atomic_load(&self->stop) && !zsys_interrupted) {
        int64_t now = clock_mono_ms();
        long timeout = wake <= now ? 0 : (long)s_min64(wake - now, S_POLL_MAX_MS);
        zmq_pollitem_t item = {self->sock, 0, ZMQ_POLLIN, 0};
        int n = zmq_poll(&item, 1, timeout);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            log_error("could not poll the broker socket: %s", zmq_strerror(errno));
            rc = -1;
            break;
        }
        for (int i = 0; n > 0 && i < S_DRAIN_MAX; i++) {
            s_frames_t m;
            if (s_frames_recv(self->sock, &m) < 0)
                break;
            s_message(self, &m);
            s_frames_close(&m);
        }
        wake = s_housekeeping(self);
    }
    const s_counters_t *c = &self->n;
    log_info("broker stopping: %" PRIu64 " requests, %" PRIu64 " replies, %" PRIu64
             " unavailable, %" PRIu64 " too large, %" PRIu64 " expired, %" PRIu64
             " requeued, %" PRIu64 " late replies, %" PRIu64 " malformed, %" PRIu64
             " workers joined, %" PRIu64 " dropped",
             c->requests, c->replies, c->unavailable, c->too_large, c->expired, c->requeued,
             c->late, c->malformed, c->workers_joined, c->workers_dropped);
    return rc;
}
