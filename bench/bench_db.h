/*
 * bench_db.h - what the database benchmarks (scheduler_deadline, sampler_plan,
 * scorer_score) share: reading "--name value" options and running a timed
 * fixture step or a count on a scratch database.  Header-only (static inline)
 * so each benchmark stays a single file; needs common/ on the include path.
 */
#ifndef LZ_BENCH_DB_H
#define LZ_BENCH_DB_H

#include "clock.h"
#include "pg.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The integer after option name in argv, or def when it is absent. */
static inline long bench_arg(int argc, char **argv, const char *name, long def)
{
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], name))
            return strtol(argv[i + 1], NULL, 10);
    return def;
}

/* The number after option name in argv, or def when it is absent. */
static inline double bench_argf(int argc, char **argv, const char *name, double def)
{
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], name))
            return strtod(argv[i + 1], NULL);
    return def;
}

/* Whether option name (taking no value) is in argv. */
static inline bool bench_flag(int argc, char **argv, const char *name)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], name))
            return true;
    return false;
}

/* Run the SQL script sql and print "what" with its time in a column width
 * wide.  Returns 0, or -1 after printing the database's error. */
static inline int bench_exec(pg_t *pg, int width, const char *what, const char *sql)
{
    int64_t t0 = clock_mono_ms();
    if (pg_exec_script(pg, sql) != 0) {
        fprintf(stderr, "%s failed: %s\n", what, pg_errmsg(pg));
        return -1;
    }
    printf("  %-*s %8.1f s\n", width, what, (double)(clock_mono_ms() - t0) / 1000.0);
    fflush(stdout);
    return 0;
}

/* The first column of the first row of query sql as an integer, or -1. */
static inline int64_t bench_count(pg_t *pg, const char *sql)
{
    PGresult *r = pg_query(pg, sql, 0, NULL);
    int64_t v = r && PQntuples(r) ? pg_int(r, 0, 0) : -1;
    pg_free(&r);
    return v;
}

#endif
