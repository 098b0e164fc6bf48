/*
 * log.c - one line per event on stderr, phone numbers masked.
 */
#include "log.h"
#include "ident.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 4096

log_level_t log_threshold = LZ_LOG_INFO;
static char s_service[32] = "liangze";
static _Thread_local char s_rid[65];

static const char *s_names[] = {"DEBUG", "INFO", "WARN", "ERROR", "OFF"};

void log_init(const char *service, log_level_t threshold)
{
    snprintf(s_service, sizeof s_service, "%s", service);
    log_threshold = threshold;
}

int log_level_parse(const char *s, log_level_t *out)
{
    static const char *names[] = {"debug", "info", "warn", "error", "off"};
    for (int i = 0; i <= LZ_LOG_OFF; i++) {
        if (strcasecmp(s, names[i]) == 0) {
            *out = (log_level_t)i;
            return 0;
        }
    }
    return -1;
}

void log_set_request_id(const char *rid)
{
    if (rid)
        snprintf(s_rid, sizeof s_rid, "%s", rid);
    else
        s_rid[0] = '\0';
}

void log_write(log_level_t level, const char *fmt, ...)
{
    char msg[LOG_LINE_MAX];
    char masked[LOG_LINE_MAX];
    char line[LOG_LINE_MAX + 192];

    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ident_mask_phones(msg, masked, sizeof masked);

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    time_t local = ts.tv_sec + 8 * 3600; /* Asia/Shanghai, fixed +08:00 */
    struct tm tm;
    gmtime_r(&local, &tm);
    char stamp[40];
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);

    int n;
    if (s_rid[0])
        n = snprintf(line, sizeof line, "%s.%03ld+08:00 %s %s[%d] rid=%s: %s\n", stamp,
                     ts.tv_nsec / 1000000, s_names[level], s_service, (int)getpid(), s_rid, masked);
    else
        n = snprintf(line, sizeof line, "%s.%03ld+08:00 %s %s[%d]: %s\n", stamp,
                     ts.tv_nsec / 1000000, s_names[level], s_service, (int)getpid(), masked);
    if (n < 0)
        return;
    size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    if (len && line[len - 1] != '\n')
        line[len - 1] = '\n';
    /* one write so lines from threads and processes do not interleave */
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}
