/*
 * token.c - API bearer tokens: made at random, stored only as hashes.
 */
#include "token.h"
#include "log.h"
#include "region.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

int token_generate(char out[TOKEN_TEXT_MAX])
{
    if (sodium_init() < 0) {
        log_error("could not initialise libsodium");
        return -1;
    }
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    memcpy(out, "lz_", 3);
    sodium_bin2base64(out + 3, TOKEN_TEXT_MAX - 3, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
    return 0;
}

void token_hash(const char *token, uint8_t out[TOKEN_HASH_LEN])
{
    crypto_hash_sha256(out, (const unsigned char *)token, strlen(token));
}

bool token_role_valid(const char *role)
{
    static const char *roles[] = {"admin", "regulator", "cadre", "inspector", "business"};
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (strcmp(role, roles[i]) == 0)
            return true;
    return false;
}

static void s_hex(const uint8_t *h, char out[2 * TOKEN_HASH_LEN + 3])
{
    memcpy(out, "\\x", 2);
    sodium_bin2hex(out + 2, 2 * TOKEN_HASH_LEN + 1, h, TOKEN_HASH_LEN);
}

int token_create(pg_t *pg, token_identity_t *ident, char out[TOKEN_TEXT_MAX], char *err,
                 size_t errlen)
{
    if (!token_role_valid(ident->role)) {
        snprintf(err, errlen, "role must be admin, regulator, cadre, inspector or business");
        return -1;
    }
    size_t namelen = strlen(ident->name);
    if (namelen < 1 || namelen > 200) {
        snprintf(err, errlen, "name must be 1 to 200 characters");
        return -1;
    }
    if (ident->region[0] && !region_code_valid(ident->region)) {
        snprintf(err, errlen, "region must be a 12-digit region code");
        return -1;
    }
    if (!strcmp(ident->role, "regulator") && !ident->region[0]) {
        snprintf(err, errlen, "a regulator token needs a region");
        return -1;
    }
    if (!strcmp(ident->role, "business") && ident->business_id <= 0) {
        snprintf(err, errlen, "a business token needs a business id");
        return -1;
    }
    if (!strcmp(ident->role, "cadre") && ident->cadre_id <= 0) {
        snprintf(err, errlen, "a cadre token needs a cadre id");
        return -1;
    }
    if (!strcmp(ident->role, "inspector") && ident->inspector_id <= 0) {
        snprintf(err, errlen, "an inspector token needs an inspector id");
        return -1;
    }
    if (token_generate(out) != 0) {
        snprintf(err, errlen, "could not make a random token");
        return -1;
    }
    uint8_t h[TOKEN_HASH_LEN];
    char hex[2 * TOKEN_HASH_LEN + 3], biz[24], cad[24], ins[24];
    token_hash(out, h);
    s_hex(h, hex);
    snprintf(biz, sizeof biz, "%lld", (long long)ident->business_id);
    snprintf(cad, sizeof cad, "%lld", (long long)ident->cadre_id);
    snprintf(ins, sizeof ins, "%lld", (long long)ident->inspector_id);
    const char *params[] = {hex,
                            ident->role,
                            ident->name,
                            ident->region[0] ? ident->region : NULL,
                            ident->business_id > 0 ? biz : NULL,
                            ident->cadre_id > 0 ? cad : NULL,
                            ident->inspector_id > 0 ? ins : NULL};
    PGresult *res = pg_query(pg,
                             "INSERT INTO api_tokens (token_hash, role, name, region_code, "
                             "business_id, cadre_id, inspector_id) "
                             "VALUES ($1::bytea, $2, $3, $4, $5, $6, $7) RETURNING id",
                             7, params);
    if (!res) {
        snprintf(err, errlen, "could not store the token: %s", pg_errmsg(pg));
        sodium_memzero(out, TOKEN_TEXT_MAX);
        return -1;
    }
    ident->id = pg_int(res, 0, 0);
    pg_free(&res);
    return 0;
}

static void s_copy(char *dst, size_t len, const char *src)
{
    snprintf(dst, len, "%s", src ? src : "");
}

int token_lookup(pg_t *pg, const char *token, token_identity_t *ident)
{
    size_t len = strlen(token);
    if (len < 4 || len >= TOKEN_TEXT_MAX || strncmp(token, "lz_", 3) != 0)
        return 0;
    uint8_t h[TOKEN_HASH_LEN];
    char hex[2 * TOKEN_HASH_LEN + 3];
    token_hash(token, h);
    s_hex(h, hex);
    const char *params[] = {hex};
    PGresult *res = pg_query_prepared(
        pg, "token_lookup",
        "SELECT id, role, name, coalesce(region_code, ''), coalesce(business_id, 0), "
        "coalesce(cadre_id, 0), coalesce(inspector_id, 0) FROM api_tokens "
        "WHERE token_hash = $1::bytea AND revoked_at IS NULL",
        1, params);
    if (!res)
        return -1;
    int found = PQntuples(res) == 1;
    if (found) {
        memset(ident, 0, sizeof *ident);
        ident->id = pg_int(res, 0, 0);
        s_copy(ident->role, sizeof ident->role, pg_str(res, 0, 1));
        s_copy(ident->name, sizeof ident->name, pg_str(res, 0, 2));
        s_copy(ident->region, sizeof ident->region, pg_str(res, 0, 3));
        ident->business_id = pg_int(res, 0, 4);
        ident->cadre_id = pg_int(res, 0, 5);
        ident->inspector_id = pg_int(res, 0, 6);
    }
    pg_free(&res);
    return found;
}

int token_revoke(pg_t *pg, int64_t id)
{
    char ids[24];
    snprintf(ids, sizeof ids, "%lld", (long long)id);
    const char *params[] = {ids};
    PGresult *res = pg_query(
        pg, "UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL", 1,
        params);
    if (!res)
        return -1;
    int n = (int)strtol(PQcmdTuples(res), NULL, 10);
    pg_free(&res);
    return n > 0;
}
