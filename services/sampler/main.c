/*
 * main.c - lz-sampler: read settings, start the sampler worker.
 */
#include "sampler_server.h"

int main(void)
{
    return cfg_service_main("sampler", sampler_spec, sampler_spec_count, sampler_run);
}
