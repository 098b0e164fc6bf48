/*
 * rds.h - Redis access for every service (hiredis 0.14 underneath).
 *
 * A rds_t is one connection used by one thread.  Commands take hiredis
 * format strings (use %b for binary-safe arguments) or argv arrays.  When
 * the connection is broken the command reconnects and is sent once more;
 * a command that still fails, or an error reply, is logged and answered
 * with NULL.  Replies belong to the caller: free them with rds_free(&r).
 */
#ifndef LZ_RDS_H
#define LZ_RDS_H

#include <hiredis.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct rds_s rds_t;

/* Connect with a timeout; NULL (logged) when the server cannot be reached. */
rds_t *rds_connect(const char *host, int port, int timeout_ms);
void rds_destroy(rds_t **self_p);

/* Run a command; the reply (never an error reply) or NULL.  Caller frees. */
redisReply *rds_cmd(rds_t *self, const char *fmt, ...);
redisReply *rds_cmd_argv(rds_t *self, int argc, const char **argv, const size_t *argvlen);
/* Run a command and keep only whether it succeeded: 0 or -1. */
int rds_do(rds_t *self, const char *fmt, ...);

/* Pipeline: queue commands, then read their replies in order.  A broken
 * connection fails the whole pipeline (-1 / NULL); the caller retries it. */
int rds_append(rds_t *self, const char *fmt, ...);
redisReply *rds_get_reply(rds_t *self);

/* True when the server answers PING. */
bool rds_ping(rds_t *self);
/* The message of the last failure ("" when none). */
const char *rds_errmsg(const rds_t *self);

void rds_free(redisReply **reply_p);

#endif
