/*
 * sampler_sample.c - bench/sample: the spot-check draw over a province frame.
 *
 * Builds a synthetic province in memory - 1,000,000 businesses in 15,000 strata of uneven
 * size (100 districts of 150 communities), grades A..D, 2,000 inspectors (20 a district),
 * two cadre exclusions per business - and times, once each:
 *   build   sort the frame as it comes from the database, digest it, derive the key,
 *           draw 6 per stratum (weighted), assign two inspectors each, hash the list
 *   verify  the same re-run from the stored inputs, plus hashing the stored list rows
 * This is the algorithm's cost only; the plan's database work (frame query, COPY of the
 * frame and list) is not in these figures.  Usage: sampler_sample [BUSINESSES [STRATA]].
 */
#include "sampler/sampler_draw.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t s_lcg = 88172645463325252ULL;
static uint64_t s_rand(void)
{
    s_lcg ^= s_lcg << 13;
    s_lcg ^= s_lcg >> 7;
    s_lcg ^= s_lcg << 17;
    return s_lcg;
}

int main(int argc, char **argv)
{
    long nb = argc > 1 ? strtol(argv[1], NULL, 10) : 1000000;
    long ns = argc > 2 ? strtol(argv[2], NULL, 10) : 15000;
    if (nb < 1 || ns < 1 || ns > 99 * 999 || sodium_init() < 0)
        return 2;
    const long ndistricts = 100, ninsp = 2000;
    sample_unit_t *frame = calloc((size_t)nb, sizeof *frame);
    for (long i = 0; i < nb; i++) {
        long s = (long)(s_rand() % (uint64_t)ns); /* uneven strata */
        long d = s % ndistricts;
        snprintf(frame[i].stratum, sizeof frame[i].stratum, "34%02ld%02ld%03ld%03ld", d / 100 + 1,
                 d % 100, (s / ndistricts) / 150 + 1, (s / ndistricts) % 150 + 1);
        frame[i].business_id = nb - i; /* comes unsorted */
        frame[i].weight = (uint32_t)(1 + s_rand() % 4);
    }
    sample_inspector_t *roster = calloc((size_t)ninsp, sizeof *roster);
    for (long i = 0; i < ninsp; i++) {
        long d = i % ndistricts;
        snprintf(roster[i].district, sizeof roster[i].district, "34%02ld%02ld000000", d / 100 + 1,
                 d % 100);
        roster[i].inspector_id = i + 1;
    }
    size_t nex = (size_t)nb * 2;
    sample_exclusion_t *ex = calloc(nex, sizeof *ex);
    for (size_t i = 0; i < nex; i++) {
        ex[i].business_id = (int64_t)(i / 2 + 1);
        ex[i].inspector_id = (int64_t)(1 + s_rand() % (uint64_t)ninsp);
    }

    double t0 = s_now();
    sample_frame_sort(frame, (size_t)nb);
    sample_input_t in = {.seed = "2026-10-08 双色球 02 09 14 21 27 30 + 11",
                         .quarter = "2026-Q4",
                         .region = "340000000000",
                         .n_per_stratum = 6,
                         .frame = frame,
                         .nframe = (size_t)nb,
                         .roster = roster,
                         .nroster = (size_t)ninsp,
                         .exclusions = ex,
                         .nexclusions = nex};
    sample_result_t r;
    if (sample_draw(&in, &r) != 0) {
        fprintf(stderr, "draw failed\n");
        return 1;
    }
    double t1 = s_now();

    /* verify: the stored frame re-sorted, the draw re-run, the stored list hashed */
    sample_unit_t *stored = malloc((size_t)nb * sizeof *stored);
    memcpy(stored, frame, (size_t)nb * sizeof *stored);
    double t2 = s_now();
    sample_frame_sort(stored, (size_t)nb);
    in.frame = stored;
    sample_result_t v;
    if (sample_draw(&in, &v) != 0)
        return 1;
    uint8_t items[SAMPLE_HASH_LEN];
    sample_list_hash(r.picks, r.npicks, items);
    int match = !memcmp(v.list_hash, r.list_hash, SAMPLE_HASH_LEN) &&
                !memcmp(items, r.list_hash, SAMPLE_HASH_LEN);
    double t3 = s_now();

    char hex[2 * SAMPLE_HASH_LEN + 1];
    sample_hex(r.list_hash, hex);
    printf("bench/sample: %ld businesses, %zu strata, %ld inspectors, %zu exclusions\n", nb,
           r.nstrata, ninsp, nex);
    printf("  drawn %zu, inspector slots short %zu, list hash %s\n", r.npicks, r.short_inspectors,
           hex);
    printf("  build  %.3f s (target <= 10 s)\n", t1 - t0);
    printf("  verify %.3f s (target <= 10 s): %s\n", t3 - t2, match ? "match" : "MISMATCH");
    sample_result_clear(&r);
    sample_result_clear(&v);
    free(stored);
    free(ex);
    free(roster);
    free(frame);
    return match ? 0 : 1;
}
