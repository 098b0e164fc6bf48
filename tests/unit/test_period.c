/*
 * test_period.c - unit tests for common/period: parsing, formatting, period
 * arithmetic across year ends, ISO weeks, +08:00 boundaries, deadlines and RFC 3339.
 *
 * Expected instants were computed independently (Python datetime); the long
 * round-trip test cross-checks against libc gmtime_r/strftime (%G-W%V, %j).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "period.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Parses s, failing the test if it is not a period. */
static period_t s_p(const char *s)
{
    period_t p;
    if (period_parse(s, &p) != 0)
        fail_msg("could not parse period \"%s\"", s);
    return p;
}

/* Formats p into a static buffer (tests only). */
static const char *s_fmt(const period_t *p)
{
    static char buf[PERIOD_TEXT_MAX];
    period_format(p, buf, sizeof buf);
    return buf;
}

static void test_kind_names(void **state)
{
    (void)state;
    static const struct {
        period_kind_t kind;
        const char *name;
    } cases[] = {
        {PERIOD_DAILY, "daily"},
        {PERIOD_WEEKLY, "weekly"},
        {PERIOD_MONTHLY, "monthly"},
        {PERIOD_QUARTERLY, "quarterly"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        period_kind_t k;
        assert_string_equal(period_kind_name(cases[i].kind), cases[i].name);
        assert_int_equal(period_kind_parse(cases[i].name, &k), 0);
        assert_int_equal(k, cases[i].kind);
    }
    static const char *bad[] = {"", "Daily", "day", "daily ", "quarter", "yearly"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        period_kind_t k = PERIOD_MONTHLY;
        assert_int_equal(period_kind_parse(bad[i], &k), -1);
        assert_int_equal(k, PERIOD_MONTHLY);
    }
    assert_int_equal(period_kind_parse(NULL, NULL), -1);
    assert_null(period_kind_name((period_kind_t)4));
    assert_null(period_kind_name((period_kind_t)-1));
}

static void test_parse_valid(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        period_kind_t kind;
        int year, num;
    } cases[] = {
        {"2026-11-29", PERIOD_DAILY, 2026, 333}, {"2026-01-01", PERIOD_DAILY, 2026, 1},
        {"2026-12-31", PERIOD_DAILY, 2026, 365}, {"2024-02-29", PERIOD_DAILY, 2024, 60},
        {"2024-12-31", PERIOD_DAILY, 2024, 366}, {"2000-02-29", PERIOD_DAILY, 2000, 60},
        {"1970-01-01", PERIOD_DAILY, 1970, 1},   {"9999-12-31", PERIOD_DAILY, 9999, 365},
        {"2026-W48", PERIOD_WEEKLY, 2026, 48},   {"2026-W53", PERIOD_WEEKLY, 2026, 53},
        {"2020-W53", PERIOD_WEEKLY, 2020, 53},   {"2015-W53", PERIOD_WEEKLY, 2015, 53},
        {"2021-W52", PERIOD_WEEKLY, 2021, 52},   {"2026-W01", PERIOD_WEEKLY, 2026, 1},
        {"2026-11", PERIOD_MONTHLY, 2026, 11},   {"2026-01", PERIOD_MONTHLY, 2026, 1},
        {"2026-12", PERIOD_MONTHLY, 2026, 12},   {"2026-Q4", PERIOD_QUARTERLY, 2026, 4},
        {"2026-Q1", PERIOD_QUARTERLY, 2026, 1},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        period_t p;
        char buf[PERIOD_TEXT_MAX];
        if (period_parse(cases[i].text, &p) != 0)
            fail_msg("rejected valid period \"%s\"", cases[i].text);
        assert_int_equal(p.kind, cases[i].kind);
        assert_int_equal(p.year, cases[i].year);
        assert_int_equal(p.num, cases[i].num);
        assert_true(period_valid(&p));
        assert_int_equal(period_format(&p, buf, sizeof buf), strlen(cases[i].text));
        assert_string_equal(buf, cases[i].text);
    }
}

static void test_parse_invalid(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",
        "2026",
        "2026-",
        "2026-2-28",
        "2026-02-8",
        "2026-02-29",
        "2100-02-29",
        "1900-02-29",
        "2026-13-01",
        "2026-00-10",
        "2026-04-31",
        "2026-01-00",
        "2026-01-32",
        "26-11-29",
        "02026-11-29",
        "2026-11-29 ",
        " 2026-11-29",
        "2026/11/29",
        "2026-11-29T",
        "1969-12-31",
        "0000-01-01",
        "2021-W53",
        "2025-W53",
        "2026-W54",
        "2026-W00",
        "2026-W1",
        "2026-w48",
        "2026-W4a",
        "2026-W048",
        "2026-13",
        "2026-00",
        "2026-1",
        "2026-Q0",
        "2026-Q5",
        "2026-q4",
        "2026-Q04",
        "1969-Q4",
        "1969-12",
        "+026-11",
        "2026-+1",
        "2026--1",
        "2026-1a",
        "x026-Q1",
        "2026-11-2x",
        "2026-11-29x",
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        period_t p = {PERIOD_MONTHLY, 1234, 5};
        if (period_parse(bad[i], &p) != -1)
            fail_msg("accepted invalid period \"%s\"", bad[i]);
        assert_int_equal(p.year, 1234);
    }
    period_t p;
    assert_int_equal(period_parse(NULL, &p), -1);
}

static void test_parse_kind(void **state)
{
    (void)state;
    period_t p;
    assert_int_equal(period_parse_kind(PERIOD_WEEKLY, "2026-W48", &p), 0);
    assert_int_equal(p.num, 48);
    assert_int_equal(period_parse_kind(PERIOD_DAILY, "2026-W48", &p), -1);
    assert_int_equal(period_parse_kind(PERIOD_MONTHLY, "2026-Q4", &p), -1);
    assert_int_equal(period_parse_kind(PERIOD_QUARTERLY, "2026-Q4", &p), 0);
    assert_int_equal(period_parse_kind(PERIOD_MONTHLY, "2026-11", &p), 0);
    assert_int_equal(period_parse_kind(PERIOD_DAILY, "2026-11", &p), -1);
    assert_int_equal(period_parse_kind(PERIOD_DAILY, "2026-11-29", &p), 0);
    assert_int_equal(period_parse_kind(PERIOD_WEEKLY, "2026-11-29", &p), -1);
    assert_int_equal(period_parse_kind(PERIOD_WEEKLY, "2021-W53", &p), -1);
}

/* Which ISO years have 53 weeks, checked against libc for 1970..2200. */
static void test_weeks_in_year(void **state)
{
    (void)state;
    static const int long_years[] = {1970, 1976, 1981, 1987, 1992, 1998, 2004, 2009,
                                     2015, 2020, 2026, 2032, 2037, 2043, 2099};
    for (size_t i = 0; i < ARRAY_LEN(long_years); i++) {
        period_t p = {PERIOD_WEEKLY, long_years[i], 53};
        assert_true(period_valid(&p));
    }
    for (int y = 1970; y <= 2200; y++) {
        /* 28 December is always in the last ISO week of its year. */
        time_t t = (time_t)(local_midnight(y, 12, 28) + PERIOD_LOCAL_OFFSET_S);
        struct tm tm;
        char want[8];
        gmtime_r(&t, &tm);
        strftime(want, sizeof want, "%V", &tm);
        period_t p53 = {PERIOD_WEEKLY, y, 53};
        period_t p52 = {PERIOD_WEEKLY, y, 52};
        assert_int_equal(period_valid(&p53), strcmp(want, "53") == 0);
        assert_true(period_valid(&p52));
    }
}

/* Every day from 2018-12-01 for 5000 days: formats agree with libc and round-trip. */
static void test_roundtrip_consecutive_days(void **state)
{
    (void)state;
    static const period_kind_t kinds[] = {PERIOD_DAILY, PERIOD_WEEKLY, PERIOD_MONTHLY,
                                          PERIOD_QUARTERLY};
    int64_t t0 = local_midnight(2018, 12, 1);
    period_t prev_day = {0};
    for (int i = 0; i < 5000; i++) {
        int64_t t = t0 + (int64_t)i * 86400;
        time_t lt = (time_t)(t + PERIOD_LOCAL_OFFSET_S);
        struct tm tm;
        gmtime_r(&lt, &tm);
        char want[4][32];
        strftime(want[0], sizeof want[0], "%Y-%m-%d", &tm);
        strftime(want[1], sizeof want[1], "%G-W%V", &tm);
        strftime(want[2], sizeof want[2], "%Y-%m", &tm);
        snprintf(want[3], sizeof want[3], "%04d-Q%d", tm.tm_year + 1900, tm.tm_mon / 3 + 1);

        int y, m, d;
        local_date(t + 86399, &y, &m, &d);
        assert_int_equal(y, tm.tm_year + 1900);
        assert_int_equal(m, tm.tm_mon + 1);
        assert_int_equal(d, tm.tm_mday);
        assert_int_equal(local_weekday(t), tm.tm_wday == 0 ? 7 : tm.tm_wday);
        assert_int_equal(local_midnight(y, m, d), t);

        for (size_t k = 0; k < ARRAY_LEN(kinds); k++) {
            period_t p, back;
            char buf[PERIOD_TEXT_MAX];
            assert_int_equal(period_containing(kinds[k], t, &p), 0);
            assert_int_equal(period_format(&p, buf, sizeof buf), strlen(want[k]));
            assert_string_equal(buf, want[k]);
            assert_int_equal(period_parse(buf, &back), 0);
            assert_int_equal(period_compare(&p, &back), 0);
            assert_true(period_start(&p) <= t && t < period_end(&p));
            assert_int_equal(period_end(&p) - period_start(&p), (int64_t)period_days(&p) * 86400);
            /* The last second of the local day is still in the same period. */
            assert_int_equal(period_containing(kinds[k], t + 86399, &back), 0);
            assert_int_equal(period_compare(&p, &back), 0);
        }
        period_t day;
        assert_int_equal(period_containing(PERIOD_DAILY, t, &day), 0);
        assert_int_equal(day.num, tm.tm_yday + 1);
        if (i > 0) {
            period_t next;
            assert_int_equal(period_add(&prev_day, 1, &next), 0);
            assert_int_equal(period_compare(&next, &day), 0);
            assert_int_equal(period_end(&prev_day), period_start(&day));
        }
        prev_day = day;
    }
}

static void test_add(void **state)
{
    (void)state;
    static const struct {
        const char *from;
        int n;
        const char *want;
    } cases[] = {
        {"2026-12-31", 1, "2027-01-01"}, {"2027-01-01", -1, "2026-12-31"},
        {"2024-02-28", 1, "2024-02-29"}, {"2024-02-29", 1, "2024-03-01"},
        {"2026-02-28", 1, "2026-03-01"}, {"2024-12-31", 366, "2026-01-01"},
        {"2026-11-29", 0, "2026-11-29"}, {"2026-11-29", 10000, "2054-04-16"},
        {"2026-W53", 1, "2027-W01"},     {"2027-W01", -1, "2026-W53"},
        {"2026-W52", 1, "2026-W53"},     {"2020-W53", 1, "2021-W01"},
        {"2021-W01", -1, "2020-W53"},    {"2021-W52", 1, "2022-W01"},
        {"2024-W52", 1, "2025-W01"},     {"2026-W48", -48, "2025-W52"},
        {"2026-W01", 53, "2027-W01"},    {"2026-12", 1, "2027-01"},
        {"2027-01", -1, "2026-12"},      {"2026-11", 14, "2028-01"},
        {"2026-11", -23, "2024-12"},     {"2026-11", -24, "2024-11"},
        {"2026-Q4", 1, "2027-Q1"},       {"2027-Q1", -1, "2026-Q4"},
        {"2026-Q4", -8, "2024-Q4"},      {"2026-Q4", -9, "2024-Q3"},
        {"2026-Q2", 7, "2028-Q1"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        period_t p = s_p(cases[i].from), out;
        assert_int_equal(period_add(&p, cases[i].n, &out), 0);
        if (strcmp(s_fmt(&out), cases[i].want) != 0)
            fail_msg("%s %+d: got %s, want %s", cases[i].from, cases[i].n, s_fmt(&out),
                     cases[i].want);
        period_t back;
        assert_int_equal(period_add(&out, -cases[i].n, &back), 0);
        assert_int_equal(period_compare(&back, &p), 0);
    }
    /* In place, and off the ends of the supported range. */
    period_t p = s_p("2026-W53");
    assert_int_equal(period_add(&p, 1, &p), 0);
    assert_string_equal(s_fmt(&p), "2027-W01");
    static const struct {
        const char *from;
        int n;
    } out_of_range[] = {
        {"1970-01-01", -1}, {"9999-12-31", 1}, {"1970-01", -1},
        {"9999-Q4", 1},     {"9999-12", 1},    {"1970-W01", -1},
    };
    for (size_t i = 0; i < ARRAY_LEN(out_of_range); i++) {
        period_t q = s_p(out_of_range[i].from), out = {PERIOD_DAILY, 1, 1};
        assert_int_equal(period_add(&q, out_of_range[i].n, &out), -1);
        assert_int_equal(out.year, 1);
    }
}

/* Instants at and around local midnight (+08:00 means 16:00Z the day before). */
static void test_containing_boundaries(void **state)
{
    (void)state;
    static const struct {
        int64_t t;
        period_kind_t kind;
        const char *want;
    } cases[] = {
        {1795968000, PERIOD_DAILY, "2026-11-30"},     /* 2026-11-29T16:00:00Z */
        {1795968000 - 1, PERIOD_DAILY, "2026-11-29"}, /* 15:59:59Z */
        {1795968000, PERIOD_WEEKLY, "2026-W49"},      /* Monday 30 Nov local */
        {1795968000 - 1, PERIOD_WEEKLY, "2026-W48"},  /* Sunday 29 Nov 23:59:59 */
        {1795968000, PERIOD_MONTHLY, "2026-11"},
        {1796054400, PERIOD_MONTHLY, "2026-12"}, /* 2026-12-01T00:00+08:00 */
        {1796054400 - 1, PERIOD_MONTHLY, "2026-11"},
        {1796054400, PERIOD_QUARTERLY, "2026-Q4"},
        {1790784000, PERIOD_QUARTERLY, "2026-Q4"}, /* 2026-10-01T00:00+08:00 */
        {1790784000 - 1, PERIOD_QUARTERLY, "2026-Q3"},
        {1798732800, PERIOD_DAILY, "2027-01-01"}, /* 2027-01-01T00:00+08:00 */
        {1798732800 - 1, PERIOD_DAILY, "2026-12-31"},
        {1798732800, PERIOD_WEEKLY, "2026-W53"}, /* a Friday, still 2026-W53 */
        {1798732800 - 1, PERIOD_WEEKLY, "2026-W53"},
        {1798732800, PERIOD_MONTHLY, "2027-01"},
        {1798732800 - 1, PERIOD_MONTHLY, "2026-12"},
        {1798732800, PERIOD_QUARTERLY, "2027-Q1"},
        {1798732800 - 1, PERIOD_QUARTERLY, "2026-Q4"},
        {1798992000, PERIOD_WEEKLY, "2027-W01"}, /* 2027-01-04T00:00+08:00 */
        {1798992000 - 1, PERIOD_WEEKLY, "2026-W53"},
        {1735488000, PERIOD_WEEKLY, "2025-W01"}, /* 2024-12-30T00:00+08:00 */
        {1735488000 - 1, PERIOD_WEEKLY, "2024-W52"},
        {1735488000, PERIOD_DAILY, "2024-12-30"},
        {1709136000, PERIOD_DAILY, "2024-02-29"}, /* 2024-02-29T00:00+08:00 */
        {1709222400 - 1, PERIOD_DAILY, "2024-02-29"},
        {1709222400, PERIOD_DAILY, "2024-03-01"},
        {951753600, PERIOD_DAILY, "2000-02-29"},
        {-28800, PERIOD_DAILY, "1970-01-01"}, /* 1970-01-01T00:00+08:00 */
        {0, PERIOD_DAILY, "1970-01-01"},
        {253402271999, PERIOD_DAILY, "9999-12-31"}, /* 9999-12-31T23:59:59+08:00 */
        {253402271999, PERIOD_QUARTERLY, "9999-Q4"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        period_t p;
        assert_int_equal(period_containing(cases[i].kind, cases[i].t, &p), 0);
        if (strcmp(s_fmt(&p), cases[i].want) != 0)
            fail_msg("t=%lld: got %s, want %s", (long long)cases[i].t, s_fmt(&p), cases[i].want);
    }
    static const struct {
        int64_t t;
        period_kind_t kind;
    } outside[] = {
        {-28800 - 1, PERIOD_DAILY}, {-28800 - 1, PERIOD_MONTHLY}, {253402271999 + 1, PERIOD_DAILY},
        {INT64_MIN, PERIOD_DAILY},  {INT64_MAX, PERIOD_WEEKLY},   {0, (period_kind_t)9},
    };
    for (size_t i = 0; i < ARRAY_LEN(outside); i++) {
        period_t p = {PERIOD_DAILY, 1, 1};
        assert_int_equal(period_containing(outside[i].kind, outside[i].t, &p), -1);
        assert_int_equal(p.year, 1);
    }
    /* 1970-01-01 is a Thursday, so its week began in 1969. */
    period_t p;
    assert_int_equal(period_containing(PERIOD_WEEKLY, 0, &p), 0);
    assert_string_equal(s_fmt(&p), "1970-W01");
    assert_int_equal(period_start(&p), -28800 - 3 * 86400);
}

static void test_start_end_days(void **state)
{
    (void)state;
    static const struct {
        const char *period;
        int64_t start, end;
        int days;
    } cases[] = {
        {"2026-11-30", 1795968000, 1795968000 + 86400, 1},
        {"2026-W49", 1795968000, 1795968000 + 7 * 86400, 7},
        {"2026-W48", 1795363200, 1795968000, 7},
        {"2026-W53", 1798387200, 1798992000, 7},
        {"2026-11", 1795968000 - 29 * 86400, 1796054400, 30},
        {"2026-12", 1796054400, 1798732800, 31},
        {"2026-Q4", 1790784000, 1798732800, 92},
        {"2026-Q1", 1767196800, 1767196800 + 90 * 86400, 90},
        {"2024-Q1", 1704038400, 1704038400 + 91 * 86400, 91},
        {"2024-02", 1706716800, 1709222400, 29},
        {"2100-02", 4105094400, 4105094400 + 28 * 86400, 28},
        {"2025-W01", 1735488000, 1735488000 + 7 * 86400, 7},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        period_t p = s_p(cases[i].period);
        if (period_start(&p) != cases[i].start || period_end(&p) != cases[i].end)
            fail_msg("%s: [%lld, %lld), want [%lld, %lld)", cases[i].period,
                     (long long)period_start(&p), (long long)period_end(&p),
                     (long long)cases[i].start, (long long)cases[i].end);
        assert_int_equal(period_days(&p), cases[i].days);
        assert_int_equal(period_deadline(&p, 0), cases[i].end);
    }
}

static void test_deadline(void **state)
{
    (void)state;
    static const struct {
        const char *period;
        int64_t grace;
        int64_t deadline;
    } cases[] = {
        {"2026-11-29", 0, 1795968000},
        {"2026-11-29", 3600, 1795968000 + 3600},
        {"2026-11-29", 3 * 86400, 1795968000 + 3 * 86400},
        {"2026-W48", 0, 1795968000},
        {"2026-W48", 7 * 86400, 1795968000 + 7 * 86400},
        {"2026-11", 10 * 86400, 1796054400 + 10 * 86400},
        {"2026-Q4", 0, 1798732800},
        {"2026-11-29", -60, 1795968000 - 60},
        {"2026-11-29", INT64_MAX, INT64_MAX},
        {"2026-11-29", INT64_MIN, 1795968000 + INT64_MIN},
        {"9999-12-31", INT64_MAX - 1, INT64_MAX},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        period_t p = s_p(cases[i].period);
        int64_t dl = period_deadline(&p, cases[i].grace);
        if (dl != cases[i].deadline)
            fail_msg("%s grace %lld: %lld, want %lld", cases[i].period, (long long)cases[i].grace,
                     (long long)dl, (long long)cases[i].deadline);
    }
    /* On time means t < deadline: the last second of the day is on time, midnight is not. */
    period_t day = s_p("2026-11-29");
    int64_t dl = period_deadline(&day, 0);
    period_t holder;
    assert_int_equal(period_containing(PERIOD_DAILY, dl - 1, &holder), 0);
    assert_int_equal(period_compare(&holder, &day), 0);
    assert_int_equal(period_containing(PERIOD_DAILY, dl, &holder), 0);
    assert_string_equal(s_fmt(&holder), "2026-11-30");
}

static void test_quarter_and_first_day(void **state)
{
    (void)state;
    static const struct {
        const char *period, *quarter, *first;
    } cases[] = {
        {"2026-11-29", "2026-Q4", "2026-11-29"},
        {"2026-01-01", "2026-Q1", "2026-01-01"},
        {"2026-03-31", "2026-Q1", "2026-03-31"},
        {"2026-04-01", "2026-Q2", "2026-04-01"},
        {"2026-W48", "2026-Q4", "2026-11-23"},
        {"2026-W53", "2026-Q4", "2026-12-28"},
        {"2025-W01", "2024-Q4", "2024-12-30"},
        {"2026-W01", "2025-Q4", "2025-12-29"},
        {"2026-W14", "2026-Q1", "2026-03-30"},
        {"2026-W15", "2026-Q2", "2026-04-06"},
        {"2026-11", "2026-Q4", "2026-11-01"},
        {"2026-07", "2026-Q3", "2026-07-01"},
        {"2026-06", "2026-Q2", "2026-06-01"},
        {"2026-Q3", "2026-Q3", "2026-07-01"},
        {"1970-W01", "", ""},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        period_t p = s_p(cases[i].period), q, d;
        if (cases[i].quarter[0] == '\0') {
            /* The first day lies before 1970. */
            assert_int_equal(period_quarter_of(&p, &q), -1);
            assert_int_equal(period_first_day(&p, &d), -1);
            continue;
        }
        assert_int_equal(period_quarter_of(&p, &q), 0);
        assert_string_equal(s_fmt(&q), cases[i].quarter);
        assert_int_equal(q.kind, PERIOD_QUARTERLY);
        assert_int_equal(period_first_day(&p, &d), 0);
        assert_string_equal(s_fmt(&d), cases[i].first);
        assert_int_equal(d.kind, PERIOD_DAILY);
        assert_int_equal(period_start(&d), period_start(&p));
    }
}

static void test_compare(void **state)
{
    (void)state;
    static const struct {
        const char *a, *b;
        int sign;
    } cases[] = {
        {"2026-11-29", "2026-11-30", -1}, {"2026-12-31", "2027-01-01", -1},
        {"2026-11-29", "2026-11-29", 0},  {"2026-W53", "2027-W01", -1},
        {"2026-W53", "2026-W52", 1},      {"2026-12", "2026-11", 1},
        {"2025-12", "2026-01", -1},       {"2026-Q1", "2025-Q4", 1},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        period_t a = s_p(cases[i].a), b = s_p(cases[i].b);
        int c = period_compare(&a, &b);
        assert_int_equal((c > 0) - (c < 0), cases[i].sign);
        c = period_compare(&b, &a);
        assert_int_equal((c > 0) - (c < 0), -cases[i].sign);
    }
}

static void test_invalid_period_struct(void **state)
{
    (void)state;
    static const period_t bad[] = {
        {PERIOD_DAILY, 2026, 0},     {PERIOD_DAILY, 2026, 366},  {PERIOD_DAILY, 2024, 367},
        {PERIOD_WEEKLY, 2021, 53},   {PERIOD_WEEKLY, 2026, 0},   {PERIOD_MONTHLY, 2026, 13},
        {PERIOD_QUARTERLY, 2026, 5}, {PERIOD_MONTHLY, 1969, 12}, {PERIOD_MONTHLY, 10000, 1},
        {(period_kind_t)7, 2026, 1},
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        period_t out = {PERIOD_DAILY, 1, 1};
        char buf[PERIOD_TEXT_MAX] = "x";
        assert_false(period_valid(&bad[i]));
        assert_int_equal(period_start(&bad[i]), INT64_MIN);
        assert_int_equal(period_end(&bad[i]), INT64_MIN);
        assert_int_equal(period_deadline(&bad[i], 3600), INT64_MIN);
        assert_int_equal(period_days(&bad[i]), -1);
        assert_int_equal(period_add(&bad[i], 1, &out), -1);
        assert_int_equal(period_quarter_of(&bad[i], &out), -1);
        assert_int_equal(period_first_day(&bad[i], &out), -1);
        assert_int_equal(out.year, 1);
        assert_int_equal(period_format(&bad[i], buf, sizeof buf), 0);
        assert_string_equal(buf, "");
    }
    assert_false(period_valid(NULL));
    /* A buffer shorter than PERIOD_TEXT_MAX is refused even for a short text. */
    period_t q = s_p("2026-Q4");
    char small[PERIOD_TEXT_MAX - 1] = "x";
    assert_int_equal(period_format(&q, small, sizeof small), 0);
    assert_string_equal(small, "");
    assert_int_equal(period_format(&q, NULL, 0), 0);
}

static void test_local_calendar(void **state)
{
    (void)state;
    static const struct {
        int64_t t;
        int y, m, d, wd;
    } cases[] = {
        {1795968000, 2026, 11, 30, 1},
        {1795968000 - 1, 2026, 11, 29, 7},
        {1796004000, 2026, 11, 30, 1},
        {1798732800, 2027, 1, 1, 5},
        {-28800, 1970, 1, 1, 4},
        {-28801, 1969, 12, 31, 3},
        {-86400 * 365 - 28800, 1969, 1, 1, 3},
        {951753600, 2000, 2, 29, 2},
        {253402271999, 9999, 12, 31, 5},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        int y, m, d;
        local_date(cases[i].t, &y, &m, &d);
        assert_int_equal(y, cases[i].y);
        assert_int_equal(m, cases[i].m);
        assert_int_equal(d, cases[i].d);
        assert_int_equal(local_weekday(cases[i].t), cases[i].wd);
    }
    assert_int_equal(local_midnight(2026, 11, 30), 1795968000);
    assert_int_equal(local_midnight(1970, 1, 1), -28800);
    assert_int_equal(local_midnight(2024, 2, 29), 1709136000);
}

static void test_rfc3339_parse(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int64_t t;
    } good[] = {
        {"2026-11-30T10:00:00+08:00", 1796004000},
        {"2026-11-30T02:00:00Z", 1796004000},
        {"2026-11-30T02:00:00+00:00", 1796004000},
        {"2026-11-30T02:00:00-00:00", 1796004000},
        {"2026-11-29T21:00:00-05:00", 1796004000},
        {"2026-11-30T07:30:00+05:30", 1796004000},
        {"2026-11-30T15:45:00+13:45", 1796004000},
        {"2026-11-30T10:00:00.999+08:00", 1796004000},
        {"2026-11-30T02:00:00.5Z", 1796004000},
        {"2026-11-30T02:00:00.123456789Z", 1796004000},
        {"2026-11-30T00:00:00+08:00", 1795968000},
        {"2026-11-29T16:00:00Z", 1795968000},
        {"2026-11-29T15:59:59Z", 1795968000 - 1},
        {"1970-01-01T00:00:00Z", 0},
        {"1970-01-01T08:00:00+08:00", 0},
        {"1969-12-31T23:59:59.5Z", -1},
        {"2024-02-29T23:59:59+08:00", 1709222400 - 1},
        {"9999-12-31T23:59:59+08:00", 253402271999},
        {"2026-11-30T10:00:00+23:59", 1796004000 - 15 * 3600 - 59 * 60},
    };
    for (size_t i = 0; i < ARRAY_LEN(good); i++) {
        int64_t t = 42;
        if (rfc3339_parse(good[i].s, &t) != 0)
            fail_msg("rejected \"%s\"", good[i].s);
        if (t != good[i].t)
            fail_msg("\"%s\": %lld, want %lld", good[i].s, (long long)t, (long long)good[i].t);
    }
    static const char *bad[] = {
        "",
        "2026-11-30",
        "2026-11-30T10:00:00",
        "2026-11-30 10:00:00+08:00",
        "2026-11-30t10:00:00+08:00",
        "2026-11-30T10:00:00z",
        "2026-11-30T10:00+08:00",
        "2026-11-30T10:00:00+0800",
        "2026-11-30T10:00:00+08",
        "2026-11-30T10:00:00+8:00",
        "2026-11-30T10:00:00+24:00",
        "2026-11-30T10:00:00+08:60",
        "2026-11-30T10:00:00.+08:00",
        "2026-11-30T10:00:00.Z",
        "2026-11-30T10:00:00,5Z",
        "2026-11-30T24:00:00Z",
        "2026-11-30T10:60:00Z",
        "2026-11-30T10:00:60Z",
        "2026-02-29T10:00:00Z",
        "2026-13-01T10:00:00Z",
        "2026-00-01T10:00:00Z",
        "2026-11-00T10:00:00Z",
        "2026-11-31T10:00:00Z",
        "2026-11-30T10:00:00Z ",
        " 2026-11-30T10:00:00Z",
        "2026-11-30T10:00:00ZZ",
        "2026-11-30T10:00:00+08:00x",
        "2026-1-30T10:00:00Z",
        "+2026-11-30T10:00:00Z",
        "2026-11-30T1:00:00Z",
        "2026-11-30T10:00:00.1234567890123456789012345678901234567890123Z",
        "2026-11-30T10:00:0aZ",
        "2026-11-30T10:00:00+08:0",
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        int64_t t = 42;
        if (rfc3339_parse(bad[i], &t) != -1)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_int_equal(t, 42);
    }
    int64_t t;
    assert_int_equal(rfc3339_parse(NULL, &t), -1);
}

static void test_rfc3339_format(void **state)
{
    (void)state;
    static const struct {
        int64_t t;
        const char *s;
    } cases[] = {
        {1796004000, "2026-11-30T10:00:00+08:00"},     {1795968000, "2026-11-30T00:00:00+08:00"},
        {1795968000 - 1, "2026-11-29T23:59:59+08:00"}, {0, "1970-01-01T08:00:00+08:00"},
        {-28801, "1969-12-31T23:59:59+08:00"},         {253402271999, "9999-12-31T23:59:59+08:00"},
        {1798732800 - 1, "2026-12-31T23:59:59+08:00"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char buf[RFC3339_TEXT_MAX];
        int64_t back;
        assert_int_equal(rfc3339_format(cases[i].t, buf, sizeof buf), 25);
        assert_string_equal(buf, cases[i].s);
        assert_int_equal(rfc3339_parse(buf, &back), 0);
        assert_int_equal(back, cases[i].t);
    }
    char small[RFC3339_TEXT_MAX - 1] = "x";
    assert_int_equal(rfc3339_format(0, small, sizeof small), 0);
    assert_string_equal(small, "");
    char buf[RFC3339_TEXT_MAX] = "x";
    assert_int_equal(rfc3339_format(253402271999 + 1, buf, sizeof buf), 0);
    assert_string_equal(buf, "");
    assert_int_equal(rfc3339_format(INT64_MIN, buf, sizeof buf), 0);
    assert_int_equal(rfc3339_format(INT64_MAX, buf, sizeof buf), 0);
    /* Round trip over a spread of instants, including odd seconds. */
    for (int64_t t = -28800; t < 2000000000; t += 7777777) {
        assert_int_equal(rfc3339_format(t, buf, sizeof buf), 25);
        int64_t back;
        assert_int_equal(rfc3339_parse(buf, &back), 0);
        assert_int_equal(back, t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kind_names),
        cmocka_unit_test(test_parse_valid),
        cmocka_unit_test(test_parse_invalid),
        cmocka_unit_test(test_parse_kind),
        cmocka_unit_test(test_weeks_in_year),
        cmocka_unit_test(test_roundtrip_consecutive_days),
        cmocka_unit_test(test_add),
        cmocka_unit_test(test_containing_boundaries),
        cmocka_unit_test(test_start_end_days),
        cmocka_unit_test(test_deadline),
        cmocka_unit_test(test_quarter_and_first_day),
        cmocka_unit_test(test_compare),
        cmocka_unit_test(test_invalid_period_struct),
        cmocka_unit_test(test_local_calendar),
        cmocka_unit_test(test_rfc3339_parse),
        cmocka_unit_test(test_rfc3339_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
