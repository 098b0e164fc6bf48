/*
 * scope.h - who may see what: jurisdiction checks on the caller of a request.
 *
 * The gateway fills an lz.Caller from the bearer token and every service
 * gets it in the envelope; both sides ask these questions of it, so a
 * service checks again what the gateway already checked.  Pure functions:
 * a NULL caller or a caller without a role sees nothing.
 *
 *   admin      everything
 *   regulator  its region and everything under it
 *   cadre      its assigned businesses (the service knows the assignments)
 *   inspector  the spot checks assigned to it (the service knows them)
 *   business   its own business
 */
#ifndef LZ_SCOPE_H
#define LZ_SCOPE_H

#include "envelope.pb-c.h"

#include <stdbool.h>
#include <stdint.h>

/* Returns true if the caller's role is exactly role. */
bool scope_has_role(const Lz__Caller *c, const char *role);
/* Returns true if the caller is an admin. */
bool scope_is_admin(const Lz__Caller *c);
/* Returns true if the caller is a regulator with a valid region. */
bool scope_is_regulator(const Lz__Caller *c);

/*
 * Returns true if the caller may see region_code and what lies under it:
 * admin always, a regulator when its region contains region_code; any other
 * role false (services that let cadres or businesses see their own region
 * decide that themselves).  False for an invalid code.
 */
bool scope_region_visible(const Lz__Caller *c, const char *region_code);

/*
 * Returns true if the caller may see business business_id, which lies in
 * region_code: admin always, a regulator when the region is in its
 * jurisdiction, a business token for its own business only.  Cadres and
 * inspectors: false here; the service checks assignments.
 */
bool scope_business_visible(const Lz__Caller *c, int64_t business_id, const char *region_code);

#endif
