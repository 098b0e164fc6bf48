/*
 * test_sampler_draw.c - unit tests for the spot-check draw (services/sampler/sampler_draw.c):
 * determinism, seed sensitivity, small strata taken whole, weights followed (chi-square),
 * no bias in uniform integers, inspectors never excluded ones, evenly loaded, and a
 * fixed known-answer vector so that any change of the algorithm shows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sampler/sampler_draw.h"

/* The list hash of test_known_answer under lz-sample-v1. */
#define SAMPLE_KAT "9182dd9e1113ba176f712a3e66f0b3af7bd9648c554b89a70e93e9b6248833d3"

/* A frame of nstrata strata of size per stratum, ids from 1, weights cycling 1..4. */
static sample_unit_t *s_frame(size_t nstrata, size_t per, size_t *n)
{
    sample_unit_t *u = calloc(nstrata * per, sizeof *u);
    size_t k = 0;
    for (size_t s = 0; s < nstrata; s++)
        for (size_t i = 0; i < per; i++, k++) {
            /* 12 digits: 9901, district (2), township (3), community 001 */
            char code[40];
            snprintf(code, sizeof code, "9901%02u%03u001", (unsigned)(s / 100 % 100 + 1),
                     (unsigned)(s % 100 + 1));
            memcpy(u[k].stratum, code, 12);
            u[k].stratum[12] = '\0';
            u[k].business_id = (int64_t)(k + 1);
            u[k].weight = (uint32_t)(k % 4 + 1);
        }
    sample_frame_sort(u, k);
    *n = k;
    return u;
}

static void s_input(sample_input_t *in, const char *seed, const sample_unit_t *f, size_t n)
{
    memset(in, 0, sizeof *in);
    in->seed = seed;
    in->quarter = "2026-Q4";
    in->region = "990100000000";
    in->n_per_stratum = 6;
    in->frame = f;
    in->nframe = n;
}

static void test_same_inputs_same_plan(void **state)
{
    (void)state;
    size_t n;
    sample_unit_t *f = s_frame(20, 30, &n);
    sample_inspector_t roster[5] = {{{0}, 0}};
    for (int i = 0; i < 5; i++) {
        snprintf(roster[i].district, sizeof roster[i].district, "990101000000");
        roster[i].inspector_id = 100 + i;
    }
    sample_input_t in;
    s_input(&in, "2026-11-30 福彩 3D 123", f, n);
    in.roster = roster;
    in.nroster = 5;
    sample_result_t a, b;
    assert_int_equal(sample_draw(&in, &a), 0);
    assert_int_equal(sample_draw(&in, &b), 0);
    assert_int_equal(a.npicks, 20 * 6);
    assert_int_equal(a.nstrata, 20);
    assert_int_equal(a.npicks, b.npicks);
    assert_memory_equal(a.picks, b.picks, a.npicks * sizeof *a.picks);
    assert_memory_equal(a.list_hash, b.list_hash, SAMPLE_HASH_LEN);
    /* the frame given in another order sorts to the same digest and plan */
    sample_unit_t *g = malloc(n * sizeof *g);
    for (size_t i = 0; i < n; i++)
        g[i] = f[n - 1 - i];
    sample_frame_sort(g, n);
    in.frame = g;
    sample_result_t c;
    assert_int_equal(sample_draw(&in, &c), 0);
    assert_memory_equal(a.list_hash, c.list_hash, SAMPLE_HASH_LEN);
    sample_result_clear(&a);
    sample_result_clear(&b);
    sample_result_clear(&c);
    free(g);
    free(f);
}

static void test_other_seed_other_plan(void **state)
{
    (void)state;
    size_t n;
    sample_unit_t *f = s_frame(10, 40, &n);
    sample_input_t in;
    s_input(&in, "seed-one", f, n);
    sample_result_t a, b;
    assert_int_equal(sample_draw(&in, &a), 0);
    in.seed = "seed-two";
    assert_int_equal(sample_draw(&in, &b), 0);
    assert_memory_not_equal(a.key, b.key, SAMPLE_HASH_LEN);
    assert_memory_equal(a.frame_digest, b.frame_digest, SAMPLE_HASH_LEN);
    assert_memory_not_equal(a.list_hash, b.list_hash, SAMPLE_HASH_LEN);
    size_t same = 0;
    for (size_t i = 0; i < a.npicks; i++)
        same += a.picks[i].business_id == b.picks[i].business_id;
    assert_true(same < a.npicks);
    /* another quarter, region or frame also changes the key */
    sample_result_t c;
    in.seed = "seed-one";
    in.quarter = "2027-Q1";
    assert_int_equal(sample_draw(&in, &c), 0);
    assert_memory_not_equal(a.key, c.key, SAMPLE_HASH_LEN);
    sample_result_clear(&c);
    in.quarter = "2026-Q4";
    f[0].weight = f[0].weight % 4 + 1;
    assert_int_equal(sample_draw(&in, &c), 0);
    assert_memory_not_equal(a.frame_digest, c.frame_digest, SAMPLE_HASH_LEN);
    assert_memory_not_equal(a.key, c.key, SAMPLE_HASH_LEN);
    sample_result_clear(&a);
    sample_result_clear(&b);
    sample_result_clear(&c);
    free(f);
}

static void test_small_stratum_all(void **state)
{
    (void)state;
    sample_unit_t f[10];
    memset(f, 0, sizeof f);
    for (int i = 0; i < 4; i++) { /* a stratum of 4 */
        snprintf(f[i].stratum, sizeof f[i].stratum, "990101001001");
        f[i].business_id = 10 + i;
        f[i].weight = 1;
    }
    for (int i = 4; i < 10; i++) { /* and one of exactly 6 */
        snprintf(f[i].stratum, sizeof f[i].stratum, "990101001002");
        f[i].business_id = 20 + i;
        f[i].weight = (uint32_t)i;
    }
    sample_input_t in;
    s_input(&in, "x", f, 10);
    sample_result_t r;
    assert_int_equal(sample_draw(&in, &r), 0);
    assert_int_equal(r.nstrata, 2);
    assert_int_equal(r.npicks, 10);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(r.picks[i].business_id, f[i].business_id);
        assert_int_equal(r.picks[i].position, i < 4 ? i + 1 : i - 3);
        assert_int_equal(r.picks[i].inspectors[0], 0); /* no roster */
    }
    assert_int_equal(r.short_inspectors, 20);
    sample_result_clear(&r);
}

static void test_bad_input(void **state)
{
    (void)state;
    sample_unit_t f[2];
    memset(f, 0, sizeof f);
    snprintf(f[0].stratum, sizeof f[0].stratum, "990101001002");
    snprintf(f[1].stratum, sizeof f[1].stratum, "990101001001");
    f[0].business_id = f[1].business_id = 1;
    f[0].weight = f[1].weight = 1;
    sample_input_t in;
    s_input(&in, "x", f, 2);
    sample_result_t r;
    assert_int_equal(sample_draw(&in, &r), -1); /* unsorted */
    sample_frame_sort(f, 2);
    assert_int_equal(sample_draw(&in, &r), 0);
    sample_result_clear(&r);
    f[0].weight = 0;
    assert_int_equal(sample_draw(&in, &r), -1);
    f[0].weight = 1;
    in.n_per_stratum = 0;
    assert_int_equal(sample_draw(&in, &r), -1);
    /* an empty frame is a valid, empty plan */
    in.n_per_stratum = 6;
    in.nframe = 0;
    assert_int_equal(sample_draw(&in, &r), 0);
    assert_int_equal(r.npicks, 0);
    sample_result_clear(&r);
}

/*
 * Weighted draws follow the weights: a stratum of 5 (grades A, B, C, D, D: weights
 * 1, 2, 3, 4, 4), N = 1, 10,000 seeds.  Expected counts 10000 * w / 14.  Chi-square with
 * 4 degrees of freedom at significance 0.001: critical value 18.467.  The seeds are
 * fixed, so the test is deterministic; it fails only if the draw does not follow the
 * weights.  A uniform draw over the same stratum must fail the weighted test.
 */
static void test_weights_chi_square(void **state)
{
    (void)state;
    static const uint32_t w[5] = {1, 2, 3, 4, 4};
    sample_unit_t f[6];
    memset(f, 0, sizeof f);
    for (int i = 0; i < 5; i++) {
        snprintf(f[i].stratum, sizeof f[i].stratum, "990101001001");
        f[i].business_id = i + 1;
        f[i].weight = w[i];
    }
    double count[5] = {0}, ucount[5] = {0};
    char seed[32];
    sample_unit_t u[5];
    memcpy(u, f, sizeof u);
    for (int i = 0; i < 5; i++)
        u[i].weight = 1;
    for (int rep = 0; rep < 10000; rep++) {
        snprintf(seed, sizeof seed, "chi-%d", rep);
        sample_input_t in;
        s_input(&in, seed, f, 5);
        in.n_per_stratum = 1;
        sample_result_t r;
        assert_int_equal(sample_draw_businesses(&in, &r), 0);
        assert_int_equal(r.npicks, 1);
        count[r.picks[0].business_id - 1]++;
        sample_result_clear(&r);
        in.frame = u;
        assert_int_equal(sample_draw_businesses(&in, &r), 0);
        ucount[r.picks[0].business_id - 1]++;
        sample_result_clear(&r);
    }
    double chi = 0, uchi = 0, uchi_flat = 0;
    for (int i = 0; i < 5; i++) {
        double e = 10000.0 * w[i] / 14.0;
        chi += (count[i] - e) * (count[i] - e) / e;
        uchi += (ucount[i] - e) * (ucount[i] - e) / e;
        uchi_flat += (ucount[i] - 2000) * (ucount[i] - 2000) / 2000;
    }
    print_message("# chi-square weighted %.3f (df 4, critical 18.467 at 0.001)\n", chi);
    assert_true(chi < 18.467);
    assert_true(uchi > 18.467);      /* the test has power: uniform draws fail it */
    assert_true(uchi_flat < 18.467); /* and the uniform draws are uniform */
}

/* Uniform integers in [0, 7) by rejection: every residue equally often (chi-square). */
static void test_uniform_range(void **state)
{
    (void)state;
    uint8_t key[SAMPLE_HASH_LEN] = {1};
    sample_stream_t s;
    sample_stream_init(&s, key, "LZ-TEST\0");
    double c[7] = {0};
    for (int i = 0; i < 70000; i++) {
        uint64_t x = sample_stream_uniform(&s, 7);
        assert_true(x < 7);
        c[x]++;
    }
    double chi = 0;
    for (int i = 0; i < 7; i++)
        chi += (c[i] - 10000) * (c[i] - 10000) / 10000;
    assert_true(chi < 22.458); /* df 6, 0.001 */
    assert_int_equal(sample_stream_uniform(&s, 1), 0);
    /* the stream is the ChaCha20 keystream, read little-endian */
    uint8_t ks[16];
    uint8_t zero[16] = {0};
    crypto_stream_chacha20_xor_ic(ks, zero, 16, (const uint8_t *)"LZ-TEST\0", 0, key);
    sample_stream_init(&s, key, "LZ-TEST\0");
    uint64_t x = sample_stream_u64(&s), want = 0;
    for (int i = 7; i >= 0; i--)
        want = (want << 8) | ks[i];
    assert_true(x == want);
}

static void test_inspectors_rules(void **state)
{
    (void)state;
    size_t n;
    sample_unit_t *f = s_frame(12, 10, &n); /* 72 picks, all in district 990101 */
    sample_inspector_t roster[9] = {{{0}, 0}};
    for (int i = 0; i < 8; i++) {
        snprintf(roster[i].district, sizeof roster[i].district, "990101000000");
        roster[i].inspector_id = 500 + i;
    }
    snprintf(roster[8].district, sizeof roster[8].district, "990102000000"); /* elsewhere */
    roster[8].inspector_id = 999;
    /* inspector 500 is a cadre of every business with an odd id; 501 declared a conflict on 3 */
    sample_exclusion_t *ex = calloc(n + 1, sizeof *ex);
    size_t ne = 0;
    for (size_t i = 0; i < n; i++)
        if (f[i].business_id % 2)
            ex[ne++] = (sample_exclusion_t){f[i].business_id, 500};
    ex[ne++] = (sample_exclusion_t){3, 501};
    sample_input_t in;
    s_input(&in, "insp", f, n);
    in.roster = roster;
    in.nroster = 9;
    in.exclusions = ex;
    in.nexclusions = ne;
    sample_result_t r;
    assert_int_equal(sample_draw(&in, &r), 0);
    assert_int_equal(r.npicks, 72);
    assert_int_equal(r.short_inspectors, 0);
    uint64_t load[8] = {0};
    for (size_t i = 0; i < r.npicks; i++) {
        const sample_pick_t *p = &r.picks[i];
        assert_true(p->inspectors[0] != p->inspectors[1]);
        for (int k = 0; k < 2; k++) {
            int64_t id = p->inspectors[k];
            assert_true(id >= 500 && id < 508); /* never another district's */
            if (p->business_id % 2)
                assert_true(id != 500); /* never the business's cadre */
            if (p->business_id == 3)
                assert_true(id != 501);
            load[id - 500]++;
        }
    }
    uint64_t lo = UINT64_MAX, hi = 0;
    for (int i = 0; i < 8; i++) {
        lo = load[i] < lo ? load[i] : lo;
        hi = load[i] > hi ? load[i] : hi;
    }
    assert_true(hi - lo <= 1); /* 144 slots over 8: 18 each */
    /* a business whose only eligible inspector is one gets one slot empty */
    sample_exclusion_t all[8];
    for (int i = 0; i < 7; i++)
        all[i] = (sample_exclusion_t){r.picks[0].business_id, 500 + i};
    in.exclusions = all;
    in.nexclusions = 7;
    sample_result_t r2;
    assert_int_equal(sample_draw(&in, &r2), 0);
    assert_int_equal(r2.picks[0].inspectors[0], 507);
    assert_int_equal(r2.picks[0].inspectors[1], 0);
    assert_int_equal(r2.short_inspectors, 1);
    sample_result_clear(&r);
    sample_result_clear(&r2);
    free(ex);
    free(f);
}

/* A fixed vector: this list hash changes only if the algorithm does (then bump the version). */
/* The frame sort (integer keys, or qsort for what they cannot hold) gives stratum-then-id
 * order and keeps every unit with its weight. */
static void test_frame_sort(void **state)
{
    (void)state;
    enum { N = 5000 };
    sample_unit_t *u = calloc(N, sizeof *u);
    uint64_t x = 12345;
    int64_t sum = 0;
    for (int i = 0; i < N; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        snprintf(u[i].stratum, sizeof u[i].stratum, "34070500%04d", (int)(x >> 33) % 37);
        u[i].business_id = (int64_t)(N - i) * 7 + 1;
        u[i].weight = (uint32_t)(u[i].business_id % 4 + 1);
        sum += u[i].business_id * u[i].weight;
    }
    sample_frame_sort(u, N);
    assert_true(sample_frame_valid(u, N));
    int64_t after = 0;
    for (int i = 0; i < N; i++) {
        assert_int_equal(u[i].weight, (uint32_t)(u[i].business_id % 4 + 1));
        after += u[i].business_id * u[i].weight;
    }
    assert_int_equal(after, sum);
    /* sorted input stays as it is; a short stratum takes the qsort path */
    sample_frame_sort(u, N);
    assert_true(sample_frame_valid(u, N));
    sample_unit_t v[3] = {{"340705001002", 5, 1}, {"34070500100", 9, 2}, {"340705001001", 7, 3}};
    sample_frame_sort(v, 3);
    assert_string_equal(v[0].stratum, "34070500100");
    assert_string_equal(v[1].stratum, "340705001001");
    assert_int_equal(v[2].business_id, 5);
    free(u);
}

static void test_known_answer(void **state)
{
    (void)state;
    size_t n;
    sample_unit_t *f = s_frame(3, 9, &n);
    sample_inspector_t roster[3] = {{"990101000000", 7}, {"990101000000", 8}, {"990101000000", 9}};
    sample_input_t in;
    s_input(&in, "known-answer", f, n);
    in.roster = roster;
    in.nroster = 3;
    sample_result_t r;
    assert_int_equal(sample_draw(&in, &r), 0);
    char hex[2 * SAMPLE_HASH_LEN + 1];
    sample_hex(r.list_hash, hex);
    print_message("# known-answer list hash %s\n", hex);
    assert_string_equal(hex, SAMPLE_KAT);
    sample_result_clear(&r);
    free(f);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_inputs_same_plan),
        cmocka_unit_test(test_other_seed_other_plan),
        cmocka_unit_test(test_small_stratum_all),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_weights_chi_square),
        cmocka_unit_test(test_uniform_range),
        cmocka_unit_test(test_inspectors_rules),
        cmocka_unit_test(test_known_answer),
        cmocka_unit_test(test_frame_sort),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
