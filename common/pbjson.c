/*
 * pbjson.c - JSON (jansson) <-> protobuf-c messages, driven by the message descriptor.
 *
 * Messages are built in place with malloc'd members (see pbjson.h for why
 * that makes protobuf_c_message_free_unpacked able to free them).  While a
 * message is being built every count and pointer in it is always consistent,
 * so a failure half-way frees what was built so far and nothing leaks.
 */
#include "pbjson.h"
#include "mem.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Deepest nesting of messages accepted on input (JSON depth is bounded by size). */
#define PBJSON_DEPTH_MAX 32

typedef struct {
    char *field;
    size_t flen;
    char *msg;
    size_t mlen;
} s_err_t;

/* ---- layout helpers ---------------------------------------------------- */

static void *s_member(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
    return (char *)m + f->offset;
}

static void *s_quantifier(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
    return (char *)m + f->quantifier_offset;
}

static size_t s_type_size(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        return sizeof(int32_t);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return sizeof(uint32_t);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        return sizeof(int64_t);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return sizeof(uint64_t);
    case PROTOBUF_C_TYPE_FLOAT:
        return sizeof(float);
    case PROTOBUF_C_TYPE_DOUBLE:
        return sizeof(double);
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_ENUM:
        return sizeof(int);
    case PROTOBUF_C_TYPE_STRING:
        return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(ProtobufCMessage *);
    }
    return 0;
}

/* Whether a singular field holds a value worth writing out. */
static bool s_present(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
    const void *member = s_member(m, f);
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        return *(const uint32_t *)s_quantifier(m, f) == f->id;
    if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE) {
        const void *p = *(const void *const *)member;
        if (!p || (f->label == PROTOBUF_C_LABEL_OPTIONAL && p == f->default_value))
            return false;
        if (f->label == PROTOBUF_C_LABEL_NONE && f->type == PROTOBUF_C_TYPE_STRING)
            return *(const char *)p != '\0';
        return true;
    }
    if (f->label == PROTOBUF_C_LABEL_OPTIONAL)
        return *(const protobuf_c_boolean *)s_quantifier(m, f) != 0;
    if (f->label == PROTOBUF_C_LABEL_NONE) { /* proto3 without presence: skip zero values */
        if (f->type == PROTOBUF_C_TYPE_BYTES)
            return ((const ProtobufCBinaryData *)member)->len > 0;
        static const char zero[16];
        return memcmp(member, zero, s_type_size(f->type)) != 0;
    }
    return true; /* required */
}

/* ---- message -> JSON ---------------------------------------------------- */

static json_t *s_object(const ProtobufCMessage *m, bool top);

static json_t *s_value_to_json(const ProtobufCFieldDescriptor *f, const void *v)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        return json_integer(*(const int32_t *)v);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return json_integer(*(const uint32_t *)v);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        return json_integer(*(const int64_t *)v);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: {
        uint64_t u = *(const uint64_t *)v;
        if (u <= (uint64_t)LLONG_MAX)
            return json_integer((json_int_t)u);
        char text[24];
        snprintf(text, sizeof text, "%" PRIu64, u);
        return json_string(text);
    }
    case PROTOBUF_C_TYPE_FLOAT: {
        float x = *(const float *)v;
        return isfinite(x) ? json_real(x) : json_null();
    }
    case PROTOBUF_C_TYPE_DOUBLE: {
        double x = *(const double *)v;
        return isfinite(x) ? json_real(x) : json_null();
    }
    case PROTOBUF_C_TYPE_BOOL:
        return json_boolean(*(const protobuf_c_boolean *)v);
    case PROTOBUF_C_TYPE_ENUM: {
        int n = *(const int *)v;
        const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(f->descriptor, n);
        return ev ? json_string(ev->name) : json_integer(n);
    }
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(const char *const *)v;
        json_t *j = json_string(s ? s : "");
        return j ? j : json_string(""); /* not UTF-8: the reply is broken, do not crash */
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *b = v;
        size_t n = sodium_base64_encoded_len(b->len, sodium_base64_VARIANT_ORIGINAL);
        char *text = xmalloc(n);
        sodium_bin2base64(text, n, b->data, b->len, sodium_base64_VARIANT_ORIGINAL);
        json_t *j = json_string(text);
        free(text);
        return j;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)v;
        return sub ? s_object(sub, false) : json_object();
    }
    }
    return json_null();
}

static json_t *s_object(const ProtobufCMessage *m, bool top)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    json_t *obj = json_object();
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)s_quantifier(m, f);
            if (n == 0 && !top)
                continue;
            const char *arr = *(const char *const *)s_member(m, f);
            size_t sz = s_type_size(f->type);
            json_t *ja = json_array();
            for (size_t k = 0; k < n; k++)
                json_array_append_new(ja, s_value_to_json(f, arr + k * sz));
            json_object_set_new(obj, f->name, ja);
        } else if (s_present(m, f)) {
            json_object_set_new(obj, f->name, s_value_to_json(f, s_member(m, f)));
        } else if (strcmp(f->name, "next_cursor") == 0) {
            /* API.md: a list's cursor is null on its last page */
            json_object_set_new(obj, f->name, json_null());
        }
    }
    return obj;
}

json_t *pbjson_from_message(const ProtobufCMessage *m)
{
    return s_object(m, true);
}

/* ---- JSON -> message ---------------------------------------------------- */

static int s_fail(s_err_t *e, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int s_fail(s_err_t *e, const char *path, const char *fmt, ...)
{
    if (e->field && e->flen)
        snprintf(e->field, e->flen, "%s", path);
    if (e->msg && e->mlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, e->mlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static const char *s_type_word(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_BYTES:
    case PROTOBUF_C_TYPE_ENUM:
        return "a string";
    case PROTOBUF_C_TYPE_BOOL:
        return "true or false";
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE:
        return "a number";
    case PROTOBUF_C_TYPE_MESSAGE:
        return "an object";
    default:
        return "an integer";
    }
}

/* List an enum's names into out, "a, b, c" (cut when long). */
static void s_enum_names(const ProtobufCEnumDescriptor *ed, char *out, size_t len)
{
    size_t used = 0;
    out[0] = '\0';
    for (unsigned i = 0; i < ed->n_value_names && used < len; i++) {
        int n = snprintf(out + used, len - used, "%s%s", i ? ", " : "", ed->values_by_name[i].name);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

static int s_int_in(json_t *v, json_int_t lo, json_int_t hi, json_int_t *out)
{
    if (!json_is_integer(v))
        return -1;
    json_int_t n = json_integer_value(v);
    if (n < lo || n > hi)
        return -1;
    *out = n;
    return 0;
}

static ProtobufCMessage *s_build(const ProtobufCMessageDescriptor *d, json_t *obj, const char *path,
                                 int depth, s_err_t *e);

/* Convert v into the storage at dst for one value of field f (no presence flags here). */
static int s_value_from_json(const ProtobufCFieldDescriptor *f, json_t *v, void *dst,
                             const char *path, int depth, s_err_t *e)
{
    json_int_t n;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        if (s_int_in(v, INT32_MIN, INT32_MAX, &n))
            return s_fail(e, path, "must be an integer from %d to %d", INT32_MIN, INT32_MAX);
        *(int32_t *)dst = (int32_t)n;
        return 0;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        if (s_int_in(v, 0, UINT32_MAX, &n))
            return s_fail(e, path, "must be an integer from 0 to %u", UINT32_MAX);
        *(uint32_t *)dst = (uint32_t)n;
        return 0;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        if (s_int_in(v, LLONG_MIN, LLONG_MAX, &n))
            return s_fail(e, path, "must be an integer");
        *(int64_t *)dst = (int64_t)n;
        return 0;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        if (s_int_in(v, 0, LLONG_MAX, &n))
            return s_fail(e, path, "must be a non-negative integer");
        *(uint64_t *)dst = (uint64_t)n;
        return 0;
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE: {
        if (!json_is_number(v))
            return s_fail(e, path, "must be a number");
        double x = json_number_value(v);
        if (f->type == PROTOBUF_C_TYPE_FLOAT) {
            if (!isfinite((float)x))
                return s_fail(e, path, "must be a number a float can hold");
            *(float *)dst = (float)x;
        } else {
            *(double *)dst = x;
        }
        return 0;
    }
    case PROTOBUF_C_TYPE_BOOL:
        if (!json_is_boolean(v))
            return s_fail(e, path, "must be true or false");
        *(protobuf_c_boolean *)dst = json_is_true(v);
        return 0;
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumDescriptor *ed = f->descriptor;
        const ProtobufCEnumValue *ev =
            json_is_string(v)
                ? protobuf_c_enum_descriptor_get_value_by_name(ed, json_string_value(v))
                : NULL;
        if (!ev) {
            char names[200];
            s_enum_names(ed, names, sizeof names);
            return s_fail(e, path, "must be one of: %s", names);
        }
        *(int *)dst = ev->value;
        return 0;
    }
    case PROTOBUF_C_TYPE_STRING:
        if (!json_is_string(v))
            return s_fail(e, path, "must be a string");
        /* jansson strings are UTF-8 without NUL unless JSON_ALLOW_NUL was used */
        if (strlen(json_string_value(v)) != json_string_length(v))
            return s_fail(e, path, "must not contain NUL characters");
        *(char **)dst = xstrdup(json_string_value(v));
        return 0;
    case PROTOBUF_C_TYPE_BYTES: {
        if (!json_is_string(v))
            return s_fail(e, path, "must be a base64 string");
        const char *text = json_string_value(v);
        size_t tlen = json_string_length(v);
        ProtobufCBinaryData *b = dst;
        uint8_t *bin = xmalloc(tlen / 4 * 3 + 3);
        size_t blen = 0;
        const char *end = NULL;
        if (sodium_base642bin(bin, tlen / 4 * 3 + 3, text, tlen, NULL, &blen, &end,
                              sodium_base64_VARIANT_ORIGINAL) != 0 ||
            end != text + tlen) {
            free(bin);
            return s_fail(e, path, "must be standard base64");
        }
        if (blen == 0) {
            free(bin);
            bin = NULL;
        }
        b->data = bin;
        b->len = blen;
        return 0;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        if (!json_is_object(v))
            return s_fail(e, path, "must be an object");
        ProtobufCMessage *sub = s_build(f->descriptor, v, path, depth + 1, e);
        if (!sub)
            return -1;
        *(ProtobufCMessage **)dst = sub;
        return 0;
    }
    }
    return s_fail(e, path, "has a type pbjson does not know");
}

static void s_path(char *out, size_t len, const char *parent, const char *name)
{
    int n = parent[0] ? snprintf(out, len, "%s.%s", parent, name) : snprintf(out, len, "%s", name);
    if (n < 0 && len)
        out[0] = '\0';
}

static int s_set_field(ProtobufCMessage *m, const ProtobufCFieldDescriptor *f, json_t *v,
                       const char *path, int depth, s_err_t *e)
{
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        if (!json_is_array(v))
            return s_fail(e, path, "must be an array");
        size_t n = json_array_size(v);
        if (n == 0)
            return 0;
        size_t sz = s_type_size(f->type);
        size_t *count = s_quantifier(m, f);
        char *arr = xcalloc(n, sz);
        *(void **)s_member(m, f) = arr;
        *count = 0; /* grows as elements are filled, so a failure frees only what exists */
        for (size_t k = 0; k < n; k++) {
            char epath[PBJSON_FIELD_MAX];
            if (snprintf(epath, sizeof epath, "%s[%zu]", path, k) >= (int)sizeof epath)
                epath[sizeof epath - 1] = '\0'; /* a cut path still names the field */
            if (s_value_from_json(f, json_array_get(v, k), arr + k * sz, epath, depth, e))
                return -1;
            (*count)++;
        }
        return 0;
    }
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        uint32_t *which = s_quantifier(m, f);
        if (*which != 0 && *which != f->id)
            return s_fail(e, path, "cannot be given together with another field of its oneof");
    }
    if (s_value_from_json(f, v, s_member(m, f), path, depth, e))
        return -1;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        *(uint32_t *)s_quantifier(m, f) = f->id;
    else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING &&
             f->type != PROTOBUF_C_TYPE_MESSAGE)
        *(protobuf_c_boolean *)s_quantifier(m, f) = 1;
    return 0;
}

static ProtobufCMessage *s_build(const ProtobufCMessageDescriptor *d, json_t *obj, const char *path,
                                 int depth, s_err_t *e)
{
    if (depth > PBJSON_DEPTH_MAX) {
        s_fail(e, path, "nests too deep");
        return NULL;
    }
    ProtobufCMessage *m = xmalloc(d->sizeof_message);
    protobuf_c_message_init(d, m);
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        char fpath[PBJSON_FIELD_MAX];
        s_path(fpath, sizeof fpath, path, key);
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(d, key);
        if (!f) {
            s_fail(e, fpath, "is not a known field");
            goto fail;
        }
        if (json_is_null(v))
            continue;
        if (s_set_field(m, f, v, fpath, depth, e))
            goto fail;
    }
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->label != PROTOBUF_C_LABEL_REQUIRED)
            continue;
        bool set =
            (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE)
                ? *(void **)s_member(m, f) != NULL
                : json_object_get(obj, f->name) && !json_is_null(json_object_get(obj, f->name));
        if (!set) {
            char fpath[PBJSON_FIELD_MAX];
            s_path(fpath, sizeof fpath, path, f->name);
            s_fail(e, fpath, PBJSON_REQUIRED);
            goto fail;
        }
    }
    return m;
fail:
    protobuf_c_message_free_unpacked(m, NULL);
    return NULL;
}

ProtobufCMessage *pbjson_to_message(const ProtobufCMessageDescriptor *d, json_t *obj,
                                    char *err_field, size_t len, char *err_msg, size_t mlen)
{
    s_err_t e = {err_field, len, err_msg, mlen};
    if (err_field && len)
        err_field[0] = '\0';
    if (err_msg && mlen)
        err_msg[0] = '\0';
    if (!json_is_object(obj)) {
        s_fail(&e, "", "must be a JSON object");
        return NULL;
    }
    return s_build(d, obj, "", 0, &e);
}

void pbjson_free(ProtobufCMessage **m_p)
{
    if (!m_p || !*m_p)
        return;
    protobuf_c_message_free_unpacked(*m_p, NULL);
    *m_p = NULL;
}

/* ---- text -> JSON ------------------------------------------------------- */

static int s_text_int(const char *text, long long lo, long long hi, long long *out)
{
    if (!*text || (text[0] != '-' && (text[0] < '0' || text[0] > '9')))
        return -1;
    char *end;
    errno = 0;
    long long n = strtoll(text, &end, 10);
    if (errno || *end || n < lo || n > hi)
        return -1;
    *out = n;
    return 0;
}

int pbjson_put_text(json_t *obj, const ProtobufCMessageDescriptor *d, const char *name,
                    const char *text, char *err_msg, size_t mlen)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(d, name);
    if (!f) {
        snprintf(err_msg, mlen, "is not a known field");
        return -1;
    }
    json_t *v = NULL;
    long long n;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        if (!s_text_int(text, INT32_MIN, INT32_MAX, &n))
            v = json_integer(n);
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        if (!s_text_int(text, 0, UINT32_MAX, &n))
            v = json_integer(n);
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        if (!s_text_int(text, LLONG_MIN, LLONG_MAX, &n))
            v = json_integer(n);
        break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        if (!s_text_int(text, 0, LLONG_MAX, &n))
            v = json_integer(n);
        break;
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE: {
        char *end;
        errno = 0;
        double x = *text ? strtod(text, &end) : NAN;
        if (*text && !errno && !*end && isfinite(x))
            v = json_real(x);
        break;
    }
    case PROTOBUF_C_TYPE_BOOL:
        if (!strcmp(text, "true") || !strcmp(text, "1"))
            v = json_true();
        else if (!strcmp(text, "false") || !strcmp(text, "0"))
            v = json_false();
        break;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_BYTES:
    case PROTOBUF_C_TYPE_ENUM:
        v = json_string(text); /* NULL when not UTF-8 */
        break;
    case PROTOBUF_C_TYPE_MESSAGE:
        snprintf(err_msg, mlen, "cannot be given as text");
        return -1;
    }
    if (!v) {
        if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_BYTES ||
            f->type == PROTOBUF_C_TYPE_ENUM)
            snprintf(err_msg, mlen, "must be UTF-8 text");
        else
            snprintf(err_msg, mlen, "must be %s", s_type_word(f->type));
        return -1;
    }
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        json_t *arr = json_object_get(obj, name);
        if (!json_is_array(arr)) {
            arr = json_array();
            json_object_set_new(obj, name, arr);
        }
        json_array_append_new(arr, v);
    } else {
        json_object_set_new(obj, name, v);
    }
    return 0;
}
