/*
 * sampler_inspect.h - inspection results of a plan (by its assigned inspectors), declared
 * conflicts of interest, and the published list (一公开).  The rules are pure functions.
 */
#ifndef LZ_SAMPLER_INSPECT_H
#define LZ_SAMPLER_INSPECT_H

#include "envelope.pb-c.h"
#include "sampler.pb-c.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INSPECTION_FINDINGS_MAX  50
#define INSPECTION_TEXT_MAX      500  /* bytes of a description or an action */
#define INSPECTION_NOTE_MAX      2000 /* bytes of a note */
#define INSPECTION_MAX_AGE_S     (90 * 86400)
#define INSPECTION_FUTURE_SKEW_S 300

/* What a checked inspection request holds. */
typedef struct {
    const char *outcome; /* static: the caller's pass, pass_with_remarks, fail, or NULL */
    int64_t inspected_at;
    int problems_open; /* findings not fixed at once */
} inspection_checked_t;

/* Returns true if outcome is pass, pass_with_remarks or fail. */
bool sampler_outcome_valid(const char *outcome);

/*
 * Check an inspection request at time now, before the checklist is known: ids, outcome
 * (optional; if given one of the three), answers present, checklist_version positive,
 * time (default now; not in the future, at most INSPECTION_MAX_AGE_S old), findings
 * (bounds, a fixed one names its action, at most one per item_code) and note bounds.
 * Returns 0 with out filled, or -1 with the status, the field at fault and a lower-case
 * reason.  The answers themselves and the outcome they give: sampler_check.h.
 */
int sampler_inspection_check(const Lz__RecordInspectionRequest *in, int64_t now,
                             inspection_checked_t *out, Lz__Status *status, char *field,
                             size_t flen, char *msg, size_t mlen);

/* Return the items of a published plan as CSV (RFC 4180, header row), a new string the
 * caller frees; *len gets its length. */
char *sampler_public_csv(const Lz__PublicPlan *p, size_t *len);

#endif
