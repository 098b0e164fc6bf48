/*
 * gateway_routes_notifier.c - the notifier service's routes: notifications, warnings, message
 * templates, SMS delivery receipts.
 *
 * Rows as in gateway_routes.h; RPC rows use gateway_routes.c's
 * gw_rpc_handler.  The receipt callback is
 * public (roles 0): the provider cannot hold a bearer token, so its URL
 * carries ?secret=...&request_id=... and the notifier checks the secret;
 * its body (a JSON array) is passed raw, as csv routes pass theirs.
 */
#include "gateway_auth.h"
#include "gateway_routes.h"
#include "gateway_server.h"
#include "notify.pb-c.h"

#define NOTIFIER(meth, pat, who, rpc, req, rep)                                                    \
    {                                                                                              \
        .method = (meth), .pattern = (pat), .roles = (who), .kind = GW_RPC,                        \
        .handler = gw_rpc_handler, .service = "notifier", .rpc_method = (rpc), .request = (req),   \
        .reply = (rep)                                                                             \
    }

const gw_route_t gw_routes_notifier[] = {
    NOTIFIER("POST", "/api/v1/warnings", GW_ROLE_ADMIN | GW_ROLE_REGULATOR,
             "notifier.issue_warning", &lz__issue_warning_request__descriptor,
             &lz__issue_warning_reply__descriptor),
    NOTIFIER("POST", "/api/v1/warnings/{id}/reply", GW_ROLE_ADMIN | GW_ROLE_BUSINESS,
             "notifier.reply_warning", &lz__reply_warning_request__descriptor,
             &lz__reply_warning_reply__descriptor),
    NOTIFIER("GET", "/api/v1/notifications",
             GW_ROLE_ADMIN | GW_ROLE_REGULATOR | GW_ROLE_CADRE | GW_ROLE_BUSINESS,
             "notifier.list_notifications", &lz__list_notifications_request__descriptor,
             &lz__notification_list__descriptor),
    NOTIFIER("GET", "/api/v1/templates/{name}", GW_ROLE_ADMIN | GW_ROLE_REGULATOR,
             "notifier.get_template", &lz__template_request__descriptor, &lz__template__descriptor),
    NOTIFIER("PUT", "/api/v1/templates/{name}", GW_ROLE_ADMIN, "notifier.put_template",
             &lz__template_request__descriptor, &lz__template__descriptor),
    {.method = "POST",
     .pattern = "/api/v1/callbacks/sms",
     .roles = 0,
     .kind = GW_RPC,
     .handler = gw_rpc_handler,
     .service = "notifier",
     .rpc_method = "notifier.sms_receipt",
     .request = &lz__sms_receipt_request__descriptor,
     .reply = &lz__sms_receipt_reply__descriptor,
     .csv = true},
};
const size_t gw_routes_notifier_n = sizeof gw_routes_notifier / sizeof gw_routes_notifier[0];
