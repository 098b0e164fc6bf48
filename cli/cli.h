/*
 * cli.h - the liangze command-line tool: shared pieces of its subcommands.
 *
 * Each subcommand is a function in a cmd_*.c file, listed in main.c's table.
 * Subcommands get their arguments after the subcommand name (argv[0] is the
 * subcommand) and the loaded settings; they return a process exit code.
 */
#ifndef LZ_CLI_H
#define LZ_CLI_H

#include "cfg.h"

typedef int(cli_cmd_fn)(int argc, char **argv, const cfg_t *cfg);

int cmd_migrate(int argc, char **argv, const cfg_t *cfg);
int cmd_token(int argc, char **argv, const cfg_t *cfg);
int cmd_outbox(int argc, char **argv, const cfg_t *cfg);
int cmd_seed(int argc, char **argv, const cfg_t *cfg);
int cmd_cache(int argc, char **argv, const cfg_t *cfg);
int cmd_sample(int argc, char **argv, const cfg_t *cfg);
int cmd_score(int argc, char **argv, const cfg_t *cfg);

#endif
