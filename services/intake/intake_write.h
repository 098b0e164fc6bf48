/*
 * intake_write.h - what the single-request writes of intake share: the
 * caller's name, and PostgreSQL array literals for set-based statements.
 * (Request-id claims and stored answers are common/idem.h.)
 */
#ifndef LZ_INTAKE_WRITE_H
#define LZ_INTAKE_WRITE_H

#include "buf.h"
#include "envelope.pb-c.h"
#include "intake_server.h"
#include "rpc.h"

#include <stdbool.h>
#include <stdint.h>

/* The caller as written in published_by and audit details: its name, or "role:token". */
void intake_caller_name(const Lz__Caller *c, char *out, size_t len);

/* PostgreSQL array literals: new (caller destroys via intake_arr_done), append, finish. */
buf_t *intake_arr_new(void);
void intake_arr_text(buf_t *b, const char *s); /* NULL: SQL NULL */
void intake_arr_int(buf_t *b, int64_t v);
void intake_arr_bool(buf_t *b, bool v);
/* Close the literal and return it (caller frees); the buffer is destroyed. */
char *intake_arr_done(buf_t **b_p);

#endif
