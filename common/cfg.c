/*
 * cfg.c - settings from the environment, with defaults, checked once.
 */
#include "cfg.h"
#include "log.h"
#include "mem.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

extern char **environ;

typedef struct {
    const cfg_spec_t *spec;
    char *text;
    long num;
    bool flag;
} cfg_value_t;

struct cfg_s {
    cfg_value_t *values;
    size_t n;
    cfg_spec_t *joined; /* the spec, when cfg_load_service made it; owned */
};

const cfg_spec_t cfg_common_spec[] = {
    {"LZ_PG_URL", CFG_STR, "postgresql://lz_app@127.0.0.1:25432/liangze", 1, 0, true,
     "PostgreSQL connection string of the service role"},
    {"LZ_REDIS_HOST", CFG_STR, "127.0.0.1", 1, 255, false, "Redis host"},
    {"LZ_REDIS_PORT", CFG_INT, "26379", 1, 65535, false, "Redis port"},
    {"LZ_BROKER", CFG_STR, "tcp://127.0.0.1:25555", 1, 255, false, "broker endpoint"},
    {"LZ_LOG_LEVEL", CFG_STR, "info", 1, 8, false, "debug, info, warn, error or off"},
};
const size_t cfg_common_count = sizeof cfg_common_spec / sizeof cfg_common_spec[0];

static const char *s_getenv(char *const *env, const char *name)
{
    if (!env)
        env = environ;
    size_t len = strlen(name);
    for (; *env; env++)
        if (strncmp(*env, name, len) == 0 && (*env)[len] == '=')
            return *env + len + 1;
    return NULL;
}

static int s_parse(cfg_value_t *v, const char *text, char *err, size_t errlen)
{
    const cfg_spec_t *s = v->spec;
    switch (s->type) {
    case CFG_STR: {
        size_t len = strlen(text);
        size_t max = s->max > 0 ? (size_t)s->max : 4096;
        if (len < (size_t)s->min || len > max) {
            snprintf(err, errlen, "setting %s must be %ld to %zu characters long", s->name, s->min,
                     max);
            return -1;
        }
        break;
    }
    case CFG_INT: {
        char *end;
        errno = 0;
        long n = strtol(text, &end, 10);
        if (errno || end == text || *end || !(isdigit((unsigned char)text[0]) || text[0] == '-')) {
            snprintf(err, errlen, "setting %s is not an integer: \"%s\"", s->name, text);
            return -1;
        }
        if (n < s->min || n > s->max) {
            snprintf(err, errlen, "setting %s must be between %ld and %ld, not %ld", s->name,
                     s->min, s->max, n);
            return -1;
        }
        v->num = n;
        break;
    }
    case CFG_BOOL:
        if (!strcasecmp(text, "1") || !strcasecmp(text, "true") || !strcasecmp(text, "yes") ||
            !strcasecmp(text, "on"))
            v->flag = true;
        else if (!strcasecmp(text, "0") || !strcasecmp(text, "false") || !strcasecmp(text, "no") ||
                 !strcasecmp(text, "off"))
            v->flag = false;
        else {
            snprintf(err, errlen, "setting %s must be true or false, not \"%s\"", s->name, text);
            return -1;
        }
        break;
    }
    v->text = xstrdup(text);
    return 0;
}

cfg_t *cfg_load(const cfg_spec_t *spec, size_t n, char *const *env, char *err, size_t errlen)
{
    cfg_t *self = xcalloc(1, sizeof *self);
    self->values = xcalloc(n, sizeof *self->values);
    self->n = n;
    for (size_t i = 0; i < n; i++) {
        cfg_value_t *v = &self->values[i];
        v->spec = &spec[i];
        const char *text = s_getenv(env, spec[i].name);
        if (!text || !*text)
            text = spec[i].def;
        if (!text) {
            snprintf(err, errlen, "setting %s is required", spec[i].name);
            cfg_destroy(&self);
            return NULL;
        }
        if (s_parse(v, text, err, errlen) != 0) {
            cfg_destroy(&self);
            return NULL;
        }
    }
    return self;
}

void cfg_destroy(cfg_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    cfg_t *self = *self_p;
    for (size_t i = 0; i < self->n; i++)
        free(self->values[i].text);
    free(self->values);
    free(self->joined);
    free(self);
    *self_p = NULL;
}

static const cfg_value_t *s_find(const cfg_t *self, const char *name, cfg_type_t type)
{
    for (size_t i = 0; i < self->n; i++)
        if (strcmp(self->values[i].spec->name, name) == 0) {
            if (self->values[i].spec->type != type)
                break;
            return &self->values[i];
        }
    fprintf(stderr, "liangze: setting %s read with the wrong type or not declared\n", name);
    abort();
}

const char *cfg_str(const cfg_t *self, const char *name)
{
    return s_find(self, name, CFG_STR)->text;
}

long cfg_int(const cfg_t *self, const char *name)
{
    return s_find(self, name, CFG_INT)->num;
}

bool cfg_bool(const cfg_t *self, const char *name)
{
    return s_find(self, name, CFG_BOOL)->flag;
}

void cfg_log(const cfg_t *self)
{
    for (size_t i = 0; i < self->n; i++) {
        const cfg_value_t *v = &self->values[i];
        log_info("setting %s=%s", v->spec->name, v->spec->secret ? "****" : v->text);
    }
}

cfg_t *cfg_load_service(const cfg_spec_t *own, size_t n, char *const *env, char *err, size_t errlen)
{
    size_t total = cfg_common_count + n;
    cfg_spec_t *spec = xcalloc(total, sizeof *spec);
    memcpy(spec, cfg_common_spec, cfg_common_count * sizeof *spec);
    if (n)
        memcpy(spec + cfg_common_count, own, n * sizeof *spec);
    cfg_t *self = cfg_load(spec, total, env, err, errlen);
    if (!self) {
        free(spec);
        return NULL;
    }
    self->joined = spec;
    return self;
}

int cfg_service_main(const char *name, const cfg_spec_t *own, size_t n,
                     int (*run)(const cfg_t *cfg))
{
    char err[256];
    cfg_t *cfg = cfg_load_service(own, n, NULL, err, sizeof err);
    log_level_t level = LZ_LOG_INFO;
    if (!cfg || log_level_parse(cfg_str(cfg, "LZ_LOG_LEVEL"), &level) != 0) {
        fprintf(stderr, "lz-%s: %s\n", name,
                cfg ? "setting LZ_LOG_LEVEL must be debug, info, warn, error or off" : err);
        cfg_destroy(&cfg);
        return 2;
    }
    log_init(name, level);
    cfg_log(cfg);
    int rc = run(cfg);
    cfg_destroy(&cfg);
    return rc;
}
