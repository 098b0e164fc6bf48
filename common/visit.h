/*
 * visit.h - how often a cadre owes a visit: the frequencies, their periods,
 * and the settings that choose them per cadre level.  The scheduler opens
 * visit tasks from these periods and the sampler's inspection brief counts
 * visits owed by them, so both read the same settings the same way.
 */
#ifndef LZ_VISIT_H
#define LZ_VISIT_H

#include "cfg.h"

#include <stddef.h>
#include <stdint.h>

typedef enum { VISIT_MONTHLY, VISIT_QUARTERLY, VISIT_HALFYEARLY, VISIT_YEARLY } visit_freq_t;

/* Cadre levels in the order visit_freqs_from_cfg fills: city, county, township, village. */
#define VISIT_LEVELS 4

/* Parse "monthly", "quarterly", "halfyearly", "yearly".  0 and *out, or -1. */
int visit_freq_parse(const char *s, visit_freq_t *out);

/* The name of f (static), or NULL for no frequency. */
const char *visit_freq_name(visit_freq_t f);

/*
 * The visit period of frequency f holding instant t: its text ("2026-11",
 * "2026-Q4", "2026-H2", "2026"), first instant and end (exclusive), in
 * Asia/Shanghai.  0, or -1 outside years 1970..9998.
 */
int visit_period_of(visit_freq_t f, int64_t t, char *text, size_t len, int64_t *start,
                    int64_t *end);

/*
 * The frequency per cadre level from the settings LZ_VISIT_PRESET and
 * LZ_VISIT_FREQ_CITY/COUNTY/TOWNSHIP/VILLAGE (rows each such service has in
 * its settings table): the preset (default:
 * quarterly for all; national: city and county half-yearly, township
 * quarterly, village monthly), then any LZ_VISIT_FREQ_<LEVEL> given.
 * Returns 0, or -1 after logging which setting is wrong.
 */
int visit_freqs_from_cfg(const cfg_t *cfg, visit_freq_t out[VISIT_LEVELS]);

#endif
