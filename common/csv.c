/*
 * csv.c - an RFC 4180 reader for bulk imports.
 */
#include "csv.h"
#include "mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct csv_s {
    const char *data;
    size_t len, pos;
    size_t line;        /* current line */
    size_t record_line; /* line where the last record started */
    size_t max_fields, max_field_len;
    char *text; /* fields of the current record, NUL-separated */
    size_t text_len;
    size_t *offsets; /* field starts in text */
    const char **fields;
    char error[160];
    int failed;
};

csv_t *csv_new(const char *data, size_t len, size_t max_fields, size_t max_field_len)
{
    csv_t *self = xcalloc(1, sizeof *self);
    self->data = data;
    self->len = len;
    self->line = 1;
    self->max_fields = max_fields;
    self->max_field_len = max_field_len;
    self->text = xmalloc(max_fields * (max_field_len + 1));
    self->offsets = xcalloc(max_fields, sizeof *self->offsets);
    self->fields = xcalloc(max_fields, sizeof *self->fields);
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
        self->pos = 3;
    return self;
}

void csv_destroy(csv_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    csv_t *self = *self_p;
    free(self->text);
    free(self->offsets);
    free(self->fields);
    free(self);
    *self_p = NULL;
}

static int s_fail(csv_t *self, const char *why)
{
    snprintf(self->error, sizeof self->error, "line %zu: %s", self->record_line, why);
    self->failed = 1;
    return -1;
}

int csv_next(csv_t *self, const char *const **fields)
{
    if (self->failed)
        return -1;
    /* skip empty lines */
    while (self->pos < self->len &&
           (self->data[self->pos] == '\n' || self->data[self->pos] == '\r')) {
        if (self->data[self->pos] == '\n')
            self->line++;
        self->pos++;
    }
    if (self->pos >= self->len)
        return 0;
    self->record_line = self->line;
    size_t nfields = 0;
    self->text_len = 0;
    for (;;) {
        if (nfields == self->max_fields)
            return s_fail(self, "too many fields");
        self->offsets[nfields] = self->text_len;
        size_t flen = 0;
        const char *d = self->data;
        if (self->pos < self->len && d[self->pos] == '"') {
            self->pos++;
            for (;;) {
                if (self->pos >= self->len)
                    return s_fail(self, "unterminated quoted field");
                char c = d[self->pos++];
                if (c == '"') {
                    if (self->pos < self->len && d[self->pos] == '"')
                        self->pos++;
                    else
                        break;
                } else if (c == '\n')
                    self->line++;
                if (flen == self->max_field_len)
                    return s_fail(self, "field too long");
                self->text[self->text_len++] = c;
                flen++;
            }
            if (self->pos < self->len && d[self->pos] != ',' && d[self->pos] != '\n' &&
                d[self->pos] != '\r')
                return s_fail(self, "characters after a closing quote");
        } else {
            while (self->pos < self->len && d[self->pos] != ',' && d[self->pos] != '\n' &&
                   d[self->pos] != '\r') {
                if (d[self->pos] == '"')
                    return s_fail(self, "quote inside an unquoted field");
                if (flen == self->max_field_len)
                    return s_fail(self, "field too long");
                self->text[self->text_len++] = d[self->pos++];
                flen++;
            }
        }
        self->text[self->text_len++] = '\0';
        nfields++;
        if (self->pos < self->len && d[self->pos] == ',') {
            self->pos++;
            continue;
        }
        /* end of record: CRLF, LF, lone CR or end of text */
        if (self->pos < self->len && d[self->pos] == '\r')
            self->pos++;
        if (self->pos < self->len && d[self->pos] == '\n') {
            self->pos++;
            self->line++;
        }
        break;
    }
    for (size_t i = 0; i < nfields; i++)
        self->fields[i] = self->text + self->offsets[i];
    *fields = self->fields;
    return (int)nfields;
}

size_t csv_line(const csv_t *self)
{
    return self->record_line;
}

const char *csv_error(const csv_t *self)
{
    return self->error;
}
