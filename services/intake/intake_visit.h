/*
 * intake_visit.h - cadre supervision visits (督导): recording one, listing a
 * cadre's visits.
 *
 * Recording (method "intake.record_visit", POST /api/v1/visits):
 *   - a cadre token records only as itself: another cadre_id is FORBIDDEN
 *     (403, field cadre_id) - the caller knows who it is, nothing leaks;
 *     cadre_id may be left out and is then the caller's own;
 *   - an admin records for any cadre, who must exist (NOT_FOUND cadre_id);
 *   - the business must be currently assigned to that cadre, else NOT_FOUND
 *     (404, field business_id), for admins too;
 *   - mode on_site (default), joint or video; a risk-D business needs
 *     on_site (INVALID_FIELD mode);
 *   - visited_at (RFC 3339) not after now (the clock plus the test/demo
 *     setting LZ_CLOCK_OFFSET_S; VISIT_FUTURE_SKEW_S of clock skew allowed) and not older than the
 * setting LZ_VISIT_MAX_AGE_DAYS;
 *   - findings: at most VISIT_FINDINGS_MAX, each with a description; a
 *     fixed one needs its action.  Each becomes a problem (source "visit",
 *     opened at visited_at; a fixed one is closed at visited_at with its
 *     action as fixed_action).
 * In one transaction: the request id claimed in write_requests, the visit,
 * its problems, outbox events visit.recorded and problem.opened (one per
 * open problem), an audit entry, the stored answer.  The same request id
 * again answers the first answer (201) and changes nothing; a request id
 * used by another caller is CONFLICT.
 *
 * Listing (method "intake.list_cadre_visits", GET /api/v1/cadres/{id}/visits):
 * the cadre itself, an admin, a regulator whose region holds the cadre's
 * region; anyone else NOT_FOUND.  from/to default to the 90 days before now;
 * a window is at most VISIT_WINDOW_MAX_S long.  Ordered by visited_at, id.
 */
#ifndef LZ_INTAKE_VISIT_H
#define LZ_INTAKE_VISIT_H

#include "business.pb-c.h"
#include "rpc.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VISIT_FINDINGS_MAX     50
#define VISIT_DESCRIPTION_MAX  1000 /* bytes */
#define VISIT_ACTION_MAX       1000 /* bytes */
#define VISIT_NOTE_MAX         2000 /* bytes */
#define VISIT_FUTURE_SKEW_S    300
#define VISIT_MAX_AGE_DAYS_DEF 30
#define VISIT_LIST_DEFAULT_S   (90 * 86400)
#define VISIT_WINDOW_MAX_S     (366 * 86400)

/* Returns true if mode is on_site, joint or video. */
bool intake_visit_mode_valid(const char *mode);

/* Returns true if a visit of mode may stand for a business of risk_grade:
 * risk D needs on_site; any valid mode otherwise. */
bool intake_visit_mode_allowed(const char *mode, const char *risk_grade);

typedef enum { VISIT_TIME_OK, VISIT_TIME_FUTURE, VISIT_TIME_TOO_OLD } visit_time_t;

/* Judge visited_at (unix s) against now and the oldest age allowed (seconds). */
visit_time_t intake_visit_time_check(int64_t visited_at, int64_t now, int64_t max_age_s);

/*
 * What a visit request says, once checked: the instant, the mode (a static
 * string; on_site when absent) and how many findings are left open.
 */
typedef struct {
    int64_t visited_at;
    const char *mode;
    int problems_open;
} visit_checked_t;

/*
 * Check everything in a visit request that needs no database: business_id
 * present and positive, visited_at present, RFC 3339 and in its window,
 * mode, note, findings.  cadre_id is the caller's business (not checked
 * here).  Returns 0 and fills *out, or -1 with the status (MISSING_FIELD or
 * INVALID_FIELD) in *status, the field at fault ("findings[2].action") in
 * field and a lower-case reason in msg.
 */
int intake_visit_check(const Lz__RecordVisitRequest *in, int64_t now, int64_t max_age_s,
                       visit_checked_t *out, Lz__Status *status, char *field, size_t flen,
                       char *msg, size_t mlen);

/* Handlers (intake_visit.c); ctx is the intake_t. */
void intake_record_visit(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep);
void intake_list_cadre_visits(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep);

#endif
