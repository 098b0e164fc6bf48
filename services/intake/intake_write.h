/*
 * intake_write.h - what the single-request writes of intake share: the
 * request-id claim and the stored answer (write_requests), and PostgreSQL
 * array literals for set-based statements.
 */
#ifndef LZ_INTAKE_WRITE_H
#define LZ_INTAKE_WRITE_H

#include "buf.h"
#include "envelope.pb-c.h"
#include "intake_server.h"
#include "rpc.h"

#include <stdbool.h>
#include <stdint.h>

/*
 * Begin a transaction and claim req's request id for method.  Returns 1
 * when it is new (the transaction stays open), 0 when it was answered
 * before (rep holds that answer, or CONFLICT when another caller used the
 * id; rolled back), -1 with rep set (missing request id, database failure;
 * rolled back).  A concurrent duplicate waits on the first one's row and
 * then sees its answer.
 */
int intake_claim(intake_t *self, const Lz__Envelope *req, const char *method, rpc_reply_t *rep);

/* Store msg as the CREATED answer of req's request id (in the open transaction); 0 or -1. */
int intake_store(intake_t *self, const Lz__Envelope *req, const char *method,
                 const ProtobufCMessage *msg);

/* The caller as written in published_by and audit details: its name, or "role:token". */
void intake_caller_name(const Lz__Caller *c, char *out, size_t len);

/* PostgreSQL array literals: new (caller destroys via intake_arr_done), append, finish. */
buf_t *intake_arr_new(void);
void intake_arr_text(buf_t *b, const char *s); /* NULL: SQL NULL */
void intake_arr_bool(buf_t *b, bool v);
/* Close the literal and return it (caller frees); the buffer is destroyed. */
char *intake_arr_done(buf_t **b_p);

#endif
