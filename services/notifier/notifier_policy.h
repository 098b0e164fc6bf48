/*
 * notifier_policy.h - when a message may go out and what happens after an
 * attempt: quiet hours, the daily SMS cap, back-off with jitter, bounded
 * attempts.  Pure functions over plain values; "now" is always a parameter
 * (unix milliseconds) and local time is Asia/Shanghai, fixed +08:00.
 */
#ifndef LZ_NOTIFIER_POLICY_H
#define LZ_NOTIFIER_POLICY_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    int quiet_start_min;     /* minute of the local day quiet hours begin (22:00 = 1320) */
    int quiet_end_min;       /* minute they end (07:00 = 420); start == end: no quiet hours */
    int sms_daily_cap;       /* SMS a day to one phone, urgent ones excepted (still counted) */
    int max_attempts;        /* attempts before a transiently failing message is dead, >= 1 */
    int64_t backoff_base_ms; /* delay after the first failed attempt */
    int64_t backoff_max_ms;  /* longest delay */
} notifier_policy_t;

/* Fill p with the defaults: 22:00-07:00, 5 SMS a day, 5 attempts, 30 s doubling to 1 h. */
void notifier_policy_default(notifier_policy_t *p);

/* Parse "HH:MM" into minutes of the day; 0, or -1 when it is not a valid time. */
int notifier_parse_hhmm(const char *s, int *minutes);

/* The local (+08:00) day of t as yyyymmdd, e.g. 20261129. */
int notifier_local_day(int64_t now_ms);

/* True when now lies in the quiet hours. */
bool notifier_in_quiet_hours(const notifier_policy_t *p, int64_t now_ms);

/* The first moment after now (or now itself excluded) when the local clock reads
 * quiet_end_min; i.e. when held messages go out. */
int64_t notifier_quiet_end_after(const notifier_policy_t *p, int64_t now_ms);

/* quiet_end_min of the next local day: when a message over the day's cap goes out. */
int64_t notifier_next_day_start(const notifier_policy_t *p, int64_t now_ms);

typedef enum {
    NT_GATE_SEND,       /* go ahead */
    NT_GATE_HOLD_QUIET, /* hold until *until_ms (end of quiet hours) */
    NT_GATE_HOLD_CAP    /* hold until *until_ms (next day): the phone had its cap today */
} notifier_gate_t;

/*
 * May a message go out now?  sms_sent_today is how many SMS the phone has
 * had today (ignored unless is_sms).  Urgent messages always go.  Sets
 * *until_ms for a hold.
 */
notifier_gate_t notifier_gate(const notifier_policy_t *p, bool urgent, bool is_sms,
                              int sms_sent_today, int64_t now_ms, int64_t *until_ms);

/*
 * Delay before attempt number attempt + 1, after attempt (>= 1) failed
 * transiently: base * 2^(attempt-1), at most max, then "equal jitter": a
 * value in [delay/2, delay] chosen by rnd (any 32-bit random number).
 */
int64_t notifier_backoff_ms(const notifier_policy_t *p, int attempt, uint32_t rnd);

typedef enum { NT_OUT_OK, NT_OUT_TRANSIENT, NT_OUT_PERMANENT } notifier_outcome_t;
typedef enum { NT_NEXT_SENT, NT_NEXT_RETRY, NT_NEXT_FAILED, NT_NEXT_DEAD } notifier_next_t;

/* What follows attempt number attempts (>= 1) that ended with outcome. */
notifier_next_t notifier_after_attempt(const notifier_policy_t *p, notifier_outcome_t outcome,
                                       int attempts);

/* The status a delivery gets for next ("sent", "queued", "failed", "dead"). */
const char *notifier_next_status(notifier_next_t next);

/* Returns the outcome's name: "ok", "transient" or "permanent". */
const char *notifier_outcome_name(notifier_outcome_t o);

/* True for a status a delivery never leaves (sent, delivered, failed, dead). */
bool notifier_status_final(const char *status);
/* True for a known status. */
bool notifier_status_valid(const char *status);

#endif
