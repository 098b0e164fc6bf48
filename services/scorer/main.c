/*
 * main.c - lz-scorer: read settings, start the scorer worker.
 */
#include "log.h"
#include "scorer_server.h"

#include <stdio.h>

int main(void)
{
    char err[256];
    cfg_t *cfg = cfg_load(scorer_spec, scorer_spec_count, NULL, err, sizeof err);
    log_level_t level = LZ_LOG_INFO;
    if (!cfg || log_level_parse(cfg_str(cfg, "LZ_LOG_LEVEL"), &level) != 0) {
        fprintf(stderr, "lz-scorer: %s\n", cfg ? "setting LZ_LOG_LEVEL is not a level" : err);
        cfg_destroy(&cfg);
        return 2;
    }
    log_init("scorer", level);
    cfg_log(cfg);
    int rc = scorer_run(cfg);
    cfg_destroy(&cfg);
    return rc;
}
