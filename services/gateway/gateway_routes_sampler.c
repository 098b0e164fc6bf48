/*
 * gateway_routes_sampler.c - the sampler service's routes: quarterly spot-check plans and
 * inspections.
 *
 * Rows as in gateway_routes.h; RPC rows use gateway_routes.c's gw_rpc_handler.  The gateway
 * joins this table after its own (gw_routes).  The published results have a local handler
 * that answers JSON or, with Accept: text/csv or ?format=csv, the CSV the sampler renders;
 * /public needs no token (the sampler refuses anonymous callers unless
 * LZ_SAMPLER_PUBLIC_ANONYMOUS allows them) but passes one on when given; /results is the
 * same for token holders only.  Which plans a caller sees is the sampler's decision:
 * business and cadre tokens get 404 for every plan.
 */
#include "gateway_auth.h"
#include "gateway_routes.h"
#include "gateway_server.h"
#include "mem.h"
#include "pbjson.h"
#include "rpc.h"
#include "sampler.pb-c.h"

#include <stdlib.h>
#include <string.h>

#define ALL GW_ROLES_ALL

/* GET /api/v1/sampling/plans/{id}/public and /results: JSON, or CSV with ?format=csv. */
static void s_public(gw_call_t *call)
{
    const char *id = gw_param(&call->params, "id");
    char *end = NULL;
    long long v = id ? strtoll(id, &end, 10) : 0;
    if (!id || *end || v <= 0) {
        gw_reply_error(call, 404, "not_found", "id", "no plan %s", id ? id : "");
        return;
    }
    const char *format = NULL;
    for (size_t i = 0; i < call->nquery && i < GW_QUERY_MAX; i++) {
        if (!strcmp(call->query[i].key, "format"))
            format = call->query[i].value;
        else {
            gw_reply_error(call, 400, "invalid_field", call->query[i].key,
                           "%s is not a known field", call->query[i].key);
            return;
        }
    }
    if (!format && gw_wants_csv(call))
        format = "csv";
    if (format && strcmp(format, "json") != 0 && strcmp(format, "csv") != 0) {
        gw_reply_error(call, 400, "invalid_field", "format", "format must be json or csv");
        return;
    }
    Lz__PublicPlanRequest req = LZ__PUBLIC_PLAN_REQUEST__INIT;
    req.has_id = 1;
    req.id = v;
    req.format = (char *)format;
    const gw_settings_t *set = gw_server_settings(call->server);
    Lz__Envelope *rep = rpc_mux_call_msg(
        gw_server_rpc(call->server), "sampler", "sampler.public_plan", call->request_id,
        call->ident ? &call->caller : NULL, &req.base, set->rpc_timeout_ms);
    if (!rep) {
        gw_reply_error(call, 503, "unavailable", NULL, "sampler did not answer in time");
        return;
    }
    Lz__PublicPlan *p = NULL;
    if (rep->has_status && rep->status == LZ__STATUS__OK)
        p = (Lz__PublicPlan *)rpc_unpack(rep, &lz__public_plan__descriptor);
    if (p && p->csv) {
        gw_reply_json(call, 200, NULL);
        call->text = xstrdup(p->csv);
        call->text_len = strlen(p->csv);
        call->content_type = "text/csv; charset=utf-8";
    } else if (p) {
        gw_reply_json(call, 200, pbjson_from_message(&p->base));
    } else {
        gw_rpc_answer(call, rep); /* an error, or an answer that does not parse */
    }
    if (p)
        protobuf_c_message_free_unpacked(&p->base, NULL);
    rpc_envelope_free(&rep);
}

const gw_route_t gw_routes_sampler[] = {
    {"POST", "/api/v1/sampling/plans", GW_ROLE_ADMIN | GW_ROLE_REGULATOR, GW_RPC, gw_rpc_handler,
     "sampler", "sampler.create_plan", &lz__create_plan_request__descriptor, &lz__plan__descriptor,
     0, 0, false},
    {"GET", "/api/v1/sampling/plans", GW_ROLE_ADMIN | GW_ROLE_REGULATOR | GW_ROLE_INSPECTOR, GW_RPC,
     gw_rpc_handler, "sampler", "sampler.list_plans", &lz__list_plans_request__descriptor,
     &lz__list_plans_reply__descriptor, 0, 0, false},
    {"GET", "/api/v1/sampling/plans/{plan_id}/businesses/{business_id}/brief", ALL, GW_RPC,
     gw_rpc_handler, "sampler", "sampler.inspection_brief",
     &lz__inspection_brief_request__descriptor, &lz__inspection_brief__descriptor, 0, 0, false},
    {"GET", "/api/v1/sampling/plans/{id}", ALL, GW_RPC, gw_rpc_handler, "sampler",
     "sampler.get_plan", &lz__get_plan_request__descriptor, &lz__plan__descriptor, 0, 0, false},
    {"GET", "/api/v1/sampling/plans/{id}/verify", ALL, GW_RPC, gw_rpc_handler, "sampler",
     "sampler.verify_plan", &lz__verify_plan_request__descriptor,
     &lz__verify_plan_reply__descriptor, 0, 0, false},
    {"GET", "/api/v1/sampling/plans/{id}/public", 0, GW_LOCAL, s_public, NULL, NULL, NULL, NULL, 0,
     0, false},
    {"GET", "/api/v1/sampling/plans/{id}/results", ALL, GW_LOCAL, s_public, NULL, NULL, NULL, NULL,
     0, 0, false},
    {"POST", "/api/v1/inspections", ALL, GW_RPC, gw_rpc_handler, "sampler",
     "sampler.record_inspection", &lz__record_inspection_request__descriptor,
     &lz__record_inspection_reply__descriptor, 0, 422, false},
    {"POST", "/api/v1/sampling/conflicts", GW_ROLE_ADMIN | GW_ROLE_REGULATOR | GW_ROLE_INSPECTOR,
     GW_RPC, gw_rpc_handler, "sampler", "sampler.declare_conflict",
     &lz__declare_conflict_request__descriptor, NULL, 0, 0, false},
};
const size_t gw_routes_sampler_n = sizeof gw_routes_sampler / sizeof gw_routes_sampler[0];
