/*
 * cmd_sample.c - "liangze sample": spot-check plans from the command line.
 *
 *   liangze sample verify PLAN_ID
 *       re-runs the plan's draw from its stored inputs (frame, rosters, exclusions, seed,
 *       quarter, region, N) with this build's algorithm and compares the list hash with the
 *       one stored at creation and with the stored list rows; prints the hashes and
 *       "match" or "MISMATCH".
 *
 * Exit status: 0 match, 1 mismatch, 3 no such plan, 4 a database failure, 2 bad usage.
 */
#include "cli.h"
#include "log.h"
#include "pg.h"
#include "sampler/sampler_plan.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int s_usage(void)
{
    fprintf(stderr, "usage: liangze sample verify PLAN_ID\n");
    return 2;
}

int cmd_sample(int argc, char **argv, const cfg_t *cfg)
{
    if (argc != 3 || strcmp(argv[1], "verify") != 0)
        return s_usage();
    char *end = NULL;
    long long id = strtoll(argv[2], &end, 10);
    if (!*argv[2] || *end || id <= 0)
        return s_usage();
    if (sodium_init() < 0) {
        fprintf(stderr, "liangze: could not initialise libsodium\n");
        return 4;
    }
    pg_t *pg = pg_connect(cfg_str(cfg, "LZ_PG_URL"), 3, 500);
    if (!pg) {
        fprintf(stderr, "liangze: could not connect to PostgreSQL\n");
        return 4;
    }
    sampler_verify_t v;
    int rc = sampler_plan_verify(pg, (int64_t)id, &v);
    pg_destroy(&pg);
    if (rc < 0) {
        fprintf(stderr, "liangze: plan %lld could not be re-drawn\n", id);
        return 4;
    }
    if (rc == 0) {
        fprintf(stderr, "liangze: no plan %lld\n", id);
        return 3;
    }
    printf("plan %lld (%s), %d drawn\n", id, v.algorithm, v.drawn);
    printf("frame digest     %s\n", v.frame_digest);
    printf("recomputed frame %s\n", v.recomputed_frame_digest);
    printf("stored hash      %s\n", v.stored_hash);
    printf("recomputed hash  %s\n", v.recomputed_hash);
    printf("stored list hash %s\n", v.items_hash);
    printf("%s\n", v.match ? "match" : "MISMATCH");
    return v.match ? 0 : 1;
}
