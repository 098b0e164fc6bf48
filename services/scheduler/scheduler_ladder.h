/*
 * scheduler_ladder.h - escalation ladders and letters: pure logic.
 *
 * A ladder is a list of steps, each due delay_s after the task's deadline,
 * each telling a list of recipients (by role) with a template, some issuing a
 * numbered letter.  A task remembers the last step fired; the steps due by an
 * instant are the following ones whose time has come, fired in order, each
 * once.  Nothing here reads the clock, the database or the network.
 */
#ifndef LZ_SCHEDULER_LADDER_H
#define LZ_SCHEDULER_LADDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LADDER_STEPS_MAX      16
#define LADDER_RECIPIENTS_MAX 8
#define LADDER_NAME_MAX       32
#define LADDER_ROLE_MAX       32
#define LADDER_TEMPLATE_MAX   40
#define LADDER_DELAY_MAX_S    31622400 /* 366 days */

typedef struct {
    char role[LADDER_ROLE_MAX + 1]; /* officer, head, cadre:village, regulator:district, ... */
    char template_[LADDER_TEMPLATE_MAX + 1]; /* a notifier template name */
} ladder_recipient_t;

typedef struct {
    int step; /* 1-based */
    int64_t delay_s;
    char letter[LADDER_TEMPLATE_MAX + 1]; /* "" when the step issues no letter */
    bool urgent;
    int nrecipients;
    ladder_recipient_t r[LADDER_RECIPIENTS_MAX];
} ladder_step_t;

typedef struct {
    char name[LADDER_NAME_MAX + 1];
    int nsteps;
    ladder_step_t steps[LADDER_STEPS_MAX];
} ladder_t;

/* Who a role names. */
typedef enum {
    ROLE_OFFICER,  /* the business's safety officer */
    ROLE_HEAD,     /* the business head */
    ROLE_BUSINESS, /* the business: its head */
    ROLE_CADRE,    /* the task's own cadre (visit tasks), else the business's lowest-level cadre */
    ROLE_CADRE_AT, /* the business's cadre of a level */
    ROLE_REGULATOR /* the regulator of the business's region at a level */
} ladder_role_kind_t;

typedef struct {
    ladder_role_kind_t kind;
    char level[16]; /* cadre: city/county/township/village; regulator: township/district/city */
} ladder_role_t;

/* Parse a role text.  Returns 0 and sets *out, or -1 when it is not a role. */
int ladder_role_parse(const char *s, ladder_role_t *out);

/* Returns true if name is a template the notifier knows (proto/notify.proto). */
bool ladder_template_valid(const char *name);
/* Returns true if kind is a letter kind (reminder_letter, ...). */
bool ladder_letter_valid(const char *kind);

/*
 * Check a ladder a regulator sent: 1..LADDER_STEPS_MAX steps numbered 1..n in
 * order, delays 0..LADDER_DELAY_MAX_S never decreasing, 1..LADDER_RECIPIENTS_MAX
 * valid recipients per step, valid templates and letters.  Returns 0, or -1
 * with the faulty field's name and a lower-case reason written into field/msg.
 */
int ladder_validate(const ladder_t *l, char *field, size_t fieldlen, char *msg, size_t msglen);

/*
 * When the step after last_step is due for a task whose deadline is
 * deadline: returns true and sets *due, or false when the ladder has no step
 * after last_step.
 */
bool ladder_next_due(const ladder_t *l, int64_t deadline, int last_step, int64_t *due);

/*
 * How many steps after last_step are due by as_of (0 when none); the caller
 * fires last_step+1 .. last_step+n in order.
 */
int ladder_due_count(const ladder_t *l, int64_t deadline, int last_step, int64_t as_of);

/* Returns the step numbered step (1-based), or NULL. */
const ladder_step_t *ladder_step(const ladder_t *l, int step);

/* The letter's Chinese title: 提醒书, 督办书, 约谈函, 整改通知书; NULL for an unknown kind. */
const char *ladder_letter_title(const char *kind);

/*
 * Write the letter number "<issuer>〔<year>〕<title>第<n>号" into buf
 * (NUL-terminated).  Returns the length, or 0 when it does not fit or the
 * kind is unknown.
 */
size_t ladder_letter_number(const char *issuer, int year, const char *kind, int64_t n, char *buf,
                            size_t len);

/* What a letter says (see ladder_letter_body). */
typedef struct {
    const char *kind;      /* letter kind */
    const char *recipient; /* who it is addressed to */
    const char *issuer;    /* the issuing region's name */
    const char *subject;   /* the business's (or cadre's) name */
    const char *owed;      /* what is owed, e.g. "日管控记录 2026-11-29" */
    const char *deadline;  /* the answer's deadline, text */
    const char *date;      /* the letter's date, text */
} ladder_letter_t;

/* Returns the body text of a letter (caller frees). */
char *ladder_letter_body(const ladder_letter_t *l);

/* The two default ladders of DOMAIN.md ("ledger", "visit"); false for another name. */
bool ladder_default(const char *name, ladder_t *out);

#endif
