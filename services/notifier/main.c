/*
 * main.c - lz-notifier: read settings, start the notifier worker.
 */
#include "notifier_server.h"
#include "log.h"

#include <stdio.h>

int main(void)
{
    char err[256];
    cfg_t *cfg = cfg_load(notifier_spec, notifier_spec_count, NULL, err, sizeof err);
    log_level_t level = LZ_LOG_INFO;
    if (!cfg || log_level_parse(cfg_str(cfg, "LZ_LOG_LEVEL"), &level) != 0) {
        fprintf(stderr, "lz-notifier: %s\n", cfg ? "setting LZ_LOG_LEVEL is not a level" : err);
        cfg_destroy(&cfg);
        return 2;
    }
    log_init("notifier", level);
    cfg_log(cfg);
    int rc = notifier_run(cfg);
    cfg_destroy(&cfg);
    return rc;
}
