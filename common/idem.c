/*
 * idem.c - idempotent writes: the first answer of a write, kept by request id.
 */
#include "idem.h"
#include "log.h"
#include "mem.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

void idem_caller_key(const Lz__Caller *c, char *out, size_t len)
{
    if (!c || !c->role) {
        snprintf(out, len, "system");
        return;
    }
    long long subject = c->has_business_id    ? c->business_id
                        : c->has_cadre_id     ? c->cadre_id
                        : c->has_inspector_id ? c->inspector_id
                                              : 0;
    snprintf(out, len, "%s:%lld:t%lld", c->role, subject,
             c->has_token_id ? (long long)c->token_id : 0LL);
}

/* Fill rep from a stored answer (a packed envelope); 0 or -1. */
static int s_replay(const char *hex, rpc_reply_t *rep)
{
    size_t hlen = strlen(hex), blen = 0;
    uint8_t *bin = xmalloc(hlen / 2 + 1);
    Lz__Envelope *env = NULL;
    if (sodium_hex2bin(bin, hlen / 2 + 1, hex, hlen, NULL, &blen, NULL) == 0)
        env = rpc_envelope_unpack(bin, blen, RPC_FRAME_MAX_DEFAULT);
    free(bin);
    if (!env)
        return -1;
    rpc_reply_clear(rep);
    rep->status = env->has_status ? env->status : LZ__STATUS__OK;
    rep->reason = env->reason ? xstrdup(env->reason) : NULL;
    rep->field = env->field ? xstrdup(env->field) : NULL;
    if (env->has_payload && env->payload.len) {
        rep->payload = xmemdup(env->payload.data, env->payload.len);
        rep->payload_len = env->payload.len;
    }
    rpc_envelope_free(&env);
    return 0;
}

int idem_begin(pg_t *pg, const char *method, const char *request_id, const char *caller,
               rpc_reply_t *rep)
{
    if (!request_id || !request_id[0]) {
        rpc_reply_error(rep, LZ__STATUS__MISSING_FIELD, "request_id", "a write needs a request_id");
        return -1;
    }
    if (strlen(request_id) > IDEM_REQUEST_ID_MAX) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "request_id",
                        "request_id is at most %d characters", IDEM_REQUEST_ID_MAX);
        return -1;
    }
    const char *params[] = {request_id, method, caller};
    if (pg_begin(pg) != 0)
        goto failed;
    PGresult *res = pg_query_prepared(pg, "idem_claim",
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
    pg_rollback(pg);
    res = pg_query_prepared(pg, "idem_answer",
                            "SELECT caller, status, encode(reply, 'hex') FROM write_requests "
                            "WHERE request_id = $1 AND method = $2",
                            2, params);
    if (!res || PQntuples(res) != 1) {
        pg_free(&res);
        goto failed;
    }
    if (strcmp(pg_str(res, 0, 0), caller) != 0) {
        rpc_reply_error(rep, LZ__STATUS__CONFLICT, "request_id",
                        "request_id %s was already used by another caller", request_id);
    } else if (!pg_str(res, 0, 2) || s_replay(pg_str(res, 0, 2), rep) != 0) {
        log_error("write_requests holds no usable answer for %s %s", method, request_id);
        rpc_reply_error(rep, LZ__STATUS__INTERNAL, NULL, "stored answer does not parse");
    }
    pg_free(&res);
    return 0;
failed:
    pg_rollback(pg);
    rpc_reply_error(rep, LZ__STATUS__UNAVAILABLE, NULL, "database unavailable");
    return -1;
}

int idem_begin_req(pg_t *pg, const char *method, const Lz__Envelope *req, rpc_reply_t *rep)
{
    char caller[IDEM_CALLER_MAX];
    idem_caller_key(req->caller, caller, sizeof caller);
    return idem_begin(pg, method, req->request_id, caller, rep);
}

int idem_finish(pg_t *pg, const char *method, const char *request_id, const rpc_reply_t *rep)
{
    Lz__Envelope env = LZ__ENVELOPE__INIT;
    env.has_status = 1;
    env.status = rep->status;
    env.reason = rep->reason;
    env.field = rep->field;
    if (rep->payload_len) {
        env.has_payload = 1;
        env.payload.data = rep->payload;
        env.payload.len = rep->payload_len;
    }
    size_t len;
    uint8_t *buf = rpc_envelope_pack(&env, &len);
    char *hex = xmalloc(2 * len + 3);
    hex[0] = '\\';
    hex[1] = 'x';
    sodium_bin2hex(hex + 2, 2 * len + 1, buf, len);
    char st[12];
    snprintf(st, sizeof st, "%d", (int)rep->status);
    const char *params[] = {request_id, method, st, hex};
    int rc = pg_exec(pg,
                     "UPDATE write_requests SET status = $3::int, reply = $4::bytea "
                     "WHERE request_id = $1 AND method = $2",
                     4, params);
    free(hex);
    free(buf);
    return rc;
}
