/*
 * cmd_token.c - "liangze token": make and revoke API tokens.
 *
 *   liangze token create --role ROLE --name TEXT [--region CODE]
 *                        [--business ID] [--cadre ID] [--inspector ID]
 *   liangze token revoke ID
 *
 * "create" prints the token once on stdout (and nothing else there); only
 * its hash is stored.  Both write an audit-log entry in the same
 * transaction.
 */
#include "audit.h"
#include "cli.h"
#include "pg.h"
#include "token.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int s_parse_id(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v <= 0)
        return -1;
    *out = v;
    return 0;
}

static int s_usage(void)
{
    fprintf(stderr, "usage: liangze token create --role ROLE --name TEXT [--region CODE] "
                    "[--business ID] [--cadre ID] [--inspector ID]\n"
                    "       liangze token revoke ID\n");
    return 2;
}

static int s_create(int argc, char **argv, pg_t *pg)
{
    token_identity_t id;
    memset(&id, 0, sizeof id);
    for (int i = 2; i < argc; i += 2) {
        if (i + 1 >= argc)
            return s_usage();
        const char *opt = argv[i], *val = argv[i + 1];
        int bad = 0;
        if (!strcmp(opt, "--role"))
            bad = snprintf(id.role, sizeof id.role, "%s", val) >= (int)sizeof id.role;
        else if (!strcmp(opt, "--name"))
            bad = snprintf(id.name, sizeof id.name, "%s", val) >= (int)sizeof id.name;
        else if (!strcmp(opt, "--region"))
            bad = snprintf(id.region, sizeof id.region, "%s", val) >= (int)sizeof id.region;
        else if (!strcmp(opt, "--business"))
            bad = s_parse_id(val, &id.business_id);
        else if (!strcmp(opt, "--cadre"))
            bad = s_parse_id(val, &id.cadre_id);
        else if (!strcmp(opt, "--inspector"))
            bad = s_parse_id(val, &id.inspector_id);
        else
            return s_usage();
        if (bad) {
            fprintf(stderr, "liangze: bad value for %s: \"%s\"\n", opt, val);
            return 2;
        }
    }
    if (!id.role[0] || !id.name[0])
        return s_usage();
    char token[TOKEN_TEXT_MAX], err[256];
    if (pg_begin(pg) != 0)
        return 1;
    if (token_create(pg, &id, token, err, sizeof err) != 0) {
        pg_rollback(pg);
        fprintf(stderr, "liangze: %s\n", err);
        return 1;
    }
    char object[48], detail[512];
    snprintf(object, sizeof object, "api_tokens/%lld", (long long)id.id);
    snprintf(detail, sizeof detail, "{\"role\": \"%s\", \"via\": \"cli\"}", id.role);
    if (audit_write(pg, NULL, "token.create", object, NULL, detail) != 0 || pg_commit(pg) != 0) {
        pg_rollback(pg);
        fprintf(stderr, "liangze: could not store the token: %s\n", pg_errmsg(pg));
        return 1;
    }
    printf("%s\n", token);
    fprintf(stderr, "token %lld (%s, %s) created; it is shown only this once\n", (long long)id.id,
            id.role, id.name);
    sodium_memzero(token, sizeof token);
    return 0;
}

static int s_revoke(int argc, char **argv, pg_t *pg)
{
    int64_t id;
    if (argc != 3 || s_parse_id(argv[2], &id) != 0)
        return s_usage();
    char object[48];
    snprintf(object, sizeof object, "api_tokens/%lld", (long long)id);
    if (pg_begin(pg) != 0)
        return 1;
    int n = token_revoke(pg, id);
    if (n == 1 && audit_write(pg, NULL, "token.revoke", object, NULL, NULL) == 0 &&
        pg_commit(pg) == 0) {
        printf("revoked %lld\n", (long long)id);
        return 0;
    }
    pg_rollback(pg);
    fprintf(stderr, n == 0 ? "liangze: no live token %lld\n" : "liangze: could not revoke %lld\n",
            (long long)id);
    return 1;
}

int cmd_token(int argc, char **argv, const cfg_t *cfg)
{
    if (argc < 2)
        return s_usage();
    bool create = !strcmp(argv[1], "create");
    if (!create && strcmp(argv[1], "revoke") != 0)
        return s_usage();
    pg_t *pg = pg_connect(cfg_str(cfg, "LZ_PG_URL"), 10, 500);
    if (!pg) {
        fprintf(stderr, "liangze: could not connect to the database\n");
        return 1;
    }
    int rc = create ? s_create(argc, argv, pg) : s_revoke(argc, argv, pg);
    pg_destroy(&pg);
    return rc;
}
