/*
 * notifier_render.c - templates with escaped placeholders.  Pure; see
 * notifier_render.h.
 */
#include "notifier_render.h"
#include "mem.h"

#include <stdbool.h>
#include <string.h>

/* A growable string without a cap of its own: callers bound their inputs. */
typedef struct {
    char *p;
    size_t len, cap;
} s_str_t;

static void s_put(s_str_t *s, const char *data, size_t n)
{
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 64;
        while (cap < s->len + n + 1)
            cap *= 2;
        s->p = xrealloc(s->p, cap);
        s->cap = cap;
    }
    memcpy(s->p + s->len, data, n);
    s->len += n;
    s->p[s->len] = '\0';
}

static void s_puts(s_str_t *s, const char *z)
{
    s_put(s, z, strlen(z));
}

/* Length of value cut to at most max bytes without splitting a UTF-8 sequence. */
static size_t s_cut(const char *v, size_t max)
{
    size_t n = strlen(v);
    if (n <= max)
        return n;
    n = max;
    while (n > 0 && ((unsigned char)v[n] & 0xC0) == 0x80)
        n--;
    return n;
}

static void s_escape_into(s_str_t *out, const char *v, render_mode_t mode)
{
    size_t n = s_cut(v, RENDER_VALUE_MAX);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (mode == RENDER_HTML) {
            switch (c) {
            case '&':
                s_puts(out, "&amp;");
                continue;
            case '<':
                s_puts(out, "&lt;");
                continue;
            case '>':
                s_puts(out, "&gt;");
                continue;
            case '"':
                s_puts(out, "&quot;");
                continue;
            case '\'':
                s_puts(out, "&#39;");
                continue;
            default:
                break;
            }
        } else if (mode == RENDER_SMS && (c < 0x20 || c == 0x7f)) {
            continue;
        }
        s_put(out, (const char *)&c, 1);
    }
}

char *notifier_escape(const char *value, render_mode_t mode)
{
    s_str_t s = {0};
    s_put(&s, "", 0);
    s_escape_into(&s, value ? value : "", mode);
    return s.p;
}

static bool s_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/* If p starts a placeholder, copy its name to name and return its length in
 * bytes ("{{name}}"); else 0. */
static size_t s_placeholder(const char *p, char name[RENDER_NAME_MAX + 1])
{
    if (p[0] != '{' || p[1] != '{')
        return 0;
    size_t i = 2;
    while (s_name_char(p[i]) && i - 2 < RENDER_NAME_MAX)
        i++;
    if (i == 2 || p[i] != '}' || p[i + 1] != '}')
        return 0;
    memcpy(name, p + 2, i - 2);
    name[i - 2] = '\0';
    return i + 2;
}

char *notifier_render(const char *tmpl, const render_kv_t *kv, size_t n, render_mode_t mode)
{
    s_str_t s = {0};
    s_put(&s, "", 0);
    char name[RENDER_NAME_MAX + 1];
    const char *p = tmpl ? tmpl : "";
    while (*p) {
        size_t len = s_placeholder(p, name);
        if (!len) {
            const char *next = strstr(p + 1, "{{");
            size_t run = next ? (size_t)(next - p) : strlen(p);
            s_put(&s, p, run);
            p += run;
            continue;
        }
        for (size_t i = 0; i < n; i++)
            if (kv[i].key && !strcmp(kv[i].key, name)) {
                s_escape_into(&s, kv[i].value ? kv[i].value : "", mode);
                break;
            }
        p += len;
    }
    return s.p;
}

size_t notifier_template_params(const char *tmpl, char names[][RENDER_NAME_MAX + 1], size_t max)
{
    size_t k = 0;
    char name[RENDER_NAME_MAX + 1];
    for (const char *p = tmpl ? tmpl : ""; *p && k < max;) {
        size_t len = s_placeholder(p, name);
        if (!len) {
            p++;
            continue;
        }
        bool seen = false;
        for (size_t i = 0; i < k && !seen; i++)
            seen = !strcmp(names[i], name);
        if (!seen)
            memcpy(names[k++], name, strlen(name) + 1);
        p += len;
    }
    return k;
}

char *notifier_html_page(const char *title, const char *html_body)
{
    s_str_t s = {0};
    s_puts(&s, "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>");
    s_escape_into(&s, title ? title : "", RENDER_HTML);
    s_puts(&s, "</title></head>\n<body>\n<p>");
    for (const char *p = html_body ? html_body : ""; *p; p++) {
        if (*p == '\n')
            s_puts(&s, "<br>\n");
        else if (*p != '\r')
            s_put(&s, p, 1);
    }
    s_puts(&s, "</p>\n</body></html>\n");
    return s.p;
}
