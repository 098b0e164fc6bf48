/*
 * gateway_auth.c - bearer tokens to identities, with a short per-process cache.
 *
 * The cache is direct-mapped: the first bytes of the token's SHA-256 pick
 * the slot, a colliding token replaces the entry.  SHA-256 spreads tokens
 * evenly, so collisions only cost an extra database look-up.  One mutex
 * guards it; it is held for a copy, never across a query.
 */
#include "gateway_auth.h"
#include "mem.h"
#include "scope.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef struct {
    bool used;
    uint8_t hash[TOKEN_HASH_LEN];
    int64_t expires_ms;
    token_identity_t ident;
} s_slot_t;

struct gw_auth_s {
    int ttl_s;
    size_t nslots; /* a power of two */
    s_slot_t *slots;
    pthread_mutex_t lock;
};

static const struct {
    const char *name;
    unsigned bit;
} s_roles[] = {
    {"admin", GW_ROLE_ADMIN},         {"regulator", GW_ROLE_REGULATOR}, {"cadre", GW_ROLE_CADRE},
    {"inspector", GW_ROLE_INSPECTOR}, {"business", GW_ROLE_BUSINESS},
};

unsigned gw_role_bit(const char *role)
{
    for (size_t i = 0; role && i < sizeof s_roles / sizeof s_roles[0]; i++)
        if (strcmp(role, s_roles[i].name) == 0)
            return s_roles[i].bit;
    return 0;
}

bool gw_role_allowed(unsigned roles, const char *role)
{
    unsigned bit = gw_role_bit(role);
    return bit && (roles & bit);
}

int gw_auth_bearer(const char *header, char *out, size_t len)
{
    if (!header || strncasecmp(header, "Bearer", 6) != 0 || header[6] != ' ')
        return -1;
    const char *p = header + 6;
    while (*p == ' ')
        p++;
    size_t n = 0;
    while (p[n] && p[n] != ' ' && p[n] != '\t')
        n++;
    for (const char *q = p + n; *q; q++) /* nothing but blanks may follow */
        if (*q != ' ' && *q != '\t')
            return -1;
    if (n == 0 || n >= len)
        return -1;
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

gw_auth_t *gw_auth_new(int ttl_s, size_t slots)
{
    gw_auth_t *self = xcalloc(1, sizeof *self);
    self->ttl_s = ttl_s > 0 ? ttl_s : 0;
    size_t n = 1;
    while (n < slots && n < ((size_t)1 << 24))
        n <<= 1;
    self->nslots = n;
    self->slots = xcalloc(n, sizeof *self->slots);
    pthread_mutex_init(&self->lock, NULL);
    return self;
}

void gw_auth_destroy(gw_auth_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gw_auth_t *self = *self_p;
    sodium_memzero(self->slots, self->nslots * sizeof *self->slots);
    free(self->slots);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

static size_t s_slot_of(const gw_auth_t *self, const uint8_t hash[TOKEN_HASH_LEN])
{
    uint64_t k;
    memcpy(&k, hash, sizeof k);
    return (size_t)(k & (self->nslots - 1));
}

bool gw_auth_cache_get(gw_auth_t *self, const uint8_t hash[TOKEN_HASH_LEN], int64_t now_ms,
                       token_identity_t *out)
{
    if (self->ttl_s == 0)
        return false;
    bool hit = false;
    pthread_mutex_lock(&self->lock);
    s_slot_t *s = &self->slots[s_slot_of(self, hash)];
    if (s->used && now_ms < s->expires_ms && memcmp(s->hash, hash, TOKEN_HASH_LEN) == 0) {
        *out = s->ident;
        hit = true;
    }
    pthread_mutex_unlock(&self->lock);
    return hit;
}

void gw_auth_cache_put(gw_auth_t *self, const uint8_t hash[TOKEN_HASH_LEN],
                       const token_identity_t *ident, int64_t now_ms)
{
    if (self->ttl_s == 0)
        return;
    pthread_mutex_lock(&self->lock);
    s_slot_t *s = &self->slots[s_slot_of(self, hash)];
    s->used = true;
    memcpy(s->hash, hash, TOKEN_HASH_LEN);
    s->expires_ms = now_ms + (int64_t)self->ttl_s * 1000;
    s->ident = *ident;
    pthread_mutex_unlock(&self->lock);
}

void gw_auth_forget(gw_auth_t *self, int64_t token_id)
{
    pthread_mutex_lock(&self->lock);
    for (size_t i = 0; i < self->nslots; i++)
        if (self->slots[i].used && self->slots[i].ident.id == token_id)
            memset(&self->slots[i], 0, sizeof self->slots[i]);
    pthread_mutex_unlock(&self->lock);
}

int gw_auth_identify(gw_auth_t *self, pg_t *pg, const char *token, int64_t now_ms,
                     token_identity_t *out)
{
    size_t len = strlen(token);
    if (len < 4 || len >= TOKEN_TEXT_MAX || strncmp(token, "lz_", 3) != 0)
        return 0; /* not a token of ours: no need to ask anyone */
    uint8_t hash[TOKEN_HASH_LEN];
    token_hash(token, hash);
    if (gw_auth_cache_get(self, hash, now_ms, out))
        return 1;
    if (!pg)
        return -1;
    int found = token_lookup(pg, token, out);
    if (found == 1)
        gw_auth_cache_put(self, hash, out, now_ms);
    return found;
}

void gw_caller_from_identity(const token_identity_t *ident, Lz__Caller *out)
{
    lz__caller__init(out);
    out->role = (char *)ident->role;
    out->has_token_id = 1;
    out->token_id = ident->id;
    out->name = (char *)ident->name;
    if (ident->region[0])
        out->region = (char *)ident->region;
    if (ident->business_id > 0) {
        out->has_business_id = 1;
        out->business_id = ident->business_id;
    }
    if (ident->cadre_id > 0) {
        out->has_cadre_id = 1;
        out->cadre_id = ident->cadre_id;
    }
    if (ident->inspector_id > 0) {
        out->has_inspector_id = 1;
        out->inspector_id = ident->inspector_id;
    }
}

bool gw_auth_region_visible(const token_identity_t *ident, const char *code)
{
    Lz__Caller c;
    gw_caller_from_identity(ident, &c);
    return scope_region_visible(&c, code);
}
