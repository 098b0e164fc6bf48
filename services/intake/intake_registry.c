/*
 * intake_registry.c - registry methods: regions (businesses, cadres and
 * assignments follow the same pattern).
 *
 * Regions are public reference data (administrative divisions): any
 * authenticated caller may read any region.
 */
#include "intake_server.h"
#include "log.h"
#include "region.h"
#include "registry.pb-c.h"

void intake_get_region(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep)
{
    intake_t *self = ctx;
    Lz__GetRegionRequest *in =
        (Lz__GetRegionRequest *)rpc_unpack(req, &lz__get_region_request__descriptor);
    if (!in) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, NULL, "request does not parse");
        return;
    }
    if (!in->code) {
        rpc_reply_error(rep, LZ__STATUS__MISSING_FIELD, "code", "code is required");
        goto done;
    }
    if (!region_code_valid(in->code)) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "code",
                        "code must be a 12-digit region code");
        goto done;
    }
    const char *params[] = {in->code};
    PGresult *res = pg_query_prepared(self->pg, "get_region",
                                      "SELECT code, name, level, parent_code FROM regions "
                                      "WHERE code = $1",
                                      1, params);
    if (!res) {
        rpc_reply_error(rep, LZ__STATUS__UNAVAILABLE, NULL, "database unavailable");
        goto done;
    }
    if (PQntuples(res) == 0) {
        rpc_reply_error(rep, LZ__STATUS__NOT_FOUND, "code", "no region %s", in->code);
    } else {
        Lz__Region out = LZ__REGION__INIT;
        out.code = (char *)pg_str(res, 0, 0);
        out.name = (char *)pg_str(res, 0, 1);
        out.level = (char *)pg_str(res, 0, 2);
        out.parent_code = (char *)pg_str(res, 0, 3);
        rpc_reply_ok(rep, &out.base);
    }
    pg_free(&res);
done:
    protobuf_c_message_free_unpacked(&in->base, NULL);
}
