/*
 * fake_provider.c - a stand-in for the SMS provider (Tencent Cloud SendSms),
 * webhook receivers and an SMTP server, for the notifier's tests and bench.
 *
 *   fake_provider --port P --log FILE [--smtp-port P2] [--delay MS]
 *                 [--secret-key K] [--webhook-secret S]
 *
 * HTTP (libmicrohttpd, a thread per connection so slowness is cheap):
 *   POST /              SendSms: checks the TC3-HMAC-SHA256 signature (own
 *                       implementation), answers by plan, logs one line
 *   POST /hook/NAME     a webhook: checks X-Lz-Signature, answers by plan
 *   POST /ctl/plan?key=K&plan=A,B,...   queue answers for key K (a phone
 *                       as sent without +86, or a hook NAME): ok, 500, 400,
 *                       tfail (LimitExceeded: transient), bad
 *                       (IncorrectPhoneNumber: permanent), slowN (N ms, then ok)
 *   GET  /ctl/stats     {"calls","accepted","dups"}
 * Answers after the plan runs out: ok after --delay ms.  A dedupe key
 * (SessionContext / X-Lz-Dedupe-Key) already accepted is answered ok again
 * and counted as a dup, as an idempotent provider would.
 * SMTP (--smtp-port): a minimal server; RCPT TO containing "reject" gets
 * 550; each message is written to FILE.mail.N and logged.
 * The log has one JSON object per line.
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BODY_MAX  (256 * 1024)
#define PLANS_MAX 256
#define SEEN_MAX  400000

static pthread_mutex_t s_mu = PTHREAD_MUTEX_INITIALIZER;
static FILE *s_log;
static const char *s_log_path;
static long s_delay_ms;
static const char *s_secret_key = "";
static const char *s_webhook_secret = "change-me";
static long s_calls, s_accepted, s_dups, s_mails;
static volatile sig_atomic_t s_stop;

static struct {
    char key[128];
    char plan[512]; /* remaining tokens, comma-separated */
} s_plans[PLANS_MAX];
static char **s_seen;
static size_t s_nseen;

static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

static void s_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Pop the next planned answer for key into out ("" when none). */
static void s_next_plan(const char *key, char *out, size_t len)
{
    out[0] = '\0';
    pthread_mutex_lock(&s_mu);
    for (int i = 0; i < PLANS_MAX; i++) {
        if (!s_plans[i].key[0] || strcmp(s_plans[i].key, key) != 0)
            continue;
        char *p = s_plans[i].plan;
        if (!*p)
            break;
        size_t n = strcspn(p, ",");
        snprintf(out, len, "%.*s", (int)n, p);
        memmove(p, p[n] ? p + n + 1 : p + n, strlen(p + n) + 1);
        break;
    }
    pthread_mutex_unlock(&s_mu);
}

static void s_set_plan(const char *key, const char *plan)
{
    pthread_mutex_lock(&s_mu);
    int free_slot = -1;
    for (int i = 0; i < PLANS_MAX; i++) {
        if (s_plans[i].key[0] && !strcmp(s_plans[i].key, key)) {
            free_slot = i;
            break;
        }
        if (!s_plans[i].key[0] && free_slot < 0)
            free_slot = i;
    }
    if (free_slot >= 0) {
        snprintf(s_plans[free_slot].key, sizeof s_plans[free_slot].key, "%s", key);
        snprintf(s_plans[free_slot].plan, sizeof s_plans[free_slot].plan, "%s", plan);
    }
    pthread_mutex_unlock(&s_mu);
}

/* True if key was accepted before; else remember it when accepted. */
static bool s_seen_before(const char *key, bool accept)
{
    bool seen = false;
    pthread_mutex_lock(&s_mu);
    for (size_t i = 0; i < s_nseen && !seen; i++)
        seen = !strcmp(s_seen[i], key);
    if (!seen && accept && s_nseen < SEEN_MAX)
        s_seen[s_nseen++] = strdup(key);
    pthread_mutex_unlock(&s_mu);
    return seen;
}

static void s_log_line(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT);
    pthread_mutex_lock(&s_mu);
    if (s) {
        fputs(s, s_log);
        fputc('\n', s_log);
        fflush(s_log);
    }
    pthread_mutex_unlock(&s_mu);
    free(s);
}

static void s_hmac(const unsigned char *k, size_t kl, const char *m, size_t ml, unsigned char o[32])
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, k, kl);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)m, ml);
    crypto_auth_hmacsha256_final(&st, o);
}

static void s_sha_hex(const char *m, size_t ml, char hex[65])
{
    unsigned char h[32];
    crypto_hash_sha256(h, (const unsigned char *)m, ml);
    sodium_bin2hex(hex, 65, h, 32);
}

/* Recompute TC3-HMAC-SHA256 from what arrived and compare with Authorization. */
static bool s_tc3_ok(struct MHD_Connection *c, const char *body, size_t blen)
{
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    const char *ts = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-TC-Timestamp");
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
    const char *ctype = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    const char *action = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-TC-Action");
    if (!auth || !ts || !host || !ctype || !action)
        return false;
    char act[64];
    size_t i = 0;
    for (; i < sizeof act - 1 && action[i]; i++)
        act[i] = (char)(action[i] >= 'A' && action[i] <= 'Z' ? action[i] + 32 : action[i]);
    act[i] = '\0';
    time_t t = (time_t)strtoll(ts, NULL, 10);
    struct tm tm;
    gmtime_r(&t, &tm);
    char date[16], phex[65], chex[65], canon[2048], tosign[512], sig[65], want[600];
    strftime(date, sizeof date, "%Y-%m-%d", &tm);
    s_sha_hex(body, blen, phex);
    snprintf(
        canon, sizeof canon,
        "POST\n/\n\ncontent-type:%s\nhost:%s\nx-tc-action:%s\n\ncontent-type;host;x-tc-action\n%s",
        ctype, host, act, phex);
    s_sha_hex(canon, strlen(canon), chex);
    snprintf(tosign, sizeof tosign, "TC3-HMAC-SHA256\n%s\n%s/sms/tc3_request\n%s", ts, date, chex);
    char k0[256];
    snprintf(k0, sizeof k0, "TC3%s", s_secret_key);
    unsigned char a[32], b[32], cc[32], d[32];
    s_hmac((unsigned char *)k0, strlen(k0), date, strlen(date), a);
    s_hmac(a, 32, "sms", 3, b);
    s_hmac(b, 32, "tc3_request", 11, cc);
    s_hmac(cc, 32, tosign, strlen(tosign), d);
    sodium_bin2hex(sig, sizeof sig, d, 32);
    const char *cred = strstr(auth, "Credential=");
    const char *slash = cred ? strchr(cred, '/') : NULL;
    if (!slash)
        return false;
    snprintf(want, sizeof want,
             "TC3-HMAC-SHA256 Credential=%.*s/%s/sms/tc3_request, "
             "SignedHeaders=content-type;host;x-tc-action, Signature=%s",
             (int)(slash - cred - 11), cred + 11, date, sig);
    return !strcmp(want, auth);
}

static bool s_hook_sig_ok(struct MHD_Connection *c, const char *body, size_t blen)
{
    const char *ts = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Lz-Timestamp");
    const char *sig = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Lz-Signature");
    if (!ts || !sig)
        return false;
    size_t ml = strlen(ts) + 1 + blen;
    char *m = malloc(ml + 1);
    snprintf(m, ml + 1, "%s.", ts);
    memcpy(m + strlen(ts) + 1, body, blen);
    unsigned char mac[32];
    char hex[65];
    s_hmac((const unsigned char *)s_webhook_secret, strlen(s_webhook_secret), m, ml, mac);
    free(m);
    sodium_bin2hex(hex, sizeof hex, mac, 32);
    return !strcmp(hex, sig);
}

static enum MHD_Result s_answer(struct MHD_Connection *c, unsigned status, const char *text)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

typedef struct {
    char *data;
    size_t len;
} s_body_t;

static enum MHD_Result s_handle(void *cls, struct MHD_Connection *c, const char *url,
                                const char *method, const char *version, const char *upload,
                                size_t *upload_size, void **con_cls)
{
    (void)cls;
    (void)version;
    s_body_t *b = *con_cls;
    if (!b) {
        b = calloc(1, sizeof *b);
        *con_cls = b;
        return MHD_YES;
    }
    if (*upload_size) {
        if (b->len + *upload_size <= BODY_MAX) {
            b->data = realloc(b->data, b->len + *upload_size + 1);
            memcpy(b->data + b->len, upload, *upload_size);
            b->len += *upload_size;
            b->data[b->len] = '\0';
        }
        *upload_size = 0;
        return MHD_YES;
    }
    const char *body = b->data ? b->data : "";
    if (!strcmp(url, "/ctl/plan")) {
        const char *k = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "key");
        const char *p = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "plan");
        if (!k || !p)
            return s_answer(c, 400, "{\"error\":\"key and plan\"}");
        s_set_plan(k, p);
        return s_answer(c, 200, "{}");
    }
    if (!strcmp(url, "/ctl/stats")) {
        char out[160];
        pthread_mutex_lock(&s_mu);
        snprintf(out, sizeof out, "{\"calls\":%ld,\"accepted\":%ld,\"dups\":%ld,\"mails\":%ld}",
                 s_calls, s_accepted, s_dups, s_mails);
        pthread_mutex_unlock(&s_mu);
        return s_answer(c, 200, out);
    }
    if (strcmp(method, "POST") != 0)
        return s_answer(c, 405, "{}");
    bool sms = !strcmp(url, "/");
    bool hook = !strncmp(url, "/hook/", 6);
    if (!sms && !hook)
        return s_answer(c, 404, "{}");
    json_error_t err;
    json_t *in = json_loadb(body, b->len, 0, &err);
    json_t *log = json_object();
    char key[128] = "", dedupe[256] = "";
    bool sig_ok;
    if (sms) {
        sig_ok = s_tc3_ok(c, body, b->len);
        const char *ph =
            json_string_value(json_array_get(json_object_get(in, "PhoneNumberSet"), 0));
        snprintf(key, sizeof key, "%s", ph ? (!strncmp(ph, "+86", 3) ? ph + 3 : ph) : "");
        const char *sc = json_string_value(json_object_get(in, "SessionContext"));
        snprintf(dedupe, sizeof dedupe, "%s", sc ? sc : "");
        json_object_set(log, "params", json_object_get(in, "TemplateParamSet"));
        json_object_set(log, "template_id", json_object_get(in, "TemplateId"));
        json_object_set(log, "sign_name", json_object_get(in, "SignName"));
    } else {
        sig_ok = s_hook_sig_ok(c, body, b->len);
        snprintf(key, sizeof key, "%s", url + 6);
        const char *dk = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Lz-Dedupe-Key");
        snprintf(dedupe, sizeof dedupe, "%s", dk ? dk : "");
        json_object_set(log, "text", json_object_get(in, "text"));
        json_object_set(log, "title", json_object_get(in, "title"));
    }
    json_decref(in);
    char plan[64];
    s_next_plan(key, plan, sizeof plan);
    if (!plan[0])
        snprintf(plan, sizeof plan, "ok");
    long delay = s_delay_ms;
    if (!strncmp(plan, "slow", 4)) {
        delay = strtol(plan + 4, NULL, 10);
        snprintf(plan, sizeof plan, "ok");
    }
    if (delay > 0)
        s_sleep_ms(delay);
    bool accept = !strcmp(plan, "ok");
    bool dup = accept && dedupe[0] && s_seen_before(dedupe, true);
    pthread_mutex_lock(&s_mu);
    s_calls++;
    if (accept && !dup)
        s_accepted++;
    if (dup)
        s_dups++;
    long serial = s_calls;
    pthread_mutex_unlock(&s_mu);
    json_object_set_new(log, "kind", json_string(sms ? "sms" : "webhook"));
    json_object_set_new(log, "key", json_string(key));
    json_object_set_new(log, "dedupe", json_string(dedupe));
    json_object_set_new(log, "sig_ok", json_boolean(sig_ok));
    json_object_set_new(log, "answer", json_string(plan));
    json_object_set_new(log, "dup", json_boolean(dup));
    s_log_line(log);
    json_decref(log);
    char out[512];
    if (!strcmp(plan, "500"))
        return s_answer(c, 500, "{\"error\":\"internal\"}");
    if (!strcmp(plan, "400"))
        return s_answer(c, 400, "{\"error\":\"bad request\"}");
    if (!sms)
        return s_answer(c, 200, "{\"ok\":true}");
    if (!sig_ok) {
        snprintf(out, sizeof out,
                 "{\"Response\":{\"Error\":{\"Code\":\"AuthFailure.SignatureFailure\","
                 "\"Message\":\"signature does not match\"},\"RequestId\":\"r%ld\"}}",
                 serial);
        return s_answer(c, 200, out);
    }
    const char *code = !strcmp(plan, "tfail") ? "LimitExceeded.PhoneNumberThirtySecondLimit"
                       : !strcmp(plan, "bad") ? "InvalidParameterValue.IncorrectPhoneNumber"
                                              : "Ok";
    snprintf(
        out, sizeof out,
        "{\"Response\":{\"SendStatusSet\":[{\"SerialNo\":\"sn-%ld-%ld\",\"PhoneNumber\":\"+86%s\","
        "\"Fee\":1,\"SessionContext\":\"%s\",\"Code\":\"%s\",\"Message\":\"%s\","
        "\"IsoCode\":\"CN\"}],\"RequestId\":\"r%ld\"}}",
        (long)getpid(), serial, key, "", code, !strcmp(code, "Ok") ? "send success" : "refused",
        serial);
    return s_answer(c, 200, out);
}

static void s_done(void *cls, struct MHD_Connection *c, void **con_cls,
                   enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    s_body_t *b = *con_cls;
    if (b) {
        free(b->data);
        free(b);
    }
    *con_cls = NULL;
}

/* ---- SMTP sink ---------------------------------------------------------------------------- */

static void s_send(int fd, const char *s)
{
    ssize_t n = write(fd, s, strlen(s));
    (void)n;
}

/* Read one line (CRLF) into out; length, or -1 on EOF. */
static long s_readline(int fd, char *out, size_t len)
{
    size_t n = 0;
    char ch;
    while (n + 1 < len) {
        ssize_t r = read(fd, &ch, 1);
        if (r <= 0)
            return n ? (long)n : -1;
        out[n++] = ch;
        if (ch == '\n')
            break;
    }
    out[n] = '\0';
    return (long)n;
}

static void *s_smtp_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char line[4096], rcpt[512] = "", from[512] = "";
    s_send(fd, "220 fake smtp\r\n");
    while (s_readline(fd, line, sizeof line) >= 0) {
        if (!strncasecmp(line, "EHLO", 4) || !strncasecmp(line, "HELO", 4)) {
            s_send(fd, "250 fake\r\n");
        } else if (!strncasecmp(line, "MAIL FROM:", 10)) {
            snprintf(from, sizeof from, "%.*s", (int)strcspn(line + 10, "\r\n"), line + 10);
            s_send(fd, "250 ok\r\n");
        } else if (!strncasecmp(line, "RCPT TO:", 8)) {
            snprintf(rcpt, sizeof rcpt, "%.*s", (int)strcspn(line + 8, "\r\n"), line + 8);
            s_send(fd, strstr(rcpt, "reject") ? "550 no such mailbox\r\n" : "250 ok\r\n");
        } else if (!strncasecmp(line, "DATA", 4)) {
            s_send(fd, "354 go ahead\r\n");
            pthread_mutex_lock(&s_mu);
            long n = ++s_mails;
            pthread_mutex_unlock(&s_mu);
            char path[1024];
            snprintf(path, sizeof path, "%s.mail.%ld", s_log_path, n);
            FILE *f = fopen(path, "w");
            while (s_readline(fd, line, sizeof line) >= 0) {
                if (!strcmp(line, ".\r\n") || !strcmp(line, ".\n"))
                    break;
                if (f)
                    fputs(line[0] == '.' ? line + 1 : line, f);
            }
            if (f)
                fclose(f);
            json_t *o =
                json_pack("{ssssssss}", "kind", "email", "from", from, "rcpt", rcpt, "file", path);
            s_log_line(o);
            json_decref(o);
            s_send(fd, "250 queued\r\n");
        } else if (!strncasecmp(line, "QUIT", 4)) {
            s_send(fd, "221 bye\r\n");
            break;
        } else {
            s_send(fd, "250 ok\r\n");
        }
    }
    close(fd);
    return NULL;
}

static void *s_smtp_main(void *arg)
{
    int port = (int)(intptr_t)arg;
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 64) != 0) {
        perror("fake_provider: smtp");
        exit(1);
    }
    for (;;) {
        int fd = accept(ls, NULL, NULL);
        if (fd < 0)
            continue;
        pthread_t t;
        if (pthread_create(&t, NULL, s_smtp_conn, (void *)(intptr_t)fd) == 0)
            pthread_detach(t);
        else
            close(fd);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int port = 0, smtp_port = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--port"))
            port = (int)strtol(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--smtp-port"))
            smtp_port = (int)strtol(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--log"))
            s_log_path = argv[i + 1];
        else if (!strcmp(argv[i], "--delay"))
            s_delay_ms = strtol(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--secret-key"))
            s_secret_key = argv[i + 1];
        else if (!strcmp(argv[i], "--webhook-secret"))
            s_webhook_secret = argv[i + 1];
    }
    if (!port || !s_log_path || sodium_init() < 0) {
        fprintf(stderr, "usage: fake_provider --port P --log FILE [--smtp-port P] [--delay MS] "
                        "[--secret-key K] [--webhook-secret S]\n");
        return 2;
    }
    s_log = fopen(s_log_path, "a");
    s_seen = calloc(SEEN_MAX, sizeof *s_seen);
    if (!s_log || !s_seen)
        return 1;
    signal(SIGTERM, s_on_signal);
    signal(SIGINT, s_on_signal);
    signal(SIGPIPE, SIG_IGN);
    struct MHD_Daemon *d =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION,
                         (uint16_t)port, NULL, NULL, s_handle, NULL, MHD_OPTION_NOTIFY_COMPLETED,
                         s_done, NULL, MHD_OPTION_CONNECTION_LIMIT, 2000, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "fake_provider: could not listen on %d\n", port);
        return 1;
    }
    if (smtp_port) {
        pthread_t t;
        pthread_create(&t, NULL, s_smtp_main, (void *)(intptr_t)smtp_port);
        pthread_detach(t);
    }
    while (!s_stop)
        s_sleep_ms(100);
    MHD_stop_daemon(d);
    fclose(s_log);
    return 0;
}
