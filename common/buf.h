/*
 * buf.h - a growable byte buffer with a hard maximum.
 *
 * Every buffer that grows with untrusted input has a limit: an append that
 * would pass it fails, leaves the buffer as it was and marks it overflowed.
 * The contents are always NUL-terminated (the NUL is not counted).
 */
#ifndef LZ_BUF_H
#define LZ_BUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct buf_s buf_t;

/* Return a new empty buffer that never holds more than max bytes. */
buf_t *buf_new(size_t max);
/* Destroy *self_p (NULL is fine) and set it to NULL. */
void buf_destroy(buf_t **self_p);

/* Append; 0, or -1 (and nothing appended) when max would be passed. */
int buf_append(buf_t *self, const void *data, size_t len);
int buf_append_str(buf_t *self, const char *s);
int buf_printf(buf_t *self, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_putc(buf_t *self, char c);

/* The contents, valid until the next change; always NUL-terminated. */
const char *buf_data(const buf_t *self);
size_t buf_len(const buf_t *self);
size_t buf_max(const buf_t *self);
/* True once an append was refused for size, until buf_reset. */
bool buf_overflowed(const buf_t *self);
void buf_reset(buf_t *self);
/* Hand the contents to the caller (who frees them) and empty the buffer. */
char *buf_steal(buf_t *self, size_t *len);

#endif
