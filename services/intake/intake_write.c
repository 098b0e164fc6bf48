/*
 * intake_write.c - caller names, array literals (see intake_write.h).
 */
#include "intake_write.h"
#include "log.h"
#include "mem.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define S_ARRAY_MAX (64 * 1024 * 1024)

void intake_caller_name(const Lz__Caller *c, char *out, size_t len)
{
    if (c && c->name && c->name[0])
        snprintf(out, len, "%s", c->name);
    else
        snprintf(out, len, "%s:%" PRId64, c && c->role ? c->role : "none",
                 c && c->has_token_id ? c->token_id : (int64_t)0);
}

buf_t *intake_arr_new(void)
{
    buf_t *b = buf_new(S_ARRAY_MAX);
    buf_putc(b, '{');
    return b;
}

void intake_arr_text(buf_t *b, const char *s)
{
    if (buf_len(b) > 1)
        buf_putc(b, ',');
    if (!s) {
        buf_append_str(b, "NULL");
        return;
    }
    buf_putc(b, '"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            buf_putc(b, '\\');
        buf_putc(b, *s);
    }
    buf_putc(b, '"');
}

void intake_arr_int(buf_t *b, int64_t v)
{
    if (buf_len(b) > 1)
        buf_putc(b, ',');
    buf_printf(b, "%" PRId64, v);
}

void intake_arr_bool(buf_t *b, bool v)
{
    if (buf_len(b) > 1)
        buf_putc(b, ',');
    buf_putc(b, v ? 't' : 'f');
}

char *intake_arr_done(buf_t **b_p)
{
    buf_putc(*b_p, '}');
    char *s = buf_steal(*b_p, NULL);
    buf_destroy(b_p);
    return s;
}
