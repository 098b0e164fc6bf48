/*
 * gateway_routes_scorer.c - the scorer service's routes: scores, rankings, red and notice lists.
 *
 * Rows as in gateway_routes.h (an RPC route needs only its row).  The
 * gateway joins this table after its own (gw_routes).  GET /lists/{kind}
 * is local: it calls scorer.list like any RPC route and, with
 * Accept: text/csv or ?format=csv, answers the list as text/csv instead of JSON.
 */
#include "buf.h"
#include "gateway_auth.h"
#include "gateway_routes.h"
#include "gateway_server.h"
#include "log.h"
#include "mem.h"
#include "pbjson.h"
#include "rpc.h"
#include "scorer.pb-c.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Append s to b as one CSV field (RFC 4180 quoting when needed). */
static void s_csv_field(buf_t *b, const char *s, bool last)
{
    s = s ? s : "";
    if (strpbrk(s, ",\"\r\n")) {
        buf_putc(b, '"');
        for (; *s; s++) {
            if (*s == '"')
                buf_putc(b, '"');
            buf_putc(b, *s);
        }
        buf_putc(b, '"');
    } else {
        buf_append_str(b, s);
    }
    buf_append_str(b, last ? "\r\n" : ",");
}

/* Return the list as CSV (caller frees), its length in *len. */
static char *s_list_csv(const Lz__ScoreList *l, size_t *len)
{
    buf_t *b = buf_new(64u * 1024 * 1024);
    buf_append_str(b, "kind,quarter,region,closed,subject,id,name,region_code,score,reasons,"
                      "reward_amount\r\n");
    for (size_t i = 0; i < l->n_items; i++) {
        const Lz__ListEntry *e = l->items[i];
        char id[24], score[32], reward[32] = "", reasons[1024] = "";
        snprintf(id, sizeof id, "%" PRId64, e->id);
        snprintf(score, sizeof score, "%.2f", e->score);
        if (e->has_reward_amount)
            snprintf(reward, sizeof reward, "%.2f", e->reward_amount);
        size_t off = 0;
        for (size_t k = 0; k < e->n_reasons && off < sizeof reasons; k++)
            off += (size_t)snprintf(reasons + off, sizeof reasons - off, "%s%s", k ? "; " : "",
                                    e->reasons[k]);
        s_csv_field(b, l->kind, false);
        s_csv_field(b, l->quarter, false);
        s_csv_field(b, l->region, false);
        s_csv_field(b, l->closed ? "true" : "false", false);
        s_csv_field(b, e->subject, false);
        s_csv_field(b, id, false);
        s_csv_field(b, e->name, false);
        s_csv_field(b, e->region_code, false);
        s_csv_field(b, score, false);
        s_csv_field(b, reasons, false);
        s_csv_field(b, reward, true);
    }
    char *out = buf_steal(b, len);
    buf_destroy(&b);
    return out;
}

/* Call the route's scorer method with the request built from the call;
 * the reply (caller frees), or NULL with an error answer set. */
static Lz__Envelope *s_call(gw_call_t *call)
{
    ProtobufCMessage *m = gw_rpc_request(call);
    if (!m)
        return NULL;
    const gw_settings_t *set = gw_server_settings(call->server);
    Lz__Envelope *rep = rpc_mux_call_msg(
        gw_server_rpc(call->server), "scorer", call->route->rpc_method, call->request_id,
        call->ident ? &call->caller : NULL, m, set->rpc_timeout_ms);
    pbjson_free(&m);
    if (!rep)
        gw_reply_error(call, 503, "unavailable", NULL, "scorer did not answer in time");
    return rep;
}

/* GET /api/v1/lists/{kind}: scorer.list, as JSON or CSV (Accept: text/csv or ?format=csv). */
static void s_list(gw_call_t *call)
{
    Lz__Envelope *rep = s_call(call);
    if (!rep)
        return;
    Lz__Status st = rep->has_status ? rep->status : LZ__STATUS__OK;
    if (!gw_wants_csv(call) || st != LZ__STATUS__OK) {
        gw_rpc_answer(call, rep);
        rpc_envelope_free(&rep);
        return;
    }
    Lz__ScoreList *l = (Lz__ScoreList *)rpc_unpack(rep, &lz__score_list__descriptor);
    rpc_envelope_free(&rep);
    if (!l) {
        gw_reply_error(call, 500, "internal", NULL, "the service's answer could not be read");
        return;
    }
    gw_reply_json(call, 200, NULL);
    call->text = s_list_csv(l, &call->text_len);
    call->content_type = "text/csv; charset=utf-8";
    protobuf_c_message_free_unpacked(&l->base, NULL);
}

const gw_route_t gw_routes_scorer[] = {
    {.method = "GET",
     .pattern = "/api/v1/scores/businesses/{id}",
     .roles = GW_ROLE_ADMIN | GW_ROLE_REGULATOR | GW_ROLE_CADRE | GW_ROLE_BUSINESS,
     .kind = GW_RPC,
     .handler = gw_rpc_handler,
     .service = "scorer",
     .rpc_method = "scorer.business_score",
     .request = &lz__business_score_request__descriptor,
     .reply = &lz__business_score__descriptor},
    {.method = "GET",
     .pattern = "/api/v1/scores/cadres/{id}",
     .roles = GW_ROLE_ADMIN | GW_ROLE_REGULATOR | GW_ROLE_CADRE,
     .kind = GW_RPC,
     .handler = gw_rpc_handler,
     .service = "scorer",
     .rpc_method = "scorer.cadre_score",
     .request = &lz__cadre_score_request__descriptor,
     .reply = &lz__cadre_score__descriptor},
    {.method = "GET",
     .pattern = "/api/v1/rankings",
     .roles = GW_ROLE_ADMIN | GW_ROLE_REGULATOR,
     .kind = GW_RPC,
     .handler = gw_rpc_handler,
     .service = "scorer",
     .rpc_method = "scorer.rankings",
     .request = &lz__rankings_request__descriptor,
     .reply = &lz__rankings__descriptor},
    {.method = "POST",
     .pattern = "/api/v1/admin/rankings",
     .roles = GW_ROLE_ADMIN,
     .kind = GW_RPC,
     .handler = gw_rpc_handler,
     .service = "scorer",
     .rpc_method = "scorer.compute_rankings",
     .request = &lz__compute_rankings_request__descriptor,
     .reply = &lz__compute_rankings_reply__descriptor},
    {.method = "POST",
     .pattern = "/api/v1/lists/red/rewards",
     .roles = GW_ROLE_ADMIN | GW_ROLE_REGULATOR,
     .kind = GW_RPC,
     .handler = gw_rpc_handler,
     .service = "scorer",
     .rpc_method = "scorer.record_reward",
     .request = &lz__record_reward_request__descriptor,
     .reply = &lz__record_reward_reply__descriptor},
    {.method = "GET",
     .pattern = "/api/v1/lists/{kind}",
     .roles = GW_ROLE_ADMIN | GW_ROLE_REGULATOR,
     .kind = GW_LOCAL,
     .handler = s_list,
     .service = "scorer",
     .rpc_method = "scorer.list",
     .request = &lz__list_request__descriptor,
     .reply = &lz__score_list__descriptor},
    {.method = "POST",
     .pattern = "/api/v1/lists/{kind}/close",
     .roles = GW_ROLE_ADMIN | GW_ROLE_REGULATOR,
     .kind = GW_RPC,
     .handler = gw_rpc_handler,
     .service = "scorer",
     .rpc_method = "scorer.close_list",
     .request = &lz__close_list_request__descriptor,
     .reply = &lz__close_list_reply__descriptor},
};
const size_t gw_routes_scorer_n = sizeof gw_routes_scorer / sizeof gw_routes_scorer[0];
