/*
 * intake_write.c - request-id claims, stored answers, array literals
 * (see intake_write.h).
 */
#include "intake_write.h"
#include "log.h"
#include "mem.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define S_ARRAY_MAX (64 * 1024 * 1024)

/* "role:token id": who owns a request id. */
static void s_caller_key(const Lz__Caller *c, char *buf, size_t len)
{
    snprintf(buf, len, "%s:%" PRId64, c && c->role ? c->role : "none",
             c && c->has_token_id ? c->token_id : (int64_t)0);
}

void intake_caller_name(const Lz__Caller *c, char *out, size_t len)
{
    if (c && c->name && c->name[0])
        snprintf(out, len, "%s", c->name);
    else
        s_caller_key(c, out, len);
}

int intake_claim(intake_t *self, const Lz__Envelope *req, const char *method, rpc_reply_t *rep)
{
    if (!req->request_id || !req->request_id[0]) {
        rpc_reply_error(rep, LZ__STATUS__MISSING_FIELD, "request_id", "request_id is required");
        return -1;
    }
    char caller[64];
    s_caller_key(req->caller, caller, sizeof caller);
    const char *params[] = {req->request_id, method, caller};
    if (pg_begin(self->pg) != 0)
        goto failed;
    PGresult *res = pg_query_prepared(self->pg, "intake_write_claim",
                                      "INSERT INTO write_requests (request_id, method, caller, "
                                      "status) VALUES ($1, $2, $3, 0) ON CONFLICT DO NOTHING "
                                      "RETURNING 1",
                                      3, params);
    if (!res)
        goto failed;
    int fresh = PQntuples(res) == 1;
    pg_free(&res);
    if (fresh)
        return 1;
    pg_rollback(self->pg);
    res = pg_query_prepared(self->pg, "intake_write_answer",
                            "SELECT caller, status, encode(reply, 'hex') FROM write_requests "
                            "WHERE request_id = $1 AND method = $2",
                            2, params);
    if (!res || PQntuples(res) != 1) {
        pg_free(&res);
        goto failed;
    }
    if (strcmp(pg_str(res, 0, 0), caller) != 0 || pg_int(res, 0, 1) != 201) {
        rpc_reply_error(rep, LZ__STATUS__CONFLICT, "request_id",
                        "request_id %.64s was already used for another request", req->request_id);
        pg_free(&res);
        return 0;
    }
    const char *hex = pg_str(res, 0, 2);
    size_t n = hex ? strlen(hex) / 2 : 0;
    rpc_reply_clear(rep);
    rep->status = LZ__STATUS__CREATED;
    rep->payload = xmalloc(n ? n : 1);
    rep->payload_len = n;
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        sscanf(hex + 2 * i, "%2x", &v);
        rep->payload[i] = (uint8_t)v;
    }
    pg_free(&res);
    return 0;
failed:
    if (pg_in_transaction(self->pg))
        pg_rollback(self->pg);
    rpc_reply_error(rep, LZ__STATUS__UNAVAILABLE, NULL, "database unavailable");
    return -1;
}

int intake_store(intake_t *self, const Lz__Envelope *req, const char *method,
                 const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    uint8_t *bin = xmalloc(len ? len : 1);
    protobuf_c_message_pack(msg, bin);
    char *hex = xmalloc(2 * len + 1);
    for (size_t i = 0; i < len; i++)
        snprintf(hex + 2 * i, 3, "%02x", bin[i]);
    hex[2 * len] = '\0';
    const char *params[] = {req->request_id, method, hex};
    int rc = pg_exec(self->pg,
                     "UPDATE write_requests SET status = 201, reply = decode($3, 'hex') "
                     "WHERE request_id = $1 AND method = $2",
                     3, params);
    free(hex);
    free(bin);
    return rc;
}

buf_t *intake_arr_new(void)
{
    buf_t *b = buf_new(S_ARRAY_MAX);
    buf_putc(b, '{');
    return b;
}

void intake_arr_text(buf_t *b, const char *s)
{
    if (buf_len(b) > 1)
        buf_putc(b, ',');
    if (!s) {
        buf_append_str(b, "NULL");
        return;
    }
    buf_putc(b, '"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            buf_putc(b, '\\');
        buf_putc(b, *s);
    }
    buf_putc(b, '"');
}

void intake_arr_bool(buf_t *b, bool v)
{
    if (buf_len(b) > 1)
        buf_putc(b, ',');
    buf_putc(b, v ? 't' : 'f');
}

char *intake_arr_done(buf_t **b_p)
{
    buf_putc(*b_p, '}');
    char *s = buf_steal(*b_p, NULL);
    buf_destroy(b_p);
    return s;
}
