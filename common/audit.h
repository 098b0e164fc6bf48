/*
 * audit.h - the append-only audit log: who did what, when.
 *
 * Every write appends one entry in the same transaction as the change, so
 * the log holds exactly the changes that were committed.
 */
#ifndef LZ_AUDIT_H
#define LZ_AUDIT_H

#include "envelope.pb-c.h"
#include "pg.h"

/*
 * Append an entry: actor from caller (NULL means the system itself), action
 * like "token.create", the object it touched ("api_tokens/7"), the request
 * id and a JSON detail (or NULL).  0 or -1.
 */
int audit_write(pg_t *pg, const Lz__Caller *caller, const char *action, const char *object,
                const char *request_id, const char *detail_json);

#endif
