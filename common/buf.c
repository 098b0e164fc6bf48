/*
 * buf.c - a growable byte buffer with a hard maximum.
 */
#include "buf.h"
#include "mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct buf_s {
    char *data;
    size_t len;
    size_t cap; /* allocated, including room for the NUL */
    size_t max;
    bool overflowed;
};

buf_t *buf_new(size_t max)
{
    buf_t *self = xcalloc(1, sizeof *self);
    self->cap = max < 64 ? max + 1 : 64;
    self->data = xmalloc(self->cap);
    self->data[0] = '\0';
    self->max = max;
    return self;
}

void buf_destroy(buf_t **self_p)
{
    if (self_p && *self_p) {
        free((*self_p)->data);
        free(*self_p);
        *self_p = NULL;
    }
}

static int s_reserve(buf_t *self, size_t extra)
{
    if (extra > self->max - self->len) {
        self->overflowed = true;
        return -1;
    }
    size_t need = self->len + extra + 1;
    if (need > self->cap) {
        size_t cap = self->cap;
        while (cap < need)
            cap = cap * 2;
        if (cap > self->max + 1)
            cap = self->max + 1;
        self->data = xrealloc(self->data, cap);
        self->cap = cap;
    }
    return 0;
}

int buf_append(buf_t *self, const void *data, size_t len)
{
    if (s_reserve(self, len) != 0)
        return -1;
    if (len)
        memcpy(self->data + self->len, data, len);
    self->len += len;
    self->data[self->len] = '\0';
    return 0;
}

int buf_append_str(buf_t *self, const char *s)
{
    return buf_append(self, s, strlen(s));
}

int buf_putc(buf_t *self, char c)
{
    return buf_append(self, &c, 1);
}

int buf_printf(buf_t *self, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char probe[1];
    int n = vsnprintf(probe, sizeof probe, fmt, ap);
    va_end(ap);
    if (n < 0 || s_reserve(self, (size_t)n) != 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(self->data + self->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    self->len += (size_t)n;
    return 0;
}

const char *buf_data(const buf_t *self)
{
    return self->data;
}

size_t buf_len(const buf_t *self)
{
    return self->len;
}

size_t buf_max(const buf_t *self)
{
    return self->max;
}

bool buf_overflowed(const buf_t *self)
{
    return self->overflowed;
}

void buf_reset(buf_t *self)
{
    self->len = 0;
    self->data[0] = '\0';
    self->overflowed = false;
}

char *buf_steal(buf_t *self, size_t *len)
{
    char *d = self->data;
    if (len)
        *len = self->len;
    self->cap = 64 < self->max + 1 ? 64 : self->max + 1;
    self->data = xmalloc(self->cap);
    buf_reset(self);
    return d;
}
