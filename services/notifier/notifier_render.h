/*
 * notifier_render.h - message templates: {{param}} placeholders filled from
 * a request's params, with what is inserted escaped for where it goes.
 *
 * A placeholder is "{{" name "}}" with name of [a-z0-9_], at most
 * RENDER_NAME_MAX bytes; anything else is copied as it is.  A placeholder
 * without a value renders as nothing.  Pure functions.
 */
#ifndef LZ_NOTIFIER_RENDER_H
#define LZ_NOTIFIER_RENDER_H

#include <stddef.h>

#define RENDER_NAME_MAX   63
#define RENDER_VALUE_MAX  4000 /* bytes of one inserted value kept (cut on a UTF-8 boundary) */
#define RENDER_PARAMS_MAX 32   /* placeholders listed by notifier_template_params */

typedef enum {
    RENDER_PLAIN, /* values inserted as they are (JSON encodes them later) */
    RENDER_HTML,  /* & < > " ' become entities (e-mail and printable bodies) */
    RENDER_SMS    /* control characters removed (SMS text and template parameters) */
} render_mode_t;

typedef struct {
    const char *key;
    const char *value;
} render_kv_t;

/* Return value escaped for mode (cut to RENDER_VALUE_MAX bytes first); caller frees. */
char *notifier_escape(const char *value, render_mode_t mode);

/* Return tmpl with every placeholder replaced by its escaped value from kv
 * (the first pair with that key); caller frees. */
char *notifier_render(const char *tmpl, const render_kv_t *kv, size_t n, render_mode_t mode);

/* Store the names of tmpl's placeholders, each once, in order of first
 * appearance, in names (up to max); returns how many were stored. */
size_t notifier_template_params(const char *tmpl, char names[][RENDER_NAME_MAX + 1], size_t max);

/* Return text as HTML: escaped, newlines as <br>, in a minimal UTF-8 page with title
 * (escaped too); caller frees. */
char *notifier_html_page(const char *title, const char *html_body);

#endif
