/*
 * cmd_score.c - "liangze score": the scorer's full recompute from PostgreSQL.
 *
 *   liangze score check --quarter 2026-Q4 [--region PREFIX] [--fix]
 *       recompute the quarter's running aggregates (per business, per cadre,
 *       per cadre and business) from records, problems and visits and compare
 *       them with the ones the scorer keeps; prints "equal" or up to ten
 *       differences.  --fix replaces the running rows with the recomputed
 *       ones.  --region limits both sides to codes starting with PREFIX.
 *
 * Exit status: 0 equal (or fixed), 1 a database failure, 2 bad usage,
 * 3 differences found.
 */
#include "cli.h"
#include "clock.h"
#include "pg.h"
#include "scorer/scorer_score.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int s_usage(void)
{
    fprintf(stderr, "usage: liangze score check --quarter 2026-Q4 [--region PREFIX] [--fix]\n");
    return 2;
}

int cmd_score(int argc, char **argv, const cfg_t *cfg)
{
    if (argc < 2 || strcmp(argv[1], "check") != 0)
        return s_usage();
    const char *quarter = NULL, *region = "";
    bool fix = false;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--quarter") && i + 1 < argc)
            quarter = argv[++i];
        else if (!strcmp(argv[i], "--region") && i + 1 < argc)
            region = argv[++i];
        else if (!strcmp(argv[i], "--fix"))
            fix = true;
        else
            return s_usage();
    }
    if (!quarter || strlen(region) > 12 || strspn(region, "0123456789") != strlen(region))
        return s_usage();
    pg_t *pg = pg_connect(cfg_str(cfg, "LZ_PG_URL"), 10, 500);
    if (!pg)
        return 1;
    char report[4096];
    int64_t t0 = clock_mono_ms();
    int n = scorer_recompute(pg, quarter, region, fix, report, sizeof report);
    int64_t ms = clock_mono_ms() - t0;
    pg_destroy(&pg);
    if (n < 0)
        return 1;
    if (n == 0) {
        printf("equal (%" PRId64 " ms)\n", ms);
        return 0;
    }
    printf("%d differences (%" PRId64 " ms)%s\n%s", n, ms, fix ? ", fixed" : "", report);
    return fix ? 0 : 3;
}
