/*
 * rds.c - Redis access for every service.
 */
#include "rds.h"
#include "log.h"
#include "mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct rds_s {
    redisContext *ctx;
    char *host;
    int port;
    int timeout_ms;
    char errmsg[256];
};

static redisContext *s_open(const char *host, int port, int timeout_ms)
{
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    redisContext *ctx = redisConnectWithTimeout(host, port, tv);
    if (!ctx || ctx->err) {
        log_warn("could not connect to redis at %s:%d: %s", host, port,
                 ctx ? ctx->errstr : "out of memory");
        if (ctx)
            redisFree(ctx);
        return NULL;
    }
    /* commands time out too, so a hung server cannot hang a service */
    struct timeval ctv = {5, 0};
    redisSetTimeout(ctx, ctv);
    return ctx;
}

rds_t *rds_connect(const char *host, int port, int timeout_ms)
{
    rds_t *self = xcalloc(1, sizeof *self);
    self->host = xstrdup(host);
    self->port = port;
    self->timeout_ms = timeout_ms;
    self->ctx = s_open(host, port, timeout_ms);
    if (!self->ctx) {
        rds_destroy(&self);
        return NULL;
    }
    return self;
}

void rds_destroy(rds_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rds_t *self = *self_p;
    if (self->ctx)
        redisFree(self->ctx);
    free(self->host);
    free(self);
    *self_p = NULL;
}

static bool s_reconnect(rds_t *self)
{
    if (self->ctx)
        redisFree(self->ctx);
    self->ctx = s_open(self->host, self->port, self->timeout_ms);
    return self->ctx != NULL;
}

static redisReply *s_check(rds_t *self, redisReply *r)
{
    if (!r) {
        snprintf(self->errmsg, sizeof self->errmsg, "%s",
                 self->ctx ? self->ctx->errstr : "not connected");
        log_error("redis command failed: %s", self->errmsg);
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(self->errmsg, sizeof self->errmsg, "%.*s", (int)r->len, r->str);
        log_debug("redis error reply: %s", self->errmsg);
        freeReplyObject(r);
        return NULL;
    }
    self->errmsg[0] = '\0';
    return r;
}

redisReply *rds_cmd(rds_t *self, const char *fmt, ...)
{
    redisReply *r = NULL;
    va_list ap;
    if (self->ctx && !self->ctx->err) {
        va_start(ap, fmt);
        r = redisvCommand(self->ctx, fmt, ap);
        va_end(ap);
    }
    if (!r && s_reconnect(self)) {
        va_start(ap, fmt);
        r = redisvCommand(self->ctx, fmt, ap);
        va_end(ap);
    }
    return s_check(self, r);
}

redisReply *rds_cmd_argv(rds_t *self, int argc, const char **argv, const size_t *argvlen)
{
    redisReply *r = NULL;
    if (self->ctx && !self->ctx->err)
        r = redisCommandArgv(self->ctx, argc, argv, argvlen);
    if (!r && s_reconnect(self))
        r = redisCommandArgv(self->ctx, argc, argv, argvlen);
    return s_check(self, r);
}

int rds_do(rds_t *self, const char *fmt, ...)
{
    redisReply *r = NULL;
    va_list ap;
    if (self->ctx && !self->ctx->err) {
        va_start(ap, fmt);
        r = redisvCommand(self->ctx, fmt, ap);
        va_end(ap);
    }
    if (!r && s_reconnect(self)) {
        va_start(ap, fmt);
        r = redisvCommand(self->ctx, fmt, ap);
        va_end(ap);
    }
    r = s_check(self, r);
    if (!r)
        return -1;
    freeReplyObject(r);
    return 0;
}

int rds_append(rds_t *self, const char *fmt, ...)
{
    if ((!self->ctx || self->ctx->err) && !s_reconnect(self))
        return -1;
    va_list ap;
    va_start(ap, fmt);
    int rc = redisvAppendCommand(self->ctx, fmt, ap);
    va_end(ap);
    return rc == REDIS_OK ? 0 : -1;
}

redisReply *rds_get_reply(rds_t *self)
{
    void *r = NULL;
    if (!self->ctx || redisGetReply(self->ctx, &r) != REDIS_OK)
        r = NULL;
    return s_check(self, r);
}

bool rds_ping(rds_t *self)
{
    redisReply *r = rds_cmd(self, "PING");
    bool ok = r && r->type == REDIS_REPLY_STATUS;
    rds_free(&r);
    return ok;
}

const char *rds_errmsg(const rds_t *self)
{
    return self->errmsg;
}

void rds_free(redisReply **reply_p)
{
    if (reply_p && *reply_p) {
        freeReplyObject(*reply_p);
        *reply_p = NULL;
    }
}
