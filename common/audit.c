/*
 * audit.c - the append-only audit log.
 */
#include "audit.h"

#include <stdio.h>

int audit_write(pg_t *pg, const Lz__Caller *caller, const char *action, const char *object,
                const char *request_id, const char *detail_json)
{
    char id[24] = "";
    const char *role = "system";
    const char *name = NULL;
    if (caller) {
        role = caller->role ? caller->role : "unknown";
        name = caller->name;
        if (caller->has_token_id)
            snprintf(id, sizeof id, "%lld", (long long)caller->token_id);
    }
    const char *params[] = {role, id[0] ? id : NULL, name, action, object, request_id, detail_json};
    PGresult *res = pg_query_prepared(pg, "audit_write",
                                      "INSERT INTO audit_log (actor_role, actor_id, actor_name, "
                                      "action, object, request_id, detail) "
                                      "VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)",
                                      7, params);
    if (!res)
        return -1;
    pg_free(&res);
    return 0;
}
