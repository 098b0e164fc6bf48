/*
 * outbox.h - events written with the change that caused them, relayed to
 * Redis streams, read by consumer groups.
 *
 * Writing.  outbox_write() inserts one event into the outbox table inside
 * the caller's open transaction, so the event exists exactly when the change
 * that caused it is committed.
 *
 * Relaying.  outbox_relay_once() takes up to batch_max unrelayed rows in one
 * transaction (SELECT ... FOR UPDATE SKIP LOCKED, so any number of relays can
 * run at once without taking the same row), appends each to the stream
 * lz:stream:<topic> with the fields
 *     id       the outbox id (decimal)
 *     key      the event's key (text, may be empty)
 *     payload  the event's bytes (binary-safe)
 *     at       created_at in unix milliseconds (decimal)
 * marks the rows relayed and commits.  Each append runs in a Lua script that
 * first sets the guard key lz:outbox:relayed:<id> (SET NX EX ttl) and appends
 * only when the guard was not there, so a relay that dies between the append
 * and the commit cannot put an event in its stream twice: the next relay
 * finds the guard and only marks the row.  After a confirmed commit the
 * guards are deleted again (the committed rows protect themselves from then
 * on); guards left by a crash expire after dedupe_ttl_s.  Streams are capped
 * approximately (XADD MAXLEN ~ stream_maxlen): a consumer group that falls
 * further behind than that loses the oldest events.
 *
 * Consuming.  An outbox_consumer_t reads one topic as one member of a
 * consumer group.  Each outbox_consume() round first reclaims (XAUTOCLAIM)
 * entries that have been pending longer than claim_idle_ms - left by a
 * consumer that died, or by a handler that failed - then reads new entries
 * (XREADGROUP >).  An entry the handler accepted is acknowledged; one it
 * refused stays pending and is retried after claim_idle_ms; one delivered
 * max_attempts times without success is moved, with its fields and the last
 * error, to lz:stream:<topic>:dead and acknowledged.
 *
 * Guarantees.  Delivery is at least once: a consumer that dies after its
 * handler ran but before the acknowledgement, a handler slower than
 * claim_idle_ms, or a PostgreSQL failover that loses a relay's commit all
 * deliver an event again.  Handlers must therefore be idempotent by
 * outbox_id (record the ids handled, or make the effect an upsert).  Order
 * is by outbox id within one relay batch only: concurrent relays and
 * transactions committing out of id order interleave events in a stream.
 * Redis keeps the stream: losing Redis data (failover with async
 * replication, no AOF) loses relayed events that no group has read yet.
 *
 * Redis keys: lz:stream:<topic>, lz:stream:<topic>:dead,
 * lz:outbox:relayed:<outbox id>.
 */
#ifndef LZ_OUTBOX_H
#define LZ_OUTBOX_H

#include "pg.h"
#include "rds.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OUTBOX_PAYLOAD_MAX           (1024 * 1024) /* bytes of one event's payload */
#define OUTBOX_KEY_MAX               256           /* bytes of one event's key */
#define OUTBOX_NAME_MAX              128           /* bytes of a group or consumer name */
#define OUTBOX_BATCH_MAX             10000         /* rows one relay transaction may take */
#define OUTBOX_STREAM_MAXLEN_DEFAULT 1000000L
#define OUTBOX_DEDUPE_TTL_DEFAULT_S  (7 * 24 * 3600)
#define OUTBOX_DEAD_MAXLEN           100000L /* entries kept in each :dead stream */
#define OUTBOX_BLOCK_MAX_MS          4000    /* below the Redis command timeout */

/* True when topic matches ^[a-z][a-z0-9_.]{0,62}$ (the outbox table's check). */
bool outbox_topic_valid(const char *topic);

/*
 * Insert one event into the outbox inside the caller's open transaction
 * (calling it outside one is refused).  key may be NULL (stored as ""),
 * payload may be NULL when len is 0.  Nothing is kept; the caller still owns
 * its arguments.  0, or -1 (logged; the caller rolls back).
 */
int outbox_write(pg_t *pg, const char *topic, const char *key, const void *payload, size_t len);

typedef struct {
    int batch_max;        /* rows per transaction, 1..OUTBOX_BATCH_MAX */
    long stream_maxlen;   /* XADD MAXLEN ~ of every stream, >= 1 */
    int64_t dedupe_ttl_s; /* lifetime of a guard left by a crash, >= 60 */
} outbox_relay_opts_t;

/* Fill opts with the defaults (batch 500, maxlen 1,000,000, ttl 7 days). */
void outbox_relay_opts_default(outbox_relay_opts_t *opts);

/*
 * Relay up to batch_max unrelayed events (of every topic) in one PostgreSQL
 * transaction, with default options otherwise.  pg must not be in a
 * transaction.  Returns how many rows were marked relayed (0 when none were
 * waiting), or -1 (logged; rolled back, nothing marked, safe to retry).
 */
int outbox_relay_once(pg_t *pg, rds_t *rds, int batch_max);
/* The same with every option given. */
int outbox_relay_once_opts(pg_t *pg, rds_t *rds, const outbox_relay_opts_t *opts);

/*
 * Delete relayed rows whose relayed_at is more than older_than_s seconds
 * before the database's now(), in batches, each its own transaction; pg must
 * not be in a transaction.  Returns the number deleted, or -1 (logged).
 */
int outbox_purge(pg_t *pg, int64_t older_than_s);

/* One event as a handler sees it; every pointer is valid during the handler call only. */
typedef struct {
    const char *stream_id;  /* the Redis stream entry id */
    int64_t outbox_id;      /* the idempotency key */
    const char *topic;      /* NUL-terminated */
    const char *key;        /* NUL-terminated, "" when the event has none */
    const uint8_t *payload; /* payload_len bytes, not NUL-terminated */
    size_t payload_len;
    int64_t at_ms;      /* when the event was written, unix milliseconds */
    int64_t deliveries; /* 1 on the first delivery */
} outbox_event_t;

/* 0 = done (acknowledged), -1 = failed (left pending, retried after claim_idle_ms). */
typedef int(outbox_handler_fn)(void *ctx, const outbox_event_t *ev);

typedef struct outbox_consumer_s outbox_consumer_t;

/*
 * A consumer named consumer in group group of topic's stream.  Creates the
 * stream and the group when missing; a new group starts at the beginning of
 * the stream, so it sees events relayed before it existed.  rds is borrowed
 * and must outlive the consumer.  max_attempts >= 1; claim_idle_ms >= 1 and
 * longer than the slowest handler run.  NULL (logged) on bad arguments or a
 * Redis failure.  Destroy with outbox_consumer_destroy.
 */
outbox_consumer_t *outbox_consumer_new(rds_t *rds, const char *topic, const char *group,
                                       const char *consumer, int max_attempts,
                                       int64_t claim_idle_ms);
/* Destroy *self_p (NULL is fine) and set it to NULL; pending entries stay pending. */
void outbox_consumer_destroy(outbox_consumer_t **self_p);

/*
 * One round: reclaim up to count entries idle for claim_idle_ms, then read
 * up to count minus those new ones (blocking up to block_ms, at most
 * OUTBOX_BLOCK_MAX_MS, when nothing was reclaimed; 0 does not block), hand
 * each to fn, acknowledge those it accepted and dead-letter those out of
 * attempts.  count is 1..1000.  Returns the number of entries dealt with
 * (handed to fn or dead-lettered; 0 when there were none), or -1 on a Redis
 * failure (logged; entries not yet acknowledged stay pending).
 */
int outbox_consume(outbox_consumer_t *self, outbox_handler_fn *fn, void *ctx, int count,
                   int block_ms);

/*
 * Record why the current handler call fails (copied, at most 255 bytes);
 * stored with the event if it is dead-lettered.  Call it from the handler
 * (pass the consumer in ctx) before returning -1.
 */
void outbox_consumer_set_error(outbox_consumer_t *self, const char *msg);

/* ---- pure parts, exposed for tests ---- */

/*
 * Fill ev from one stream entry reply ([entry id, [field, value, ...]]):
 * stream_id, outbox_id, key, payload, at_ms.  topic is set to NULL and
 * deliveries to 0 for the caller to fill.  ev points into entry.  0, or -1
 * when the entry is malformed or has no positive id or no payload.
 */
int outbox_event_parse(const redisReply *entry, outbox_event_t *ev);

typedef enum { OUTBOX_ACK, OUTBOX_RETRY, OUTBOX_DEAD } outbox_verdict_t;

/* True when an entry delivered `deliveries` times must be dead-lettered unhandled
 * (its earlier deliveries crashed or timed out before an answer). */
bool outbox_over_attempts(int64_t deliveries, int max_attempts);
/* What to do after the handler answered handler_rc on delivery number `deliveries`. */
outbox_verdict_t outbox_verdict(int64_t deliveries, int max_attempts, int handler_rc);

#endif
