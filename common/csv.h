/*
 * csv.h - an RFC 4180 reader for bulk imports.
 *
 * Reads records from a UTF-8 text in memory: fields separated by commas,
 * records by CRLF or LF, fields optionally in double quotes (a quote inside
 * doubled, commas and line breaks allowed inside).  A UTF-8 byte-order mark
 * at the start is skipped; a final line break is optional.  Every record and
 * field is bounded; a record over a bound or a malformed quote is an error
 * naming the line.
 */
#ifndef LZ_CSV_H
#define LZ_CSV_H

#include <stddef.h>

typedef struct csv_s csv_t;

/* A reader over data (not copied: it must outlive the reader). */
csv_t *csv_new(const char *data, size_t len, size_t max_fields, size_t max_field_len);
void csv_destroy(csv_t **self_p);

/*
 * Read the next record.  Returns its number of fields (at least 1), 0 at the
 * end of the text, -1 on a malformed record (csv_error says why; reading
 * stops).  *fields points at NUL-terminated fields valid until the next call.
 * Empty lines are skipped.
 */
int csv_next(csv_t *self, const char *const **fields);
/* The line number (1-based) where the last record started. */
size_t csv_line(const csv_t *self);
/* What went wrong, "" when nothing did. */
const char *csv_error(const csv_t *self);

#endif
