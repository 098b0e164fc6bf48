/*
 * sampler_plan.h - spot-check plans: settings resolution (pure), creation (frame, draw,
 * inspectors, stored inputs, in one transaction), reading with progress, verification.
 */
#ifndef LZ_SAMPLER_PLAN_H
#define LZ_SAMPLER_PLAN_H

#include "pg.h"
#include "sampler.pb-c.h"
#include "sampler_draw.h"
#include "sampler_server.h"

#include <stdbool.h>
#include <stddef.h>

/* A plan's settings with every default applied. */
typedef struct {
    int n_per_stratum;
    bool township;
    bool weighted;
    int weight[4]; /* A, B, C, D */
    bool exclude_previous;
} sampler_settings_t;

/*
 * Resolve req's settings over the defaults.  Returns 0, or -1 with the field at fault
 * in field ("settings.weight_d") and a lower-case reason in msg.
 */
int sampler_settings_resolve(const Lz__PlanSettings *req, const sampler_defaults_t *d,
                             sampler_settings_t *out, char *field, size_t flen, char *msg,
                             size_t mlen);

/* Returns the weight of risk grade g ('A'..'D') under s (1 when unweighted). */
uint32_t sampler_weight_of(const sampler_settings_t *s, char g);

/* Returns true if seed is 1..SAMPLE_SEED_MAX bytes without control characters. */
bool sampler_seed_valid(const char *seed);

/* Writes the stratum of a business in community region_code into out (the community,
 * or its township "XXXXXXXXX000"). */
void sampler_stratum_of(const char *region_code, bool township, char out[SAMPLE_CODE_LEN + 1]);

/* What verifying a stored plan found. */
typedef struct {
    bool match;
    char algorithm[32];
    char stored_hash[2 * SAMPLE_HASH_LEN + 1];
    char recomputed_hash[2 * SAMPLE_HASH_LEN + 1];
    char items_hash[2 * SAMPLE_HASH_LEN + 1];
    char frame_digest[2 * SAMPLE_HASH_LEN + 1];
    char recomputed_frame_digest[2 * SAMPLE_HASH_LEN + 1];
    int drawn;
} sampler_verify_t;

/*
 * Re-run plan_id's draw from its stored inputs (frame, roster, exclusions, seed,
 * quarter, region, N) and compare with the stored list hash and the stored list rows.
 * Returns 1 with out filled, 0 when there is no such plan, -1 on a database failure
 * (logged) or an algorithm this build does not know.
 */
int sampler_plan_verify(pg_t *pg, int64_t plan_id, sampler_verify_t *out);
/* The same, recording phase timings in ph when it is not NULL (the benchmark). */
int sampler_plan_verify_timed(pg_t *pg, int64_t plan_id, sampler_verify_t *out,
                              sampler_phases_t *ph);

#endif
