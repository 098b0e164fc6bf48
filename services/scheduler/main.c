/*
 * main.c - lz-scheduler: read settings, start the scheduler worker.
 */
#include "scheduler_server.h"
#include "log.h"

#include <stdio.h>

int main(void)
{
    char err[256];
    cfg_t *cfg = cfg_load(scheduler_spec, scheduler_spec_count, NULL, err, sizeof err);
    log_level_t level = LZ_LOG_INFO;
    if (!cfg || log_level_parse(cfg_str(cfg, "LZ_LOG_LEVEL"), &level) != 0) {
        fprintf(stderr, "lz-scheduler: %s\n", cfg ? "setting LZ_LOG_LEVEL is not a level" : err);
        cfg_destroy(&cfg);
        return 2;
    }
    log_init("scheduler", level);
    cfg_log(cfg);
    int rc = scheduler_run(cfg);
    cfg_destroy(&cfg);
    return rc;
}
