/*
 * notifier_email.c - a MIME message for SMTP.  Pure; see notifier_email.h.
 */
#include "notifier_email.h"
#include "mem.h"

#include <sodium.h>
#include <string.h>
#include <time.h>

bool notifier_email_valid(const char *addr)
{
    if (!addr || strlen(addr) > 254)
        return false;
    const char *at = strchr(addr, '@');
    if (!at || at == addr || !at[1] || strchr(at + 1, '@'))
        return false;
    for (const char *p = addr; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == '<' || *p == '>' || *p == ',' || *p == '"' ||
            *p == 0x7f)
            return false;
    return true;
}

static char *s_b64(const char *s, size_t n)
{
    size_t cap = sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL);
    char *out = xmalloc(cap);
    sodium_bin2base64(out, cap, (const unsigned char *)s, n, sodium_base64_VARIANT_ORIGINAL);
    return out;
}

char *notifier_email_message(const char *from, const char *to, const char *subject,
                             const char *html, const char *dedupe_key, int64_t now_ms)
{
    char date[64];
    time_t t = (time_t)(now_ms / 1000) + 8 * 3600;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0800", &tm);
    uint8_t h[16];
    char hex[33];
    crypto_generichash(h, sizeof h, (const unsigned char *)dedupe_key, strlen(dedupe_key), NULL, 0);
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    char *subj = s_b64(subject, strlen(subject));
    char *body = s_b64(html, strlen(html));
    size_t blen = strlen(body);
    char *wrapped = xmalloc(blen + blen / 76 * 2 + 4);
    size_t w = 0;
    for (size_t i = 0; i < blen; i += 76) {
        size_t k = blen - i < 76 ? blen - i : 76;
        memcpy(wrapped + w, body + i, k);
        w += k;
        wrapped[w++] = '\r';
        wrapped[w++] = '\n';
    }
    wrapped[w] = '\0';
    char *msg = xasprintf("From: %s\r\nTo: %s\r\nSubject: =?UTF-8?B?%s?=\r\nDate: %s\r\n"
                          "Message-ID: <%s@liangze>\r\nMIME-Version: 1.0\r\n"
                          "Content-Type: text/html; charset=UTF-8\r\n"
                          "Content-Transfer-Encoding: base64\r\n\r\n%s",
                          from, to, subj, date, hex, wrapped);
    free(subj);
    free(body);
    free(wrapped);
    return msg;
}
