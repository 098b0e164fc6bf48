/*
 * mem.h - allocators that abort on out-of-memory.
 *
 * Every allocation in liangze goes through these: a process that cannot get
 * memory cannot do anything sensible, so it logs once and aborts.  Callers
 * never check for NULL.
 */
#ifndef LZ_MEM_H
#define LZ_MEM_H

#include <stdarg.h>
#include <stddef.h>

/* Return a new block; caller owns it and frees it with free(). */
void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
void *xmemdup(const void *p, size_t n);

/* Return a newly allocated formatted string; caller frees it. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap);

/* Free *p and set it to NULL; accepts NULL and a NULL *p. */
void xfree(void *pp);

#endif
