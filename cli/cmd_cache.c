/*
 * cmd_cache.c - "liangze cache": rebuild what Redis holds from PostgreSQL.
 *
 *   liangze cache rebuild --kind K --period P
 *       rebuild lz:done:K:P (bitmap, bit = business id) and lz:cnt:K:P
 *       (region counters) from the records of that period; prints
 *       "rebuilt K P: N records".
 *   liangze cache rebuild --all-recent
 *       the same for every kind and period with records whose period began
 *       in the last 40 days.
 *
 * Each key pair is built under temporary names and renamed over the live
 * keys at once (services/intake/intake_ledger.c: ledger_cache_rebuild).
 * Exit status: 0 done, 1 a database or Redis failure, 2 bad usage.
 */
#include "cli.h"
#include "intake/intake_ledger.h"
#include "log.h"
#include "pg.h"
#include "rds.h"

#include <stdio.h>
#include <string.h>

static int s_usage(void)
{
    fprintf(stderr, "usage: liangze cache rebuild --kind K --period P | --all-recent\n");
    return 2;
}

/* Rebuild one kind/period and print it; 0 or -1. */
static int s_one(pg_t *pg, rds_t *rds, const char *kind, const char *period)
{
    long n = ledger_cache_rebuild(pg, rds, kind, period);
    if (n < 0)
        return -1;
    printf("rebuilt %s %s: %ld records\n", kind, period, n);
    return 0;
}

int cmd_cache(int argc, char **argv, const cfg_t *cfg)
{
    const char *kind = NULL, *period = NULL;
    int all = 0;
    if (argc < 2 || strcmp(argv[1], "rebuild") != 0)
        return s_usage();
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--kind") == 0 && i + 1 < argc)
            kind = argv[++i];
        else if (strcmp(argv[i], "--period") == 0 && i + 1 < argc)
            period = argv[++i];
        else if (strcmp(argv[i], "--all-recent") == 0)
            all = 1;
        else
            return s_usage();
    }
    period_kind_t k;
    period_t p;
    if (all ? (kind || period)
            : (!kind || !period || period_kind_parse(kind, &k) != 0 || k == PERIOD_QUARTERLY ||
               period_parse_kind(k, period, &p) != 0))
        return s_usage();
    pg_t *pg = pg_connect(cfg_str(cfg, "LZ_PG_URL"), 10, 500);
    if (!pg)
        return 1;
    rds_t *rds =
        rds_connect(cfg_str(cfg, "LZ_REDIS_HOST"), (int)cfg_int(cfg, "LZ_REDIS_PORT"), 2000);
    if (!rds) {
        pg_destroy(&pg);
        return 1;
    }
    int rc = 0;
    if (!all) {
        rc = s_one(pg, rds, kind, period);
    } else {
        PGresult *res = pg_query(pg,
                                 "SELECT DISTINCT kind, period FROM records "
                                 "WHERE period_start >= now() - interval '40 days' "
                                 "ORDER BY kind, period",
                                 0, NULL);
        if (!res)
            rc = -1;
        for (int r = 0; res && r < PQntuples(res) && rc == 0; r++)
            rc = s_one(pg, rds, pg_str(res, r, 0), pg_str(res, r, 1));
        pg_free(&res);
    }
    rds_destroy(&rds);
    pg_destroy(&pg);
    return rc == 0 ? 0 : 1;
}
