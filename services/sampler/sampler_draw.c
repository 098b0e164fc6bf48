/*
 * sampler_draw.c - the spot-check draw "lz-sample-v1": frame digest, key, keyed stream,
 * successive weighted sampling without replacement per stratum, inspector assignment,
 * list hash.  Pure: no I/O, no clock.  The algorithm is in sampler_draw.h and README.md.
 */
#include "sampler_draw.h"
#include "mem.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- stream ---------------------------------------------------------------------------------- */

void sample_stream_init(sample_stream_t *s, const uint8_t key[SAMPLE_HASH_LEN], const char nonce[8])
{
    memset(s, 0, sizeof *s);
    memcpy(s->key, key, SAMPLE_HASH_LEN);
    memcpy(s->nonce, nonce, 8);
    s->pos = sizeof s->buf;
}

uint64_t sample_stream_u64(sample_stream_t *s)
{
    if (s->pos + 8 > sizeof s->buf) {
        static const uint8_t zeros[sizeof s->buf];
        crypto_stream_chacha20_xor_ic(s->buf, zeros, sizeof s->buf, s->nonce, s->block, s->key);
        s->block += sizeof s->buf / 64;
        s->pos = 0;
    }
    uint64_t x = 0;
    for (int i = 7; i >= 0; i--)
        x = (x << 8) | s->buf[s->pos + (size_t)i];
    s->pos += 8;
    return x;
}

uint64_t sample_stream_uniform(sample_stream_t *s, uint64_t n)
{
    uint64_t threshold = (0 - n) % n; /* 2^64 mod n */
    for (;;) {
        uint64_t x = sample_stream_u64(s);
        if (x >= threshold)
            return x % n;
    }
}

/* ---- digests --------------------------------------------------------------------------------- */

static int s_unit_cmp(const void *a, const void *b)
{
    const sample_unit_t *x = a, *y = b;
    int c = strcmp(x->stratum, y->stratum);
    if (c)
        return c;
    return x->business_id < y->business_id ? -1 : x->business_id > y->business_id;
}

/* A unit as two integers: the 12-digit stratum, then id << 10 | weight (the order is
 * stratum, then id; ids are unique, so the weight bits never decide). */
typedef struct {
    uint64_t hi, lo;
} s_key_t;

static int s_key_cmp(const void *a, const void *b)
{
    const s_key_t *x = a, *y = b;
    if (x->hi != y->hi)
        return x->hi < y->hi ? -1 : 1;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

void sample_frame_sort(sample_unit_t *units, size_t n)
{
    size_t i = 1;
    while (i < n && s_unit_cmp(&units[i - 1], &units[i]) <= 0)
        i++;
    if (i >= n)
        return; /* already in order (a frame read back in order) */
    /* integer keys sort several times faster than strcmp; a unit they cannot hold (a
     * stratum not of 12 digits, an id or weight out of range) falls back to qsort */
    s_key_t *k = malloc(n * sizeof *k);
    for (i = 0; k && i < n; i++) {
        const sample_unit_t *u = &units[i];
        uint64_t v = 0;
        size_t d = 0;
        for (; d < SAMPLE_CODE_LEN && u->stratum[d] >= '0' && u->stratum[d] <= '9'; d++)
            v = v * 10 + (uint64_t)(u->stratum[d] - '0');
        if (d != SAMPLE_CODE_LEN || u->stratum[d] != '\0' || u->business_id <= 0 ||
            u->business_id >= ((int64_t)1 << 53) || u->weight >= 1024)
            break;
        k[i].hi = v;
        k[i].lo = (uint64_t)u->business_id << 10 | u->weight;
    }
    if (!k || i < n) {
        free(k);
        qsort(units, n, sizeof *units, s_unit_cmp);
        return;
    }
    qsort(k, n, sizeof *k, s_key_cmp);
    for (i = 0; i < n; i++) {
        sample_unit_t *u = &units[i];
        uint64_t v = k[i].hi;
        for (int d = SAMPLE_CODE_LEN - 1; d >= 0; d--, v /= 10)
            u->stratum[d] = (char)('0' + v % 10);
        u->stratum[SAMPLE_CODE_LEN] = '\0';
        u->business_id = (int64_t)(k[i].lo >> 10);
        u->weight = (uint32_t)(k[i].lo & 1023);
    }
    free(k);
}

bool sample_frame_valid(const sample_unit_t *units, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strlen(units[i].stratum) != SAMPLE_CODE_LEN || units[i].weight < 1 ||
            units[i].weight > SAMPLE_WEIGHT_MAX || units[i].business_id <= 0)
            return false;
        if (i > 0 && s_unit_cmp(&units[i - 1], &units[i]) >= 0)
            return false;
    }
    return true;
}

void sample_frame_digest(const sample_unit_t *units, size_t n, uint8_t out[SAMPLE_HASH_LEN])
{
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    char line[64];
    for (size_t i = 0; i < n; i++) {
        int len = snprintf(line, sizeof line, "%s,%" PRId64 ",%" PRIu32 "\n", units[i].stratum,
                           units[i].business_id, units[i].weight);
        crypto_hash_sha256_update(&st, (const uint8_t *)line, (size_t)len);
    }
    crypto_hash_sha256_final(&st, out);
}

void sample_key(const char *seed, const char *quarter, const char *region,
                const uint8_t digest[SAMPLE_HASH_LEN], uint8_t out[SAMPLE_HASH_LEN])
{
    static const uint8_t zero = 0;
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const uint8_t *)seed, strlen(seed));
    crypto_hash_sha256_update(&st, &zero, 1);
    crypto_hash_sha256_update(&st, (const uint8_t *)quarter, strlen(quarter));
    crypto_hash_sha256_update(&st, &zero, 1);
    crypto_hash_sha256_update(&st, (const uint8_t *)region, strlen(region));
    crypto_hash_sha256_update(&st, &zero, 1);
    crypto_hash_sha256_update(&st, digest, SAMPLE_HASH_LEN);
    crypto_hash_sha256_final(&st, out);
}

void sample_list_hash(const sample_pick_t *picks, size_t n, uint8_t out[SAMPLE_HASH_LEN])
{
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    char line[128];
    for (size_t i = 0; i < n; i++) {
        int len = snprintf(line, sizeof line, "%s,%" PRId64 ",%d,%" PRId64 ",%" PRId64 "\n",
                           picks[i].stratum, picks[i].business_id, picks[i].position,
                           picks[i].inspectors[0], picks[i].inspectors[1]);
        crypto_hash_sha256_update(&st, (const uint8_t *)line, (size_t)len);
    }
    crypto_hash_sha256_final(&st, out);
}

void sample_hex(const uint8_t h[SAMPLE_HASH_LEN], char out[2 * SAMPLE_HASH_LEN + 1])
{
    sodium_bin2hex(out, 2 * SAMPLE_HASH_LEN + 1, h, SAMPLE_HASH_LEN);
}

/* ---- businesses ------------------------------------------------------------------------------ */

/* Draw from units[0..n) (one stratum, n > want) into picks; taken is scratch of n bytes. */
static size_t s_draw_stratum(sample_stream_t *s, const sample_unit_t *units, size_t n, int want,
                             uint8_t *taken, sample_pick_t *picks)
{
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += units[i].weight;
    memset(taken, 0, n);
    size_t got = 0;
    for (int k = 0; k < want; k++) {
        uint64_t r = sample_stream_uniform(s, total);
        size_t chosen = n;
        uint64_t run = 0;
        for (size_t i = 0; i < n; i++) {
            if (taken[i])
                continue;
            run += units[i].weight;
            if (run > r) {
                chosen = i;
                break;
            }
        }
        if (chosen == n) /* cannot happen: r < total */
            break;
        taken[chosen] = 1;
        total -= units[chosen].weight;
        sample_pick_t *p = &picks[got++];
        memset(p, 0, sizeof *p);
        memcpy(p->stratum, units[chosen].stratum, sizeof p->stratum);
        p->business_id = units[chosen].business_id;
        p->position = k + 1;
    }
    return got;
}

int sample_draw_businesses(const sample_input_t *in, sample_result_t *out)
{
    memset(out, 0, sizeof *out);
    if (!in->seed || !in->quarter || !in->region || in->n_per_stratum < 1 ||
        in->n_per_stratum > SAMPLE_N_MAX || !sample_frame_valid(in->frame, in->nframe))
        return -1;
    sample_frame_digest(in->frame, in->nframe, out->frame_digest);
    sample_key(in->seed, in->quarter, in->region, out->frame_digest, out->key);
    sample_stream_t s;
    sample_stream_init(&s, out->key, "LZ-BIZ\0\0");
    out->picks = xcalloc(in->nframe ? in->nframe : 1, sizeof *out->picks);
    uint8_t *taken = NULL;
    size_t taken_cap = 0;
    for (size_t i = 0; i < in->nframe;) {
        size_t j = i + 1;
        while (j < in->nframe && !strcmp(in->frame[j].stratum, in->frame[i].stratum))
            j++;
        size_t n = j - i;
        out->nstrata++;
        if (n <= (size_t)in->n_per_stratum) {
            for (size_t k = 0; k < n; k++) {
                sample_pick_t *p = &out->picks[out->npicks++];
                memcpy(p->stratum, in->frame[i + k].stratum, sizeof p->stratum);
                p->business_id = in->frame[i + k].business_id;
                p->position = (int)k + 1;
            }
        } else {
            if (n > taken_cap) {
                taken_cap = n;
                taken = xrealloc(taken, taken_cap);
            }
            out->npicks += s_draw_stratum(&s, in->frame + i, n, in->n_per_stratum, taken,
                                          out->picks + out->npicks);
        }
        i = j;
    }
    free(taken);
    sodium_memzero(&s, sizeof s);
    return 0;
}

/* ---- inspectors ------------------------------------------------------------------------------ */

static int s_insp_cmp(const void *a, const void *b)
{
    const sample_inspector_t *x = a, *y = b;
    int c = strcmp(x->district, y->district);
    if (c)
        return c;
    return x->inspector_id < y->inspector_id ? -1 : x->inspector_id > y->inspector_id;
}

static int s_excl_cmp(const void *a, const void *b)
{
    const sample_exclusion_t *x = a, *y = b;
    if (x->business_id != y->business_id)
        return x->business_id < y->business_id ? -1 : 1;
    return x->inspector_id < y->inspector_id ? -1 : x->inspector_id > y->inspector_id;
}

void sample_assign_inspectors(const sample_input_t *in, sample_result_t *out)
{
    size_t nr = in->nroster, ne = in->nexclusions;
    sample_inspector_t *roster = xcalloc(nr ? nr : 1, sizeof *roster);
    sample_exclusion_t *excl = xcalloc(ne ? ne : 1, sizeof *excl);
    if (nr)
        memcpy(roster, in->roster, nr * sizeof *roster);
    if (ne)
        memcpy(excl, in->exclusions, ne * sizeof *excl);
    if (nr > 1)
        qsort(roster, nr, sizeof *roster, s_insp_cmp);
    if (ne > 1)
        qsort(excl, ne, sizeof *excl, s_excl_cmp);
    uint64_t *load = xcalloc(nr ? nr : 1, sizeof *load);
    size_t *cand = xcalloc(nr ? nr : 1, sizeof *cand);
    sample_stream_t s;
    sample_stream_init(&s, out->key, "LZ-INSP\0");
    out->short_inspectors = 0;
    for (size_t p = 0; p < out->npicks; p++) {
        sample_pick_t *pk = &out->picks[p];
        sample_inspector_t probe;
        memset(&probe, 0, sizeof probe);
        memcpy(probe.district, pk->stratum, 6);
        memset(probe.district + 6, '0', 6);
        /* the district's roster: [lo, hi) */
        size_t lo = 0, hi = nr;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (strcmp(roster[mid].district, probe.district) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        size_t end = lo;
        while (end < nr && !strcmp(roster[end].district, probe.district))
            end++;
        /* the business's exclusions: [elo, ehi) */
        size_t elo = 0, ehi = ne;
        while (elo < ehi) {
            size_t mid = elo + (ehi - elo) / 2;
            if (excl[mid].business_id < pk->business_id)
                elo = mid + 1;
            else
                ehi = mid;
        }
        size_t eend = elo;
        while (eend < ne && excl[eend].business_id == pk->business_id)
            eend++;
        for (int slot = 0; slot < 2; slot++) {
            size_t nc = 0;
            uint64_t best = UINT64_MAX;
            for (size_t r = lo; r < end; r++) {
                int64_t id = roster[r].inspector_id;
                if (slot == 1 && id == pk->inspectors[0])
                    continue;
                sample_exclusion_t key = {pk->business_id, id};
                if (eend > elo && bsearch(&key, excl + elo, eend - elo, sizeof *excl, s_excl_cmp))
                    continue;
                if (load[r] < best) {
                    best = load[r];
                    nc = 0;
                }
                if (load[r] == best)
                    cand[nc++] = r;
            }
            if (nc == 0) {
                pk->inspectors[slot] = 0;
                out->short_inspectors++;
                continue;
            }
            size_t r = cand[sample_stream_uniform(&s, nc)];
            load[r]++;
            pk->inspectors[slot] = roster[r].inspector_id;
        }
    }
    sample_list_hash(out->picks, out->npicks, out->list_hash);
    sodium_memzero(&s, sizeof s);
    free(cand);
    free(load);
    free(excl);
    free(roster);
}

int sample_draw(const sample_input_t *in, sample_result_t *out)
{
    if (sample_draw_businesses(in, out) != 0)
        return -1;
    sample_assign_inspectors(in, out);
    return 0;
}

void sample_result_clear(sample_result_t *r)
{
    if (!r)
        return;
    free(r->picks);
    memset(r, 0, sizeof *r);
}
