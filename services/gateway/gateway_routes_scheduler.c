/*
 * gateway_routes_scheduler.c - the scheduler service's routes: tasks, statistics, escalation
 * ladders, letters.
 *
 * Rows as in gateway_routes.h; RPC rows use gateway_routes.c's gw_rpc_handler.
 * A letter is JSON, or with ?format=html a printable page (every value
 * HTML-escaped) rendered here from the same RPC's answer.
 */
#include "gateway_auth.h"
#include "gateway_routes.h"
#include "gateway_server.h"
#include "buf.h"
#include "mem.h"
#include "pbjson.h"
#include "rpc.h"
#include "scheduler.pb-c.h"

#include <string.h>

/* Call the route's method with the request built from the call; the reply envelope or NULL
 * (answer set). Caller frees the envelope. */
static Lz__Envelope *s_call(gw_call_t *call)
{
    const gw_route_t *r = call->route;
    ProtobufCMessage *m = gw_rpc_request(call);
    if (!m)
        return NULL;
    const gw_settings_t *set = gw_server_settings(call->server);
    Lz__Envelope *rep =
        rpc_mux_call_msg(gw_server_rpc(call->server), r->service, r->rpc_method, call->request_id,
                         call->ident ? &call->caller : NULL, m, set->rpc_timeout_ms);
    pbjson_free(&m);
    if (!rep)
        gw_reply_error(call, 503, "unavailable", NULL, "%s did not answer in time", r->service);
    return rep;
}

/* Append s to b with &, <, >, " and ' escaped. */
static void s_esc(buf_t *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&':
            buf_append_str(b, "&amp;");
            break;
        case '<':
            buf_append_str(b, "&lt;");
            break;
        case '>':
            buf_append_str(b, "&gt;");
            break;
        case '"':
            buf_append_str(b, "&quot;");
            break;
        case '\'':
            buf_append_str(b, "&#39;");
            break;
        case '\n':
            buf_append_str(b, "<br>\n");
            break;
        default:
            buf_putc(b, *s);
        }
    }
}

static const char *s_query(const gw_call_t *call, const char *key)
{
    for (size_t i = 0; i < call->nquery; i++)
        if (!strcmp(call->query[i].key, key))
            return call->query[i].value;
    return NULL;
}

/* GET /api/v1/letters/{id}[?format=html] */
static void s_letter(gw_call_t *call)
{
    const char *format = s_query(call, "format");
    if (format && strcmp(format, "html") && strcmp(format, "json")) {
        gw_reply_error(call, 400, "invalid_field", "format", "format is json or html");
        return;
    }
    Lz__Envelope *rep = s_call(call);
    if (!rep)
        return;
    Lz__Letter *l = NULL;
    if (!format || strcmp(format, "html") || rep->status != LZ__STATUS__OK ||
        !(l = (Lz__Letter *)rpc_unpack(rep, &lz__letter__descriptor))) {
        gw_rpc_answer(call, rep);
        rpc_envelope_free(&rep);
        return;
    }
    buf_t *b = buf_new(1024 * 1024);
    buf_append_str(b,
                   "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>");
    s_esc(b, l->number);
    buf_append_str(b, "</title><style>body{font-family:serif;max-width:40em;margin:3em auto;"
                      "line-height:1.8}h1{text-align:center}.no{text-align:center}"
                      "dl{margin-top:2em}dt{font-weight:bold}</style></head><body>\n<h1>");
    s_esc(b, l->title);
    buf_append_str(b, "</h1>\n<p class=\"no\">");
    s_esc(b, l->number);
    buf_append_str(b, "</p>\n<div class=\"body\">");
    s_esc(b, l->body);
    buf_append_str(b, "</div>\n<dl><dt>收件人</dt><dd>");
    s_esc(b, l->recipient);
    buf_append_str(b, "</dd><dt>签发单位</dt><dd>");
    s_esc(b, l->issuer);
    buf_append_str(b, "</dd><dt>期限</dt><dd>");
    s_esc(b, l->deadline);
    buf_append_str(b, "</dd><dt>日期</dt><dd>");
    s_esc(b, l->created_at);
    buf_append_str(b, "</dd></dl>\n</body></html>\n");
    gw_reply_json(call, 200, NULL);
    call->text = buf_steal(b, &call->text_len);
    call->content_type = "text/html; charset=utf-8";
    buf_destroy(&b);
    protobuf_c_message_free_unpacked(&l->base, NULL);
    rpc_envelope_free(&rep);
}

#define SCHED(meth, pat, who, rpc, req, rep)                                                       \
    {                                                                                              \
        .method = (meth), .pattern = (pat), .roles = (who), .kind = GW_RPC,                        \
        .handler = gw_rpc_handler, .service = "scheduler", .rpc_method = (rpc), .request = (req),  \
        .reply = (rep)                                                                             \
    }

const gw_route_t gw_routes_scheduler[] = {
    SCHED("POST", "/api/v1/admin/sweep", GW_ROLE_ADMIN, "scheduler.sweep",
          &lz__sweep_request__descriptor, &lz__sweep_reply__descriptor),
    SCHED("GET", "/api/v1/tasks",
          GW_ROLE_ADMIN | GW_ROLE_REGULATOR | GW_ROLE_CADRE | GW_ROLE_BUSINESS,
          "scheduler.list_tasks", &lz__list_tasks_request__descriptor, &lz__task_list__descriptor),
    SCHED("GET", "/api/v1/stats/ledgers", GW_ROLE_ADMIN | GW_ROLE_REGULATOR,
          "scheduler.ledger_stats", &lz__ledger_stats_request__descriptor,
          &lz__ledger_stats__descriptor),
    SCHED("GET", "/api/v1/ladders/{name}", GW_ROLE_ADMIN | GW_ROLE_REGULATOR,
          "scheduler.get_ladder", &lz__get_ladder_request__descriptor, &lz__ladder__descriptor),
    SCHED("PUT", "/api/v1/ladders/{name}", GW_ROLE_ADMIN | GW_ROLE_REGULATOR,
          "scheduler.put_ladder", &lz__ladder__descriptor, &lz__ladder__descriptor),
    SCHED("GET", "/api/v1/letters",
          GW_ROLE_ADMIN | GW_ROLE_REGULATOR | GW_ROLE_CADRE | GW_ROLE_BUSINESS,
          "scheduler.list_letters", &lz__list_letters_request__descriptor,
          &lz__letter_list__descriptor),
    {.method = "GET",
     .pattern = "/api/v1/letters/{id}",
     .roles = GW_ROLE_ADMIN | GW_ROLE_REGULATOR | GW_ROLE_CADRE | GW_ROLE_BUSINESS,
     .kind = GW_LOCAL,
     .handler = s_letter,
     .service = "scheduler",
     .rpc_method = "scheduler.get_letter",
     .request = &lz__get_letter_request__descriptor,
     .reply = &lz__letter__descriptor},
};
const size_t gw_routes_scheduler_n = sizeof gw_routes_scheduler / sizeof gw_routes_scheduler[0];
