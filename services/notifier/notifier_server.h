/*
 * notifier_server.h - the notifier service: deliveries of notification
 * requests by SMS, webhook and e-mail; warnings; message templates.
 *
 * One process runs two threads, each with its own PostgreSQL and Redis
 * connections: the RPC worker (warnings, templates, notification lists,
 * SMS receipts; its timer relays the outbox and makes partitions) and the
 * deliverer (notifier_deliver.c: consumes lz:stream:notify.request, records,
 * schedules in Redis, sends many at once with libcurl's multi interface,
 * retries, holds, dead-letters).  Settings are in notifier_spec
 * (services/notifier/README.md lists them).
 */
#ifndef LZ_NOTIFIER_SERVER_H
#define LZ_NOTIFIER_SERVER_H

#include "cfg.h"
#include "notifier_policy.h"
#include "notifier_sms.h"
#include "pg.h"
#include "rds.h"
#include "rpc.h"

#include <stdatomic.h>
#include <stdint.h>

/* What both threads read; filled once from the settings. */
typedef struct {
    const char *pg_url, *redis_host;
    int redis_port;
    const char *topic;      /* LZ_NOTIFY_TOPIC: the stream read, default notify.request */
    const char *key_prefix; /* LZ_NOTIFY_KEY_PREFIX: Redis keys, default lz:notify */
    char consumer[128];     /* this process's consumer name */
    int inflight;           /* deliveries in flight at once */
    int64_t timeout_ms;     /* one HTTP/SMTP attempt */
    int64_t lease_ms;       /* a claimed delivery returns to others after this */
    int64_t claim_idle_ms;  /* stream entries pending longer are reclaimed */
    int64_t clock_offset_s; /* LZ_CLOCK_OFFSET_S: tests drive the clock */
    notifier_policy_t policy;
    sms_account_t sms;
    const char *sms_url, *sms_templates, *sms_callback_secret;
    char sms_host[256];
    const char *webhook_secret;
    const char *smtp_url, *smtp_from, *smtp_user, *smtp_password;
    int64_t template_ttl_ms;
} notifier_conf_t;

typedef struct {
    const notifier_conf_t *conf;
    pg_t *pg;
    rds_t *rds;
    int relay_batch;
    int64_t next_partition_check_ms;
} notifier_t;

/* The settings the notifier reads, common ones included. */
extern const cfg_spec_t notifier_spec[];
extern const size_t notifier_spec_count;

/* Fill conf from cfg (strings point into cfg); 0, or -1 (logged) on a bad value. */
int notifier_conf_load(const cfg_t *cfg, notifier_conf_t *conf);

/* Connect, start the deliverer and serve until stopped; process exit code. */
int notifier_run(const cfg_t *cfg);

/* The deliverer (notifier_deliver.c): runs until *stop is set; 0, or -1 when
 * it could not start.  Owns its connections. */
int notifier_deliver_run(const notifier_conf_t *conf, atomic_bool *stop);

/* The unix ms the policy sees: the clock plus LZ_CLOCK_OFFSET_S. */
int64_t notifier_now_ms(const notifier_conf_t *conf);

/* Handlers (notifier_api.c). */
void notifier_issue_warning(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep);
void notifier_reply_warning(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep);
void notifier_list_notifications(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep);
void notifier_get_template(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep);
void notifier_put_template(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep);
void notifier_sms_receipt(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep);

#endif
