/*
 * main.c - the liangze command-line tool.
 *
 *   liangze migrate                      apply pending database migrations
 *   liangze token create --role R ...    make an API token (printed once)
 *   liangze token revoke ID              revoke a token
 *   liangze outbox relay|stats           relay committed events to Redis streams
 *   liangze seed demo [--businesses N]   load the demo city
 *
 * Settings come from the environment (see "liangze help").
 */
#include "cli.h"
#include "log.h"

#include <stdio.h>
#include <string.h>

static const cfg_spec_t s_cli_spec[] = {
    {"LZ_PG_URL", CFG_STR, "postgresql://lz_app@127.0.0.1:25432/liangze", 1, 0, true,
     "PostgreSQL connection string of the service role"},
    {"LZ_PG_ADMIN_URL", CFG_STR, "postgresql://postgres@127.0.0.1:25432/liangze", 1, 0, true,
     "PostgreSQL connection string of the schema owner (migrations)"},
    {"LZ_REDIS_HOST", CFG_STR, "127.0.0.1", 1, 255, false, "Redis host"},
    {"LZ_REDIS_PORT", CFG_INT, "26379", 1, 65535, false, "Redis port"},
    {"LZ_BROKER", CFG_STR, "tcp://127.0.0.1:25555", 1, 255, false, "broker endpoint"},
    {"LZ_LOG_LEVEL", CFG_STR, "warn", 1, 8, false, "debug, info, warn, error or off"},
    {"LZ_MIGRATIONS_DIR", CFG_STR, "db/migrations", 1, 4096, false, "migration files"},
    {"LZ_APP_PASSWORD", CFG_STR, "-", 1, 200, true,
     "password migrate sets for the service role lz_app (\"-\": leave it as it is)"},
};

static const struct {
    const char *name;
    cli_cmd_fn *fn;
    const char *help;
} s_commands[] = {
    {"migrate", cmd_migrate, "apply pending database migrations"},
    {"token", cmd_token,
     "create --role ROLE --name TEXT [--region CODE] [--business ID] "
     "[--cadre ID] [--inspector ID] | revoke ID"},
    {"outbox", cmd_outbox, "relay [--once] [--batch N] [--interval-ms N] | stats"},
    {"seed", cmd_seed, "demo [--businesses N]: load the demo city"},
    {"cache", cmd_cache, "rebuild --kind K --period P | --all-recent: Redis ledger keys"},
    {"sample", cmd_sample, "verify PLAN_ID: re-run a spot-check draw and compare its hash"},
    {"score", cmd_score, "check --quarter Q [--region PREFIX] [--fix]: recompute the scores"},
};

static void s_usage(FILE *out)
{
    fprintf(out, "usage: liangze COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands[0]; i++)
        fprintf(out, "  %-8s %s\n", s_commands[i].name, s_commands[i].help);
    fprintf(out, "\nsettings (environment):\n");
    for (size_t i = 0; i < sizeof s_cli_spec / sizeof s_cli_spec[0]; i++)
        fprintf(out, "  %-18s %s (default %s)\n", s_cli_spec[i].name, s_cli_spec[i].help,
                s_cli_spec[i].secret ? "hidden" : s_cli_spec[i].def);
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "help") || !strcmp(argv[1], "--help")) {
        s_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    char err[256];
    cfg_t *cfg =
        cfg_load(s_cli_spec, sizeof s_cli_spec / sizeof s_cli_spec[0], NULL, err, sizeof err);
    if (!cfg) {
        fprintf(stderr, "liangze: %s\n", err);
        return 2;
    }
    log_level_t level;
    if (log_level_parse(cfg_str(cfg, "LZ_LOG_LEVEL"), &level) != 0) {
        fprintf(stderr, "liangze: setting LZ_LOG_LEVEL must be debug, info, warn, error or off\n");
        cfg_destroy(&cfg);
        return 2;
    }
    log_init("liangze", level);
    int rc = -1;
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands[0]; i++)
        if (!strcmp(argv[1], s_commands[i].name)) {
            rc = s_commands[i].fn(argc - 1, argv + 1, cfg);
            break;
        }
    if (rc == -1) {
        fprintf(stderr, "liangze: unknown command \"%s\"\n", argv[1]);
        s_usage(stderr);
        rc = 2;
    }
    cfg_destroy(&cfg);
    return rc;
}
