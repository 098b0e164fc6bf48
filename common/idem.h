/*
 * idem.h - idempotent writes: the first answer of a write, kept by request id.
 *
 * Every write method takes a client-chosen request id.  The write claims
 * (method, request id) in table write_requests inside its own transaction,
 * does its work, stores its answer in the same transaction and commits; a
 * retry with the same id gets the stored answer and changes nothing.  A
 * concurrent duplicate waits on the first one's row lock, then sees its
 * answer.  Failures are not stored: the write rolls back and its claim
 * with it, so a corrected retry may use the same id.
 *
 *   switch (idem_begin_req(pg, "intake.record_visit", req, rep)) {
 *   case 1:  ...write...; rpc_reply_created(rep, msg);
 *            if (idem_finish(pg, method, rid, rep) || pg_commit(pg)) -> failure
 *   case 0:  return;   (rep holds the first answer, or CONFLICT)
 *   default: return;   (rep holds UNAVAILABLE)
 *   }
 */
#ifndef LZ_IDEM_H
#define LZ_IDEM_H

#include "pg.h"
#include "rpc.h"

#include <stddef.h>

/* Longest caller key idem_caller_key writes, NUL included. */
#define IDEM_CALLER_MAX 64
/* Longest request id (write_requests checks it too). */
#define IDEM_REQUEST_ID_MAX 64

/*
 * Begin a transaction and claim (method, request_id) for caller (a key
 * naming who asks; see idem_caller_key).  Returns 1 when the id is new: the
 * transaction stays open for the write.  Returns 0 when it was answered
 * before: rep holds that answer again, or CONFLICT on field request_id when
 * another caller used the id; no transaction is open.  Returns -1 on a
 * database failure, or when request_id is missing or empty (MISSING_FIELD)
 * or longer than IDEM_REQUEST_ID_MAX (INVALID_FIELD): rep holds the error,
 * nothing is open.
 */
int idem_begin(pg_t *pg, const char *method, const char *request_id, const char *caller,
               rpc_reply_t *rep);

/* idem_begin for a request envelope: its request_id, the key of its caller. */
int idem_begin_req(pg_t *pg, const char *method, const Lz__Envelope *req, rpc_reply_t *rep);

/* Store rep as the answer of the claimed request, in the open transaction; 0 or -1. */
int idem_finish(pg_t *pg, const char *method, const char *request_id, const rpc_reply_t *rep);

/* Write a key naming the caller ("admin:7", "business:42:t9") into out. */
void idem_caller_key(const Lz__Caller *c, char *out, size_t len);

#endif
