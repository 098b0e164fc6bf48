/*
 * it_outbox.c - integration test of common/outbox and "liangze outbox relay"
 * against the test stack's PostgreSQL and Redis; prints TAP.
 *
 *  1. a writer commits 10,000 events in transactions of varying size, rolling
 *     back about one in ten, while a relay process is killed with SIGKILL
 *     twice and restarted: every committed event is in its stream exactly
 *     once, byte for byte, and nothing of a rolled-back transaction is;
 *  2. a relay that appended to the stream but could not commit (made to
 *     fail by a table lock) leaves no duplicate when the next relay runs;
 *  3. a consumer that dies mid-batch leaves its entries pending; a second
 *     consumer reclaims them once claim_idle_ms has passed; all end acked;
 *  4. a poison event lands in the :dead stream after max_attempts and is
 *     acked, the events around it are handled once;
 *  5. two relay processes running at once relay each event once.
 *
 * Needs LZ_PG_URL, LZ_PG_ADMIN_URL, LZ_REDIS_HOST, LZ_REDIS_PORT and a
 * migrated database.  The relay binary is ../bin/liangze next to this
 * program (LZ_LIANGZE overrides).  Topics are test.outbox.<pid>.*; the
 * test deletes its rows, streams and guard keys at the end, and the relays'
 * logs (under $LZ_RUN_DIR/logs) when everything passed.  Arguments, when
 * given, pick cases by name: kill lost crash poison pair.
 */
#include "clock.h"
#include "log.h"
#include "mem.h"
#include "outbox.h"
#include "pg.h"
#include "rds.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define WRITER_EVENTS 10000
#define PAIR_EVENTS   5000
#define CRASH_EVENTS  30
#define MAX_TOPICS    8

static int s_n;
static int s_failed;
static char s_bin[PATH_MAX];
static char s_logdir[2048];
static char *s_topics[MAX_TOPICS];
static int s_ntopics;
static const char *s_redis_host;
static int s_redis_port;

/* ---- TAP ---- */

static bool s_ok(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool s_ok(bool cond, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%sok %d - ", cond ? "" : "not ", ++s_n);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
    if (!cond)
        s_failed++;
    return cond;
}

static void s_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void s_diag(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("# ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
}

/* ---- helpers ---- */

static const char *s_topic(const char *suffix)
{
    char *t = xasprintf("test.outbox.%d.%s", (int)getpid(), suffix);
    s_topics[s_ntopics++] = t;
    return t;
}

static int64_t s_count(pg_t *pg, const char *sql, const char *topic)
{
    const char *params[1] = {topic};
    PGresult *res = pg_query(pg, sql, 1, params);
    int64_t n = res ? pg_int(res, 0, 0) : -1;
    pg_free(&res);
    return n;
}

static int64_t s_pending_rows(pg_t *pg, const char *topic)
{
    return s_count(pg, "SELECT count(*) FROM outbox WHERE topic = $1 AND relayed_at IS NULL",
                   topic);
}

/* Write n events of topic in one transaction; payload i is "<tag>-<i>". */
static int s_write_batch(pg_t *pg, const char *topic, const char *tag, int n, bool commit)
{
    if (pg_begin(pg) != 0)
        return -1;
    for (int i = 0; i < n; i++) {
        char payload[96];
        /* binary prefix: NUL, 0xff, CR LF */
        memcpy(payload, "\0\xff\r\n", 4);
        int len = 4 + snprintf(payload + 4, sizeof payload - 4, "%s-%d", tag, i);
        if (outbox_write(pg, topic, tag, payload, (size_t)len) != 0) {
            pg_rollback(pg);
            return -1;
        }
    }
    return commit ? pg_commit(pg) : pg_rollback(pg);
}

/* Relay in-process until topic has nothing pending (another relay may help); 0 or -1. */
static int s_relay_all(pg_t *pg, rds_t *rds, const char *topic)
{
    int64_t deadline = clock_mono_ms() + 20000;
    while (clock_mono_ms() < deadline) {
        if (outbox_relay_once(pg, rds, 500) < 0)
            return -1;
        if (s_pending_rows(pg, topic) == 0)
            return 0;
    }
    return -1;
}

/* The outbox ids of topic, ascending; *n gets the count.  Caller frees. */
static int64_t *s_pg_ids(pg_t *pg, const char *topic, int *n)
{
    const char *params[1] = {topic};
    PGresult *res = pg_query(pg, "SELECT id FROM outbox WHERE topic = $1 ORDER BY id", 1, params);
    *n = res ? PQntuples(res) : 0;
    int64_t *ids = xcalloc((size_t)*n + 1, sizeof *ids);
    for (int i = 0; i < *n; i++)
        ids[i] = pg_int(res, i, 0);
    pg_free(&res);
    return ids;
}

typedef struct {
    int64_t id;
    char *payload;
    size_t len;
} s_item_t;

static void s_items_free(s_item_t *items, int n)
{
    for (int i = 0; i < n; i++)
        free(items[i].payload);
    free(items);
}

static int s_item_cmp(const void *a, const void *b)
{
    const s_item_t *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

/* Every entry of a stream as (outbox id, payload), sorted by id; -1 on failure. */
static s_item_t *s_stream_items(rds_t *rds, const char *stream, int *n)
{
    int cap = 1024;
    s_item_t *items = xcalloc((size_t)cap, sizeof *items);
    *n = 0;
    char *start = xstrdup("-");
    for (;;) {
        redisReply *r = rds_cmd(rds, "XRANGE %s %s + COUNT 1000", stream, start);
        if (!r || r->type != REDIS_REPLY_ARRAY) {
            rds_free(&r);
            free(start);
            s_items_free(items, *n);
            *n = -1;
            return NULL;
        }
        for (size_t i = 0; i < r->elements; i++) {
            outbox_event_t ev;
            if (*n == cap) {
                cap *= 2;
                items = xrealloc(items, (size_t)cap * sizeof *items);
            }
            if (outbox_event_parse(r->element[i], &ev) != 0) {
                items[*n].id = -1;
                items[*n].payload = NULL;
                items[*n].len = 0;
            } else {
                items[*n].id = ev.outbox_id;
                items[*n].payload = xmemdup(ev.payload, ev.payload_len ? ev.payload_len : 1);
                items[*n].len = ev.payload_len;
            }
            (*n)++;
        }
        size_t got = r->elements;
        if (got > 0) {
            free(start);
            start = xasprintf("(%s", r->element[got - 1]->element[0]->str);
        }
        rds_free(&r);
        if (got < 1000)
            break;
    }
    free(start);
    qsort(items, (size_t)*n, sizeof *items, s_item_cmp);
    return items;
}

/* Compare a stream with the topic's committed rows.  Counts missing ids,
 * duplicated ids, ids not in PostgreSQL and payloads that differ. */
typedef struct {
    int rows, entries, missing, duplicated, foreign, wrong_payload, rolled_back;
} s_cmp_t;

static s_cmp_t s_compare(pg_t *pg, rds_t *rds, const char *topic)
{
    s_cmp_t c;
    memset(&c, 0, sizeof c);
    const char *params[1] = {topic};
    PGresult *res =
        pg_query(pg, "SELECT id, payload FROM outbox WHERE topic = $1 ORDER BY id", 1, params);
    char *stream = xasprintf("lz:stream:%s", topic);
    int n = 0;
    s_item_t *items = s_stream_items(rds, stream, &n);
    free(stream);
    if (!res || !items) {
        c.missing = -1;
        pg_free(&res);
        s_items_free(items, n > 0 ? n : 0);
        return c;
    }
    c.rows = PQntuples(res);
    c.entries = n;
    int j = 0;
    for (int i = 0; i < c.rows; i++) {
        int64_t id = pg_int(res, i, 0);
        while (j < n && items[j].id < id) {
            c.foreign++;
            j++;
        }
        if (j >= n || items[j].id != id) {
            c.missing++;
            continue;
        }
        size_t len;
        unsigned char *p = PQunescapeBytea((const unsigned char *)pg_str(res, i, 1), &len);
        if (!p || len != items[j].len || memcmp(p, items[j].payload, len) != 0)
            c.wrong_payload++;
        if (p)
            PQfreemem(p);
        j++;
        while (j < n && items[j].id == id) {
            c.duplicated++;
            j++;
        }
    }
    c.foreign += n - j;
    for (int k = 0; k < n; k++)
        if (items[k].payload && items[k].len > 4 && items[k].payload[4] == 'r')
            c.rolled_back++;
    s_items_free(items, n);
    pg_free(&res);
    return c;
}

static bool s_cmp_exact(const s_cmp_t *c, int expect_rows)
{
    return c->rows == expect_rows && c->entries == expect_rows && c->missing == 0 &&
           c->duplicated == 0 && c->foreign == 0 && c->wrong_payload == 0 && c->rolled_back == 0;
}

static void s_cmp_diag(const s_cmp_t *c)
{
    s_diag("rows %d, entries %d, missing %d, duplicated %d, foreign %d, wrong payload %d, "
           "rolled back %d",
           c->rows, c->entries, c->missing, c->duplicated, c->foreign, c->wrong_payload,
           c->rolled_back);
}

static long long s_xlen(rds_t *rds, const char *stream)
{
    redisReply *r = rds_cmd(rds, "XLEN %s", stream);
    long long n = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    rds_free(&r);
    return n;
}

/* Entries pending in group, or -1. */
static long long s_group_pending(rds_t *rds, const char *stream, const char *group)
{
    redisReply *r = rds_cmd(rds, "XPENDING %s %s", stream, group);
    long long n = r && r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
                          r->element[0]->type == REDIS_REPLY_INTEGER
                      ? r->element[0]->integer
                      : -1;
    rds_free(&r);
    return n;
}

/* ---- relay processes ---- */

typedef struct {
    pid_t pid;
    char log[PATH_MAX];
} s_proc_t;

static int s_nlogs;

static int s_spawn_relay(s_proc_t *p, const char *batch)
{
    snprintf(p->log, sizeof p->log, "%s/it_outbox.%d.relay%d.log", s_logdir, (int)getpid(),
             ++s_nlogs);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int fd = open(p->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 2);
            close(fd);
        }
        setenv("LZ_LOG_LEVEL", "info", 1);
        char *argv[] = {"liangze",     "outbox",        "relay", "--batch",
                        (char *)batch, "--interval-ms", "5",     NULL};
        execv(s_bin, argv);
        _exit(127);
    }
    p->pid = pid;
    return 0;
}

/* Wait for p up to ms; its wait status, or -1 when it had to be killed. */
static int s_reap(s_proc_t *p, int64_t ms)
{
    int64_t deadline = clock_mono_ms() + ms;
    int st = 0;
    for (;;) {
        pid_t r = waitpid(p->pid, &st, WNOHANG);
        if (r == p->pid)
            return st;
        if (r < 0 && errno != EINTR)
            return -1;
        if (clock_mono_ms() > deadline) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &st, 0);
            return -1;
        }
        clock_sleep_ms(10);
    }
}

/* The relayed= total a stopped relay logged, or -1. */
static long long s_relayed_total(const s_proc_t *p)
{
    FILE *f = fopen(p->log, "r");
    if (!f)
        return -1;
    char line[1024];
    long long n = -1;
    while (fgets(line, sizeof line, f)) {
        const char *s = strstr(line, "relay stopped: relayed=");
        if (s)
            n = strtoll(s + strlen("relay stopped: relayed="), NULL, 10);
    }
    fclose(f);
    return n;
}

static bool s_log_has(const s_proc_t *p, const char *text)
{
    FILE *f = fopen(p->log, "r");
    if (!f)
        return false;
    char line[1024];
    bool found = false;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, text) != NULL;
    fclose(f);
    return found;
}

static int s_wait_relayed(pg_t *pg, const char *topic, int64_t ms)
{
    int64_t deadline = clock_mono_ms() + ms;
    while (clock_mono_ms() < deadline) {
        if (s_pending_rows(pg, topic) == 0)
            return 0;
        clock_sleep_ms(20);
    }
    return -1;
}

/*
 * One look for the window between a relay's append and its commit: stop the
 * relay and look at its backend.  When its last statement is the UPDATE that
 * marks rows (not yet the COMMIT), the stopped relay is inside the window:
 * kill it there and answer true.  Otherwise let it run on and answer false.
 */
static bool s_kill_in_window(pg_t *admin, pid_t pid)
{
    kill(pid, SIGSTOP);
    clock_sleep_ms(1);
    PGresult *res = pg_query(admin,
                             "SELECT count(*) FROM pg_stat_activity WHERE usename = 'lz_app'"
                             " AND state IN ('active', 'idle in transaction')"
                             " AND query LIKE 'UPDATE outbox SET relayed_at%'",
                             0, NULL);
    bool hit = res && pg_int(res, 0, 0) > 0;
    pg_free(&res);
    if (hit)
        kill(pid, SIGKILL);
    kill(pid, SIGCONT);
    return hit;
}

/* ---- 1. writer and a relay killed twice ---- */

static void s_case_kill9(pg_t *pg, pg_t *admin, rds_t *rds)
{
    const char *topic = s_topic("kill");
    int64_t t0 = clock_mono_ms();
    s_proc_t relay = {.pid = 0};
    if (!s_ok(s_spawn_relay(&relay, "100") == 0, "relay process starts"))
        return;
    srand((unsigned)getpid());
    int committed = 0, rolled_back = 0, txns = 0, rb_txns = 0, kills = 0, failures = 0;
    int in_window = 0;
    s_proc_t restarted[2] = {{.pid = 0}, {.pid = 0}};
    while (committed < WRITER_EVENTS && failures < 10) {
        int size = 1 + rand() % 40;
        bool rollback = rand() % 10 == 0;
        if (!rollback && committed + size > WRITER_EVENTS)
            size = WRITER_EVENTS - committed;
        char tag[32];
        snprintf(tag, sizeof tag, "%c%d", rollback ? 'r' : 'c', txns);
        if (s_write_batch(pg, topic, tag, size, !rollback) != 0) {
            failures++;
            continue;
        }
        txns++;
        if (rollback) {
            rolled_back += size;
            rb_txns++;
        } else {
            committed += size;
        }
        /* two kills, at a third and two thirds of the way; each waits (while
         * the writing goes on) for the relay to be between append and commit,
         * and gives up waiting after 1,500 more events */
        int due = (kills + 1) * WRITER_EVENTS / 3;
        if (kills < 2 && committed >= due) {
            bool hit = s_kill_in_window(admin, relay.pid);
            if (hit || committed >= due + 1500 || committed >= WRITER_EVENTS) {
                in_window += hit;
                if (!hit)
                    kill(relay.pid, SIGKILL);
                int st = s_reap(&relay, 5000);
                if (!(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL))
                    break;
                if (s_spawn_relay(&relay, "100") != 0)
                    break;
                restarted[kills++] = relay;
            }
        }
        if (txns % 8 == 0)
            clock_sleep_ms(1);
    }
    s_ok(committed == WRITER_EVENTS && failures == 0,
         "writer committed %d events in %d transactions, rolled back %d events in %d", committed,
         txns - rb_txns, rolled_back, rb_txns);
    s_ok(kills == 2, "relay killed with SIGKILL twice while relaying and restarted");
    s_ok(s_wait_relayed(pg, topic, 30000) == 0, "every committed event is relayed");
    kill(relay.pid, SIGTERM);
    int st = s_reap(&relay, 5000);
    s_ok(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "relay stops cleanly on SIGTERM");
    bool skipped = false;
    for (int i = 0; i < kills; i++)
        skipped |= s_log_has(&restarted[i], "already in their stream");
    s_cmp_t c = s_compare(pg, rds, topic);
    if (!s_ok(s_cmp_exact(&c, WRITER_EVENTS),
              "every committed event is in the stream exactly once, byte for byte"))
        s_cmp_diag(&c);
    s_ok(c.rolled_back == 0 && c.foreign == 0,
         "no event of a rolled-back transaction is in the stream");
    s_ok(in_window > 0 && skipped,
         "%d of the kills landed between append and commit; a restarted relay found those "
         "events already in the stream and only marked them",
         in_window);
    s_diag("case 1 took %" PRId64 " ms", clock_mono_ms() - t0);
}

/* ---- 2. append done, commit failed ---- */

static void s_case_lost_commit(pg_t *pg, rds_t *rds, const char *admin_url)
{
    const char *topic = s_topic("lost");
    char *stream = xasprintf("lz:stream:%s", topic);
    pg_t *admin = pg_connect(admin_url, 3, 200);
    pg_t *relay = pg_connect(getenv("LZ_PG_URL"), 3, 200);
    if (!s_ok(admin && relay && s_write_batch(pg, topic, "c0", 20, true) == 0,
              "20 events committed for the lost-commit case"))
        goto out;
    /* SHARE blocks the relay's UPDATE (ROW EXCLUSIVE) but not its SELECT ... FOR UPDATE */
    int rc = -2;
    if (pg_begin(admin) == 0 && pg_exec(admin, "LOCK TABLE outbox IN SHARE MODE", 0, NULL) == 0 &&
        pg_exec(relay, "SET lock_timeout = '300ms'", 0, NULL) == 0)
        rc = outbox_relay_once(relay, rds, 500);
    pg_rollback(admin);
    pg_exec(relay, "RESET lock_timeout", 0, NULL);
    s_ok(rc == -1 && s_xlen(rds, stream) == 20 && s_pending_rows(pg, topic) == 20,
         "a relay whose commit fails leaves its events appended but not marked (rc %d)", rc);
    s_ok(s_relay_all(relay, rds, topic) == 0, "the next relay marks them");
    s_cmp_t c = s_compare(pg, rds, topic);
    if (!s_ok(s_cmp_exact(&c, 20), "and does not append them a second time"))
        s_cmp_diag(&c);
out:
    pg_destroy(&admin);
    pg_destroy(&relay);
    free(stream);
}

/* ---- consumers ---- */

typedef struct {
    outbox_consumer_t *consumer;
    int64_t *ids;   /* outbox ids seen, in order */
    int64_t *deliv; /* their delivery counts */
    int n, cap;
    int die_at;                  /* kill this process at the die_at-th event (0: never) */
    int poison_calls;            /* handler runs on the poison event */
    int64_t first_redelivery_ms; /* monotonic time of the first delivery > 1 */
    const char *topic;
} s_seen_t;

static int s_handler(void *ctx, const outbox_event_t *ev)
{
    s_seen_t *s = ctx;
    if (strcmp(ev->topic, s->topic) != 0 || ev->outbox_id <= 0 || ev->at_ms <= 0)
        return -1;
    if (s->die_at && s->n + 1 == s->die_at)
        raise(SIGKILL); /* a consumer crashing mid-batch */
    if (ev->payload_len == 6 && memcmp(ev->payload, "poison", 6) == 0) {
        s->poison_calls++;
        char why[64];
        snprintf(why, sizeof why, "poison pill %" PRId64, ev->outbox_id);
        outbox_consumer_set_error(s->consumer, why);
        return -1;
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->ids = xrealloc(s->ids, (size_t)s->cap * sizeof *s->ids);
        s->deliv = xrealloc(s->deliv, (size_t)s->cap * sizeof *s->deliv);
    }
    if (ev->deliveries > 1 && !s->first_redelivery_ms)
        s->first_redelivery_ms = clock_mono_ms();
    s->ids[s->n] = ev->outbox_id;
    s->deliv[s->n++] = ev->deliveries;
    return 0;
}

static int s_seen_count(const s_seen_t *s, int64_t id)
{
    int k = 0;
    for (int i = 0; i < s->n; i++)
        k += s->ids[i] == id;
    return k;
}

static void s_case_consumer_crash(pg_t *pg, rds_t *rds)
{
    const char *topic = s_topic("crash");
    char *stream = xasprintf("lz:stream:%s", topic);
    const int64_t idle_ms = 800;
    if (!s_ok(s_write_batch(pg, topic, "c0", CRASH_EVENTS, true) == 0 &&
                  s_relay_all(pg, rds, topic) == 0,
              "%d events relayed for the consumer-crash case", CRASH_EVENTS))
        goto out;
    int64_t t_fork = clock_mono_ms();
    pid_t pid = fork();
    if (pid == 0) {
        /* the first consumer: reads 10, handles 5, dies on the 6th before any ack */
        rds_t *r2 = rds_connect(s_redis_host, s_redis_port, 2000);
        s_seen_t seen = {.die_at = 6, .topic = topic};
        seen.consumer = r2 ? outbox_consumer_new(r2, topic, "g", "c1", 3, idle_ms) : NULL;
        if (seen.consumer)
            outbox_consume(seen.consumer, s_handler, &seen, 10, 0);
        _exit(3); /* not reached when the handler killed us */
    }
    int st = 0;
    waitpid(pid, &st, 0);
    s_ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "first consumer dies mid-batch");
    s_ok(s_group_pending(rds, stream, "g") == 10,
         "its 10 delivered entries stay pending (5 handled, none acked)");

    s_seen_t seen = {.topic = topic};
    seen.consumer = outbox_consumer_new(rds, topic, "g", "c2", 3, idle_ms);
    int64_t deadline = clock_mono_ms() + 15000;
    int rounds = 0, errors = 0;
    while (clock_mono_ms() < deadline && seen.n < CRASH_EVENTS) {
        int n = seen.consumer ? outbox_consume(seen.consumer, s_handler, &seen, 7, 100) : -1;
        errors += n < 0;
        rounds++;
        if (errors > 5)
            break;
    }
    int n_ids = 0, once = 0, redelivered = 0;
    int64_t *ids = s_pg_ids(pg, topic, &n_ids);
    for (int i = 0; i < n_ids; i++)
        once += s_seen_count(&seen, ids[i]) == 1;
    for (int i = 0; i < seen.n; i++)
        redelivered += seen.deliv[i] == 2;
    s_ok(errors == 0 && n_ids == CRASH_EVENTS && once == CRASH_EVENTS,
         "second consumer handles all %d events once (%d rounds)", CRASH_EVENTS, rounds);
    s_ok(redelivered == 10, "the 10 left pending are reclaimed with 2 deliveries (%d)",
         redelivered);
    s_ok(seen.first_redelivery_ms >= t_fork + idle_ms,
         "nothing is reclaimed before claim_idle_ms (first after %" PRId64 " ms)",
         seen.first_redelivery_ms - t_fork);
    s_ok(s_group_pending(rds, stream, "g") == 0, "every entry is acknowledged in the end");
    free(ids);
    outbox_consumer_destroy(&seen.consumer);
    free(seen.ids);
    free(seen.deliv);
out:
    free(stream);
}

static void s_case_poison(pg_t *pg, rds_t *rds)
{
    const char *topic = s_topic("poison");
    char *stream = xasprintf("lz:stream:%s", topic);
    char *dead = xasprintf("lz:stream:%s:dead", topic);
    int ok = s_write_batch(pg, topic, "good-a", 2, true);
    if (ok == 0 && pg_begin(pg) == 0) {
        ok = outbox_write(pg, topic, "bad", "poison", 6);
        ok = ok == 0 ? pg_commit(pg) : (pg_rollback(pg), -1);
    }
    if (ok == 0)
        ok = s_write_batch(pg, topic, "good-b", 2, true);
    if (!s_ok(ok == 0 && s_relay_all(pg, rds, topic) == 0,
              "4 good events and a poison one relayed"))
        goto out;
    s_seen_t seen = {.topic = topic};
    seen.consumer = outbox_consumer_new(rds, topic, "g", "p1", 3, 150);
    int64_t deadline = clock_mono_ms() + 15000;
    while (seen.consumer && clock_mono_ms() < deadline) {
        if (outbox_consume(seen.consumer, s_handler, &seen, 10, 50) < 0)
            break;
        if (s_xlen(rds, dead) >= 1 && s_group_pending(rds, stream, "g") == 0)
            break;
    }
    int n_ids = 0, good_once = 0;
    int64_t *ids = s_pg_ids(pg, topic, &n_ids);
    for (int i = 0; i < n_ids; i++)
        good_once += s_seen_count(&seen, ids[i]) == 1;
    s_ok(n_ids == 5 && good_once == 4 && seen.n == 4, "the good events are handled once each");
    s_ok(seen.poison_calls == 3, "the poison event is tried max_attempts (3) times (%d)",
         seen.poison_calls);
    s_ok(s_group_pending(rds, stream, "g") == 0, "and is acknowledged from the group");

    /* the dead entry: the original fields plus attempts and the handler's error */
    redisReply *r = rds_cmd(rds, "XRANGE %s - +", dead);
    bool fields_ok = false;
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 1) {
        outbox_event_t ev;
        const redisReply *f = r->element[0]->element[1];
        bool attempts = false, error = false, stream_id = false;
        for (size_t i = 0; i + 1 < f->elements; i += 2) {
            attempts |=
                !strcmp(f->element[i]->str, "attempts") && !strcmp(f->element[i + 1]->str, "3");
            error |= !strcmp(f->element[i]->str, "error") &&
                     strstr(f->element[i + 1]->str, "poison pill") != NULL;
            stream_id |= !strcmp(f->element[i]->str, "stream_id");
        }
        fields_ok = outbox_event_parse(r->element[0], &ev) == 0 && ev.outbox_id == ids[2] &&
                    ev.payload_len == 6 && !memcmp(ev.payload, "poison", 6) &&
                    !strcmp(ev.key, "bad") && attempts && error && stream_id;
    }
    s_ok(fields_ok, "it lands in %s once, with its fields, attempts and last error", dead);
    rds_free(&r);
    free(ids);
    outbox_consumer_destroy(&seen.consumer);
    free(seen.ids);
    free(seen.deliv);
out:
    free(stream);
    free(dead);
}

/* ---- 5. two relays at once ---- */

static void s_case_two_relays(pg_t *pg, rds_t *rds)
{
    const char *topic = s_topic("pair");
    int64_t t0 = clock_mono_ms();
    int written = 0;
    for (int i = 0; i < 40; i++) /* a backlog before either starts */
        written += s_write_batch(pg, topic, "c0", 50, true) == 0 ? 50 : 0;
    s_proc_t a = {.pid = 0}, b = {.pid = 0};
    if (!s_ok(s_spawn_relay(&a, "50") == 0 && s_spawn_relay(&b, "50") == 0,
              "two relay processes start"))
        return;
    for (int i = 0; written < PAIR_EVENTS && i < 1000; i++) {
        char tag[16];
        snprintf(tag, sizeof tag, "c%d", i + 1);
        written += s_write_batch(pg, topic, tag, 20, true) == 0 ? 20 : 0;
        clock_sleep_ms(2);
    }
    bool drained = s_wait_relayed(pg, topic, 30000) == 0;
    kill(a.pid, SIGTERM);
    kill(b.pid, SIGTERM);
    int sa = s_reap(&a, 5000), sb = s_reap(&b, 5000);
    long long na = s_relayed_total(&a), nb = s_relayed_total(&b);
    s_ok(written == PAIR_EVENTS && drained, "%d events written and relayed", written);
    s_ok(sa >= 0 && sb >= 0 && na > 0 && nb > 0 && na + nb >= PAIR_EVENTS,
         "both relays took part (%lld + %lld rows)", na, nb);
    s_cmp_t c = s_compare(pg, rds, topic);
    if (!s_ok(s_cmp_exact(&c, PAIR_EVENTS), "each event is in the stream exactly once"))
        s_cmp_diag(&c);
    s_diag("case 5 took %" PRId64 " ms", clock_mono_ms() - t0);
}

/* ---- cleanup ---- */

static void s_cleanup(pg_t *admin, rds_t *rds)
{
    for (int t = 0; t < s_ntopics; t++) {
        int n = 0;
        int64_t *ids = admin ? s_pg_ids(admin, s_topics[t], &n) : NULL;
        for (int i = 0; i < n; i += 500) {
            const char *argv[501];
            size_t lens[501];
            char *keys[500];
            int m = n - i < 500 ? n - i : 500;
            argv[0] = "UNLINK";
            lens[0] = 6;
            for (int k = 0; k < m; k++) {
                keys[k] = xasprintf("lz:outbox:relayed:%" PRId64, ids[i + k]);
                argv[k + 1] = keys[k];
                lens[k + 1] = strlen(keys[k]);
            }
            redisReply *r = rds_cmd_argv(rds, m + 1, argv, lens);
            rds_free(&r);
            for (int k = 0; k < m; k++)
                free(keys[k]);
        }
        free(ids);
        rds_do(rds, "UNLINK lz:stream:%s lz:stream:%s:dead", s_topics[t], s_topics[t]);
        if (admin) {
            const char *params[1] = {s_topics[t]};
            pg_exec(admin, "DELETE FROM outbox WHERE topic = $1", 1, params);
        }
        free(s_topics[t]);
    }
}

/* True when case name is to run: all of them, or those named on the command line. */
static bool s_wanted(int argc, char **argv, const char *name)
{
    if (argc < 2)
        return true;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], name))
            return true;
    return false;
}

int main(int argc, char **argv)
{
    log_init("it_outbox", LZ_LOG_WARN);
    const char *pg_url = getenv("LZ_PG_URL"), *admin_url = getenv("LZ_PG_ADMIN_URL");
    s_redis_host = getenv("LZ_REDIS_HOST");
    const char *port = getenv("LZ_REDIS_PORT");
    if (!pg_url || !admin_url || !s_redis_host || !port) {
        printf("not ok 1 - LZ_PG_URL, LZ_PG_ADMIN_URL, LZ_REDIS_HOST and LZ_REDIS_PORT are set\n");
        return 1;
    }
    s_redis_port = (int)strtol(port, NULL, 10);
    const char *bin = getenv("LZ_LIANGZE");
    if (bin) {
        snprintf(s_bin, sizeof s_bin, "%s", bin);
    } else {
        char self[2048];
        ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
        self[len > 0 ? len : 0] = '\0';
        char *slash = strrchr(self, '/');
        if (slash)
            *slash = '\0';
        snprintf(s_bin, sizeof s_bin, "%.2000s/../bin/liangze", len > 0 ? self : ".");
    }
    const char *run_dir = getenv("LZ_RUN_DIR");
    snprintf(s_logdir, sizeof s_logdir, "%s", run_dir ? run_dir : "/tmp");
    if (run_dir) {
        char *logs = xasprintf("%s/logs", run_dir);
        if (access(logs, W_OK) == 0)
            snprintf(s_logdir, sizeof s_logdir, "%s", logs);
        free(logs);
    }
    signal(SIGPIPE, SIG_IGN);

    int64_t t0 = clock_mono_ms();
    pg_t *pg = pg_connect(pg_url, 10, 300);
    pg_t *admin = pg_connect(admin_url, 10, 300);
    rds_t *rds = rds_connect(s_redis_host, s_redis_port, 2000);
    if (!s_ok(pg && admin && rds && access(s_bin, X_OK) == 0,
              "database, redis and %s are reachable", s_bin)) {
        pg_destroy(&pg);
        pg_destroy(&admin);
        rds_destroy(&rds);
        return 1;
    }
    if (s_wanted(argc, argv, "kill"))
        s_case_kill9(pg, admin, rds);
    if (s_wanted(argc, argv, "lost"))
        s_case_lost_commit(pg, rds, admin_url);
    if (s_wanted(argc, argv, "crash"))
        s_case_consumer_crash(pg, rds);
    if (s_wanted(argc, argv, "poison"))
        s_case_poison(pg, rds);
    if (s_wanted(argc, argv, "pair"))
        s_case_two_relays(pg, rds);
    s_cleanup(admin, rds);
    if (s_failed == 0)
        for (int i = 1; i <= s_nlogs; i++) {
            char *log = xasprintf("%s/it_outbox.%d.relay%d.log", s_logdir, (int)getpid(), i);
            unlink(log);
            free(log);
        }
    s_diag("all cases took %" PRId64 " ms", clock_mono_ms() - t0);
    printf("1..%d\n", s_n);
    pg_destroy(&pg);
    pg_destroy(&admin);
    rds_destroy(&rds);
    return s_failed ? 1 : 0;
}
