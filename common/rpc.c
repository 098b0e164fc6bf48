/*
 * rpc.c - request/reply client and service worker, through the broker.
 *
 * Both ends speak raw libzmq on DEALER sockets taken from the one CZMQ
 * context of the process (zsys), so frames are read into zmq_msg_t without
 * copies and every size is checked before anything is unpacked.  The wire
 * grammar is in services/broker/README.md; the constants are in rpc.h.
 *
 * Client: one socket per rpc_client_t (one thread each).  A call sends
 * [""][LZC01][service][request id][deadline][envelope] and polls; when the
 * retry interval passes without an answer the socket is closed and a new
 * one resends the same bytes (Lazy Pirate), until the deadline.  A reply
 * whose request id is not the current call's is dropped.
 *
 * Worker: one thread, one loop: read what the broker sent, answer or
 * gather it, flush batches that are full or waited long enough, send
 * heartbeats, reconnect when the broker is silent, run the timer.  With
 * lanes, batches run on lane threads and the loop keeps gathering; a lane
 * that finished writes its index to a pipe the loop polls beside the
 * socket, and the loop sends its replies.
 */
#include "rpc.h"
#include "clock.h"
#include "common.pb-c.h"
#include "log.h"
#include "mem.h"

#include <assert.h>
#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#ifndef LZ_BUILD
#define LZ_BUILD "unknown"
#endif

#define S_MAX_FRAMES       8   /* the longest message either side expects is 7 frames */
#define S_DRAIN_MAX        256 /* messages read per wake-up before housekeeping */
#define S_STOP_POLL_MS     250 /* longest worker poll, so rpc_worker_stop is seen soon */
#define S_STOP_LINGER_MS   500 /* how long a stopping worker's last replies may take */
#define S_CREDIT_MAX       10000
#define S_RETRY_MS_DEFAULT 1000
#define S_HEARTBEAT_MS_DEF 1000
#define S_LANES_MAX        64

/* ---- shared helpers --------------------------------------------------- */

static pthread_once_t s_once = PTHREAD_ONCE_INIT;

static void s_init_once(void)
{
    zsys_init();
}

/* zsys_init is not thread-safe; every path to a socket comes through here. */
static void s_init(void)
{
    pthread_once(&s_once, s_init_once);
}

/* One multipart message; frames past S_MAX_FRAMES are read and dropped. */
typedef struct {
    zmq_msg_t part[S_MAX_FRAMES];
    int n;
    bool truncated;
} s_frames_t;

static void s_frames_close(s_frames_t *m)
{
    for (int i = 0; i < m->n; i++)
        zmq_msg_close(&m->part[i]);
    m->n = 0;
}

/* Receive one whole message; 0, or -1 with errno set when none came. */
static int s_frames_recv(void *sock, s_frames_t *m, int flags)
{
    m->n = 0;
    m->truncated = false;
    for (;;) {
        zmq_msg_t spare;
        zmq_msg_t *p = m->n < S_MAX_FRAMES ? &m->part[m->n] : &spare;
        zmq_msg_init(p);
        bool first = m->n == 0 && !m->truncated;
        if (zmq_msg_recv(p, sock, first ? flags : 0) < 0) {
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

/* Copy a frame into out as a string of 0..max bytes; false when longer or binary. */
static bool s_frame_str(zmq_msg_t *f, char *out, size_t max)
{
    size_t len = zmq_msg_size(f);
    if (len > max || memchr(zmq_msg_data(f), '\0', len))
        return false;
    memcpy(out, zmq_msg_data(f), len);
    out[len] = '\0';
    return true;
}

/* Parse a frame holding a decimal int64; false when it does not. */
static bool s_frame_int64(zmq_msg_t *f, int64_t *out)
{
    char text[24];
    if (!s_frame_str(f, text, 20) || !text[0])
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

static int s_send(void *sock, const void *data, size_t len, bool more)
{
    int flags = ZMQ_DONTWAIT | (more ? ZMQ_SNDMORE : 0);
    return zmq_send(sock, data, len, flags) < 0 ? -1 : 0;
}

static void s_free_data(void *data, void *hint)
{
    (void)hint;
    free(data);
}

/* Send buf as the last frame, taking ownership of it. */
static int s_send_owned(void *sock, uint8_t *buf, size_t len)
{
    zmq_msg_t msg;
    if (zmq_msg_init_data(&msg, buf, len, s_free_data, NULL) < 0) {
        free(buf);
        return -1;
    }
    if (zmq_msg_send(&msg, sock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&msg);
        return -1;
    }
    return 0;
}

static void s_set_maxmsgsize(void *sock, size_t frame_max)
{
    int64_t cap = (int64_t)rpc_frame_hard_max(frame_max);
    zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &cap, sizeof cap);
}

size_t rpc_frame_hard_max(size_t frame_max)
{
    size_t extra = frame_max / 4 > 64 * 1024 ? frame_max / 4 : 64 * 1024;
    return frame_max + extra;
}

uint8_t *rpc_envelope_pack(const Lz__Envelope *env, size_t *len_p)
{
    size_t len = lz__envelope__get_packed_size(env);
    uint8_t *buf = xmalloc(len);
    lz__envelope__pack(env, buf);
    *len_p = len;
    return buf;
}

Lz__Envelope *rpc_envelope_unpack(const void *data, size_t len, size_t max)
{
    static const uint8_t none[1];
    if (len > max)
        return NULL;
    return lz__envelope__unpack(NULL, len, data ? data : none);
}

void rpc_envelope_free(Lz__Envelope **env_p)
{
    if (env_p && *env_p) {
        lz__envelope__free_unpacked(*env_p, NULL);
        *env_p = NULL;
    }
}

ProtobufCMessage *rpc_unpack(const Lz__Envelope *env, const ProtobufCMessageDescriptor *desc)
{
    static const uint8_t none[1];
    if (!env || !desc)
        return NULL;
    if (!env->has_payload || !env->payload.data)
        return protobuf_c_message_unpack(desc, NULL, 0, none);
    return protobuf_c_message_unpack(desc, NULL, env->payload.len, env->payload.data);
}

/* ---- replies ---------------------------------------------------------- */

static void s_reply_payload(rpc_reply_t *rep, const ProtobufCMessage *msg)
{
    if (!msg)
        return;
    size_t len = protobuf_c_message_get_packed_size(msg);
    rep->payload = xmalloc(len);
    rep->payload_len = protobuf_c_message_pack(msg, rep->payload);
}

void rpc_reply_clear(rpc_reply_t *rep)
{
    free(rep->reason);
    free(rep->field);
    free(rep->payload);
    memset(rep, 0, sizeof *rep);
    rep->status = LZ__STATUS__OK;
}

void rpc_reply_ok(rpc_reply_t *rep, const ProtobufCMessage *msg)
{
    rpc_reply_clear(rep);
    s_reply_payload(rep, msg);
}

void rpc_reply_created(rpc_reply_t *rep, const ProtobufCMessage *msg)
{
    rpc_reply_clear(rep);
    rep->status = LZ__STATUS__CREATED;
    s_reply_payload(rep, msg);
}

void rpc_reply_error(rpc_reply_t *rep, Lz__Status status, const char *field, const char *fmt, ...)
{
    rpc_reply_clear(rep);
    rep->status = status;
    rep->field = field ? xstrdup(field) : NULL;
    va_list ap;
    va_start(ap, fmt);
    rep->reason = xvasprintf(fmt, ap);
    va_end(ap);
}

void rpc_reply_error_msg(rpc_reply_t *rep, Lz__Status status, const char *reason,
                         const ProtobufCMessage *msg)
{
    rpc_reply_clear(rep);
    rep->status = status;
    rep->reason = reason ? xstrdup(reason) : NULL;
    s_reply_payload(rep, msg);
}

/* ---- client ----------------------------------------------------------- */

struct rpc_client_s {
    char *endpoint;
    zsock_t *zsock; /* NULL until the first call */
    void *sock;     /* its libzmq handle */
    int retry_ms;
    bool dirty;                       /* the last call gave up: a late reply may still arrive */
    char rid[RPC_REQUEST_ID_MAX + 1]; /* rpc_client_send: the request awaited ("" none) */
};

static void s_client_close(rpc_client_t *self)
{
    if (self->zsock)
        zsock_destroy(&self->zsock);
    self->sock = NULL;
}

static int s_client_open(rpc_client_t *self)
{
    s_client_close(self);
    self->zsock = zsock_new(ZMQ_DEALER);
    if (!self->zsock) {
        log_error("could not create a socket: %s", zmq_strerror(zmq_errno()));
        return -1;
    }
    zsock_set_linger(self->zsock, 0);
    if (zsock_connect(self->zsock, "%s", self->endpoint) < 0) {
        log_error("could not connect to broker \"%s\": %s", self->endpoint,
                  zmq_strerror(zmq_errno()));
        zsock_destroy(&self->zsock);
        return -1;
    }
    self->sock = zsock_resolve(self->zsock);
    self->dirty = false;
    return 0;
}

rpc_client_t *rpc_client_new(const char *broker_endpoint)
{
    if (!broker_endpoint || !*broker_endpoint)
        return NULL;
    s_init();
    rpc_client_t *self = xcalloc(1, sizeof *self);
    self->endpoint = xstrdup(broker_endpoint);
    self->retry_ms = S_RETRY_MS_DEFAULT;
    return self;
}

void rpc_client_destroy(rpc_client_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rpc_client_t *self = *self_p;
    s_client_close(self);
    free(self->endpoint);
    free(self);
    *self_p = NULL;
}

void rpc_client_set_retry_ms(rpc_client_t *self, int retry_ms)
{
    self->retry_ms = retry_ms;
}

/* Write a fresh random request id (24 hex digits) into out[25]. */
static void s_make_request_id(char out[25])
{
    static atomic_uint_fast64_t counter;
    uint8_t rnd[12];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
        uint64_t a = (uint64_t)clock_mono_us() ^ ((uint64_t)getpid() << 40);
        uint32_t b = (uint32_t)atomic_fetch_add(&counter, 1);
        memcpy(rnd, &a, 8);
        memcpy(rnd + 8, &b, 4);
    }
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(out + 2 * i, 3, "%02x", rnd[i]);
}

static int s_client_send(rpc_client_t *self, const char *service, const char *rid,
                         const char *deadline, const uint8_t *env, size_t env_len)
{
    void *s = self->sock;
    if (s_send(s, "", 0, true) < 0 || s_send(s, RPC_PROTO_CLIENT, 5, true) < 0 ||
        s_send(s, service, strlen(service), true) < 0 || s_send(s, rid, strlen(rid), true) < 0 ||
        s_send(s, deadline, strlen(deadline), true) < 0 || s_send(s, env, env_len, false) < 0) {
        log_warn("could not send request %s to %s: %s", rid, service, zmq_strerror(errno));
        return -1;
    }
    return 0;
}

/* Return the reply in m when it answers request rid (NULL: any), else NULL. */
static Lz__Envelope *s_client_accept(s_frames_t *m, const char *rid)
{
    if (m->truncated || m->n != 4 || zmq_msg_size(&m->part[0]) != 0 ||
        !s_frame_is(&m->part[1], RPC_PROTO_CLIENT)) {
        log_warn("dropped a malformed reply from the broker");
        return NULL;
    }
    zmq_msg_t *f = &m->part[3];
    Lz__Envelope *env = rpc_envelope_unpack(zmq_msg_data(f), zmq_msg_size(f), SIZE_MAX);
    if (!env) {
        log_warn("dropped a reply that does not parse");
        return NULL;
    }
    if (!env->request_id || (rid && strcmp(env->request_id, rid) != 0)) {
        log_debug("dropped a reply to request %s while waiting for %s",
                  env->request_id ? env->request_id : "(none)", rid);
        rpc_envelope_free(&env);
        return NULL;
    }
    return env;
}

/*
 * Check service and req's request id (a fresh one into rid[] when it has
 * none) and pack req with its deadline; the text of the deadline goes to
 * deadline_txt[24].  Returns the packed envelope (caller frees), or NULL.
 */
static uint8_t *s_client_prepare(const char *service, const Lz__Envelope *req, int timeout_ms,
                                 char rid[RPC_REQUEST_ID_MAX + 1], char deadline_txt[24],
                                 size_t *len_p)
{
    size_t slen = strlen(service);
    if (slen == 0 || slen > RPC_SERVICE_MAX) {
        log_error("service name must be 1 to %d bytes long", RPC_SERVICE_MAX);
        return NULL;
    }
    if (!req->request_id || !*req->request_id) {
        s_make_request_id(rid);
    } else if (strlen(req->request_id) > RPC_REQUEST_ID_MAX) {
        log_error("request id must be at most %d bytes long", RPC_REQUEST_ID_MAX);
        return NULL;
    } else {
        snprintf(rid, RPC_REQUEST_ID_MAX + 1, "%s", req->request_id);
    }
    Lz__Envelope env = *req; /* shallow: only read by pack */
    env.request_id = rid;
    env.has_deadline_ms = 1;
    env.deadline_ms = clock_now_ms() + timeout_ms;
    snprintf(deadline_txt, 24, "%" PRId64, env.deadline_ms);
    return rpc_envelope_pack(&env, len_p);
}

Lz__Envelope *rpc_client_call(rpc_client_t *self, const char *service, const Lz__Envelope *req,
                              int timeout_ms)
{
    if (!self || !service || !req)
        return NULL;
    if (timeout_ms < 0)
        timeout_ms = 0;
    char rid[RPC_REQUEST_ID_MAX + 1], deadline_txt[24];
    size_t len;
    uint8_t *packed = s_client_prepare(service, req, timeout_ms, rid, deadline_txt, &len);
    if (!packed)
        return NULL;
    int64_t now = clock_mono_ms();
    int64_t deadline = now + timeout_ms;
    self->rid[0] = '\0';
    if ((self->dirty || !self->sock) && s_client_open(self) < 0) {
        free(packed);
        return NULL;
    }
    Lz__Envelope *reply = NULL;
    int64_t retry_at = now; /* first attempt goes out at once */
    int attempts = 0;
    while (!reply) {
        now = clock_mono_ms();
        if (now >= deadline || zsys_interrupted)
            break;
        if (now >= retry_at) {
            if (attempts > 0) {
                log_debug("no reply to %s from %s within %d ms, resending", rid, service,
                          self->retry_ms);
                if (s_client_open(self) < 0)
                    break;
            }
            s_client_send(self, service, rid, deadline_txt, packed, len);
            attempts++;
            retry_at = self->retry_ms > 0 ? now + self->retry_ms : INT64_MAX;
        }
        int64_t until = retry_at < deadline ? retry_at : deadline;
        zmq_pollitem_t item = {self->sock, 0, ZMQ_POLLIN, 0};
        int rc = zmq_poll(&item, 1, (long)(until - now));
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            log_error("could not poll the broker socket: %s", zmq_strerror(errno));
            break;
        }
        if (rc == 0)
            continue;
        for (int i = 0; i < S_DRAIN_MAX && !reply; i++) {
            s_frames_t m;
            if (s_frames_recv(self->sock, &m, ZMQ_DONTWAIT) < 0)
                break;
            reply = s_client_accept(&m, rid);
            s_frames_close(&m);
        }
    }
    free(packed);
    if (!reply) {
        self->dirty = true;
        log_debug("no reply to %s from %s within %d ms (%d attempts)", rid, service, timeout_ms,
                  attempts);
    }
    return reply;
}

/* Fill req with method, request id, caller and msg packed as its payload;
 * returns the payload buffer (NULL when no msg), which the caller frees. */
static uint8_t *s_msg_request(Lz__Envelope *req, const char *method, const char *request_id,
                              const Lz__Caller *caller, const ProtobufCMessage *msg)
{
    lz__envelope__init(req);
    req->method = (char *)method;
    req->request_id = (char *)request_id;
    req->caller = (Lz__Caller *)caller;
    uint8_t *payload = NULL;
    if (msg) {
        payload = xmalloc(protobuf_c_message_get_packed_size(msg));
        req->has_payload = 1;
        req->payload.len = protobuf_c_message_pack(msg, payload);
        req->payload.data = payload;
    }
    return payload;
}

Lz__Envelope *rpc_call_msg(rpc_client_t *self, const char *service, const char *method,
                           const char *request_id, const Lz__Caller *caller,
                           const ProtobufCMessage *msg, int timeout_ms)
{
    Lz__Envelope req;
    uint8_t *payload = s_msg_request(&req, method, request_id, caller, msg);
    Lz__Envelope *reply = rpc_client_call(self, service, &req, timeout_ms);
    free(payload);
    return reply;
}

int rpc_client_send(rpc_client_t *self, const char *service, const Lz__Envelope *req,
                    int timeout_ms)
{
    if (!self || !service || !req)
        return -1;
    char deadline_txt[24];
    size_t len;
    uint8_t *packed = s_client_prepare(service, req, timeout_ms < 0 ? 0 : timeout_ms, self->rid,
                                       deadline_txt, &len);
    if (!packed) {
        self->rid[0] = '\0';
        return -1;
    }
    /* an unanswered request before this one: its late reply must not be taken */
    int rc = -1;
    if ((self->dirty || !self->sock) && s_client_open(self) < 0)
        goto out;
    rc = s_client_send(self, service, self->rid, deadline_txt, packed, len);
    self->dirty = true; /* clean again once its reply is taken */
out:
    free(packed);
    if (rc != 0)
        self->rid[0] = '\0';
    return rc;
}

void *rpc_client_socket(rpc_client_t *self)
{
    return self ? self->sock : NULL;
}

Lz__Envelope *rpc_client_take(rpc_client_t *self)
{
    if (!self || !self->sock || !self->rid[0])
        return NULL;
    Lz__Envelope *reply = NULL;
    for (int i = 0; i < S_DRAIN_MAX && !reply; i++) {
        s_frames_t m;
        if (s_frames_recv(self->sock, &m, ZMQ_DONTWAIT) < 0)
            break;
        reply = s_client_accept(&m, self->rid);
        s_frames_close(&m);
    }
    if (reply) {
        self->rid[0] = '\0';
        self->dirty = false;
        /* ask for ZMQ_EVENTS so the socket notes its pipe empty: the next
         * reply then signals ZMQ_FD again (for callers waiting in epoll) */
        int events;
        size_t len = sizeof events;
        zmq_getsockopt(self->sock, ZMQ_EVENTS, &events, &len);
    }
    return reply;
}

int rpc_client_post(rpc_client_t *self, const char *service, const Lz__Envelope *req,
                    int timeout_ms)
{
    if (!self || !service || !req || !req->request_id || !req->request_id[0])
        return -1;
    char rid[RPC_REQUEST_ID_MAX + 1], deadline_txt[24];
    size_t len;
    uint8_t *packed =
        s_client_prepare(service, req, timeout_ms < 0 ? 0 : timeout_ms, rid, deadline_txt, &len);
    if (!packed)
        return -1;
    int rc = -1;
    if (self->sock || s_client_open(self) == 0)
        rc = s_client_send(self, service, rid, deadline_txt, packed, len);
    free(packed);
    return rc;
}

Lz__Envelope *rpc_client_take_any(rpc_client_t *self)
{
    if (!self || !self->sock)
        return NULL;
    Lz__Envelope *reply = NULL;
    for (int i = 0; i < S_DRAIN_MAX && !reply; i++) {
        s_frames_t m;
        if (s_frames_recv(self->sock, &m, ZMQ_DONTWAIT) < 0)
            break; /* none waiting: the socket's ZMQ_FD signals the next */
        reply = s_client_accept(&m, NULL);
        s_frames_close(&m);
    }
    return reply;
}

/* ---- mux: many threads' calls over one socket --------------------------- */

typedef struct s_mcall_s {
    char service[RPC_SERVICE_MAX + 1];
    char rid[RPC_REQUEST_ID_MAX + 1];
    char deadline_txt[24];
    uint8_t *packed;
    size_t len;
    int64_t sent_at; /* mono ms of the last send (0: not yet sent) */
    Lz__Envelope *reply;
    bool done;
    pthread_cond_t cv;
    struct s_mcall_s *next;
} s_mcall_t;

struct rpc_mux_s {
    rpc_client_t *client; /* the one socket; the mux thread's alone */
    int retry_ms;
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    s_mcall_t *calls; /* under mu: every call in progress, sent or not */
    int wake[2];      /* callers write a byte when they add a call */
    atomic_int stop;
};

/* Send every call not yet sent, and again those unanswered for retry_ms. */
static void s_mux_send(rpc_mux_t *self, int64_t now)
{
    pthread_mutex_lock(&self->mu);
    for (s_mcall_t *c = self->calls; c; c = c->next) {
        if (c->done || (c->sent_at && (self->retry_ms <= 0 || now - c->sent_at < self->retry_ms)))
            continue;
        if (c->sent_at)
            log_debug("no reply to %s from %s within %d ms, resending", c->rid, c->service,
                      self->retry_ms);
        if (!self->client->sock && s_client_open(self->client) < 0)
            break;
        s_client_send(self->client, c->service, c->rid, c->deadline_txt, c->packed, c->len);
        c->sent_at = now;
    }
    pthread_mutex_unlock(&self->mu);
}

/* Hand every reply waiting on the socket to the first unanswered call of its id. */
static void s_mux_take(rpc_mux_t *self)
{
    Lz__Envelope *r;
    while ((r = rpc_client_take_any(self->client))) {
        pthread_mutex_lock(&self->mu);
        s_mcall_t *c = self->calls;
        while (c && (c->done || strcmp(c->rid, r->request_id) != 0))
            c = c->next;
        if (c) {
            c->reply = r;
            c->done = true;
            pthread_cond_signal(&c->cv);
            r = NULL;
        }
        pthread_mutex_unlock(&self->mu);
        rpc_envelope_free(&r); /* a late reply to a call given up */
    }
}

static void *s_mux_main(void *arg)
{
    rpc_mux_t *self = arg;
    while (!atomic_load(&self->stop)) {
        zmq_pollitem_t items[2] = {{NULL, self->wake[0], ZMQ_POLLIN, 0},
                                   {self->client->sock, 0, ZMQ_POLLIN, 0}};
        int n = zmq_poll(items, self->client->sock ? 2 : 1, 100);
        if (n < 0 && errno != EINTR)
            break;
        if (items[0].revents & ZMQ_POLLIN) {
            uint8_t drain[256];
            while (read(self->wake[0], drain, sizeof drain) > 0)
                ;
        }
        s_mux_send(self, clock_mono_ms());
        if (self->client->sock)
            s_mux_take(self);
    }
    return NULL;
}

rpc_mux_t *rpc_mux_new(const char *broker_endpoint)
{
    rpc_client_t *client = rpc_client_new(broker_endpoint);
    if (!client)
        return NULL;
    rpc_mux_t *self = xcalloc(1, sizeof *self);
    self->client = client;
    self->retry_ms = S_RETRY_MS_DEFAULT;
    pthread_mutex_init(&self->mu, NULL);
    if (pipe(self->wake) != 0) {
        log_error("could not make the mux's pipe: %s", strerror(errno));
        self->wake[0] = self->wake[1] = -1;
        rpc_mux_destroy(&self);
        return NULL;
    }
    fcntl(self->wake[0], F_SETFL, fcntl(self->wake[0], F_GETFL) | O_NONBLOCK);
    fcntl(self->wake[1], F_SETFL, fcntl(self->wake[1], F_GETFL) | O_NONBLOCK);
    self->started = pthread_create(&self->thread, NULL, s_mux_main, self) == 0;
    if (!self->started) {
        rpc_mux_destroy(&self);
        return NULL;
    }
    return self;
}

void rpc_mux_destroy(rpc_mux_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rpc_mux_t *self = *self_p;
    atomic_store(&self->stop, 1);
    if (self->started)
        pthread_join(self->thread, NULL);
    /* callers still waiting time out on their own; none should be left */
    rpc_client_destroy(&self->client);
    if (self->wake[0] >= 0) {
        close(self->wake[0]);
        close(self->wake[1]);
    }
    pthread_mutex_destroy(&self->mu);
    free(self);
    *self_p = NULL;
}

void rpc_mux_set_retry_ms(rpc_mux_t *self, int retry_ms)
{
    self->retry_ms = retry_ms;
}

Lz__Envelope *rpc_mux_call(rpc_mux_t *self, const char *service, const Lz__Envelope *req,
                           int timeout_ms)
{
    if (!self || !service || !req)
        return NULL;
    if (timeout_ms < 0)
        timeout_ms = 0;
    s_mcall_t *c = xcalloc(1, sizeof *c);
    c->packed = s_client_prepare(service, req, timeout_ms, c->rid, c->deadline_txt, &c->len);
    if (!c->packed) {
        free(c);
        return NULL;
    }
    snprintf(c->service, sizeof c->service, "%s", service);
    pthread_cond_init(&c->cv, NULL);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&self->mu);
    c->next = self->calls;
    self->calls = c;
    pthread_mutex_unlock(&self->mu);
    uint8_t one = 1;
    if (write(self->wake[1], &one, 1) < 0 && errno != EAGAIN)
        log_warn("could not wake the mux: %s", strerror(errno));
    pthread_mutex_lock(&self->mu);
    while (!c->done && !zsys_interrupted)
        if (pthread_cond_timedwait(&c->cv, &self->mu, &until) != 0)
            break;
    Lz__Envelope *reply = c->reply;
    for (s_mcall_t **pp = &self->calls; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    pthread_mutex_unlock(&self->mu);
    if (!reply)
        log_debug("no reply to %s from %s within %d ms", c->rid, service, timeout_ms);
    pthread_cond_destroy(&c->cv);
    free(c->packed);
    free(c);
    return reply;
}

Lz__Envelope *rpc_mux_call_msg(rpc_mux_t *self, const char *service, const char *method,
                               const char *request_id, const Lz__Caller *caller,
                               const ProtobufCMessage *msg, int timeout_ms)
{
    Lz__Envelope req;
    uint8_t *payload = s_msg_request(&req, method, request_id, caller, msg);
    Lz__Envelope *reply = rpc_mux_call(self, service, &req, timeout_ms);
    free(payload);
    return reply;
}

/* ---- worker ----------------------------------------------------------- */

/* A request held for a batch. */
typedef struct {
    uint8_t tag[RPC_TAG_MAX];
    size_t tag_len;
    char rid[RPC_REQUEST_ID_MAX + 1];
    int64_t deadline_ms;
    Lz__Envelope *env;
} s_item_t;

typedef struct {
    s_item_t *items; /* batch_cap of them, allocated when the loop starts */
    size_t n;
    int64_t first_at; /* mono ms when items[0] arrived */
} s_batch_t;

/*
 * A lane: a thread that runs batch functions with a context of its own.
 * The loop hands it a job under mu (state S_LANE_BUSY), the lane fills the
 * replies, sets S_LANE_DONE and writes its index to the done pipe; the
 * loop sends the replies and sets it S_LANE_IDLE again.  Only the loop's
 * thread touches the socket.
 */
enum { S_LANE_IDLE, S_LANE_BUSY, S_LANE_DONE };

typedef struct s_lane_s {
    struct rpc_worker_s *worker;
    int index;
    void *ctx;
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int state; /* under mu */
    bool quit; /* under mu */
    size_t method;
    s_item_t *items; /* batch_max of them */
    size_t n;
    rpc_reply_t *reps;
} s_lane_t;

struct rpc_worker_s {
    char *endpoint;
    char *service;
    const rpc_method_t *methods;
    size_t nmethods;
    void *ctx;
    int credit;
    int batch_max;
    int batch_wait_ms;
    int heartbeat_ms;
    size_t frame_max;
    int timer_ms;
    rpc_timer_fn *timer_fn;
    zsock_t *zsock;
    void *sock;
    int64_t started_at;    /* mono ms */
    int64_t broker_expiry; /* mono ms after which the broker counts as gone */
    int64_t heartbeat_at;
    int64_t timer_at;
    s_batch_t *batches; /* one per method; used by batch methods only */
    size_t batch_cap;   /* items each batch can hold: batch_max, or credit with lanes */
    int nlanes;         /* > 0: batch methods run on lane threads */
    int lane_min;       /* batch size that may start while another lane is busy */
    rpc_lane_new_fn *lane_new;
    rpc_lane_free_fn *lane_free;
    struct s_lane_s *lanes;
    int done_pipe[2]; /* lanes write their index when their batch is answered */
    atomic_int stop;
    uint64_t served, dropped;
};

rpc_worker_t *rpc_worker_new(const char *broker_endpoint, const char *service,
                             const rpc_method_t *methods, size_t nmethods, void *ctx, int credit)
{
    if (!broker_endpoint || !*broker_endpoint || !service || !*service ||
        strlen(service) > RPC_SERVICE_MAX) {
        log_error("a worker needs a broker endpoint and a service name of 1 to %d bytes",
                  RPC_SERVICE_MAX);
        return NULL;
    }
    for (size_t i = 0; i < nmethods; i++)
        assert(methods[i].method && (!methods[i].fn != !methods[i].batch));
    s_init();
    rpc_worker_t *self = xcalloc(1, sizeof *self);
    self->endpoint = xstrdup(broker_endpoint);
    self->service = xstrdup(service);
    self->methods = methods;
    self->nmethods = nmethods;
    self->ctx = ctx;
    self->credit = credit < 1 ? 1 : credit > S_CREDIT_MAX ? S_CREDIT_MAX : credit;
    self->batch_max = self->credit;
    self->batch_wait_ms = 0;
    self->heartbeat_ms = S_HEARTBEAT_MS_DEF;
    self->frame_max = RPC_FRAME_MAX_DEFAULT;
    self->batches = xcalloc(nmethods ? nmethods : 1, sizeof *self->batches);
    self->done_pipe[0] = self->done_pipe[1] = -1;
    return self;
}

static void s_batches_free(rpc_worker_t *self)
{
    for (size_t i = 0; i < self->nmethods; i++) {
        s_batch_t *b = &self->batches[i];
        for (size_t j = 0; j < b->n; j++)
            rpc_envelope_free(&b->items[j].env);
        free(b->items);
        b->items = NULL;
        b->n = 0;
    }
}

void rpc_worker_destroy(rpc_worker_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rpc_worker_t *self = *self_p;
    if (self->zsock)
        zsock_destroy(&self->zsock);
    s_batches_free(self);
    free(self->batches);
    free(self->endpoint);
    free(self->service);
    free(self);
    *self_p = NULL;
}

void rpc_worker_set_batch(rpc_worker_t *self, int batch_max, int wait_ms)
{
    self->batch_max = batch_max < 1 ? 1 : batch_max > S_CREDIT_MAX ? S_CREDIT_MAX : batch_max;
    self->batch_wait_ms = wait_ms < 0 ? 0 : wait_ms;
}

void rpc_worker_set_lanes(rpc_worker_t *self, int lanes, int lane_min, rpc_lane_new_fn *lane_new,
                          rpc_lane_free_fn *lane_free)
{
    self->nlanes = lanes > 1 && lane_new ? (lanes > S_LANES_MAX ? S_LANES_MAX : lanes) : 0;
    self->lane_min = lane_min < 1 ? 1 : lane_min;
    self->lane_new = lane_new;
    self->lane_free = lane_free;
}

void rpc_worker_set_timer(rpc_worker_t *self, int interval_ms, rpc_timer_fn *fn)
{
    self->timer_ms = interval_ms;
    self->timer_fn = fn;
}

void rpc_worker_set_heartbeat(rpc_worker_t *self, int interval_ms)
{
    self->heartbeat_ms = interval_ms < 10 ? 10 : interval_ms;
}

void rpc_worker_set_frame_max(rpc_worker_t *self, size_t frame_max)
{
    self->frame_max = frame_max;
}

void rpc_worker_stop(rpc_worker_t *self)
{
    atomic_store(&self->stop, 1);
}

static int s_worker_send_cmd(rpc_worker_t *self, uint8_t cmd, bool more)
{
    if (s_send(self->sock, "", 0, true) < 0 || s_send(self->sock, RPC_PROTO_WORKER, 5, true) < 0 ||
        s_send(self->sock, &cmd, 1, more) < 0)
        return -1;
    return 0;
}

/* Open a fresh socket to the broker and announce the service. */
static int s_worker_connect(rpc_worker_t *self)
{
    if (self->zsock) {
        zsock_set_linger(self->zsock, 0);
        zsock_destroy(&self->zsock);
        self->sock = NULL;
    }
    self->zsock = zsock_new(ZMQ_DEALER);
    if (!self->zsock) {
        log_error("could not create a socket: %s", zmq_strerror(zmq_errno()));
        return -1;
    }
    zsock_set_linger(self->zsock, 0);
    s_set_maxmsgsize(zsock_resolve(self->zsock), self->frame_max);
    if (zsock_connect(self->zsock, "%s", self->endpoint) < 0) {
        log_error("could not connect to broker \"%s\": %s", self->endpoint,
                  zmq_strerror(zmq_errno()));
        zsock_destroy(&self->zsock);
        return -1;
    }
    self->sock = zsock_resolve(self->zsock);
    char credit[16], hb[16];
    snprintf(credit, sizeof credit, "%d", self->credit);
    snprintf(hb, sizeof hb, "%d", self->heartbeat_ms);
    if (s_worker_send_cmd(self, RPC_W_READY, true) < 0 ||
        s_send(self->sock, self->service, strlen(self->service), true) < 0 ||
        s_send(self->sock, credit, strlen(credit), true) < 0 ||
        s_send(self->sock, hb, strlen(hb), false) < 0)
        log_warn("could not send READY to the broker: %s", zmq_strerror(errno));
    int64_t now = clock_mono_ms();
    self->broker_expiry = now + (int64_t)self->heartbeat_ms * RPC_LIVENESS;
    self->heartbeat_at = now + self->heartbeat_ms;
    return 0;
}

/* Send REPLY with env (NULL: the request was dropped), taking ownership of env. */
static void s_worker_send_reply(rpc_worker_t *self, const uint8_t *tag, size_t tag_len,
                                uint8_t *env, size_t len)
{
    int rc = -1;
    if (s_worker_send_cmd(self, RPC_W_REPLY, true) == 0 &&
        s_send(self->sock, tag, tag_len, true) == 0) {
        rc = env ? s_send_owned(self->sock, env, len) : s_send(self->sock, "", 0, false);
        env = NULL; /* s_send_owned took it */
    }
    free(env);
    if (rc < 0)
        log_warn("could not send a reply to the broker: %s", zmq_strerror(errno));
}

/* Pack rep as the reply to request rid and send it. */
static void s_worker_reply(rpc_worker_t *self, const uint8_t *tag, size_t tag_len, const char *rid,
                           const rpc_reply_t *rep)
{
    Lz__Envelope out = LZ__ENVELOPE__INIT;
    out.request_id = (char *)rid;
    out.has_status = 1;
    out.status = rep->status;
    out.reason = rep->reason;
    out.field = rep->field;
    out.service = self->service;
    if (rep->payload) {
        out.has_payload = 1;
        out.payload.data = rep->payload;
        out.payload.len = rep->payload_len;
    }
    size_t len;
    uint8_t *buf = rpc_envelope_pack(&out, &len);
    if (len > self->frame_max) {
        log_error("reply to %s of %zu bytes exceeds the limit of %zu bytes", rid, len,
                  self->frame_max);
        free(buf);
        Lz__Envelope err = LZ__ENVELOPE__INIT;
        err.request_id = (char *)rid;
        err.has_status = 1;
        err.status = LZ__STATUS__INTERNAL;
        err.reason = "reply too large";
        err.service = self->service;
        buf = rpc_envelope_pack(&err, &len);
    }
    s_worker_send_reply(self, tag, tag_len, buf, len);
    self->served++;
}

static void s_worker_error(rpc_worker_t *self, const uint8_t *tag, size_t tag_len, const char *rid,
                           Lz__Status status, const char *field, const char *reason)
{
    rpc_reply_t rep = {0};
    rpc_reply_error(&rep, status, field, "%s", reason);
    s_worker_reply(self, tag, tag_len, rid, &rep);
    rpc_reply_clear(&rep);
}

/* Tell the broker a request was dropped, so it returns the credit. */
static void s_worker_drop(rpc_worker_t *self, const uint8_t *tag, size_t tag_len, const char *rid,
                          int64_t late_ms)
{
    log_debug("dropped request %s: its deadline passed %" PRId64 " ms ago", rid, late_ms);
    s_worker_send_reply(self, tag, tag_len, NULL, 0);
    self->dropped++;
}

static void s_worker_ping(rpc_worker_t *self, const uint8_t *tag, size_t tag_len, const char *rid)
{
    Lz__PingReply pr = LZ__PING_REPLY__INIT;
    pr.service = self->service;
    pr.build = LZ_BUILD;
    pr.has_uptime_s = 1;
    pr.uptime_s = (clock_mono_ms() - self->started_at) / 1000;
    pr.has_pid = 1;
    pr.pid = (int32_t)getpid();
    rpc_reply_t rep = {0};
    rpc_reply_ok(&rep, &pr.base);
    s_worker_reply(self, tag, tag_len, rid, &rep);
    rpc_reply_clear(&rep);
}

/* Drop the requests of b whose deadline passed; keep the others in order. */
static void s_batch_drop_late(rpc_worker_t *self, s_batch_t *b)
{
    int64_t now_ms = clock_now_ms();
    size_t k = 0;
    for (size_t j = 0; j < b->n; j++) {
        s_item_t *it = &b->items[j];
        if (it->deadline_ms > 0 && now_ms >= it->deadline_ms) {
            s_worker_drop(self, it->tag, it->tag_len, it->rid, now_ms - it->deadline_ms);
            rpc_envelope_free(&it->env);
            continue;
        }
        if (k != j)
            b->items[k] = *it;
        k++;
    }
    b->n = k;
}

/* Send the k replies of a batch and release its requests. */
static void s_batch_answer(rpc_worker_t *self, s_item_t *items, rpc_reply_t *reps, size_t k)
{
    for (size_t j = 0; j < k; j++) {
        s_item_t *it = &items[j];
        s_worker_reply(self, it->tag, it->tag_len, it->rid, &reps[j]);
        rpc_reply_clear(&reps[j]);
        rpc_envelope_free(&it->env);
    }
}

/* Run the batch function of method i on k requests in the loop and answer them. */
static void s_batch_run(rpc_worker_t *self, size_t i, s_item_t *items, size_t k)
{
    const Lz__Envelope **reqs = xmalloc(k * sizeof *reqs);
    rpc_reply_t *reps = xcalloc(k, sizeof *reps);
    for (size_t j = 0; j < k; j++)
        reqs[j] = items[j].env;
    log_debug("batch of %zu %s requests", k, self->methods[i].method);
    self->methods[i].batch(self->ctx, k, (const Lz__Envelope *const *)reqs, reps);
    s_batch_answer(self, items, reps, k);
    free(reqs);
    free(reps);
}

static void *s_lane_main(void *arg)
{
    s_lane_t *l = arg;
    rpc_worker_t *w = l->worker;
    const Lz__Envelope **reqs = xcalloc((size_t)w->batch_max, sizeof *reqs);
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while (l->state != S_LANE_BUSY && !l->quit)
            pthread_cond_wait(&l->cv, &l->mu);
        if (l->quit)
            break;
        pthread_mutex_unlock(&l->mu);
        for (size_t j = 0; j < l->n; j++)
            reqs[j] = l->items[j].env;
        log_debug("lane %d: batch of %zu %s requests", l->index, l->n,
                  w->methods[l->method].method);
        w->methods[l->method].batch(l->ctx, l->n, (const Lz__Envelope *const *)reqs, l->reps);
        pthread_mutex_lock(&l->mu);
        l->state = S_LANE_DONE;
        uint8_t idx = (uint8_t)l->index;
        while (write(w->done_pipe[1], &idx, 1) < 0 && errno == EINTR)
            ;
    }
    pthread_mutex_unlock(&l->mu);
    free(reqs);
    return NULL;
}

/* Start the lanes (once, when the loop starts); 0, or -1 when none could start. */
static int s_lanes_start(rpc_worker_t *self)
{
    if (self->nlanes == 0 || self->lanes)
        return 0;
    if (pipe(self->done_pipe) != 0) {
        log_error("could not make the lanes' pipe: %s", strerror(errno));
        return -1;
    }
    /* the loop reads until the pipe is empty: never block there */
    fcntl(self->done_pipe[0], F_SETFL, fcntl(self->done_pipe[0], F_GETFL) | O_NONBLOCK);
    self->lanes = xcalloc((size_t)self->nlanes, sizeof *self->lanes);
    int started = 0;
    for (int i = 0; i < self->nlanes; i++) {
        s_lane_t *l = &self->lanes[i];
        l->worker = self;
        l->index = i;
        l->items = xcalloc((size_t)self->batch_max, sizeof *l->items);
        l->reps = xcalloc((size_t)self->batch_max, sizeof *l->reps);
        pthread_mutex_init(&l->mu, NULL);
        pthread_cond_init(&l->cv, NULL);
        l->ctx = self->lane_new(self->ctx, i);
        if (!l->ctx) {
            log_error("%s worker: lane %d has no context; it stays idle", self->service, i);
            continue;
        }
        l->started = pthread_create(&l->thread, NULL, s_lane_main, l) == 0;
        started += l->started;
    }
    return started > 0 ? 0 : -1;
}

/* Answer what a lane finished and make it idle again. */
static void s_lane_finish(rpc_worker_t *self, s_lane_t *l)
{
    pthread_mutex_lock(&l->mu);
    bool done = l->state == S_LANE_DONE;
    pthread_mutex_unlock(&l->mu);
    if (!done)
        return;
    s_batch_answer(self, l->items, l->reps, l->n);
    l->n = 0;
    pthread_mutex_lock(&l->mu);
    l->state = S_LANE_IDLE;
    pthread_mutex_unlock(&l->mu);
}

/* Read the done pipe and answer every lane it names. */
static void s_lanes_reap(rpc_worker_t *self)
{
    uint8_t idx[64];
    ssize_t n;
    while ((n = read(self->done_pipe[0], idx, sizeof idx)) > 0)
        for (ssize_t j = 0; j < n; j++)
            if (idx[j] < self->nlanes)
                s_lane_finish(self, &self->lanes[idx[j]]);
}

/* The first idle lane (NULL: none) and how many are busy. */
static s_lane_t *s_lane_idle(rpc_worker_t *self, int *busy)
{
    s_lane_t *idle = NULL;
    *busy = 0;
    for (int i = 0; i < self->nlanes; i++) {
        s_lane_t *l = &self->lanes[i];
        if (!l->started)
            continue;
        pthread_mutex_lock(&l->mu);
        int st = l->state;
        pthread_mutex_unlock(&l->mu);
        if (st == S_LANE_IDLE && !idle)
            idle = l;
        else if (st != S_LANE_IDLE)
            (*busy)++;
    }
    return idle;
}

/* Wait for every busy lane, answer them, stop the threads and free the lanes. */
static void s_lanes_stop(rpc_worker_t *self)
{
    if (!self->lanes)
        return;
    for (int i = 0; i < self->nlanes; i++) {
        s_lane_t *l = &self->lanes[i];
        pthread_mutex_lock(&l->mu);
        while (l->state == S_LANE_BUSY) {
            pthread_mutex_unlock(&l->mu);
            clock_sleep_ms(1);
            pthread_mutex_lock(&l->mu);
        }
        l->quit = true;
        pthread_cond_signal(&l->cv);
        pthread_mutex_unlock(&l->mu);
        if (self->sock)
            s_lane_finish(self, l);
        if (l->started)
            pthread_join(l->thread, NULL);
        for (size_t j = 0; j < l->n; j++) {
            rpc_reply_clear(&l->reps[j]);
            rpc_envelope_free(&l->items[j].env);
        }
        if (l->ctx && self->lane_free)
            self->lane_free(l->ctx);
        pthread_mutex_destroy(&l->mu);
        pthread_cond_destroy(&l->cv);
        free(l->items);
        free(l->reps);
    }
    free(self->lanes);
    self->lanes = NULL;
    close(self->done_pipe[0]);
    close(self->done_pipe[1]);
    self->done_pipe[0] = self->done_pipe[1] = -1;
}

/*
 * Hand the gathered requests of method i to its batch function and answer
 * them: in the loop, or with lanes to the first idle lane (at most
 * batch_max; the rest wait for the next).  With lanes a batch waits while
 * no lane is idle, and while another lane is busy and it holds fewer than
 * lane_min requests (unless force), so batches stay large.
 */
static void s_worker_flush(rpc_worker_t *self, size_t i, bool force)
{
    s_batch_t *b = &self->batches[i];
    if (b->n == 0)
        return;
    if (!self->lanes) {
        s_batch_drop_late(self, b);
        size_t k = b->n;
        b->n = 0;
        if (k > 0)
            s_batch_run(self, i, b->items, k);
        return;
    }
    int busy;
    s_lane_t *l = s_lane_idle(self, &busy);
    if (!l || (busy > 0 && !force && b->n < (size_t)self->lane_min))
        return;
    int64_t first_at = b->first_at;
    s_batch_drop_late(self, b);
    size_t k = b->n < (size_t)self->batch_max ? b->n : (size_t)self->batch_max;
    if (k == 0)
        return;
    memcpy(l->items, b->items, k * sizeof *b->items);
    memmove(b->items, b->items + k, (b->n - k) * sizeof *b->items);
    b->n -= k;
    if (b->n)
        b->first_at = clock_mono_ms();
    l->method = i;
    l->n = k;
    log_debug("lane %d takes %zu %s requests (%zu wait, %d lanes busy, first waited %" PRId64
              " ms)",
              l->index, k, self->methods[i].method, b->n, busy, clock_mono_ms() - first_at);
    pthread_mutex_lock(&l->mu);
    l->state = S_LANE_BUSY;
    pthread_cond_signal(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

/* True when batch i could go now: it waited long enough and, with lanes,
 * one is idle and it may start beside the busy ones. */
static bool s_batch_ready(rpc_worker_t *self, size_t i, int64_t now)
{
    s_batch_t *b = &self->batches[i];
    if (!b->n || now < b->first_at + self->batch_wait_ms)
        return false;
    if (!self->lanes)
        return true;
    int busy;
    return s_lane_idle(self, &busy) && (busy == 0 || b->n >= (size_t)self->lane_min);
}

/* Flush every batch that is due at now (all of them when all is true). */
static void s_worker_flush_due(rpc_worker_t *self, int64_t now, bool all)
{
    for (size_t i = 0; i < self->nmethods; i++)
        if (self->batches[i].n && (all || s_batch_ready(self, i, now)))
            s_worker_flush(self, i, all);
}

/* REQUEST: [""][LZW01][0x02][tag][request id][deadline][envelope] */
static void s_worker_request(rpc_worker_t *self, s_frames_t *m)
{
    char rid[RPC_REQUEST_ID_MAX + 1];
    int64_t deadline;
    zmq_msg_t *tagf = &m->part[3];
    size_t tag_len = zmq_msg_size(tagf);
    if (m->n != 7 || tag_len == 0 || tag_len > RPC_TAG_MAX ||
        !s_frame_str(&m->part[4], rid, RPC_REQUEST_ID_MAX) ||
        !s_frame_int64(&m->part[5], &deadline)) {
        log_warn("dropped a malformed request from the broker");
        return;
    }
    const uint8_t *tag = zmq_msg_data(tagf);
    zmq_msg_t *envf = &m->part[6];
    int64_t now_ms = clock_now_ms();
    if (deadline > 0 && now_ms >= deadline) {
        s_worker_drop(self, tag, tag_len, rid, now_ms - deadline);
        return;
    }
    if (zmq_msg_size(envf) > self->frame_max) {
        char reason[128];
        snprintf(reason, sizeof reason, "request of %zu bytes exceeds the limit of %zu bytes",
                 zmq_msg_size(envf), self->frame_max);
        s_worker_error(self, tag, tag_len, rid, LZ__STATUS__TOO_LARGE, NULL, reason);
        return;
    }
    Lz__Envelope *env =
        rpc_envelope_unpack(zmq_msg_data(envf), zmq_msg_size(envf), self->frame_max);
    if (!env) {
        s_worker_error(self, tag, tag_len, rid, LZ__STATUS__INVALID_FIELD, "envelope",
                       "could not decode the request envelope");
        return;
    }
    const char *method = env->method ? env->method : "";
    if (strcmp(method, "ping") == 0) {
        s_worker_ping(self, tag, tag_len, rid);
        rpc_envelope_free(&env);
        return;
    }
    size_t i = 0;
    while (i < self->nmethods && strcmp(self->methods[i].method, method) != 0)
        i++;
    if (i == self->nmethods) {
        rpc_reply_t rep = {0};
        rpc_reply_error(&rep, LZ__STATUS__NOT_FOUND, "method", "unknown method %.100s", method);
        s_worker_reply(self, tag, tag_len, rid, &rep);
        rpc_reply_clear(&rep);
        rpc_envelope_free(&env);
        return;
    }
    const rpc_method_t *meth = &self->methods[i];
    if (meth->fn) {
        rpc_reply_t rep = {0};
        log_set_request_id(rid);
        meth->fn(self->ctx, env, &rep);
        s_worker_reply(self, tag, tag_len, rid, &rep);
        log_set_request_id(NULL);
        rpc_reply_clear(&rep);
        rpc_envelope_free(&env);
        return;
    }
    s_batch_t *b = &self->batches[i];
    if (b->n >= self->batch_cap) {
        /* only when the broker hands out more than the credit */
        s_worker_error(self, tag, tag_len, rid, LZ__STATUS__UNAVAILABLE, NULL,
                       "worker busy, retry");
        rpc_envelope_free(&env);
        return;
    }
    s_item_t *it = &b->items[b->n];
    memcpy(it->tag, tag, tag_len);
    it->tag_len = tag_len;
    memcpy(it->rid, rid, sizeof rid);
    it->deadline_ms = deadline;
    it->env = env;
    if (b->n++ == 0)
        b->first_at = clock_mono_ms();
    if (b->n >= (size_t)self->batch_max)
        s_worker_flush(self, i, false);
}

static void s_worker_message(rpc_worker_t *self, s_frames_t *m)
{
    self->broker_expiry = clock_mono_ms() + (int64_t)self->heartbeat_ms * RPC_LIVENESS;
    if (m->truncated || m->n < 3 || zmq_msg_size(&m->part[0]) != 0 ||
        !s_frame_is(&m->part[1], RPC_PROTO_WORKER) || zmq_msg_size(&m->part[2]) != 1) {
        log_warn("dropped a malformed message from the broker");
        return;
    }
    uint8_t cmd = *(uint8_t *)zmq_msg_data(&m->part[2]);
    switch (cmd) {
    case RPC_W_REQUEST:
        s_worker_request(self, m);
        break;
    case RPC_W_HEARTBEAT:
        break;
    case RPC_W_DISCONNECT:
        log_info("broker asked %s worker to reconnect", self->service);
        if (s_worker_connect(self) == 0)
            s_worker_flush_due(self, 0, true); /* answers go out on the new link */
        break;
    default:
        log_warn("dropped a message with unknown command %u from the broker", cmd);
    }
}

static int64_t s_min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

int rpc_worker_run(rpc_worker_t *self)
{
    if (self->nlanes && s_lanes_start(self) != 0) {
        s_lanes_stop(self);
        self->nlanes = 0;
    }
    self->batch_cap = (size_t)self->batch_max;
    if (self->lanes && (size_t)self->credit > self->batch_cap)
        self->batch_cap = (size_t)self->credit;
    for (size_t i = 0; i < self->nmethods; i++)
        if (self->methods[i].batch && !self->batches[i].items)
            self->batches[i].items = xcalloc(self->batch_cap, sizeof(s_item_t));
    self->started_at = clock_mono_ms();
    if (s_worker_connect(self) < 0)
        return -1;
    if (self->timer_fn && self->timer_ms > 0)
        self->timer_at = self->started_at + self->timer_ms;
    log_info("%s worker serving at %s, credit %d, heartbeat %d ms", self->service, self->endpoint,
             self->credit, self->heartbeat_ms);

    int rc = 0;
    while (!atomic_load(&self->stop) && !zsys_interrupted) {
        int64_t now = clock_mono_ms();
        int64_t wake =
            s_min64(now + S_STOP_POLL_MS, s_min64(self->heartbeat_at, self->broker_expiry));
        if (self->timer_fn && self->timer_ms > 0)
            wake = s_min64(wake, self->timer_at);
        for (size_t i = 0; i < self->nmethods; i++)
            if (self->batches[i].n && (!self->lanes || s_batch_ready(self, i, INT64_MAX)))
                wake = s_min64(wake, self->batches[i].first_at + self->batch_wait_ms);
        zmq_pollitem_t items[2] = {{self->sock, 0, ZMQ_POLLIN, 0},
                                   {NULL, self->done_pipe[0], ZMQ_POLLIN, 0}};
        int n = zmq_poll(items, self->lanes ? 2 : 1, wake > now ? (long)(wake - now) : 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            log_error("could not poll the broker socket: %s", zmq_strerror(errno));
            rc = -1;
            break;
        }
        if (self->lanes && (items[1].revents & ZMQ_POLLIN))
            s_lanes_reap(self);
        if (items[0].revents & ZMQ_POLLIN) {
            for (int i = 0; i < S_DRAIN_MAX; i++) {
                s_frames_t m;
                if (s_frames_recv(self->sock, &m, ZMQ_DONTWAIT) < 0)
                    break;
                s_worker_message(self, &m);
                s_frames_close(&m);
            }
        }
        now = clock_mono_ms();
        s_worker_flush_due(self, now, false);
        if (now >= self->heartbeat_at) {
            if (s_worker_send_cmd(self, RPC_W_HEARTBEAT, false) < 0)
                log_debug("could not send a heartbeat: %s", zmq_strerror(errno));
            self->heartbeat_at = now + self->heartbeat_ms;
        }
        if (now >= self->broker_expiry) {
            log_warn("broker at %s silent for %d ms, reconnecting", self->endpoint,
                     self->heartbeat_ms * RPC_LIVENESS);
            if (s_worker_connect(self) < 0) {
                rc = -1;
                break;
            }
            s_worker_flush_due(self, now, true);
        }
        if (self->timer_fn && self->timer_ms > 0 && now >= self->timer_at) {
            self->timer_fn(self->ctx, clock_now_ms());
            self->timer_at = clock_mono_ms() + self->timer_ms;
        }
    }
    s_lanes_stop(self); /* busy lanes finish and are answered; what waits runs below */
    if (self->zsock) {
        s_worker_flush_due(self, 0, true);
        s_worker_send_cmd(self, RPC_W_DISCONNECT, false);
        zsock_set_linger(self->zsock, S_STOP_LINGER_MS);
        zsock_destroy(&self->zsock);
        self->sock = NULL;
    }
    log_info("%s worker stopped: %" PRIu64 " answered, %" PRIu64 " dropped past their deadline",
             self->service, self->served, self->dropped);
    return rc;
}
