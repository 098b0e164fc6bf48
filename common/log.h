/*
 * log.h - one line per event on stderr.
 *
 * A line reads
 *   2026-11-29T12:00:00.123+08:00 INFO intake[4242] rid=7f0c: message
 * The level is checked before the message is formatted, so a disabled
 * debug line costs one comparison.  Every mainland mobile number in a
 * message is masked (138****5678) before it is written.  The request id is
 * per thread: set it when a request starts, clear it when it ends.
 */
#ifndef LZ_LOG_H
#define LZ_LOG_H

#include <stddef.h>

typedef enum { LZ_LOG_DEBUG, LZ_LOG_INFO, LZ_LOG_WARN, LZ_LOG_ERROR, LZ_LOG_OFF } log_level_t;

extern log_level_t log_threshold;

/* Name the process in every line and set the threshold. */
void log_init(const char *service, log_level_t threshold);
/* Parse "debug", "info", "warn", "error", "off"; 0 or -1. */
int log_level_parse(const char *s, log_level_t *out);
/* Set (copied, at most 64 bytes) or clear (NULL) this thread's request id. */
void log_set_request_id(const char *rid);

void log_write(log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_at(lvl, ...)                                                                           \
    do {                                                                                           \
        if ((lvl) >= log_threshold)                                                                \
            log_write((lvl), __VA_ARGS__);                                                         \
    } while (0)
#define log_debug(...) log_at(LZ_LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_at(LZ_LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_at(LZ_LOG_WARN, __VA_ARGS__)
#define log_error(...) log_at(LZ_LOG_ERROR, __VA_ARGS__)

#endif
