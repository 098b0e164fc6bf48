/*
 * intake_checklist.h - publishing checklist versions and declaring rest days.
 *
 * The rules are pure (unit-tested): checklist_check_items validates a new
 * version's items; rest_check_days validates declared rest days against
 * today.  The handlers are intake methods:
 *   intake.publish_checklist  POST /api/v1/checklists/{type}   (regulator, admin)
 *   intake.add_rest_days      POST /api/v1/businesses/{id}/rest_days
 *   intake.list_rest_days     GET  /api/v1/businesses/{id}/rest_days
 * Each write runs in one transaction with its write_requests row, its audit
 * entry and (publish) its outbox event "checklist.published".
 */
#ifndef LZ_INTAKE_CHECKLIST_H
#define LZ_INTAKE_CHECKLIST_H

#include "business.pb-c.h"
#include "intake_ledger.h"

#define CHECKLIST_ITEMS_MAX   100  /* items in one version */
#define CHECKLIST_TEXT_MAX    200  /* characters of an item's text */
#define CHECKLIST_MEASURE_MAX 1000 /* characters of its measure */
#define CHECKLIST_CAT_MAX     50   /* characters of its category */
#define REST_DAYS_PER_REQUEST 62
#define REST_DAYS_AHEAD       366 /* the latest day one may declare, and the most held ahead */

/*
 * Check a new version's type, kind and items: type one of the business
 * types, kind daily/weekly/monthly (or inspection: the sampler's spot-check
 * checklist), 1..CHECKLIST_ITEMS_MAX items, each code
 * ^[A-Z][0-9A-Z]{1,7}$ and given once, text and category non-empty and
 * within bounds (characters, not bytes), measure within bounds.  Returns 0,
 * or -1 with err filled (field "items[i].code" etc.).
 */
int checklist_check(const char *type, const char *kind, Lz__ChecklistItem *const *items, size_t n,
                    ledger_error_t *err);

/*
 * Check rest days given as YYYY-MM-DD against now (unix seconds; today is
 * its Asia/Shanghai date): 1..REST_DAYS_PER_REQUEST of them, each a real
 * date, not before today and at most REST_DAYS_AHEAD days after.  Returns
 * 0, or -1 with err filled (field "days[i]").
 */
int rest_check_days(char *const *days, size_t n, int64_t now, ledger_error_t *err);

void intake_publish_checklist(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep);
void intake_add_rest_days(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep);
void intake_list_rest_days(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep);

#endif
