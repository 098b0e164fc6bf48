/*
 * main.c - lz-notifier: read settings, start the notifier worker.
 */
#include "notifier_server.h"

int main(void)
{
    return cfg_service_main("notifier", notifier_spec, notifier_spec_count, notifier_run);
}
