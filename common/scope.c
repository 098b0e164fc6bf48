/*
 * scope.c - jurisdiction checks on the caller of a request.
 */
#include "scope.h"
#include "region.h"

#include <string.h>

bool scope_has_role(const Lz__Caller *c, const char *role)
{
    return c && c->role && role && strcmp(c->role, role) == 0;
}

bool scope_is_admin(const Lz__Caller *c)
{
    return scope_has_role(c, "admin");
}

bool scope_is_regulator(const Lz__Caller *c)
{
    return scope_has_role(c, "regulator") && c->region && region_code_valid(c->region);
}

bool scope_region_visible(const Lz__Caller *c, const char *region_code)
{
    if (!region_code || !region_code_valid(region_code))
        return false;
    if (scope_is_admin(c))
        return true;
    if (scope_is_regulator(c))
        return region_contains(c->region, region_code);
    return false;
}

bool scope_business_visible(const Lz__Caller *c, int64_t business_id, const char *region_code)
{
    if (business_id <= 0)
        return false;
    if (scope_is_admin(c))
        return true;
    if (scope_is_regulator(c))
        return region_code && region_contains(c->region, region_code);
    if (scope_has_role(c, "business"))
        return c->has_business_id && c->business_id == business_id;
    return false;
}
