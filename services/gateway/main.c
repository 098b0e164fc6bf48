/*
 * main.c - lz-gateway: read settings, run the HTTP server until a signal.
 */
#include "cfg.h"
#include "gateway_server.h"
#include "log.h"
#include "mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The gateway's own settings; the common ones come first (cfg_common_spec). */
static const cfg_spec_t s_spec[] = {
    {"LZ_HTTP_PORT", CFG_INT, "8080", 0, 65535, false, "HTTP port (0: any free port)"},
    {"LZ_HTTP_BIND", CFG_STR, "127.0.0.1", 2, 64, false, "IPv4 or IPv6 address to listen on"},
    {"LZ_HTTP_THREADS", CFG_INT, "32", 1, 1024, false, "HTTP worker threads"},
    {"LZ_BODY_MAX", CFG_INT, "1048576", 1024, 64L * 1024 * 1024, false,
     "largest JSON request body, bytes"},
    {"LZ_IMPORT_MAX", CFG_INT, "67108864", 1024, 1024L * 1024 * 1024, false,
     "largest text/csv request body, bytes"},
    {"LZ_RPC_TIMEOUT_MS", CFG_INT, "10000", 100, 600000, false,
     "how long a request waits for its service"},
    {"LZ_TOKEN_CACHE_S", CFG_INT, "10", 0, 3600, false,
     "seconds a looked-up token is trusted without asking the database (0: always ask)"},
    {"LZ_WEB_DIR", CFG_STR, "web", 1, 4096, false, "directory of the dashboard's files"},
};

int main(void)
{
    char err[256];
    cfg_t *cfg = cfg_load_service(s_spec, sizeof s_spec / sizeof s_spec[0], NULL, err, sizeof err);
    log_level_t level = LZ_LOG_INFO;
    if (!cfg || log_level_parse(cfg_str(cfg, "LZ_LOG_LEVEL"), &level) != 0) {
        fprintf(stderr, "lz-gateway: %s\n", cfg ? "setting LZ_LOG_LEVEL is not a level" : err);
        cfg_destroy(&cfg);
        return 2;
    }
    log_init("gateway", level);
    cfg_log(cfg);

    gw_settings_t set = {
        .bind = cfg_str(cfg, "LZ_HTTP_BIND"),
        .port = (int)cfg_int(cfg, "LZ_HTTP_PORT"),
        .threads = (int)cfg_int(cfg, "LZ_HTTP_THREADS"),
        .body_max = (size_t)cfg_int(cfg, "LZ_BODY_MAX"),
        .import_max = (size_t)cfg_int(cfg, "LZ_IMPORT_MAX"),
        .rpc_timeout_ms = (int)cfg_int(cfg, "LZ_RPC_TIMEOUT_MS"),
        .token_cache_s = (int)cfg_int(cfg, "LZ_TOKEN_CACHE_S"),
        .web_dir = cfg_str(cfg, "LZ_WEB_DIR"),
        .broker = cfg_str(cfg, "LZ_BROKER"),
        .pg_url = cfg_str(cfg, "LZ_PG_URL"),
        .redis_host = cfg_str(cfg, "LZ_REDIS_HOST"),
        .redis_port = (int)cfg_int(cfg, "LZ_REDIS_PORT"),
    };
    gw_server_t *server = gw_server_new(&set);
    int rc = 1;
    if (server)
        rc = gw_server_run(server);
    gw_server_destroy(&server);
    cfg_destroy(&cfg);
    return rc;
}
