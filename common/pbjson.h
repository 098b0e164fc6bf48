/*
 * pbjson.h - JSON (jansson) <-> protobuf-c messages, driven by the message descriptor.
 *
 * The gateway turns request JSON into a service's request message and the
 * reply message back into JSON without knowing either type: every field is
 * found by its name in the descriptor.  The mapping:
 *
 *   proto                         JSON
 *   string                        string (UTF-8)
 *   bool                          true / false
 *   int32 sint32 sfixed32 uint32  integer (range-checked)
 *   int64 sint64 sfixed64 fixed32 integer
 *   uint64 fixed64                integer; on output a value above 2^63-1 is a digit string
 *   double float                  number (integer or real); on output NaN/inf become null
 *   enum                          string: the value's name exactly as written in the .proto
 *                                 (JSON-facing enums are written in lower case there); on
 *                                 output a value with no name becomes its integer
 *   bytes                         string, standard base64 with padding
 *   message                       object
 *   repeated X                    array of X
 *
 * Field names are the .proto names (snake_case), not protoc's json_name.
 * Absent optional fields are omitted on output and JSON null means absent on
 * input.  A oneof member is written only when it is the set case; giving
 * two members of one oneof is an error.
 *
 * Ownership: a message made by pbjson_to_message is laid out exactly as
 * protobuf_c_message_unpack would lay it out with the default allocator
 * (every string, array, bytes and sub-message is its own malloc block), so
 * either pbjson_free or protobuf_c_message_free_unpacked(m, NULL) frees it.
 */
#ifndef LZ_PBJSON_H
#define LZ_PBJSON_H

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

/* err_msg given by pbjson_to_message when a proto2 required field is absent
 * (compare with strcmp to answer missing_field rather than invalid_field). */
#define PBJSON_REQUIRED "is required"

/* Longest path written to err_field ("items[3].note"); longer paths are cut. */
#define PBJSON_FIELD_MAX 128

/*
 * Return the JSON object for m (a new reference: the caller json_decref()s
 * it).  Never NULL for a valid message.
 */
/* The message's own repeated fields are always present (an empty one as []:
 * a reply's lists); nested messages leave empty ones out.  Absent optional
 * fields are left out, except a field named next_cursor, which is null. */
json_t *pbjson_from_message(const ProtobufCMessage *m);

/*
 * Build a message of type d from the JSON object obj (not changed, not
 * stolen).  Returns the message (caller frees with pbjson_free), or NULL
 * with the path of the field at fault in err_field ("" when obj itself is at
 * fault) and a lower-case reason in err_msg: "is not a known field", "must be an
 * integer", "must be one of: red, green", PBJSON_REQUIRED, ...
 */
ProtobufCMessage *pbjson_to_message(const ProtobufCMessageDescriptor *d, json_t *obj,
                                    char *err_field, size_t len, char *err_msg, size_t mlen);

/* Free *m_p (a message from pbjson_to_message or protobuf_c_message_unpack;
 * NULL is fine) and set it to NULL. */
void pbjson_free(ProtobufCMessage **m_p);

/*
 * Convert text (a path segment or query-string value) to the JSON value of
 * field name of d and put it into obj: ints, bools ("true", "false", "1",
 * "0"), floats and enums (kept as the name, checked by pbjson_to_message)
 * are parsed; a repeated field gains one more element (so "?tag=a&tag=b"
 * makes an array); a singular field is replaced.  Returns 0, or -1 with a
 * lower-case reason in err_msg (unknown field, bad text, a message field).
 */
int pbjson_put_text(json_t *obj, const ProtobufCMessageDescriptor *d, const char *name,
                    const char *text, char *err_msg, size_t mlen);

#endif
