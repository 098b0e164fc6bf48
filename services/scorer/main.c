/*
 * main.c - lz-scorer: read settings, start the scorer worker.
 */
#include "scorer_server.h"

int main(void)
{
    return cfg_service_main("scorer", scorer_spec, scorer_spec_count, scorer_run);
}
