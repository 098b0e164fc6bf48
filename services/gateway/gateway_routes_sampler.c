/*
 * gateway_routes_sampler.c - the sampler service's routes: quarterly spot-check plans and
 * inspections.
 *
 * Rows as in gateway_routes.h (an RPC route needs only its row).  The
 * gateway joins this table after its own (gw_routes).
 */
#include "gateway_routes.h"

const gw_route_t gw_routes_sampler[] = {
    {.method = NULL}, /* C wants one element; _n says how many rows count */
};
const size_t gw_routes_sampler_n = 0;
