/*
 * gateway_auth.h - bearer tokens to identities, with a short per-process cache.
 *
 * A request carries "Authorization: Bearer lz_..."; the gateway hashes the
 * token (SHA-256) and looks the hash up in api_tokens (common/token.h).  A
 * found identity is cached for ttl seconds, keyed by the hash, never by the
 * token text; unknown tokens are not cached.  Revoking a token through this
 * gateway drops it from this process's cache at once; other gateway
 * processes keep it until their entry expires (at most ttl seconds).
 *
 * Roles are bits so a route can allow several: GW_ROLE_ADMIN | ...
 * Time is a parameter (monotonic milliseconds); only the server loop reads
 * the clock.
 */
#ifndef LZ_GATEWAY_AUTH_H
#define LZ_GATEWAY_AUTH_H

#include "envelope.pb-c.h"
#include "pg.h"
#include "token.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GW_ROLE_ADMIN     (1u << 0)
#define GW_ROLE_REGULATOR (1u << 1)
#define GW_ROLE_CADRE     (1u << 2)
#define GW_ROLE_INSPECTOR (1u << 3)
#define GW_ROLE_BUSINESS  (1u << 4)
#define GW_ROLES_ALL                                                                               \
    (GW_ROLE_ADMIN | GW_ROLE_REGULATOR | GW_ROLE_CADRE | GW_ROLE_INSPECTOR | GW_ROLE_BUSINESS)

/* Returns the bit of a role name, or 0 for a name that is not a role. */
unsigned gw_role_bit(const char *role);
/* Returns true if role is one of the roles in the mask. */
bool gw_role_allowed(unsigned roles, const char *role);

/*
 * Take the token out of an Authorization header value ("Bearer <token>",
 * scheme case-insensitive, one or more spaces).  Returns 0 with the token
 * copied into out, or -1 when the header is missing, of another scheme,
 * empty, or the token does not fit in len.
 */
int gw_auth_bearer(const char *header, char *out, size_t len);

typedef struct gw_auth_s gw_auth_t;

/* Return a cache keeping identities ttl_s seconds (0: no caching) in at most
 * slots entries (rounded up to a power of two); caller destroys it. */
gw_auth_t *gw_auth_new(int ttl_s, size_t slots);
void gw_auth_destroy(gw_auth_t **self_p);

/*
 * Who token speaks for: the cache when it holds a live entry, else
 * token_lookup on pg (which may be NULL when the database is unreachable).
 * Returns 1 and fills out, 0 for an unknown or revoked token, -1 when the
 * database could not be asked.  Safe from any thread.
 */
int gw_auth_identify(gw_auth_t *self, pg_t *pg, const char *token, int64_t now_ms,
                     token_identity_t *out);

/* The cache alone (for tests and for identify): get returns true and fills
 * out for a live entry; put stores ident under hash until now_ms + ttl. */
bool gw_auth_cache_get(gw_auth_t *self, const uint8_t hash[TOKEN_HASH_LEN], int64_t now_ms,
                       token_identity_t *out);
void gw_auth_cache_put(gw_auth_t *self, const uint8_t hash[TOKEN_HASH_LEN],
                       const token_identity_t *ident, int64_t now_ms);
/* Drop every cached entry of token id (after a revocation). */
void gw_auth_forget(gw_auth_t *self, int64_t token_id);

/*
 * Fill out (initialised here) from ident: role, token_id, name, and the
 * scope fields that are set.  The strings point into ident: out is valid
 * while ident is.
 */
void gw_caller_from_identity(const token_identity_t *ident, Lz__Caller *out);

/* Returns true if the identity may see region code (common/scope.h rules). */
bool gw_auth_region_visible(const token_identity_t *ident, const char *code);

#endif
