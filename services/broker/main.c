/*
 * main.c - lz-broker: read the settings, build the broker, run it.
 *
 * Settings are described in services/broker/README.md.  SIGINT and SIGTERM
 * stop the loop (CZMQ's handler sets zsys_interrupted); the exit status is
 * 0 after a clean stop, 1 when the settings are bad or the bind fails.
 */
#include "broker_server.h"
#include "cfg.h"
#include "log.h"
#include "rpc.h"

#include <stdio.h>
#include <stdlib.h>

_Static_assert(RPC_FRAME_MAX_DEFAULT == 4194304, "keep LZ_FRAME_MAX's default in step");

static const cfg_spec_t s_spec[] = {
    {"LZ_BROKER_BIND", CFG_STR, "tcp://127.0.0.1:25555", 1, 255, false,
     "endpoint the broker binds for clients and workers"},
    {"LZ_HEARTBEAT_MS", CFG_INT, "1000", 10, 600000, false,
     "heartbeat interval; services without a worker for 3 of them are answered at once"},
    {"LZ_FRAME_MAX", CFG_INT, "4194304", 1024, 1073741824, false,
     "largest request or reply envelope, bytes"},
    {"LZ_QUEUE_MAX", CFG_INT, "10000", 1, 10000000, false, "most requests waiting per service"},
    {"LZ_LOG_LEVEL", CFG_STR, "info", 1, 8, false, "debug, info, warn, error or off"},
};

int main(void)
{
    char err[256];
    cfg_t *cfg = cfg_load(s_spec, sizeof s_spec / sizeof s_spec[0], NULL, err, sizeof err);
    if (!cfg) {
        fprintf(stderr, "lz-broker: %s\n", err);
        return 1;
    }
    log_level_t level;
    if (log_level_parse(cfg_str(cfg, "LZ_LOG_LEVEL"), &level) < 0) {
        fprintf(stderr,
                "lz-broker: setting LZ_LOG_LEVEL must be debug, info, warn, error or off\n");
        cfg_destroy(&cfg);
        return 1;
    }
    log_init("broker", level);
    log_info("lz-broker %s starting", LZ_BUILD);
    cfg_log(cfg);

    broker_params_t params = {
        .bind = cfg_str(cfg, "LZ_BROKER_BIND"),
        .heartbeat_ms = (int)cfg_int(cfg, "LZ_HEARTBEAT_MS"),
        .frame_max = (size_t)cfg_int(cfg, "LZ_FRAME_MAX"),
        .queue_max = (size_t)cfg_int(cfg, "LZ_QUEUE_MAX"),
    };
    broker_t *broker = broker_new(&params);
    cfg_destroy(&cfg);
    if (!broker)
        return 1;
    int rc = broker_run(broker);
    broker_destroy(&broker);
    log_info("lz-broker stopped");
    return rc == 0 ? 0 : 1;
}
