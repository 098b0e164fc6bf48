/*
 * notifier_email.h - the e-mail channel's message: RFC 5322 headers, a
 * UTF-8 subject (RFC 2047 base64) and an HTML body in base64, ready for
 * libcurl's SMTP upload.  Pure.
 */
#ifndef LZ_NOTIFIER_EMAIL_H
#define LZ_NOTIFIER_EMAIL_H

#include <stdbool.h>
#include <stdint.h>

/* True when addr looks like local@domain with no spaces, angle brackets or CR/LF. */
bool notifier_email_valid(const char *addr);

/*
 * Return the whole message (caller frees): From, To, Subject, Date (from
 * now_ms, +0800), Message-ID <dedupe_key-hash@liangze>, MIME headers and
 * html (already escaped by the caller) as base64 in lines of 76.
 */
char *notifier_email_message(const char *from, const char *to, const char *subject,
                             const char *html, const char *dedupe_key, int64_t now_ms);

#endif
