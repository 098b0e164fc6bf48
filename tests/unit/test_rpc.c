/*
 * test_rpc.c - unit tests of common/rpc: envelope packing, payload
 * unpacking, the reply helpers, and the worker and client protocols,
 * each driven by a scripted broker (a ROUTER socket over inproc://) so no
 * broker process is needed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common.pb-c.h"
#include "log.h"
#include "rpc.h"

#include <czmq.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void test_envelope_round_trip(void **state)
{
    (void)state;
    Lz__Caller caller = LZ__CALLER__INIT;
    caller.role = "regulator";
    caller.has_token_id = 1;
    caller.token_id = 77;
    caller.name = "王芳";
    caller.region = "340700";
    caller.has_cadre_id = 1;
    caller.cadre_id = 12;
    uint8_t payload[] = {0x0a, 0x03, 'a', 'b', 'c'};
    Lz__Envelope env = LZ__ENVELOPE__INIT;
    env.method = "intake.get_region";
    env.request_id = "rid-1";
    env.caller = &caller;
    env.has_deadline_ms = 1;
    env.deadline_ms = 1796000000123;
    env.has_payload = 1;
    env.payload.data = payload;
    env.payload.len = sizeof payload;
    env.has_status = 1;
    env.status = LZ__STATUS__INVALID_FIELD;
    env.reason = "period must look like 2026-W48";
    env.field = "period";
    env.service = "intake";

    size_t len = 0;
    uint8_t *buf = rpc_envelope_pack(&env, &len);
    assert_non_null(buf);
    assert_true(len > 0);
    Lz__Envelope *back = rpc_envelope_unpack(buf, len, RPC_FRAME_MAX_DEFAULT);
    assert_non_null(back);
    assert_string_equal(back->method, "intake.get_region");
    assert_string_equal(back->request_id, "rid-1");
    assert_true(back->has_deadline_ms);
    assert_int_equal(back->deadline_ms, 1796000000123);
    assert_true(back->has_status);
    assert_int_equal(back->status, LZ__STATUS__INVALID_FIELD);
    assert_string_equal(back->reason, "period must look like 2026-W48");
    assert_string_equal(back->field, "period");
    assert_string_equal(back->service, "intake");
    assert_int_equal(back->payload.len, sizeof payload);
    assert_memory_equal(back->payload.data, payload, sizeof payload);
    assert_non_null(back->caller);
    assert_string_equal(back->caller->role, "regulator");
    assert_int_equal(back->caller->token_id, 77);
    assert_string_equal(back->caller->name, "王芳");
    assert_string_equal(back->caller->region, "340700");
    assert_true(back->caller->has_cadre_id);
    assert_int_equal(back->caller->cadre_id, 12);
    assert_false(back->caller->has_business_id);

    /* a zero status is still present after the trip (proto2: absent != zero) */
    back->status = LZ__STATUS__OK;
    size_t len2;
    uint8_t *buf2 = rpc_envelope_pack(back, &len2);
    Lz__Envelope *again = rpc_envelope_unpack(buf2, len2, len2);
    assert_non_null(again);
    assert_true(again->has_status);
    assert_int_equal(again->status, LZ__STATUS__OK);

    rpc_envelope_free(&again);
    rpc_envelope_free(&back);
    assert_null(back);
    rpc_envelope_free(&back); /* NULL is fine */
    free(buf);
    free(buf2);
}

static void test_envelope_unpack_refuses(void **state)
{
    (void)state;
    Lz__Envelope env = LZ__ENVELOPE__INIT;
    env.method = "ping";
    env.request_id = "r";
    size_t len;
    uint8_t *buf = rpc_envelope_pack(&env, &len);
    /* over the limit: refused before it is read */
    assert_null(rpc_envelope_unpack(buf, len, len - 1));
    Lz__Envelope *ok = rpc_envelope_unpack(buf, len, len);
    assert_non_null(ok);
    rpc_envelope_free(&ok);
    /* truncated */
    assert_null(rpc_envelope_unpack(buf, len - 1, RPC_FRAME_MAX_DEFAULT));
    free(buf);
    /* garbage: a length past the end, a bad wire type */
    const uint8_t junk1[] = {0x0a, 0x7f, 'x'};
    const uint8_t junk2[] = {0x0f, 0xff, 0xff, 0xff};
    assert_null(rpc_envelope_unpack(junk1, sizeof junk1, RPC_FRAME_MAX_DEFAULT));
    assert_null(rpc_envelope_unpack(junk2, sizeof junk2, RPC_FRAME_MAX_DEFAULT));
    assert_true(rpc_frame_hard_max(RPC_FRAME_MAX_DEFAULT) > RPC_FRAME_MAX_DEFAULT);
    assert_true(rpc_frame_hard_max(1024) >= 1024 + 64 * 1024);
}

static void test_unpack_payload(void **state)
{
    (void)state;
    Lz__PingReply pr = LZ__PING_REPLY__INIT;
    pr.service = "intake";
    pr.has_pid = 1;
    pr.pid = 4242;
    uint8_t buf[64];
    size_t len = lz__ping_reply__pack(&pr, buf);

    Lz__Envelope env = LZ__ENVELOPE__INIT;
    env.has_payload = 1;
    env.payload.data = buf;
    env.payload.len = len;
    Lz__PingReply *back = (Lz__PingReply *)rpc_unpack(&env, &lz__ping_reply__descriptor);
    assert_non_null(back);
    assert_string_equal(back->service, "intake");
    assert_int_equal(back->pid, 4242);
    protobuf_c_message_free_unpacked(&back->base, NULL);

    /* garbage payload: field 1 (a string) sent as a varint, then a bad length */
    uint8_t junk[] = {0x08, 0x01, 0x12, 0x50};
    env.payload.data = junk;
    env.payload.len = sizeof junk;
    assert_null(rpc_unpack(&env, &lz__ping_reply__descriptor));
    uint8_t junk2[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    env.payload.data = junk2;
    env.payload.len = sizeof junk2;
    assert_null(rpc_unpack(&env, &lz__ping_reply__descriptor));

    /* no payload is an empty message */
    Lz__Envelope empty = LZ__ENVELOPE__INIT;
    Lz__PingReply *none = (Lz__PingReply *)rpc_unpack(&empty, &lz__ping_reply__descriptor);
    assert_non_null(none);
    assert_null(none->service);
    protobuf_c_message_free_unpacked(&none->base, NULL);
    assert_null(rpc_unpack(NULL, &lz__ping_reply__descriptor));
}

static void test_reply_helpers(void **state)
{
    (void)state;
    rpc_reply_t rep = {0};
    Lz__PingReply pr = LZ__PING_REPLY__INIT;
    pr.service = "scorer";

    rpc_reply_ok(&rep, &pr.base);
    assert_int_equal(rep.status, LZ__STATUS__OK);
    assert_non_null(rep.payload);
    Lz__PingReply *back = lz__ping_reply__unpack(NULL, rep.payload_len, rep.payload);
    assert_non_null(back);
    assert_string_equal(back->service, "scorer");
    lz__ping_reply__free_unpacked(back, NULL);

    rpc_reply_created(&rep, NULL);
    assert_int_equal(rep.status, LZ__STATUS__CREATED);
    assert_null(rep.payload); /* the earlier payload was released */
    assert_int_equal(rep.payload_len, 0);

    rpc_reply_ok(&rep, &pr.base);
    rpc_reply_error(&rep, LZ__STATUS__INVALID_FIELD, "business_id", "business %d is closed", 42);
    assert_int_equal(rep.status, LZ__STATUS__INVALID_FIELD);
    assert_string_equal(rep.field, "business_id");
    assert_string_equal(rep.reason, "business 42 is closed");
    assert_null(rep.payload);

    rpc_reply_error(&rep, LZ__STATUS__NOT_FOUND, NULL, "no such region");
    assert_null(rep.field);
    assert_string_equal(rep.reason, "no such region");

    Lz__RowError row = LZ__ROW_ERROR__INIT;
    row.has_line = 1;
    row.line = 7;
    row.field = "phone";
    Lz__RowError *rows[] = {&row};
    Lz__RowErrors errs = LZ__ROW_ERRORS__INIT;
    errs.n_rows = 1;
    errs.rows = rows;
    rpc_reply_error_msg(&rep, LZ__STATUS__INVALID_ROWS, "1 row refused", &errs.base);
    assert_int_equal(rep.status, LZ__STATUS__INVALID_ROWS);
    assert_string_equal(rep.reason, "1 row refused");
    assert_null(rep.field);
    Lz__RowErrors *eb = lz__row_errors__unpack(NULL, rep.payload_len, rep.payload);
    assert_non_null(eb);
    assert_int_equal(eb->n_rows, 1);
    assert_int_equal(eb->rows[0]->line, 7);
    assert_string_equal(eb->rows[0]->field, "phone");
    lz__row_errors__free_unpacked(eb, NULL);

    rpc_reply_clear(&rep);
    assert_int_equal(rep.status, LZ__STATUS__OK);
    assert_null(rep.reason);
    assert_null(rep.field);
    assert_null(rep.payload);
    assert_int_equal(rep.payload_len, 0);
}

/* ---- the worker against a scripted broker (a ROUTER over inproc) ------ */

#define S_WEP "inproc://test-rpc-worker"
#define S_CEP "inproc://test-rpc-client"

typedef struct {
    atomic_int batches;
    atomic_int largest;
    atomic_int ticks;
} s_wctx_t;

static void s_fail(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep)
{
    (void)ctx;
    rpc_reply_error(rep, LZ__STATUS__CONFLICT, "name", "%s already taken", req->request_id);
}

static void s_sum(void *ctx, size_t n, const Lz__Envelope *const *reqs, rpc_reply_t *reps)
{
    s_wctx_t *w = ctx;
    atomic_fetch_add(&w->batches, 1);
    if ((int)n > atomic_load(&w->largest))
        atomic_store(&w->largest, (int)n);
    for (size_t i = 0; i < n; i++)
        rpc_reply_created(&reps[i], NULL);
    (void)reqs;
}

static void s_tick(void *ctx, int64_t now_ms)
{
    s_wctx_t *w = ctx;
    assert_true(now_ms > 1600000000000);
    atomic_fetch_add(&w->ticks, 1);
}

static const rpc_method_t s_methods[] = {{"fail", s_fail, NULL}, {"sum", NULL, s_sum}};

static void *s_worker_thread(void *arg)
{
    assert_int_equal(rpc_worker_run(arg), 0);
    return NULL;
}

/* Receive the next worker message that is not a heartbeat; NULL after 3 s. */
static zmsg_t *s_from_worker(zsock_t *router, uint8_t *cmd)
{
    for (;;) {
        zmsg_t *m = zmsg_recv(router);
        if (!m)
            return NULL;
        assert_true(zmsg_size(m) >= 4);
        zframe_t *f = zmsg_first(m); /* identity */
        f = zmsg_next(m);
        assert_int_equal(zframe_size(f), 0);
        f = zmsg_next(m);
        assert_true(zframe_streq(f, RPC_PROTO_WORKER));
        f = zmsg_next(m);
        assert_int_equal(zframe_size(f), 1);
        *cmd = zframe_data(f)[0];
        if (*cmd != RPC_W_HEARTBEAT)
            return m;
        zmsg_destroy(&m);
    }
}

/* Send REQUEST [tag][rid][deadline][envelope of method + pad bytes] to identity id. */
static void s_to_worker(zsock_t *router, zframe_t *id, const char *tag, const char *rid,
                        int64_t deadline, const char *method, size_t pad)
{
    Lz__Envelope env = LZ__ENVELOPE__INIT;
    env.method = (char *)method;
    env.request_id = (char *)rid;
    uint8_t *data = calloc(1, pad + 1);
    if (pad) {
        env.has_payload = 1;
        env.payload.data = data;
        env.payload.len = pad;
    }
    size_t len;
    uint8_t *buf = rpc_envelope_pack(&env, &len);
    char dl[24];
    snprintf(dl, sizeof dl, "%lld", (long long)deadline);
    uint8_t cmd = RPC_W_REQUEST;
    zmsg_t *m = zmsg_new();
    zmsg_append(m, &(zframe_t *){zframe_dup(id)});
    zmsg_addmem(m, "", 0);
    zmsg_addstr(m, RPC_PROTO_WORKER);
    zmsg_addmem(m, &cmd, 1);
    zmsg_addstr(m, tag);
    zmsg_addstr(m, rid);
    zmsg_addstr(m, dl);
    zmsg_addmem(m, buf, len);
    assert_int_equal(zmsg_send(&m, router), 0);
    free(buf);
    free(data);
}

/* Receive a REPLY; check its tag; return its envelope (NULL when the frame is empty). */
static Lz__Envelope *s_reply(zsock_t *router, const char *tag, bool *empty)
{
    uint8_t cmd = 0;
    zmsg_t *m = s_from_worker(router, &cmd);
    assert_non_null(m);
    assert_int_equal(cmd, RPC_W_REPLY);
    assert_int_equal(zmsg_size(m), 6);
    zframe_t *t = zmsg_next(m);
    assert_true(zframe_streq(t, tag));
    zframe_t *e = zmsg_next(m);
    *empty = zframe_size(e) == 0;
    Lz__Envelope *env =
        *empty ? NULL : rpc_envelope_unpack(zframe_data(e), zframe_size(e), RPC_FRAME_MAX_DEFAULT);
    if (!*empty)
        assert_non_null(env);
    zmsg_destroy(&m);
    return env;
}

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_worker_protocol(void **state)
{
    (void)state;
    zsock_t *router = zsock_new(ZMQ_ROUTER);
    assert_non_null(router);
    assert_int_equal(zsock_bind(router, S_WEP), 0);
    zsock_set_rcvtimeo(router, 3000);
    s_wctx_t ctx = {0};
    rpc_worker_t *w = rpc_worker_new(S_WEP, "unit", s_methods, 2, &ctx, 3);
    assert_non_null(w);
    rpc_worker_set_heartbeat(w, 200);
    rpc_worker_set_frame_max(w, 1024);
    rpc_worker_set_batch(w, 3, 150);
    rpc_worker_set_timer(w, 20, s_tick);
    pthread_t wt;
    pthread_create(&wt, NULL, s_worker_thread, w);

    /* READY [service][credit][heartbeat] */
    uint8_t cmd = 0;
    zmsg_t *m = s_from_worker(router, &cmd);
    assert_non_null(m);
    assert_int_equal(cmd, RPC_W_READY);
    assert_int_equal(zmsg_size(m), 7);
    zframe_t *id = zframe_dup(zmsg_first(m));
    zmsg_next(m);
    zmsg_next(m);
    zmsg_next(m);
    assert_true(zframe_streq(zmsg_next(m), "unit"));
    assert_true(zframe_streq(zmsg_next(m), "3"));
    assert_true(zframe_streq(zmsg_next(m), "200"));
    zmsg_destroy(&m);

    int64_t later = s_now_ms() + 5000;
    bool empty;
    /* ping: answered by the worker itself */
    s_to_worker(router, id, "t1", "r1", later, "ping", 0);
    Lz__Envelope *r = s_reply(router, "t1", &empty);
    assert_string_equal(r->request_id, "r1");
    assert_string_equal(r->service, "unit");
    assert_true(r->has_status);
    assert_int_equal(r->status, LZ__STATUS__OK);
    Lz__PingReply *pr = (Lz__PingReply *)rpc_unpack(r, &lz__ping_reply__descriptor);
    assert_non_null(pr);
    assert_string_equal(pr->service, "unit");
    assert_non_null(pr->build); /* LZ_BUILD of the library, which may be older than ours */
    assert_true(pr->build[0] != '\0');
    assert_int_equal(pr->pid, getpid());
    assert_true(pr->has_uptime_s);
    protobuf_c_message_free_unpacked(&pr->base, NULL);
    rpc_envelope_free(&r);

    /* a method not in the table */
    s_to_worker(router, id, "t2", "r2", later, "nope", 0);
    r = s_reply(router, "t2", &empty);
    assert_int_equal(r->status, LZ__STATUS__NOT_FOUND);
    assert_string_equal(r->reason, "unknown method nope");
    rpc_envelope_free(&r);

    /* a handler's error travels whole */
    s_to_worker(router, id, "t3", "r3", later, "fail", 0);
    r = s_reply(router, "t3", &empty);
    assert_string_equal(r->request_id, "r3");
    assert_int_equal(r->status, LZ__STATUS__CONFLICT);
    assert_string_equal(r->field, "name");
    assert_string_equal(r->reason, "r3 already taken");
    rpc_envelope_free(&r);

    /* over the worker's frame limit: refused unread */
    s_to_worker(router, id, "t4", "r4", later, "fail", 2000);
    r = s_reply(router, "t4", &empty);
    assert_string_equal(r->request_id, "r4");
    assert_int_equal(r->status, LZ__STATUS__TOO_LARGE);
    rpc_envelope_free(&r);

    /* past its deadline: dropped, and the empty REPLY returns the credit */
    s_to_worker(router, id, "t5", "r5", s_now_ms() - 10, "fail", 0);
    r = s_reply(router, "t5", &empty);
    assert_true(empty);
    assert_null(r);

    /* a batch method: 3 at once go together, a lone one after the wait */
    s_to_worker(router, id, "b1", "rb1", later, "sum", 0);
    s_to_worker(router, id, "b2", "rb2", later, "sum", 0);
    s_to_worker(router, id, "b3", "rb3", later, "sum", 0);
    const char *tags[] = {"b1", "b2", "b3"};
    for (int i = 0; i < 3; i++) {
        r = s_reply(router, tags[i], &empty);
        assert_int_equal(r->status, LZ__STATUS__CREATED);
        rpc_envelope_free(&r);
    }
    assert_int_equal(atomic_load(&ctx.batches), 1);
    assert_int_equal(atomic_load(&ctx.largest), 3);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    s_to_worker(router, id, "b4", "rb4", later, "sum", 0);
    r = s_reply(router, "b4", &empty);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long waited = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    assert_true(waited >= 140 && waited < 1000);
    assert_int_equal(atomic_load(&ctx.batches), 2);
    rpc_envelope_free(&r);
    assert_true(atomic_load(&ctx.ticks) > 0);

    /* the broker goes silent: after 3 x 200 ms the worker says READY on a new socket */
    m = s_from_worker(router, &cmd);
    assert_non_null(m);
    assert_int_equal(cmd, RPC_W_READY);
    assert_false(zframe_eq(zmsg_first(m), id));
    zframe_destroy(&id);
    id = zframe_dup(zmsg_first(m));
    zmsg_destroy(&m);

    /* stop: the worker says DISCONNECT and its loop returns 0 */
    rpc_worker_stop(w);
    m = s_from_worker(router, &cmd);
    assert_non_null(m);
    assert_int_equal(cmd, RPC_W_DISCONNECT);
    zmsg_destroy(&m);
    pthread_join(wt, NULL);
    rpc_worker_destroy(&w);
    assert_null(w);
    zframe_destroy(&id);
    zsock_destroy(&router);
}

/* ---- the client against a scripted broker ----------------------------- */

typedef struct {
    zsock_t *router;
    int attempts;
    bool frames_ok;
    bool new_identity;
} s_fake_t;

static void *s_fake_broker(void *arg)
{
    s_fake_t *f = arg;
    zframe_t *first_id = NULL;
    /* attempt 1 goes unanswered; attempt 2 gets a stray reply, then the real one */
    for (int attempt = 1; attempt <= 2; attempt++) {
        zmsg_t *m = zmsg_recv(f->router);
        if (!m)
            break;
        f->attempts++;
        zframe_t *id = zmsg_pop(m);
        char *empty = zmsg_popstr(m), *proto = zmsg_popstr(m), *service = zmsg_popstr(m);
        char *rid = zmsg_popstr(m), *deadline = zmsg_popstr(m);
        zframe_t *envf = zmsg_pop(m);
        Lz__Envelope *env =
            envf ? rpc_envelope_unpack(zframe_data(envf), zframe_size(envf), 65536) : NULL;
        char dl[24] = "";
        if (env)
            snprintf(dl, sizeof dl, "%lld", (long long)env->deadline_ms);
        bool ok = empty && !*empty && proto && !strcmp(proto, RPC_PROTO_CLIENT) && service &&
                  !strcmp(service, "svc") && rid && env && env->request_id &&
                  !strcmp(rid, env->request_id) && deadline && !strcmp(deadline, dl) &&
                  env->method && !strcmp(env->method, "m") && zmsg_size(m) == 0;
        f->frames_ok = (attempt == 1 ? true : f->frames_ok) && ok;
        if (attempt == 1) {
            first_id = zframe_dup(id);
        } else {
            f->new_identity = first_id && !zframe_eq(first_id, id);
            const char *ids[] = {"someone-else", rid};
            for (int i = 0; i < 2; i++) {
                Lz__Envelope out = LZ__ENVELOPE__INIT;
                out.request_id = (char *)ids[i];
                out.has_status = 1;
                out.status = LZ__STATUS__OK;
                out.service = "svc";
                size_t len;
                uint8_t *buf = rpc_envelope_pack(&out, &len);
                zmsg_t *rep = zmsg_new();
                zmsg_append(rep, &(zframe_t *){zframe_dup(id)});
                zmsg_addmem(rep, "", 0);
                zmsg_addstr(rep, RPC_PROTO_CLIENT);
                zmsg_addstr(rep, "svc");
                zmsg_addmem(rep, buf, len);
                zmsg_send(&rep, f->router);
                free(buf);
            }
        }
        rpc_envelope_free(&env);
        zframe_destroy(&envf);
        zstr_free(&empty);
        zstr_free(&proto);
        zstr_free(&service);
        zstr_free(&rid);
        zstr_free(&deadline);
        zframe_destroy(&id);
        zmsg_destroy(&m);
    }
    zframe_destroy(&first_id);
    return NULL;
}

static void test_client_protocol(void **state)
{
    (void)state;
    s_fake_t fake = {0};
    fake.router = zsock_new(ZMQ_ROUTER);
    assert_int_equal(zsock_bind(fake.router, S_CEP), 0);
    zsock_set_rcvtimeo(fake.router, 3000);
    pthread_t ft;
    pthread_create(&ft, NULL, s_fake_broker, &fake);

    rpc_client_t *c = rpc_client_new(S_CEP);
    assert_non_null(c);
    rpc_client_set_retry_ms(c, 100);
    Lz__Envelope req = LZ__ENVELOPE__INIT;
    req.method = "m";
    req.request_id = "call-1";
    Lz__Envelope *r = rpc_client_call(c, "svc", &req, 3000);
    pthread_join(ft, NULL);
    assert_non_null(r);
    assert_string_equal(r->request_id, "call-1"); /* the stray reply was dropped */
    rpc_envelope_free(&r);
    assert_int_equal(fake.attempts, 2);
    assert_true(fake.frames_ok);
    assert_true(fake.new_identity); /* resent over a fresh socket */

    /* nobody answers: NULL at the deadline, not later */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    r = rpc_client_call(c, "svc", &req, 300);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    assert_null(r);
    assert_true(ms >= 290 && ms < 500);

    /* bad arguments */
    assert_null(rpc_client_call(c, "", &req, 100));
    assert_null(rpc_client_call(c, "svc", NULL, 100));
    assert_null(rpc_client_new(NULL));

    rpc_client_destroy(&c);
    assert_null(c);
    rpc_client_destroy(&c);
    zsock_destroy(&fake.router);
}

int main(void)
{
    log_init("test_rpc", LZ_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_envelope_round_trip), cmocka_unit_test(test_envelope_unpack_refuses),
        cmocka_unit_test(test_unpack_payload),      cmocka_unit_test(test_reply_helpers),
        cmocka_unit_test(test_worker_protocol),     cmocka_unit_test(test_client_protocol),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
