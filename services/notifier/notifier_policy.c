/*
 * notifier_policy.c - quiet hours, daily caps, back-off, bounded attempts.
 * Pure; see notifier_policy.h.
 */
#include "notifier_policy.h"

#include <string.h>

#define LOCAL_OFFSET_MS (8LL * 3600 * 1000)
#define DAY_MS          (86400LL * 1000)

void notifier_policy_default(notifier_policy_t *p)
{
    p->quiet_start_min = 22 * 60;
    p->quiet_end_min = 7 * 60;
    p->sms_daily_cap = 5;
    p->max_attempts = 5;
    p->backoff_base_ms = 30 * 1000;
    p->backoff_max_ms = 3600 * 1000;
}

int notifier_parse_hhmm(const char *s, int *minutes)
{
    if (!s || strlen(s) != 5 || s[2] != ':')
        return -1;
    for (int i = 0; i < 5; i++)
        if (i != 2 && (s[i] < '0' || s[i] > '9'))
            return -1;
    int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
    if (h > 23 || m > 59)
        return -1;
    *minutes = h * 60 + m;
    return 0;
}

/* Milliseconds since local midnight, and the local midnight itself (as unix ms). */
static int64_t s_local_ms_of_day(int64_t now_ms, int64_t *midnight)
{
    int64_t local = now_ms + LOCAL_OFFSET_MS;
    int64_t ms = local % DAY_MS;
    if (ms < 0)
        ms += DAY_MS;
    if (midnight)
        *midnight = now_ms - ms;
    return ms;
}

int notifier_local_day(int64_t now_ms)
{
    /* days since 1970-01-01 (local) to civil date (Howard Hinnant's algorithm) */
    int64_t local = now_ms + LOCAL_OFFSET_MS;
    int64_t z = (local >= 0 ? local : local - DAY_MS + 1) / DAY_MS + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2)
        y++;
    return (int)(y * 10000 + m * 100 + d);
}

bool notifier_in_quiet_hours(const notifier_policy_t *p, int64_t now_ms)
{
    int64_t s = (int64_t)p->quiet_start_min * 60000, e = (int64_t)p->quiet_end_min * 60000;
    int64_t t = s_local_ms_of_day(now_ms, NULL);
    if (s == e)
        return false;
    if (s < e)
        return t >= s && t < e;
    return t >= s || t < e; /* over midnight */
}

int64_t notifier_quiet_end_after(const notifier_policy_t *p, int64_t now_ms)
{
    int64_t midnight;
    s_local_ms_of_day(now_ms, &midnight);
    int64_t at = midnight + (int64_t)p->quiet_end_min * 60000;
    return at > now_ms ? at : at + DAY_MS;
}

int64_t notifier_next_day_start(const notifier_policy_t *p, int64_t now_ms)
{
    int64_t midnight;
    s_local_ms_of_day(now_ms, &midnight);
    return midnight + DAY_MS + (int64_t)p->quiet_end_min * 60000;
}

notifier_gate_t notifier_gate(const notifier_policy_t *p, bool urgent, bool is_sms,
                              int sms_sent_today, int64_t now_ms, int64_t *until_ms)
{
    if (urgent)
        return NT_GATE_SEND;
    if (notifier_in_quiet_hours(p, now_ms)) {
        *until_ms = notifier_quiet_end_after(p, now_ms);
        return NT_GATE_HOLD_QUIET;
    }
    if (is_sms && sms_sent_today >= p->sms_daily_cap) {
        *until_ms = notifier_next_day_start(p, now_ms);
        return NT_GATE_HOLD_CAP;
    }
    return NT_GATE_SEND;
}

int64_t notifier_backoff_ms(const notifier_policy_t *p, int attempt, uint32_t rnd)
{
    int64_t d = p->backoff_base_ms;
    for (int i = 1; i < attempt && d < p->backoff_max_ms; i++)
        d *= 2;
    if (d > p->backoff_max_ms)
        d = p->backoff_max_ms;
    if (d < 2)
        return d;
    int64_t half = d / 2;
    return half + (int64_t)(rnd % (uint64_t)(d - half + 1));
}

notifier_next_t notifier_after_attempt(const notifier_policy_t *p, notifier_outcome_t outcome,
                                       int attempts)
{
    switch (outcome) {
    case NT_OUT_OK:
        return NT_NEXT_SENT;
    case NT_OUT_PERMANENT:
        return NT_NEXT_FAILED;
    case NT_OUT_TRANSIENT:
        break;
    }
    return attempts >= p->max_attempts ? NT_NEXT_DEAD : NT_NEXT_RETRY;
}

const char *notifier_next_status(notifier_next_t next)
{
    switch (next) {
    case NT_NEXT_SENT:
        return "sent";
    case NT_NEXT_RETRY:
        return "queued";
    case NT_NEXT_FAILED:
        return "failed";
    case NT_NEXT_DEAD:
        return "dead";
    }
    return "queued";
}

const char *notifier_outcome_name(notifier_outcome_t o)
{
    return o == NT_OUT_OK ? "ok" : o == NT_OUT_TRANSIENT ? "transient" : "permanent";
}

bool notifier_status_final(const char *s)
{
    return s && (!strcmp(s, "sent") || !strcmp(s, "delivered") || !strcmp(s, "failed") ||
                 !strcmp(s, "dead"));
}

bool notifier_status_valid(const char *s)
{
    return s && (notifier_status_final(s) || !strcmp(s, "queued") || !strcmp(s, "held") ||
                 !strcmp(s, "sending"));
}
