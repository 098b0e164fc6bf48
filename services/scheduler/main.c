/*
 * main.c - lz-scheduler: read settings, start the scheduler worker.
 */
#include "scheduler_server.h"

int main(void)
{
    return cfg_service_main("scheduler", scheduler_spec, scheduler_spec_count, scheduler_run);
}
