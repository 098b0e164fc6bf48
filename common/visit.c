/*
 * visit.c - visit frequencies, their periods and the settings that choose
 * them.  See visit.h.
 */
#include "visit.h"
#include "log.h"
#include "period.h"

#include <stdio.h>
#include <string.h>

static const char *const s_freq_names[] = {"monthly", "quarterly", "halfyearly", "yearly"};

int visit_freq_parse(const char *s, visit_freq_t *out)
{
    for (int i = 0; s && i < 4; i++)
        if (!strcmp(s, s_freq_names[i])) {
            *out = (visit_freq_t)i;
            return 0;
        }
    return -1;
}

const char *visit_freq_name(visit_freq_t f)
{
    return (unsigned)f < 4 ? s_freq_names[f] : NULL;
}

int visit_period_of(visit_freq_t f, int64_t t, char *text, size_t len, int64_t *start, int64_t *end)
{
    int y, m, d;
    local_date(t, &y, &m, &d);
    if (y < 1970 || y > 9998)
        return -1;
    int m0, months, w;
    switch (f) {
    case VISIT_MONTHLY:
        m0 = m, months = 1;
        w = snprintf(text, len, "%04d-%02d", y, m);
        break;
    case VISIT_QUARTERLY:
        m0 = (m - 1) / 3 * 3 + 1, months = 3;
        w = snprintf(text, len, "%04d-Q%d", y, (m - 1) / 3 + 1);
        break;
    case VISIT_HALFYEARLY:
        m0 = m <= 6 ? 1 : 7, months = 6;
        w = snprintf(text, len, "%04d-H%d", y, m <= 6 ? 1 : 2);
        break;
    case VISIT_YEARLY:
        m0 = 1, months = 12;
        w = snprintf(text, len, "%04d", y);
        break;
    default:
        return -1;
    }
    if (w < 0 || (size_t)w >= len)
        return -1;
    *start = local_midnight(y, m0, 1);
    int m1 = m0 + months;
    *end = m1 > 12 ? local_midnight(y + 1, m1 - 12, 1) : local_midnight(y, m1, 1);
    return 0;
}

int visit_freqs_from_cfg(const cfg_t *cfg, visit_freq_t out[VISIT_LEVELS])
{
    const char *preset = cfg_str(cfg, "LZ_VISIT_PRESET");
    if (!strcmp(preset, "default")) {
        for (int i = 0; i < VISIT_LEVELS; i++)
            out[i] = VISIT_QUARTERLY;
    } else if (!strcmp(preset, "national")) {
        out[0] = VISIT_HALFYEARLY; /* city: as county */
        out[1] = VISIT_HALFYEARLY;
        out[2] = VISIT_QUARTERLY;
        out[3] = VISIT_MONTHLY;
    } else {
        log_error("setting LZ_VISIT_PRESET must be default or national");
        return -1;
    }
    static const char *const names[VISIT_LEVELS] = {"LZ_VISIT_FREQ_CITY", "LZ_VISIT_FREQ_COUNTY",
                                                    "LZ_VISIT_FREQ_TOWNSHIP",
                                                    "LZ_VISIT_FREQ_VILLAGE"};
    for (int i = 0; i < VISIT_LEVELS; i++) {
        const char *v = cfg_str(cfg, names[i]);
        if (v[0] && visit_freq_parse(v, &out[i]) != 0) {
            log_error("setting %s must be monthly, quarterly, halfyearly or yearly", names[i]);
            return -1;
        }
    }
    return 0;
}
