/*
 * region.h - 12-digit statistical division codes (统计用区划代码) and their tree.
 *
 * A code's level follows from its trailing zeros: 2 significant digits for a
 * province (340000000000), 4 for a city (340700000000), 6 for a district or county
 * (340705000000), 9 for a township or street (340705001000) and 12 for a community
 * or village (340705001001). A jurisdiction is a region and everything under it,
 * which is a prefix match on the scope's significant digits.
 *
 * Inherent in the scheme: a community numbered 000 would read as its township, and
 * a township under a city without districts (Dongguan, 441900003000) reads its
 * parent as the city itself. Pure functions over NUL-terminated strings.
 */
#ifndef LZ_REGION_H
#define LZ_REGION_H

#include <stdbool.h>
#include <stddef.h>

/* Length of a code, without the NUL. */
#define REGION_CODE_LEN 12

typedef enum {
    REGION_PROVINCE,
    REGION_CITY,
    REGION_DISTRICT,
    REGION_TOWNSHIP,
    REGION_COMMUNITY
} region_level_t;

/* Returns true if code is exactly 12 ASCII digits and its first two are not "00";
 * its level's significant prefix is then followed by zeros only. */
bool region_code_valid(const char *code);

/* Finds the level of a valid code from its trailing zeros. Returns 0 and sets
 * *out, or -1 if code is not valid. */
int region_level_of(const char *code, region_level_t *out);

/* Returns the number of significant digits of a level (2, 4, 6, 9, 12), or 0 for
 * an unknown level. */
size_t region_prefix_len(region_level_t level);

/* Returns true if scope is code itself or one of its ancestors (code starts with
 * scope's significant digits); false if either is not valid. */
bool region_contains(const char *scope, const char *code);

/* Writes the parent of code, zero-filled and NUL-terminated, into out. Returns 0,
 * or -1 (out untouched) for a province or an invalid code. */
int region_parent(const char *code, char out[REGION_CODE_LEN + 1]);

/* Returns the static name of l ("province", "city", "district", "township",
 * "community"), or NULL if l is not a level. */
const char *region_level_name(region_level_t l);

/* Parses a level name (exact, lower case). Returns 0 and sets *out, or -1. */
int region_level_parse(const char *s, region_level_t *out);

#endif /* LZ_REGION_H */
