/*
 * main.c - lz-intake: read settings, start the intake worker.
 */
#include "intake_server.h"

int main(void)
{
    return cfg_service_main("intake", intake_spec, intake_spec_count, intake_run);
}
