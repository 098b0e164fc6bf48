/*
 * rpc.h - request/reply between clients and service workers, through the broker.
 *
 * The broker (services/broker) is Majordomo-style: workers connect to it,
 * announce the service they serve and how many requests they take at once
 * (their credit), and heartbeat; clients send a request for a service and
 * the broker hands it to the least-recently-used live worker of that
 * service that has credit.  Every request and reply is an lz.Envelope
 * (proto/envelope.proto).  The wire grammar is in services/broker/README.md.
 *
 * Client: rpc_client_call sends a request and waits; when no reply comes
 * within the retry interval it resends the same envelope (same request id)
 * over a fresh socket, until the deadline.  A reply to an earlier attempt
 * or another request is dropped, so each call returns at most one reply.
 * A rpc_client_t belongs to one thread; threads with their own clients
 * share the process's one ZeroMQ context (CZMQ's zsys, whose handler turns
 * SIGINT/SIGTERM into zsys_interrupted: a call in progress then returns
 * NULL and a worker loop returns 0).
 *
 * Worker: a table of methods, each a function that reads the request and
 * fills a reply.  Methods that gain from group commit give a batch function
 * instead: the worker gathers up to batch_max requests of that method (or
 * what arrived within batch_wait_ms) and hands them over together.
 */
#ifndef LZ_RPC_H
#define LZ_RPC_H

#include "envelope.pb-c.h"

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest envelope anyone accepts; the broker refuses bigger frames unread. */
#define RPC_FRAME_MAX_DEFAULT (4 * 1024 * 1024)

/* ---- wire constants (grammar in services/broker/README.md) ------------ */

#define RPC_PROTO_CLIENT   "LZC01" /* first frame after the delimiter, clients */
#define RPC_PROTO_WORKER   "LZW01" /* first frame after the delimiter, workers */
#define RPC_W_READY        0x01    /* worker -> broker: service, credit, heartbeat */
#define RPC_W_REQUEST      0x02    /* broker -> worker: tag, request id, deadline, envelope */
#define RPC_W_REPLY        0x03    /* worker -> broker: tag, envelope (empty: dropped) */
#define RPC_W_HEARTBEAT    0x04    /* both ways */
#define RPC_W_DISCONNECT   0x05    /* both ways */
#define RPC_SERVICE_MAX    255     /* longest service name */
#define RPC_REQUEST_ID_MAX 64      /* longest request id */
#define RPC_TAG_MAX        32      /* longest broker tag a worker echoes */
#define RPC_LIVENESS       3       /* heartbeats missed before a peer counts as dead */

/*
 * Return the hard cap set as ZMQ_MAXMSGSIZE on sockets that accept envelopes
 * of up to frame_max bytes: a frame past it makes libzmq drop the connection,
 * a frame between the two is read and answered TOO_LARGE.
 */
size_t rpc_frame_hard_max(size_t frame_max);

/* Return env packed (caller frees with free()); *len_p receives the length. */
uint8_t *rpc_envelope_pack(const Lz__Envelope *env, size_t *len_p);
/* Return the envelope in data[0..len), or NULL when len > max or it does not
 * parse.  Caller frees with rpc_envelope_free. */
Lz__Envelope *rpc_envelope_unpack(const void *data, size_t len, size_t max);

/* ---- client ---------------------------------------------------------- */

typedef struct rpc_client_s rpc_client_t;

/* Return a client connected (lazily) to the broker; caller destroys it. */
rpc_client_t *rpc_client_new(const char *broker_endpoint);
void rpc_client_destroy(rpc_client_t **self_p);
/* Resend interval when no reply came (default 1000 ms; 0 or less: never resend). */
void rpc_client_set_retry_ms(rpc_client_t *self, int retry_ms);

/*
 * Call service with req (method, request_id, caller and payload set by the
 * caller; deadline_ms is set here to now + timeout_ms).  Returns the reply
 * envelope (caller frees with rpc_envelope_free), or NULL when none came
 * before the deadline.  A broker without a live worker for the service
 * answers status UNAVAILABLE within the deadline.  A NULL or empty
 * request_id is replaced by a random one (24 hex digits).
 */
Lz__Envelope *rpc_client_call(rpc_client_t *self, const char *service, const Lz__Envelope *req,
                              int timeout_ms);

/* Convenience: pack msg as the payload of a new request and call. */
Lz__Envelope *rpc_call_msg(rpc_client_t *self, const char *service, const char *method,
                           const char *request_id, const Lz__Caller *caller,
                           const ProtobufCMessage *msg, int timeout_ms);

/*
 * Without waiting, for callers that drive many clients from one loop: send
 * req as rpc_client_call would (a fresh socket when the last request was
 * never answered), then poll rpc_client_socket for ZMQ_POLLIN and call
 * rpc_client_take, which returns the reply to that request (caller frees)
 * or NULL when none has arrived yet; replies to anything else are dropped.
 * There is no resending: a caller that gives up sends again, with the same
 * request id to make it a retry.  0 or -1 (logged).
 */
int rpc_client_send(rpc_client_t *self, const char *service, const Lz__Envelope *req,
                    int timeout_ms);
/* The libzmq socket of the last send (NULL before one), for zmq_poll, or
 * its ZMQ_FD for epoll (it signals once a reply may be there to take). */
void *rpc_client_socket(rpc_client_t *self);
Lz__Envelope *rpc_client_take(rpc_client_t *self);
/*
 * Many requests in flight on one client (one socket, one connection), as a
 * gateway serving many users at once sends them: rpc_client_post sends req,
 * whose request_id must be set (the caller matches answers by it), and
 * returns at once; rpc_client_take_any returns the next reply that arrived,
 * whatever request it answers (caller frees), or NULL when none is waiting
 * (then rpc_client_socket's ZMQ_FD signals the next).  No resending: a
 * caller that gives up posts again with the same request id.  Do not mix
 * with rpc_client_call or rpc_client_send on one client.  0 or -1 (logged).
 */
int rpc_client_post(rpc_client_t *self, const char *service, const Lz__Envelope *req,
                    int timeout_ms);
Lz__Envelope *rpc_client_take_any(rpc_client_t *self);

/*
 * A mux: calls from any number of threads over one socket, so the broker
 * sees one connection with many requests in flight (what a gateway serving
 * many users sends).  A thread of its own sends each call, resends it with
 * the same request id when no reply came within the retry interval (1000
 * ms), and hands each reply to the waiting call of its request id.
 * rpc_mux_call blocks the calling thread like rpc_client_call and returns
 * the reply (caller frees) or NULL past the deadline.  Destroy only when no
 * call is in progress.
 */
typedef struct rpc_mux_s rpc_mux_t;
rpc_mux_t *rpc_mux_new(const char *broker_endpoint);
void rpc_mux_destroy(rpc_mux_t **self_p);
void rpc_mux_set_retry_ms(rpc_mux_t *self, int retry_ms);
Lz__Envelope *rpc_mux_call(rpc_mux_t *self, const char *service, const Lz__Envelope *req,
                           int timeout_ms);
Lz__Envelope *rpc_mux_call_msg(rpc_mux_t *self, const char *service, const char *method,
                               const char *request_id, const Lz__Caller *caller,
                               const ProtobufCMessage *msg, int timeout_ms);
void rpc_envelope_free(Lz__Envelope **env_p);

/* Unpack env's payload as a message of type desc; NULL when it does not parse.
 * Caller frees with protobuf_c_message_free_unpacked(msg, NULL). */
ProtobufCMessage *rpc_unpack(const Lz__Envelope *env, const ProtobufCMessageDescriptor *desc);

/* ---- worker ---------------------------------------------------------- */

/* What a method answers.  status starts as OK; the rpc_reply_* helpers set the rest. */
typedef struct {
    Lz__Status status;
    char *reason;     /* owned, may be NULL */
    char *field;      /* owned, may be NULL */
    uint8_t *payload; /* owned, may be NULL */
    size_t payload_len;
} rpc_reply_t;

/* Success with msg packed as the payload (msg may be NULL for no payload). */
void rpc_reply_ok(rpc_reply_t *rep, const ProtobufCMessage *msg);
/* Success that created something (HTTP 201). */
void rpc_reply_created(rpc_reply_t *rep, const ProtobufCMessage *msg);
/* Failure: status, the field at fault (or NULL), and a lower-case reason. */
void rpc_reply_error(rpc_reply_t *rep, Lz__Status status, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Failure with a message as payload (e.g. INVALID_ROWS with RowErrors). */
void rpc_reply_error_msg(rpc_reply_t *rep, Lz__Status status, const char *reason,
                         const ProtobufCMessage *msg);
/* Release what a reply owns and reset it to OK. */
void rpc_reply_clear(rpc_reply_t *rep);

typedef void(rpc_handler_fn)(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep);
/* n requests of one method; reps[i] answers reqs[i]. */
typedef void(rpc_batch_fn)(void *ctx, size_t n, const Lz__Envelope *const *reqs, rpc_reply_t *reps);
/* Called every interval; now is unix ms. */
typedef void(rpc_timer_fn)(void *ctx, int64_t now_ms);

typedef struct {
    const char *method;  /* e.g. "intake.get_region" */
    rpc_handler_fn *fn;  /* one at a time, or */
    rpc_batch_fn *batch; /* many at once */
} rpc_method_t;

typedef struct rpc_worker_s rpc_worker_t;

/*
 * Return a worker for service with the given methods (the table must
 * outlive the worker; "ping" is answered by the worker itself).  credit is
 * how many requests the broker may hand it at once (1 for plain workers,
 * the batch size for group-committing ones).
 */
rpc_worker_t *rpc_worker_new(const char *broker_endpoint, const char *service,
                             const rpc_method_t *methods, size_t nmethods, void *ctx, int credit);
void rpc_worker_destroy(rpc_worker_t **self_p);
/* Gather batches of up to batch_max requests, waiting at most wait_ms for more
 * (default: batch_max = credit, wait 0 = what arrived together). */
void rpc_worker_set_batch(rpc_worker_t *self, int batch_max, int wait_ms);
/* Heartbeat interval of the link to the broker (default 1000 ms); sent in
 * READY, so the broker judges this worker by it.  Dead after RPC_LIVENESS. */
void rpc_worker_set_heartbeat(rpc_worker_t *self, int interval_ms);
/* Largest request envelope served (default RPC_FRAME_MAX_DEFAULT); bigger
 * ones are answered TOO_LARGE unread. */
void rpc_worker_set_frame_max(rpc_worker_t *self, size_t frame_max);
/* A lane's context, made for lane (0..lanes-1) from the worker's ctx when
 * the loop starts (NULL: that lane stays idle), freed when it stops. */
typedef void *(rpc_lane_new_fn)(void *ctx, int lane);
typedef void(rpc_lane_free_fn)(void *lane_ctx);
/*
 * Run batch methods on `lanes` threads, each with a context of its own (its
 * own database connections), so the worker gathers the next batch while
 * earlier ones are written: pipelined group commit.  A gathered batch goes
 * to an idle lane at once when no lane is busy; while one is busy it waits
 * until it holds lane_min requests or a lane comes free, so batches stay
 * large.  The batch function then gets the lane's context, not the
 * worker's, and runs concurrently with plain methods and the timer.  The
 * credit should cover lanes x batch_max.  lanes <= 1: batches run in the
 * loop (the default).  Call before rpc_worker_run.
 */
void rpc_worker_set_lanes(rpc_worker_t *self, int lanes, int lane_min, rpc_lane_new_fn *lane_new,
                          rpc_lane_free_fn *lane_free);
/* Run fn every interval_ms from the loop (housekeeping: relays, sweeps). */
void rpc_worker_set_timer(rpc_worker_t *self, int interval_ms, rpc_timer_fn *fn);
/* Serve until SIGINT/SIGTERM (or rpc_worker_stop); 0 on a clean stop. */
int rpc_worker_run(rpc_worker_t *self);
/* Make rpc_worker_run return; from a handler or another thread (seen within 250 ms). */
void rpc_worker_stop(rpc_worker_t *self);

#endif
