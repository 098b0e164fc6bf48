/*
 * sampler_draw.h - the spot-check draw (双随机): a pure, deterministic function of its inputs.
 *
 * Algorithm "lz-sample-v1" (written out in full in services/sampler/README.md):
 *
 *   frame     units (stratum, business id, weight) sorted by stratum code, then business id;
 *             frame digest = SHA-256 of the lines "stratum,business_id,weight\n" in that order
 *   key       SHA-256(seed 0x00 quarter 0x00 region 0x00 frame_digest[32])
 *   streams   ChaCha20 (libsodium crypto_stream_chacha20: 8-byte nonce, 64-bit block
 *             counter from 0) keyed by key; nonce "LZ-BIZ\0\0" draws businesses, nonce
 *             "LZ-INSP\0" draws inspectors; each 64-bit number is 8 keystream bytes read
 *             little-endian, in order
 *   uniform   an integer in [0, n): draw x until x >= 2^64 mod n, answer x mod n (no bias)
 *   strata    in code order; a stratum of at most N units takes all of them in id order and
 *             draws nothing; a larger one takes N by successive weighted draws without
 *             replacement: r = uniform(sum of remaining weights), the unit where the running
 *             sum of remaining weights (in id order) first exceeds r is taken and removed
 *   inspectors for each drawn business in list order, two from its district's roster
 *             (district = first 6 digits of the stratum), skipping excluded pairs and the
 *             one already chosen: among the eligible with the fewest assignments so far in
 *             this plan (in inspector id order), uniform(count) picks one
 *   list hash SHA-256 of the lines "stratum,business_id,position,inspector1,inspector2\n"
 *             (0 for a missing inspector) in list order
 *
 * Integer arithmetic only, so every machine gets the same list.
 */
#ifndef LZ_SAMPLER_DRAW_H
#define LZ_SAMPLER_DRAW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SAMPLE_ALGORITHM  "lz-sample-v1"
#define SAMPLE_HASH_LEN   32
#define SAMPLE_CODE_LEN   12
#define SAMPLE_SEED_MAX   256
#define SAMPLE_N_MAX      1000
#define SAMPLE_WEIGHT_MAX 1000

/* One business of the frame. */
typedef struct {
    char stratum[SAMPLE_CODE_LEN + 1]; /* the township or community it is drawn in */
    int64_t business_id;
    uint32_t weight; /* 1..SAMPLE_WEIGHT_MAX */
} sample_unit_t;

/* One inspector of a district's roster. */
typedef struct {
    char district[SAMPLE_CODE_LEN + 1];
    int64_t inspector_id;
} sample_inspector_t;

/* An inspector who must not inspect a business (one of its cadres, a declared conflict). */
typedef struct {
    int64_t business_id;
    int64_t inspector_id;
} sample_exclusion_t;

/* One drawn business. */
typedef struct {
    char stratum[SAMPLE_CODE_LEN + 1];
    int64_t business_id;
    int position;          /* 1-based order of the draw within its stratum */
    int64_t inspectors[2]; /* 0: none eligible was left */
} sample_pick_t;

/* A keyed ChaCha20 stream of 64-bit numbers. */
typedef struct {
    uint8_t key[SAMPLE_HASH_LEN];
    uint8_t nonce[8];
    uint64_t block; /* next 64-byte block */
    uint8_t buf[512];
    size_t pos; /* bytes of buf used */
} sample_stream_t;

/* Start a stream at block 0 with key and the 8-byte nonce. */
void sample_stream_init(sample_stream_t *s, const uint8_t key[SAMPLE_HASH_LEN],
                        const char nonce[8]);
/* Return the next 64-bit number. */
uint64_t sample_stream_u64(sample_stream_t *s);
/* Return a uniform integer in [0, n), n >= 1, without modulo bias. */
uint64_t sample_stream_uniform(sample_stream_t *s, uint64_t n);

/* Sort units by stratum, then business id. */
void sample_frame_sort(sample_unit_t *units, size_t n);
/* Write the frame digest of n sorted units. */
void sample_frame_digest(const sample_unit_t *units, size_t n, uint8_t out[SAMPLE_HASH_LEN]);
/* Write the draw key. */
void sample_key(const char *seed, const char *quarter, const char *region,
                const uint8_t digest[SAMPLE_HASH_LEN], uint8_t out[SAMPLE_HASH_LEN]);
/* Write the list hash of n picks in list order. */
void sample_list_hash(const sample_pick_t *picks, size_t n, uint8_t out[SAMPLE_HASH_LEN]);
/* Write the lower-case hex of a hash into out (2 * SAMPLE_HASH_LEN + 1 bytes). */
void sample_hex(const uint8_t h[SAMPLE_HASH_LEN], char out[2 * SAMPLE_HASH_LEN + 1]);

typedef struct {
    const char *seed, *quarter, *region;
    int n_per_stratum;          /* 1..SAMPLE_N_MAX */
    const sample_unit_t *frame; /* sorted (sample_frame_sort), no duplicate ids */
    size_t nframe;
    const sample_inspector_t *roster; /* any order */
    size_t nroster;
    const sample_exclusion_t *exclusions; /* any order */
    size_t nexclusions;
} sample_input_t;

typedef struct {
    uint8_t frame_digest[SAMPLE_HASH_LEN];
    uint8_t key[SAMPLE_HASH_LEN];
    uint8_t list_hash[SAMPLE_HASH_LEN];
    size_t nstrata;
    sample_pick_t *picks; /* owned: sample_result_clear */
    size_t npicks;
    size_t short_inspectors; /* inspector slots left empty */
} sample_result_t;

/* True when the frame is sorted with unique ids per stratum and weights in range. */
bool sample_frame_valid(const sample_unit_t *units, size_t n);

/*
 * Run the draw.  Returns 0 with out filled (free with sample_result_clear), or -1 when
 * the input is not valid (unsorted frame, bad weight, n_per_stratum out of range).
 */
int sample_draw(const sample_input_t *in, sample_result_t *out);
/* Business part only: fill out's digest, key, strata and picks (inspectors 0). */
int sample_draw_businesses(const sample_input_t *in, sample_result_t *out);
/* Inspector part: fill picks' inspectors and out's list hash. */
void sample_assign_inspectors(const sample_input_t *in, sample_result_t *out);
void sample_result_clear(sample_result_t *r);

#endif
