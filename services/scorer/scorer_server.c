/*
 * scorer_server.c - the scorer worker: settings, method table, housekeeping, loop.
 */
#include "scorer_server.h"
#include "clock.h"
#include "log.h"
#include "outbox.h"
#include "period.h"
#include "scorer_rank.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const cfg_spec_t scorer_spec[] = {
    {"LZ_RELAY_BATCH", CFG_INT, "500", 1, 100000, false, "outbox events relayed per round"},
    {"LZ_LEDGER_GRACE_S", CFG_INT, "0", 0, 604800, false, "grace after a period's end, seconds"},
    {"LZ_CLOCK_OFFSET_S", CFG_INT, "0", -315360000, 315360000, false,
     "test/demo only: seconds added to the clock"},
    {"LZ_SCORER_EVENT_BATCH", CFG_INT, "5000", 1, 50000, false, "events applied per transaction"},
    {"LZ_SCORER_REGRADE_BATCH", CFG_INT, "200", 1, 100000, false, "businesses regraded per round"},
    {"LZ_SCORER_MAX_ATTEMPTS", CFG_INT, "5", 2, 100, false,
     "deliveries of an event before it is dead-lettered"},
    {"LZ_SCORER_CLAIM_IDLE_MS", CFG_INT, "30000", 1000, 3600000, false,
     "pending time after which another consumer takes an event over"},
    {"LZ_SCORER_RANK_INTERVAL_S", CFG_INT, "300", 0, 86400, false,
     "seconds between ranking computations (0: only on request)"},
    {"LZ_SCORE_W_DAILY", CFG_INT, "40", 0, 100, false, "compliance weight: daily ledgers"},
    {"LZ_SCORE_W_WEEKLY", CFG_INT, "15", 0, 100, false, "compliance weight: weekly ledgers"},
    {"LZ_SCORE_W_MONTHLY", CFG_INT, "15", 0, 100, false, "compliance weight: monthly ledgers"},
    {"LZ_SCORE_W_PROBLEMS", CFG_INT, "15", 0, 100, false, "compliance weight: problems rectified"},
    {"LZ_SCORE_W_INSPECTION", CFG_INT, "15", 0, 100, false, "compliance weight: latest inspection"},
    {"LZ_SCORE_LATE_CREDIT_PCT", CFG_INT, "50", 0, 100, false, "credit of a late ledger, percent"},
    {"LZ_SCORE_REMARKS_CREDIT_PCT", CFG_INT, "50", 0, 100, false,
     "credit of an inspection passed with remarks, percent"},
    {"LZ_SCORE_WARNING_PENALTY", CFG_INT, "5", 0, 100, false, "points off per unanswered warning"},
    {"LZ_SCORE_STATIC_TYPE", CFG_STR, "25,10,20,25,15", 1, 64, false,
     "static risk points: production,sales,catering,canteen,small_workshop"},
    {"LZ_SCORE_STATIC_SCALE", CFG_STR, "15,10,5,0", 1, 64, false,
     "static risk points: large,medium,small,micro"},
    {"LZ_SCORE_DYN_COMPLIANCE", CFG_INT, "45", 0, 60, false, "dynamic risk points at compliance 0"},
    {"LZ_SCORE_DYN_FAIL", CFG_INT, "15", 0, 60, false, "dynamic risk points: failed inspection"},
    {"LZ_SCORE_DYN_REMARKS", CFG_INT, "5", 0, 60, false,
     "dynamic risk points: inspection passed with remarks"},
    {"LZ_SCORE_BANDS", CFG_STR, "30,45,60", 1, 32, false, "risk grade bands: A<=x<B<=y<C<=z<D"},
    {"LZ_SCORE_CADRE_WEIGHTS", CFG_STR, "40,10,20,15,15", 1, 64, false,
     "cadre weights: visits,found,rectified,overdue,inspections"},
    {"LZ_SCORE_FOUND_TARGET_PCT", CFG_INT, "20", 0, 1000, false,
     "findings a cadre is expected to make per 100 visits"},
    {"LZ_SCORE_OVERDUE_STEP_PCT", CFG_INT, "20", 0, 100, false,
     "share of the overdue component each overdue task takes"},
    {"LZ_SCORE_COMMEND_PCT", CFG_INT, "10", 0, 100, false, "top share of cadres commended"},
    {"LZ_SCORE_NOTICE_BOTTOM_PCT", CFG_INT, "10", 0, 100, false,
     "bottom share of cadres named in the notice"},
    {"LZ_SCORE_NOTICE_FLOOR", CFG_INT, "60", 0, 100, false,
     "cadre score under which a cadre is named in the notice"},
    {"LZ_SCORE_RED_MIN", CFG_INT, "95", 0, 100, false, "red list: minimum compliance"},
    {"LZ_SCORE_NOTICE_MAX", CFG_INT, "60", 0, 100, false, "notice list: compliance below this"},
    {"LZ_SCORE_VISITS_PER_QUARTER", CFG_INT, "1", 1, 92, false,
     "visits owed per assignment per quarter"},
    {"LZ_RANK_W_LEDGER", CFG_INT, "50", 0, 100, false, "ranking weight: ledger on-time rate"},
    {"LZ_RANK_W_VISIT", CFG_INT, "50", 0, 100, false, "ranking weight: visit completion"},
};
const size_t scorer_spec_count = sizeof scorer_spec / sizeof scorer_spec[0];

static const rpc_method_t s_methods[] = {
    {"scorer.business_score", scorer_business_score, NULL},
    {"scorer.cadre_score", scorer_cadre_score, NULL},
    {"scorer.rankings", scorer_rankings, NULL},
    {"scorer.compute_rankings", scorer_compute_rankings, NULL},
    {"scorer.list", scorer_list, NULL},
    {"scorer.close_list", scorer_close_list, NULL},
    {"scorer.record_reward", scorer_record_reward, NULL},
};

/* Parse "a,b,c" into n ints (missing ones keep their value). */
static void s_ints(const char *s, int *out, size_t n)
{
    for (size_t i = 0; i < n && s && *s; i++) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s)
            break;
        out[i] = (int)v;
        s = *end == ',' ? end + 1 : NULL;
    }
}

void scorer_settings_from_cfg(const cfg_t *cfg, scorer_cfg_t *out)
{
    memset(out, 0, sizeof *out);
    score_settings_t *s = &out->s;
    score_settings_default(s);
    s->w_ledger[0] = (int)cfg_int(cfg, "LZ_SCORE_W_DAILY");
    s->w_ledger[1] = (int)cfg_int(cfg, "LZ_SCORE_W_WEEKLY");
    s->w_ledger[2] = (int)cfg_int(cfg, "LZ_SCORE_W_MONTHLY");
    s->w_problems = (int)cfg_int(cfg, "LZ_SCORE_W_PROBLEMS");
    s->w_inspection = (int)cfg_int(cfg, "LZ_SCORE_W_INSPECTION");
    s->late_credit_pct = (int)cfg_int(cfg, "LZ_SCORE_LATE_CREDIT_PCT");
    s->remarks_credit_pct = (int)cfg_int(cfg, "LZ_SCORE_REMARKS_CREDIT_PCT");
    s->warning_penalty = (int)cfg_int(cfg, "LZ_SCORE_WARNING_PENALTY");
    s_ints(cfg_str(cfg, "LZ_SCORE_STATIC_TYPE"), s->static_type, SCORE_TYPES);
    s_ints(cfg_str(cfg, "LZ_SCORE_STATIC_SCALE"), s->static_scale, SCORE_SCALES);
    s->dyn_compliance = (int)cfg_int(cfg, "LZ_SCORE_DYN_COMPLIANCE");
    s->dyn_fail = (int)cfg_int(cfg, "LZ_SCORE_DYN_FAIL");
    s->dyn_remarks = (int)cfg_int(cfg, "LZ_SCORE_DYN_REMARKS");
    s_ints(cfg_str(cfg, "LZ_SCORE_BANDS"), s->band, 3);
    int cw[5] = {s->wc_visits, s->wc_found, s->wc_rectified, s->wc_overdue, s->wc_inspections};
    s_ints(cfg_str(cfg, "LZ_SCORE_CADRE_WEIGHTS"), cw, 5);
    s->wc_visits = cw[0];
    s->wc_found = cw[1];
    s->wc_rectified = cw[2];
    s->wc_overdue = cw[3];
    s->wc_inspections = cw[4];
    s->found_target_pct = (int)cfg_int(cfg, "LZ_SCORE_FOUND_TARGET_PCT");
    s->overdue_step_pct = (int)cfg_int(cfg, "LZ_SCORE_OVERDUE_STEP_PCT");
    s->commend_pct = (int)cfg_int(cfg, "LZ_SCORE_COMMEND_PCT");
    s->notice_bottom_pct = (int)cfg_int(cfg, "LZ_SCORE_NOTICE_BOTTOM_PCT");
    s->notice_floor = (int)cfg_int(cfg, "LZ_SCORE_NOTICE_FLOOR");
    s->red_min = (int)cfg_int(cfg, "LZ_SCORE_RED_MIN");
    s->notice_max = (int)cfg_int(cfg, "LZ_SCORE_NOTICE_MAX");
    out->grace_s = cfg_int(cfg, "LZ_LEDGER_GRACE_S");
    out->visits_per_quarter = (int)cfg_int(cfg, "LZ_SCORE_VISITS_PER_QUARTER");
}

int scorer_as_of(const scorer_t *self, const char *as_of, int64_t *out)
{
    if (as_of && as_of[0])
        return rfc3339_parse(as_of, out);
    *out = clock_now_s() + self->clock_offset_s;
    return 0;
}

static void s_rankings_now(scorer_t *self, int64_t now)
{
    period_t d, q;
    char dt[PERIOD_TEXT_MAX], qt[PERIOD_TEXT_MAX];
    if (period_containing(PERIOD_DAILY, now, &d) != 0 ||
        period_containing(PERIOD_QUARTERLY, now, &q) != 0)
        return;
    period_format(&d, dt, sizeof dt);
    period_format(&q, qt, sizeof qt);
    static const char *const levels[] = {"township", "district"};
    for (size_t i = 0; i < 2; i++) {
        scorer_rank_compute(self->pg, self->rds, levels[i], dt, now, self->cfg.visits_per_quarter,
                            self->rank_w_ledger, self->rank_w_visit);
        scorer_rank_compute(self->pg, self->rds, levels[i], qt, now, self->cfg.visits_per_quarter,
                            self->rank_w_ledger, self->rank_w_visit);
    }
}

/*
 * The background loop, in a thread of its own with its own connections so
 * that long rounds never starve the worker's heartbeats: relay the outbox,
 * apply events (running aggregates), regrade dirty businesses, rankings on
 * their period, once a day (per deployment) mark every business for a
 * regrade, purge old processed ids.
 */
typedef struct {
    scorer_t *self;
    const cfg_t *cfg;
    atomic_int stop;
} s_bg_t;

static void s_background_round(scorer_t *self, int64_t now_ms)
{
    for (int i = 0; i < 20; i++)
        if (outbox_relay_once(self->pg, self->rds, self->relay_batch) != self->relay_batch)
            break;
    int64_t until = clock_mono_ms() + 500;
    while (clock_mono_ms() < until)
        if (scorer_events_pump(self->events, self->pg, self->event_batch) <= 0)
            break;
    int64_t now = now_ms / 1000 + self->clock_offset_s;
    scorer_regrade(self->pg, &self->cfg, now, self->regrade_batch);
    if (self->rank_interval_s > 0 && now_ms >= self->next_rank_ms) {
        s_rankings_now(self, now);
        self->next_rank_ms = now_ms + (int64_t)self->rank_interval_s * 1000;
    }
    redisReply *rq = rds_cmd(self->rds, "LPOP %s", SCORER_RANK_QUEUE);
    if (rq && rq->type == REDIS_REPLY_STRING)
        s_rankings_now(self, strtoll(rq->str, NULL, 10));
    rds_free(&rq);
    if (now_ms >= self->next_daily_ms) {
        /* once a day per deployment, whichever worker comes first */
        period_t d;
        char key[64], dt[PERIOD_TEXT_MAX];
        if (period_containing(PERIOD_DAILY, now, &d) == 0 && period_format(&d, dt, sizeof dt) > 0) {
            snprintf(key, sizeof key, "lz:scorer:regrade_all:%s", dt);
            redisReply *r = rds_cmd(self->rds, "SET %s 1 NX EX 172800", key);
            if (r && r->type == REDIS_REPLY_STATUS)
                scorer_mark_all_dirty(self->pg);
            rds_free(&r);
        }
        self->next_daily_ms = now_ms + 3600LL * 1000;
    }
    if (now_ms >= self->next_purge_ms) {
        scorer_processed_purge(self->pg, 14LL * 24 * 3600);
        self->next_purge_ms = now_ms + 3600LL * 1000;
    }
}

static void *s_background(void *arg)
{
    s_bg_t *bg = arg;
    scorer_t *self = bg->self;
    while (!atomic_load(&bg->stop)) {
        int64_t t0 = clock_mono_ms();
        s_background_round(self, clock_now_ms());
        int64_t spent = clock_mono_ms() - t0;
        if (spent < 100)
            clock_sleep_ms(100 - spent);
    }
    return NULL;
}

int scorer_run(const cfg_t *cfg)
{
    scorer_t self;
    memset(&self, 0, sizeof self);
    scorer_settings_from_cfg(cfg, &self.cfg);
    self.relay_batch = (int)cfg_int(cfg, "LZ_RELAY_BATCH");
    self.event_batch = (int)cfg_int(cfg, "LZ_SCORER_EVENT_BATCH");
    self.regrade_batch = (int)cfg_int(cfg, "LZ_SCORER_REGRADE_BATCH");
    self.rank_interval_s = (int)cfg_int(cfg, "LZ_SCORER_RANK_INTERVAL_S");
    self.rank_w_ledger = (int)cfg_int(cfg, "LZ_RANK_W_LEDGER");
    self.rank_w_visit = (int)cfg_int(cfg, "LZ_RANK_W_VISIT");
    self.clock_offset_s = cfg_int(cfg, "LZ_CLOCK_OFFSET_S");
    int64_t now = clock_now_ms();
    self.next_rank_ms = now + 5000;
    self.next_daily_ms = now + 60LL * 1000;
    self.pg = pg_connect(cfg_str(cfg, "LZ_PG_URL"), 60, 500);
    if (!self.pg)
        return 1;
    self.rds = rds_connect(cfg_str(cfg, "LZ_REDIS_HOST"), (int)cfg_int(cfg, "LZ_REDIS_PORT"), 2000);
    if (!self.rds || scorer_cfg_probe(self.pg, &self.cfg) != 0) {
        rds_destroy(&self.rds);
        pg_destroy(&self.pg);
        return 1;
    }
    char name[64], host[32] = "";
    gethostname(host, sizeof host - 1);
    snprintf(name, sizeof name, "%s-%d", host, (int)getpid());
    self.events = scorer_events_new(self.rds, name, (int)cfg_int(cfg, "LZ_SCORER_MAX_ATTEMPTS"),
                                    cfg_int(cfg, "LZ_SCORER_CLAIM_IDLE_MS"));
    if (!self.events) {
        rds_destroy(&self.rds);
        pg_destroy(&self.pg);
        return 1;
    }
    /* the handlers get connections of their own; the background thread keeps self's */
    scorer_t front = self;
    front.events = NULL;
    front.pg = pg_connect(cfg_str(cfg, "LZ_PG_URL"), 60, 500);
    front.rds = front.pg ? rds_connect(cfg_str(cfg, "LZ_REDIS_HOST"),
                                       (int)cfg_int(cfg, "LZ_REDIS_PORT"), 2000)
                         : NULL;
    if (!front.rds) {
        pg_destroy(&front.pg);
        scorer_events_destroy(&self.events);
        rds_destroy(&self.rds);
        pg_destroy(&self.pg);
        return 1;
    }
    s_bg_t bg = {.self = &self, .cfg = cfg};
    atomic_init(&bg.stop, 0);
    pthread_t thread;
    if (pthread_create(&thread, NULL, s_background, &bg) != 0) {
        log_error("could not start the background thread");
        return 1;
    }
    rpc_worker_t *worker = rpc_worker_new(cfg_str(cfg, "LZ_BROKER"), "scorer", s_methods,
                                          sizeof s_methods / sizeof s_methods[0], &front, 1);
    log_info("scorer serving %zu methods (warnings from %s, tasks %s)",
             sizeof s_methods / sizeof s_methods[0],
             self.cfg.notifier_warnings ? "the notifier's table" : "events",
             self.cfg.scheduler_tasks ? "counted" : "not available");
    int rc = rpc_worker_run(worker);
    rpc_worker_destroy(&worker);
    atomic_store(&bg.stop, 1);
    pthread_join(thread, NULL);
    rds_destroy(&front.rds);
    pg_destroy(&front.pg);
    scorer_events_destroy(&self.events);
    rds_destroy(&self.rds);
    pg_destroy(&self.pg);
    return rc == 0 ? 0 : 1;
}
