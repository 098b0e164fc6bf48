/*
 * period.c - reporting periods, deadlines and local calendar arithmetic.
 *
 * Dates are handled as day numbers (days since 1970-01-01) using the
 * days-from-civil / civil-from-days algorithms (proleptic Gregorian), and local
 * time is UTC+08:00 fixed (Asia/Shanghai has no DST since 1991). See period.h.
 */
#include "period.h"

#include <stdio.h>
#include <string.h>

#define DAY_S    86400
#define YEAR_MIN 1970
#define YEAR_MAX 9999

/* Floor division for b > 0. */
static int64_t s_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if (a % b != 0 && a < 0)
        q--;
    return q;
}

/* Returns the day number (days since 1970-01-01) of y-m-d. */
static int64_t s_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Sets y-m-d from a day number. */
static void s_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const int64_t doe = z - era * 146097;
    const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* Returns the local day number holding instant t, without overflow. */
static int64_t s_local_day(int64_t t)
{
    int64_t day = s_floor_div(t, DAY_S);
    int64_t rem = t % DAY_S;
    if (rem < 0)
        rem += DAY_S; /* now 0 .. DAY_S-1, the UTC second of the day */
    if (rem + PERIOD_LOCAL_OFFSET_S >= DAY_S)
        day++;
    return day;
}

static bool s_is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int s_days_in_month(int64_t y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && s_is_leap(y))
        return 29;
    return dim[m - 1];
}

/* Returns the ISO weekday (1 = Monday .. 7 = Sunday) of a day number. */
static int s_weekday(int64_t day)
{
    /* Day 0, 1970-01-01, was a Thursday. */
    return (int)(day + 3 - s_floor_div(day + 3, 7) * 7) + 1;
}

/* Returns the day number of the Monday of ISO week 1 of ISO year y. */
static int64_t s_iso_week1_monday(int64_t y)
{
    int64_t jan4 = s_days_from_civil(y, 1, 4);
    return jan4 - (s_weekday(jan4) - 1);
}

static int s_iso_weeks_in_year(int64_t y)
{
    return (int)((s_iso_week1_monday(y + 1) - s_iso_week1_monday(y)) / 7);
}

/* Returns the largest num of a period of that kind in year y, or 0 for an
 * unknown kind. */
static int s_num_max(period_kind_t kind, int64_t y)
{
    switch (kind) {
    case PERIOD_DAILY:
        return s_is_leap(y) ? 366 : 365;
    case PERIOD_WEEKLY:
        return s_iso_weeks_in_year(y);
    case PERIOD_MONTHLY:
        return 12;
    case PERIOD_QUARTERLY:
        return 4;
    }
    return 0;
}

/* Returns the day number of the first day of a valid period. */
static int64_t s_first_day(const period_t *p)
{
    switch (p->kind) {
    case PERIOD_DAILY:
        return s_days_from_civil(p->year, 1, 1) + p->num - 1;
    case PERIOD_WEEKLY:
        return s_iso_week1_monday(p->year) + 7 * (int64_t)(p->num - 1);
    case PERIOD_MONTHLY:
        return s_days_from_civil(p->year, p->num, 1);
    case PERIOD_QUARTERLY:
        return s_days_from_civil(p->year, 3 * (p->num - 1) + 1, 1);
    }
    return 0;
}

/* Returns the number of days in a valid period. */
static int s_period_days(const period_t *p)
{
    switch (p->kind) {
    case PERIOD_DAILY:
        return 1;
    case PERIOD_WEEKLY:
        return 7;
    case PERIOD_MONTHLY:
        return s_days_in_month(p->year, p->num);
    case PERIOD_QUARTERLY: {
        int m0 = 3 * (p->num - 1) + 1;
        return s_days_in_month(p->year, m0) + s_days_in_month(p->year, m0 + 1) +
               s_days_in_month(p->year, m0 + 2);
    }
    }
    return 0;
}

/* Sets *out to the period of kind holding day number day. Returns 0, or -1 if it
 * lies outside the supported years. */
static int s_containing_day(period_kind_t kind, int64_t day, period_t *out)
{
    /* Bound the day first so the year always fits an int. */
    if (day < s_days_from_civil(YEAR_MIN - 1, 1, 1) ||
        day > s_days_from_civil(YEAR_MAX + 1, 12, 31))
        return -1;
    int64_t y;
    int m, d;
    s_civil_from_days(day, &y, &m, &d);

    period_t p = {.kind = kind, .year = (int)y, .num = 0};
    switch (kind) {
    case PERIOD_DAILY:
        p.num = (int)(day - s_days_from_civil(y, 1, 1)) + 1;
        break;
    case PERIOD_WEEKLY: {
        int64_t wy = y;
        if (day < s_iso_week1_monday(y))
            wy = y - 1;
        else if (day >= s_iso_week1_monday(y + 1))
            wy = y + 1;
        p.year = (int)wy;
        p.num = (int)((day - s_iso_week1_monday(wy)) / 7) + 1;
        break;
    }
    case PERIOD_MONTHLY:
        p.num = m;
        break;
    case PERIOD_QUARTERLY:
        p.num = (m - 1) / 3 + 1;
        break;
    default:
        return -1;
    }
    if (p.year < YEAR_MIN || p.year > YEAR_MAX)
        return -1;
    *out = p;
    return 0;
}

/* Reads exactly n ASCII digits at s into *out. Returns false on any non-digit
 * (including the terminating NUL, so it never reads past the string). */
static bool s_digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static const char *const s_kind_names[] = {"daily", "weekly", "monthly", "quarterly"};

const char *period_kind_name(period_kind_t k)
{
    if ((int)k < 0 || (size_t)k >= sizeof s_kind_names / sizeof s_kind_names[0])
        return NULL;
    return s_kind_names[k];
}

int period_kind_parse(const char *s, period_kind_t *out)
{
    if (!s)
        return -1;
    for (size_t i = 0; i < sizeof s_kind_names / sizeof s_kind_names[0]; i++) {
        if (strcmp(s, s_kind_names[i]) == 0) {
            *out = (period_kind_t)i;
            return 0;
        }
    }
    return -1;
}

bool period_valid(const period_t *p)
{
    if (!p || p->year < YEAR_MIN || p->year > YEAR_MAX)
        return false;
    int max = s_num_max(p->kind, p->year);
    return max > 0 && p->num >= 1 && p->num <= max;
}

int period_parse(const char *s, period_t *out)
{
    if (!s)
        return -1;
    size_t n = strnlen(s, PERIOD_TEXT_MAX);
    int y, a, b;
    if (n < 7 || !s_digits(s, 4, &y) || s[4] != '-' || y < YEAR_MIN || y > YEAR_MAX)
        return -1;

    period_t p = {.year = y};
    if (n == 10) {
        if (!s_digits(s + 5, 2, &a) || s[7] != '-' || !s_digits(s + 8, 2, &b))
            return -1;
        if (a < 1 || a > 12 || b < 1 || b > s_days_in_month(y, a))
            return -1;
        p.kind = PERIOD_DAILY;
        p.num = (int)(s_days_from_civil(y, a, b) - s_days_from_civil(y, 1, 1)) + 1;
    } else if (n == 8 && s[5] == 'W') {
        if (!s_digits(s + 6, 2, &a))
            return -1;
        p.kind = PERIOD_WEEKLY;
        p.num = a;
    } else if (n == 7 && s[5] == 'Q') {
        if (!s_digits(s + 6, 1, &a))
            return -1;
        p.kind = PERIOD_QUARTERLY;
        p.num = a;
    } else if (n == 7) {
        if (!s_digits(s + 5, 2, &a))
            return -1;
        p.kind = PERIOD_MONTHLY;
        p.num = a;
    } else {
        return -1;
    }
    if (!period_valid(&p))
        return -1;
    *out = p;
    return 0;
}

int period_parse_kind(period_kind_t kind, const char *s, period_t *out)
{
    period_t p;
    if (period_parse(s, &p) != 0 || p.kind != kind)
        return -1;
    *out = p;
    return 0;
}

size_t period_format(const period_t *p, char *buf, size_t len)
{
    if (!buf || len == 0)
        return 0;
    buf[0] = '\0';
    if (len < PERIOD_TEXT_MAX || !period_valid(p))
        return 0;

    int n = 0;
    switch (p->kind) {
    case PERIOD_DAILY: {
        int64_t y;
        int m, d;
        s_civil_from_days(s_first_day(p), &y, &m, &d);
        n = snprintf(buf, len, "%04d-%02d-%02d", (int)y, m, d);
        break;
    }
    case PERIOD_WEEKLY:
        n = snprintf(buf, len, "%04d-W%02d", p->year, p->num);
        break;
    case PERIOD_MONTHLY:
        n = snprintf(buf, len, "%04d-%02d", p->year, p->num);
        break;
    case PERIOD_QUARTERLY:
        n = snprintf(buf, len, "%04d-Q%d", p->year, p->num);
        break;
    }
    if (n < 0 || (size_t)n >= len) {
        buf[0] = '\0';
        return 0;
    }
    return (size_t)n;
}

int period_compare(const period_t *a, const period_t *b)
{
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    if (a->year != b->year)
        return a->year < b->year ? -1 : 1;
    if (a->num != b->num)
        return a->num < b->num ? -1 : 1;
    return 0;
}

int64_t period_start(const period_t *p)
{
    if (!period_valid(p))
        return INT64_MIN;
    return s_first_day(p) * DAY_S - PERIOD_LOCAL_OFFSET_S;
}

int64_t period_end(const period_t *p)
{
    if (!period_valid(p))
        return INT64_MIN;
    return (s_first_day(p) + s_period_days(p)) * DAY_S - PERIOD_LOCAL_OFFSET_S;
}

int64_t period_deadline(const period_t *p, int64_t grace_s)
{
    int64_t end = period_end(p);
    if (end == INT64_MIN)
        return INT64_MIN;
    /* Valid periods end after 1970-01-01, so end > 0 and only a positive grace can
     * overflow. */
    if (grace_s > 0 && end > INT64_MAX - grace_s)
        return INT64_MAX;
    return end + grace_s;
}

int period_containing(period_kind_t kind, int64_t t, period_t *out)
{
    return s_containing_day(kind, s_local_day(t), out);
}

int period_add(const period_t *p, int n, period_t *out)
{
    if (!period_valid(p))
        return -1;
    switch (p->kind) {
    case PERIOD_DAILY:
        return s_containing_day(PERIOD_DAILY, s_first_day(p) + n, out);
    case PERIOD_WEEKLY:
        return s_containing_day(PERIOD_WEEKLY, s_first_day(p) + 7 * (int64_t)n, out);
    case PERIOD_MONTHLY:
    case PERIOD_QUARTERLY: {
        int per_year = p->kind == PERIOD_MONTHLY ? 12 : 4;
        int64_t idx = (int64_t)p->year * per_year + (p->num - 1) + n;
        int64_t y = s_floor_div(idx, per_year);
        if (y < YEAR_MIN || y > YEAR_MAX)
            return -1;
        out->kind = p->kind;
        out->year = (int)y;
        out->num = (int)(idx - y * per_year) + 1;
        return 0;
    }
    }
    return -1;
}

int period_days(const period_t *p)
{
    if (!period_valid(p))
        return -1;
    return s_period_days(p);
}

int period_quarter_of(const period_t *p, period_t *out)
{
    if (!period_valid(p))
        return -1;
    return s_containing_day(PERIOD_QUARTERLY, s_first_day(p), out);
}

int period_first_day(const period_t *p, period_t *out_daily)
{
    if (!period_valid(p))
        return -1;
    return s_containing_day(PERIOD_DAILY, s_first_day(p), out_daily);
}

int64_t local_midnight(int y, int m, int d)
{
    return s_days_from_civil(y, m, d) * DAY_S - PERIOD_LOCAL_OFFSET_S;
}

void local_date(int64_t t, int *y, int *m, int *d)
{
    int64_t yy;
    s_civil_from_days(s_local_day(t), &yy, m, d);
    *y = (int)yy;
}

int local_weekday(int64_t t)
{
    return s_weekday(s_local_day(t));
}

int rfc3339_parse(const char *s, int64_t *out)
{
    if (!s)
        return -1;
    size_t n = strnlen(s, 64);
    if (n < 20 || n >= 64)
        return -1;

    int y, mo, d, h, mi, sec;
    if (!s_digits(s, 4, &y) || s[4] != '-' || !s_digits(s + 5, 2, &mo) || s[7] != '-' ||
        !s_digits(s + 8, 2, &d) || s[10] != 'T' || !s_digits(s + 11, 2, &h) || s[13] != ':' ||
        !s_digits(s + 14, 2, &mi) || s[16] != ':' || !s_digits(s + 17, 2, &sec))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > s_days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59)
        return -1;

    size_t i = 19;
    if (s[i] == '.') {
        size_t f = ++i;
        while (s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == f)
            return -1;
    }

    int64_t offset = 0;
    if (s[i] == 'Z') {
        i++;
    } else if (s[i] == '+' || s[i] == '-') {
        int oh, om;
        if (!s_digits(s + i + 1, 2, &oh) || s[i + 3] != ':' || !s_digits(s + i + 4, 2, &om))
            return -1;
        if (oh > 23 || om > 59)
            return -1;
        offset = (int64_t)oh * 3600 + om * 60;
        if (s[i] == '-')
            offset = -offset;
        i += 6;
    } else {
        return -1;
    }
    if (s[i] != '\0')
        return -1;

    *out = s_days_from_civil(y, mo, d) * DAY_S + (int64_t)h * 3600 + mi * 60 + sec - offset;
    return 0;
}

size_t rfc3339_format(int64_t t, char *buf, size_t len)
{
    if (!buf || len == 0)
        return 0;
    buf[0] = '\0';
    if (len < RFC3339_TEXT_MAX)
        return 0;

    int64_t day = s_local_day(t);
    /* Bound the day so the year fits 0000..9999 before converting. */
    if (day < s_days_from_civil(0, 1, 1) || day > s_days_from_civil(9999, 12, 31))
        return 0;
    int64_t secs = t - (day * DAY_S - PERIOD_LOCAL_OFFSET_S); /* 0 .. DAY_S-1 */
    int64_t y;
    int m, d;
    s_civil_from_days(day, &y, &m, &d);

    int n = snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d+08:00", (int)y, m, d,
                     (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
    if (n < 0 || (size_t)n >= len) {
        buf[0] = '\0';
        return 0;
    }
    return (size_t)n;
}
