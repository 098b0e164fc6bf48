/*
 * region.c - 12-digit statistical division codes: validation, levels, containment
 * and parents. See region.h.
 */
#include "region.h"

#include <string.h>

static const size_t s_prefix_lens[] = {2, 4, 6, 9, 12};
static const char *const s_level_names[] = {"province", "city", "district", "township",
                                            "community"};

#define LEVEL_COUNT (sizeof s_prefix_lens / sizeof s_prefix_lens[0])

/* Returns true if code[from..REGION_CODE_LEN) are all '0'. */
static bool s_zeros_from(const char *code, size_t from)
{
    for (size_t i = from; i < REGION_CODE_LEN; i++) {
        if (code[i] != '0')
            return false;
    }
    return true;
}

/* Returns the level of a code already known to be valid. */
static region_level_t s_level(const char *code)
{
    for (size_t i = 0; i < LEVEL_COUNT - 1; i++) {
        if (s_zeros_from(code, s_prefix_lens[i]))
            return (region_level_t)i;
    }
    return REGION_COMMUNITY;
}

bool region_code_valid(const char *code)
{
    if (!code)
        return false;
    for (size_t i = 0; i < REGION_CODE_LEN; i++) {
        /* Stops at the NUL of a short string, which is not a digit. */
        if (code[i] < '0' || code[i] > '9')
            return false;
    }
    if (code[REGION_CODE_LEN] != '\0')
        return false;
    /* Any other tail is the significant prefix of some level followed by zeros. */
    return !(code[0] == '0' && code[1] == '0');
}

int region_level_of(const char *code, region_level_t *out)
{
    if (!region_code_valid(code))
        return -1;
    *out = s_level(code);
    return 0;
}

size_t region_prefix_len(region_level_t level)
{
    if ((int)level < 0 || (size_t)level >= LEVEL_COUNT)
        return 0;
    return s_prefix_lens[level];
}

bool region_contains(const char *scope, const char *code)
{
    if (!region_code_valid(scope) || !region_code_valid(code))
        return false;
    /* A code above scope differs from it inside scope's prefix, so a prefix match
     * alone means code is scope or below it. */
    return memcmp(scope, code, s_prefix_lens[s_level(scope)]) == 0;
}

int region_parent(const char *code, char out[REGION_CODE_LEN + 1])
{
    if (!region_code_valid(code))
        return -1;
    region_level_t level = s_level(code);
    if (level == REGION_PROVINCE)
        return -1;
    size_t keep = s_prefix_lens[level - 1];
    memcpy(out, code, keep);
    memset(out + keep, '0', REGION_CODE_LEN - keep);
    out[REGION_CODE_LEN] = '\0';
    return 0;
}

const char *region_level_name(region_level_t l)
{
    if ((int)l < 0 || (size_t)l >= LEVEL_COUNT)
        return NULL;
    return s_level_names[l];
}

int region_level_parse(const char *s, region_level_t *out)
{
    if (!s)
        return -1;
    for (size_t i = 0; i < LEVEL_COUNT; i++) {
        if (strcmp(s, s_level_names[i]) == 0) {
            *out = (region_level_t)i;
            return 0;
        }
    }
    return -1;
}
