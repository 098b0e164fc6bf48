/*
 * it_idem.c - idempotent writes against the real database (common/idem.c).
 *
 * Claims, stores and replays answers in write_requests; a second caller
 * with the same id is refused; a rolled-back write leaves no claim; a
 * concurrent duplicate waits for the first and then sees its answer.
 * Needs LZ_PG_URL (the test stack, migrated).  Prints TAP.
 */
#include "idem.h"
#include "mem.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int s_n, s_failed;

static void s_check(int ok, const char *what)
{
    s_n++;
    if (!ok)
        s_failed++;
    printf("%sok %d - %s\n", ok ? "" : "not ", s_n, what);
    fflush(stdout);
}

static const char *s_url;
static char s_rid[64];

typedef struct {
    int begin;
    Lz__Status status;
    char payload[32];
} s_seen_t;

/* A second connection asking for the same id while the first holds it. */
static void *s_duplicate(void *arg)
{
    s_seen_t *seen = arg;
    pg_t *pg = pg_connect(s_url, 3, 200);
    rpc_reply_t rep = {0};
    seen->begin = idem_begin(pg, "test.idem", s_rid, "admin:0:t1", &rep);
    seen->status = rep.status;
    if (rep.payload_len < sizeof seen->payload)
        memcpy(seen->payload, rep.payload, rep.payload_len);
    if (seen->begin == 1)
        pg_rollback(pg);
    rpc_reply_clear(&rep);
    pg_destroy(&pg);
    return NULL;
}

int main(void)
{
    s_url = getenv("LZ_PG_URL");
    if (!s_url) {
        printf("not ok 1 - LZ_PG_URL is set\n");
        return 1;
    }
    pg_t *pg = pg_connect(s_url, 10, 200);
    s_check(pg != NULL, "connects to the test database");
    if (!pg)
        return 1;
    snprintf(s_rid, sizeof s_rid, "it-idem-%d", (int)getpid());

    rpc_reply_t rep = {0};
    s_check(idem_begin(pg, "test.idem", s_rid, "admin:0:t1", &rep) == 1, "a new id is claimed");
    s_check(pg_in_transaction(pg), "the claim leaves its transaction open");

    /* a duplicate on another connection waits on the claim */
    s_seen_t seen = {0};
    pthread_t t;
    pthread_create(&t, NULL, s_duplicate, &seen);
    usleep(300 * 1000);
    s_check(seen.begin == 0 && seen.status == 0, "a concurrent duplicate waits for the first");

    rpc_reply_created(&rep, NULL);
    rep.payload = xmemdup("first", 5);
    rep.payload_len = 5;
    s_check(idem_finish(pg, "test.idem", s_rid, &rep) == 0, "the answer is stored");
    s_check(pg_commit(pg) == 0, "the write commits");
    pthread_join(t, NULL);
    s_check(seen.begin == 0 && seen.status == LZ__STATUS__CREATED &&
                memcmp(seen.payload, "first", 5) == 0,
            "the concurrent duplicate then gets the first answer");
    rpc_reply_clear(&rep);

    s_check(idem_begin(pg, "test.idem", s_rid, "admin:0:t1", &rep) == 0 &&
                rep.status == LZ__STATUS__CREATED && rep.payload_len == 5 &&
                memcmp(rep.payload, "first", 5) == 0 && !pg_in_transaction(pg),
            "a retry gets the stored answer and no transaction");
    rpc_reply_clear(&rep);

    s_check(idem_begin(pg, "test.idem", s_rid, "business:9:t2", &rep) == 0 &&
                rep.status == LZ__STATUS__CONFLICT && rep.field &&
                strcmp(rep.field, "request_id") == 0,
            "another caller with the same id gets a conflict on request_id");
    rpc_reply_clear(&rep);

    s_check(idem_begin(pg, "test.other", s_rid, "admin:0:t1", &rep) == 1,
            "the same id for another method is a new write");
    pg_rollback(pg);
    rpc_reply_clear(&rep);
    s_check(idem_begin(pg, "test.other", s_rid, "admin:0:t1", &rep) == 1,
            "a rolled-back write leaves no claim behind");
    pg_rollback(pg);
    rpc_reply_clear(&rep);

    /* idem_begin_req: the envelope's request id and caller */
    Lz__Caller who = LZ__CALLER__INIT;
    who.role = "cadre";
    who.has_cadre_id = who.has_token_id = 1;
    who.cadre_id = 5;
    who.token_id = 3;
    Lz__Envelope env = LZ__ENVELOPE__INIT;
    env.caller = &who;
    s_check(idem_begin_req(pg, "test.req", &env, &rep) == -1 &&
                rep.status == LZ__STATUS__MISSING_FIELD && rep.field &&
                strcmp(rep.field, "request_id") == 0 && !pg_in_transaction(pg),
            "no request id: missing_field on request_id, nothing open");
    rpc_reply_clear(&rep);
    char longid[80];
    memset(longid, 'x', 65);
    longid[65] = '\0';
    env.request_id = longid;
    s_check(idem_begin_req(pg, "test.req", &env, &rep) == -1 &&
                rep.status == LZ__STATUS__INVALID_FIELD && !pg_in_transaction(pg),
            "a request id of 65 characters: invalid_field, nothing open");
    rpc_reply_clear(&rep);
    env.request_id = s_rid;
    s_check(idem_begin_req(pg, "test.req", &env, &rep) == 1, "an envelope's id is claimed");
    rpc_reply_ok(&rep, NULL);
    rep.payload = xmemdup("req", 3);
    rep.payload_len = 3;
    s_check(idem_finish(pg, "test.req", s_rid, &rep) == 0 && pg_commit(pg) == 0,
            "its answer is stored");
    rpc_reply_clear(&rep);
    s_check(idem_begin_req(pg, "test.req", &env, &rep) == 0 && rep.status == LZ__STATUS__OK &&
                rep.payload_len == 3 && memcmp(rep.payload, "req", 3) == 0,
            "the same caller again gets the answer");
    rpc_reply_clear(&rep);
    char key[IDEM_CALLER_MAX];
    idem_caller_key(&who, key, sizeof key);
    s_check(strcmp(key, "cadre:5:t3") == 0 && idem_begin(pg, "test.req", s_rid, key, &rep) == 0 &&
                rep.payload_len == 3,
            "idem_begin_req keys the caller as idem_caller_key does");
    rpc_reply_clear(&rep);
    who.token_id = 4;
    s_check(idem_begin_req(pg, "test.req", &env, &rep) == 0 && rep.status == LZ__STATUS__CONFLICT &&
                !pg_in_transaction(pg),
            "the same cadre with another token gets a conflict");
    rpc_reply_clear(&rep);

    const char *params[] = {s_rid};
    pg_exec(pg, "DELETE FROM write_requests WHERE request_id = $1", 1, params);
    pg_destroy(&pg);
    printf("1..%d\n", s_n);
    return s_failed ? 1 : 0;
}
