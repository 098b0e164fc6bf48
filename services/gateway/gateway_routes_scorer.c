/*
 * gateway_routes_scorer.c - the scorer service's routes: scores, rankings, red and notice lists.
 *
 * Rows as in gateway_routes.h (an RPC route needs only its row).  The
 * gateway joins this table after its own (gw_routes).
 */
#include "gateway_routes.h"

const gw_route_t gw_routes_scorer[] = {
    {.method = NULL}, /* C wants one element; _n says how many rows count */
};
const size_t gw_routes_scorer_n = 0;
