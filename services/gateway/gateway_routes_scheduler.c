/*
 * gateway_routes_scheduler.c - the scheduler service's routes: tasks, statistics, escalation
 * ladders, letters.
 *
 * Rows as in gateway_routes.h (an RPC route needs only its row).  The
 * gateway joins this table after its own (gw_routes).
 */
#include "gateway_routes.h"

const gw_route_t gw_routes_scheduler[] = {
    {.method = NULL}, /* C wants one element; _n says how many rows count */
};
const size_t gw_routes_scheduler_n = 0;
