/*
 * token.h - API bearer tokens: made at random, stored only as hashes.
 *
 * A token is "lz_" followed by 43 characters of URL-safe base64 (32 random
 * bytes from libsodium).  The database keeps its SHA-256 only, so a leaked
 * table does not leak tokens; a token is shown once, when it is made.
 */
#ifndef LZ_TOKEN_H
#define LZ_TOKEN_H

#include "pg.h"

#include <stdbool.h>
#include <stdint.h>

#define TOKEN_TEXT_MAX 64
#define TOKEN_HASH_LEN 32

/* Who a token speaks for. */
typedef struct {
    int64_t id;
    char role[16]; /* admin, regulator, cadre, inspector, business */
    char name[201];
    char region[13];     /* "" when none */
    int64_t business_id; /* 0 when none */
    int64_t cadre_id;
    int64_t inspector_id;
} token_identity_t;

/* Fill out with a new random token text; 0 or -1 (libsodium failed to start). */
int token_generate(char out[TOKEN_TEXT_MAX]);
/* The SHA-256 of a token's text. */
void token_hash(const char *token, uint8_t out[TOKEN_HASH_LEN]);
/* True when role is one of the five roles. */
bool token_role_valid(const char *role);

/*
 * Make a token for ident (id ignored) and store its hash.  Returns 0 and the
 * token text in out (shown once) and its id in ident->id, or -1 with a
 * lower-case reason in err (bad role or scope, database failure).  Runs in
 * the caller's transaction when there is one.
 */
int token_create(pg_t *pg, token_identity_t *ident, char out[TOKEN_TEXT_MAX], char *err,
                 size_t errlen);
/* Look up a presented token; 1 found (ident filled), 0 unknown or revoked, -1 database failure. */
int token_lookup(pg_t *pg, const char *token, token_identity_t *ident);
/* Revoke by id; 1 revoked, 0 no such live token, -1 failure. */
int token_revoke(pg_t *pg, int64_t id);

#endif
