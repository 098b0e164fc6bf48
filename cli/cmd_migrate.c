/*
 * cmd_migrate.c - "liangze migrate": apply pending schema migrations.
 *
 * Migrations are files NNNN_name.sql in LZ_MIGRATIONS_DIR, applied in
 * order of NNNN as the schema owner (LZ_PG_ADMIN_URL).  The whole run holds
 * a session advisory lock, so two runs at once apply each file once.  Each
 * file runs in its own transaction together with its row in
 * schema_migrations; a failing file is rolled back, named, and stops the
 * run with the database as it was before that file.  Afterwards the
 * monthly partitions of every partitioned table are made ahead.
 */
#include "buf.h"
#include "cli.h"
#include "log.h"
#include "mem.h"
#include "pg.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIGRATION_MAX_BYTES (16 * 1024 * 1024)
#define MIGRATE_LOCK_KEY    "7012026001"

typedef struct {
    long version;
    char *name;
    char *path;
} migration_t;

static int s_cmp(const void *a, const void *b)
{
    const migration_t *x = a, *y = b;
    return (x->version > y->version) - (x->version < y->version);
}

/* The migration files of dir, sorted; NULL (and a message) when the folder is unreadable or
 * two files share a number.  *n gets the count; caller frees with s_free. */
static migration_t *s_list(const char *dir, size_t *n)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "liangze: could not open migrations folder \"%s\": %s\n", dir,
                strerror(errno));
        return NULL;
    }
    size_t count = 0, cap = 16;
    migration_t *list = xcalloc(cap, sizeof *list);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *nm = e->d_name;
        size_t len = strlen(nm);
        if (len < 10 || strcmp(nm + len - 4, ".sql") != 0 || nm[4] != '_')
            continue;
        char *end;
        long v = strtol(nm, &end, 10);
        if (end != nm + 4 || v <= 0)
            continue;
        if (count == cap) {
            cap *= 2;
            list = xrealloc(list, cap * sizeof *list);
        }
        list[count].version = v;
        list[count].name = xstrdup(nm);
        list[count].path = xasprintf("%s/%s", dir, nm);
        count++;
    }
    closedir(d);
    qsort(list, count, sizeof *list, s_cmp);
    for (size_t i = 1; i < count; i++)
        if (list[i].version == list[i - 1].version) {
            fprintf(stderr, "liangze: migrations %s and %s share the number %04ld\n",
                    list[i - 1].name, list[i].name, list[i].version);
            for (size_t j = 0; j < count; j++) {
                free(list[j].name);
                free(list[j].path);
            }
            free(list);
            return NULL;
        }
    *n = count;
    return list;
}

static void s_free(migration_t *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(list[i].name);
        free(list[i].path);
    }
    free(list);
}

static char *s_read(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "liangze: could not open \"%s\": %s\n", path, strerror(errno));
        return NULL;
    }
    buf_t *b = buf_new(MIGRATION_MAX_BYTES);
    char chunk[8192];
    size_t got;
    int rc = 0;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (buf_append(b, chunk, got) != 0) {
            fprintf(stderr, "liangze: migration \"%s\" is over %d bytes\n", path,
                    MIGRATION_MAX_BYTES);
            rc = -1;
            break;
        }
    fclose(f);
    char *text = rc == 0 ? buf_steal(b, NULL) : NULL;
    buf_destroy(&b);
    return text;
}

static bool s_applied(pg_t *pg, long version, int *status)
{
    char v[24];
    snprintf(v, sizeof v, "%ld", version);
    const char *params[] = {v};
    PGresult *res = pg_query(pg, "SELECT 1 FROM schema_migrations WHERE version = $1", 1, params);
    if (!res) {
        *status = -1;
        return false;
    }
    bool found = PQntuples(res) > 0;
    pg_free(&res);
    return found;
}

static int s_apply(pg_t *pg, const migration_t *m)
{
    char *sql = s_read(m->path);
    if (!sql)
        return -1;
    char v[24];
    snprintf(v, sizeof v, "%ld", m->version);
    const char *params[] = {v, m->name};
    int rc = -1;
    if (pg_begin(pg) == 0 && pg_exec_script(pg, sql) == 0 &&
        pg_exec(pg, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", 2, params) ==
            0 &&
        pg_commit(pg) == 0)
        rc = 0;
    if (rc != 0) {
        fprintf(stderr, "liangze: migration %s failed, rolled back: %s\n", m->name, pg_errmsg(pg));
        pg_rollback(pg);
    }
    free(sql);
    return rc;
}

/* Give the service role its password (deployments with password auth); "-" leaves it. */
static int s_set_app_password(pg_t *pg, const char *password)
{
    if (!strcmp(password, "-"))
        return 0;
    const char *params[] = {password};
    PGresult *res =
        pg_query(pg, "SELECT format('ALTER ROLE lz_app PASSWORD %L', $1::text)", 1, params);
    if (!res)
        return -1;
    int rc = pg_exec(pg, pg_str(res, 0, 0), 0, NULL);
    pg_free(&res);
    if (rc != 0)
        fprintf(stderr, "liangze: could not set the password of lz_app\n");
    return rc;
}

int cmd_migrate(int argc, char **argv, const cfg_t *cfg)
{
    (void)argv;
    if (argc != 1) {
        fprintf(stderr, "usage: liangze migrate\n");
        return 2;
    }
    size_t n = 0;
    migration_t *list = s_list(cfg_str(cfg, "LZ_MIGRATIONS_DIR"), &n);
    if (!list)
        return 1;
    pg_t *pg = pg_connect(cfg_str(cfg, "LZ_PG_ADMIN_URL"), 30, 500);
    if (!pg) {
        fprintf(stderr, "liangze: could not connect to the database\n");
        s_free(list, n);
        return 1;
    }
    int rc = 1;
    int applied = 0, status = 0;
    if (pg_exec(pg, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", 0, NULL) != 0)
        goto done;
    if (pg_exec(pg,
                "CREATE TABLE IF NOT EXISTS schema_migrations (version bigint PRIMARY KEY, "
                "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
                0, NULL) != 0)
        goto unlock;
    for (size_t i = 0; i < n; i++) {
        if (s_applied(pg, list[i].version, &status) || status != 0) {
            if (status != 0)
                goto unlock;
            continue;
        }
        if (s_apply(pg, &list[i]) != 0)
            goto unlock;
        printf("applied %s\n", list[i].name);
        applied++;
    }
    if (pg_exec(pg, "SELECT lz_ensure_partitions_all(3)", 0, NULL) != 0 && n > 0)
        log_warn("could not make partitions ahead");
    if (s_set_app_password(pg, cfg_str(cfg, "LZ_APP_PASSWORD")) != 0)
        goto unlock;
    printf(applied ? "%d migrations applied\n" : "database is up to date\n", applied);
    rc = 0;
unlock:
    pg_exec(pg, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")", 0, NULL);
done:
    pg_destroy(&pg);
    s_free(list, n);
    return rc;
}
