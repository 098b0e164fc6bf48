/*
 * notifier_server.c - the notifier process: settings, the RPC worker with
 * its method table and housekeeping, and the deliverer thread.
 */
#include "notifier_server.h"
#include "clock.h"
#include "log.h"
#include "outbox.h"

#include <curl/curl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

const cfg_spec_t notifier_spec[] = {
    {"LZ_RELAY_BATCH", CFG_INT, "500", 1, 100000, false, "outbox events relayed per round"},
    {"LZ_CLOCK_OFFSET_S", CFG_INT, "0", -315360000, 315360000, false,
     "test/demo only: seconds added to the clock quiet hours, caps and retries see"},
    {"LZ_NOTIFY_TOPIC", CFG_STR, "notify.request", 1, 63, false,
     "outbox topic of the requests (stream lz:stream:<topic>)"},
    {"LZ_NOTIFY_KEY_PREFIX", CFG_STR, "lz:notify", 1, 100, false,
     "prefix of the notifier's Redis keys"},
    {"LZ_NOTIFY_CONSUMER", CFG_STR, "", 0, 100, false,
     "consumer name in group notifier (empty: host name and process id)"},
    {"LZ_NOTIFY_INFLIGHT", CFG_INT, "64", 1, 1000, false, "deliveries in flight at once"},
    {"LZ_NOTIFY_TIMEOUT_MS", CFG_INT, "10000", 100, 600000, false,
     "longest wait for one provider, webhook or SMTP attempt"},
    {"LZ_NOTIFY_CLAIM_IDLE_MS", CFG_INT, "30000", 100, 3600000, false,
     "stream entries pending this long (a dead consumer's) are taken over"},
    {"LZ_NOTIFY_MAX_ATTEMPTS", CFG_INT, "5", 1, 100, false,
     "attempts before a transiently failing message is dead"},
    {"LZ_NOTIFY_BACKOFF_BASE_MS", CFG_INT, "30000", 1, 86400000, false,
     "delay after the first failed attempt (doubles each time, with jitter)"},
    {"LZ_NOTIFY_BACKOFF_MAX_MS", CFG_INT, "3600000", 1, 86400000, false, "longest retry delay"},
    {"LZ_NOTIFY_QUIET_START", CFG_STR, "22:00", 5, 5, false,
     "local time quiet hours begin (non-urgent messages held)"},
    {"LZ_NOTIFY_QUIET_END", CFG_STR, "07:00", 5, 5, false, "local time quiet hours end"},
    {"LZ_NOTIFY_SMS_DAILY_CAP", CFG_INT, "5", 0, 1000, false,
     "SMS a day to one phone; urgent ones go anyway and are counted"},
    {"LZ_NOTIFY_TEMPLATE_TTL_MS", CFG_INT, "2000", 0, 3600000, false,
     "how long the deliverer keeps templates before reading them again"},
    {"LZ_SMS_URL", CFG_STR, "https://sms.tencentcloudapi.com/", 1, 500, false,
     "Tencent Cloud SMS endpoint"},
    {"LZ_SMS_HOST", CFG_STR, "", 0, 255, false,
     "Host header the signature covers (empty: the host of LZ_SMS_URL)"},
    {"LZ_SMS_REGION", CFG_STR, "ap-guangzhou", 1, 64, false, "X-TC-Region"},
    {"LZ_SMS_SECRET_ID", CFG_STR, "", 0, 128, false, "Tencent Cloud SecretId"},
    {"LZ_SMS_SECRET_KEY", CFG_STR, "", 0, 128, true, "Tencent Cloud SecretKey"},
    {"LZ_SMS_SDK_APP_ID", CFG_STR, "", 0, 64, false, "SmsSdkAppId"},
    {"LZ_SMS_SIGN_NAME", CFG_STR, "", 0, 64, false, "SignName (短信签名)"},
    {"LZ_SMS_TEMPLATE_IDS", CFG_STR, "", 0, 2000, false,
     "provider template ids: name=id,name=id (ledger_reminder=1234567,...)"},
    {"LZ_SMS_CALLBACK_SECRET", CFG_STR, "", 0, 128, true,
     "secret the receipt callback URL carries (?secret=); empty: receipts refused"},
    {"LZ_WEBHOOK_SECRET", CFG_STR, "change-me", 1, 256, true, "HMAC-SHA256 key of X-Lz-Signature"},
    {"LZ_SMTP_URL", CFG_STR, "smtp://127.0.0.1:25", 1, 500, false,
     "SMTP server (smtp:// or smtps://)"},
    {"LZ_SMTP_FROM", CFG_STR, "liangze@localhost", 3, 254, false, "envelope and From address"},
    {"LZ_SMTP_USER", CFG_STR, "", 0, 254, false, "SMTP user (empty: no login)"},
    {"LZ_SMTP_PASSWORD", CFG_STR, "", 0, 254, true, "SMTP password"},
};
const size_t notifier_spec_count = sizeof notifier_spec / sizeof notifier_spec[0];

static const rpc_method_t s_methods[] = {
    {"notifier.issue_warning", notifier_issue_warning, NULL},
    {"notifier.reply_warning", notifier_reply_warning, NULL},
    {"notifier.list_notifications", notifier_list_notifications, NULL},
    {"notifier.get_template", notifier_get_template, NULL},
    {"notifier.put_template", notifier_put_template, NULL},
    {"notifier.sms_receipt", notifier_sms_receipt, NULL},
};

/* Copy the host[:port] of url to out ("" when there is none). */
static void s_url_host(const char *url, char *out, size_t len)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    size_t n = strcspn(p, "/?#");
    if (n >= len)
        n = len - 1;
    memcpy(out, p, n);
    out[n] = '\0';
}

int notifier_conf_load(const cfg_t *cfg, notifier_conf_t *c)
{
    memset(c, 0, sizeof *c);
    c->pg_url = cfg_str(cfg, "LZ_PG_URL");
    c->redis_host = cfg_str(cfg, "LZ_REDIS_HOST");
    c->redis_port = (int)cfg_int(cfg, "LZ_REDIS_PORT");
    c->topic = cfg_str(cfg, "LZ_NOTIFY_TOPIC");
    if (!outbox_topic_valid(c->topic)) {
        log_error("setting LZ_NOTIFY_TOPIC is not a topic name");
        return -1;
    }
    c->key_prefix = cfg_str(cfg, "LZ_NOTIFY_KEY_PREFIX");
    const char *name = cfg_str(cfg, "LZ_NOTIFY_CONSUMER");
    if (name[0]) {
        snprintf(c->consumer, sizeof c->consumer, "%s", name);
    } else {
        char host[64] = "host";
        gethostname(host, sizeof host - 1);
        snprintf(c->consumer, sizeof c->consumer, "%.63s-%ld", host, (long)getpid());
    }
    c->inflight = (int)cfg_int(cfg, "LZ_NOTIFY_INFLIGHT");
    c->timeout_ms = cfg_int(cfg, "LZ_NOTIFY_TIMEOUT_MS");
    c->lease_ms = 3 * c->timeout_ms + 5000;
    c->claim_idle_ms = cfg_int(cfg, "LZ_NOTIFY_CLAIM_IDLE_MS");
    c->clock_offset_s = cfg_int(cfg, "LZ_CLOCK_OFFSET_S");
    notifier_policy_default(&c->policy);
    if (notifier_parse_hhmm(cfg_str(cfg, "LZ_NOTIFY_QUIET_START"), &c->policy.quiet_start_min) ||
        notifier_parse_hhmm(cfg_str(cfg, "LZ_NOTIFY_QUIET_END"), &c->policy.quiet_end_min)) {
        log_error("settings LZ_NOTIFY_QUIET_START and _END must be HH:MM");
        return -1;
    }
    c->policy.sms_daily_cap = (int)cfg_int(cfg, "LZ_NOTIFY_SMS_DAILY_CAP");
    c->policy.max_attempts = (int)cfg_int(cfg, "LZ_NOTIFY_MAX_ATTEMPTS");
    c->policy.backoff_base_ms = cfg_int(cfg, "LZ_NOTIFY_BACKOFF_BASE_MS");
    c->policy.backoff_max_ms = cfg_int(cfg, "LZ_NOTIFY_BACKOFF_MAX_MS");
    c->template_ttl_ms = cfg_int(cfg, "LZ_NOTIFY_TEMPLATE_TTL_MS");
    c->sms_url = cfg_str(cfg, "LZ_SMS_URL");
    const char *host = cfg_str(cfg, "LZ_SMS_HOST");
    if (host[0])
        snprintf(c->sms_host, sizeof c->sms_host, "%s", host);
    else
        s_url_host(c->sms_url, c->sms_host, sizeof c->sms_host);
    c->sms.host = c->sms_host;
    c->sms.region = cfg_str(cfg, "LZ_SMS_REGION");
    c->sms.secret_id = cfg_str(cfg, "LZ_SMS_SECRET_ID");
    c->sms.secret_key = cfg_str(cfg, "LZ_SMS_SECRET_KEY");
    c->sms.sdk_app_id = cfg_str(cfg, "LZ_SMS_SDK_APP_ID");
    c->sms.sign_name = cfg_str(cfg, "LZ_SMS_SIGN_NAME");
    c->sms_templates = cfg_str(cfg, "LZ_SMS_TEMPLATE_IDS");
    c->sms_callback_secret = cfg_str(cfg, "LZ_SMS_CALLBACK_SECRET");
    c->webhook_secret = cfg_str(cfg, "LZ_WEBHOOK_SECRET");
    c->smtp_url = cfg_str(cfg, "LZ_SMTP_URL");
    c->smtp_from = cfg_str(cfg, "LZ_SMTP_FROM");
    c->smtp_user = cfg_str(cfg, "LZ_SMTP_USER");
    c->smtp_password = cfg_str(cfg, "LZ_SMTP_PASSWORD");
    return 0;
}

/* Housekeeping every 200 ms: relay committed events; hourly, make partitions ahead. */
static void s_housekeeping(void *ctx, int64_t now_ms)
{
    notifier_t *self = ctx;
    while (outbox_relay_once(self->pg, self->rds, self->relay_batch) == self->relay_batch)
        ;
    if (now_ms >= self->next_partition_check_ms) {
        pg_exec(self->pg, "SELECT lz_ensure_partitions_all(3)", 0, NULL);
        self->next_partition_check_ms = now_ms + 3600 * 1000;
    }
}

typedef struct {
    const notifier_conf_t *conf;
    atomic_bool stop;
    int rc;
} s_thread_t;

static void *s_deliver_main(void *arg)
{
    s_thread_t *t = arg;
    t->rc = notifier_deliver_run(t->conf, &t->stop);
    return NULL;
}

int notifier_run(const cfg_t *cfg)
{
    notifier_conf_t conf;
    if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != 0 ||
        notifier_conf_load(cfg, &conf) != 0)
        return 1;
    notifier_t self;
    memset(&self, 0, sizeof self);
    self.conf = &conf;
    self.relay_batch = (int)cfg_int(cfg, "LZ_RELAY_BATCH");
    self.pg = pg_connect(conf.pg_url, 60, 500);
    if (!self.pg)
        return 1;
    self.rds = rds_connect(conf.redis_host, conf.redis_port, 2000);
    if (!self.rds) {
        pg_destroy(&self.pg);
        return 1;
    }
    s_thread_t th = {.conf = &conf, .rc = 0};
    atomic_init(&th.stop, false);
    pthread_t tid;
    if (pthread_create(&tid, NULL, s_deliver_main, &th) != 0) {
        log_error("could not start the deliverer thread");
        rds_destroy(&self.rds);
        pg_destroy(&self.pg);
        return 1;
    }
    rpc_worker_t *worker = rpc_worker_new(cfg_str(cfg, "LZ_BROKER"), "notifier", s_methods,
                                          sizeof s_methods / sizeof s_methods[0], &self, 1);
    rpc_worker_set_timer(worker, 200, s_housekeeping);
    log_info("notifier serving %zu methods", sizeof s_methods / sizeof s_methods[0]);
    int rc = rpc_worker_run(worker);
    atomic_store(&th.stop, true);
    pthread_join(tid, NULL);
    rpc_worker_destroy(&worker);
    rds_destroy(&self.rds);
    pg_destroy(&self.pg);
    curl_global_cleanup();
    return rc == 0 && th.rc == 0 ? 0 : 1;
}
