/*
 * cfg.h - settings from the environment, with defaults, checked once.
 *
 * A process describes every setting it reads in a table (name, type,
 * default, range, whether it is secret), loads the table once in main, and
 * reads typed values from then on.  Nothing else reads the environment.
 * A bad value stops the process at start with a message naming the setting.
 */
#ifndef LZ_CFG_H
#define LZ_CFG_H

#include <stdbool.h>
#include <stddef.h>

typedef enum { CFG_STR, CFG_INT, CFG_BOOL } cfg_type_t;

typedef struct {
    const char *name; /* environment variable, e.g. "LZ_HTTP_PORT" */
    cfg_type_t type;
    const char *def; /* default as text; NULL means the setting is required */
    long min, max;   /* range for CFG_INT; for CFG_STR the length range (max 0: 4096) */
    bool secret;     /* masked when logged */
    const char *help;
} cfg_spec_t;

typedef struct cfg_s cfg_t;

/*
 * Load every setting of spec from env (an environ-style NULL-terminated
 * array; NULL means the process environment).  Returns the settings, or NULL
 * with a message in err when any value is missing, malformed or out of range.
 */
cfg_t *cfg_load(const cfg_spec_t *spec, size_t n, char *const *env, char *err, size_t errlen);
void cfg_destroy(cfg_t **self_p);

/* Typed values; asking for a name not in the spec is a programmer error (abort). */
const char *cfg_str(const cfg_t *self, const char *name);
long cfg_int(const cfg_t *self, const char *name);
bool cfg_bool(const cfg_t *self, const char *name);

/* Log every setting at info level, secrets masked. */
void cfg_log(const cfg_t *self);

/* The settings every service shares (database, redis, broker, logging). */
extern const cfg_spec_t cfg_common_spec[];
extern const size_t cfg_common_count;

/* Load cfg_common_spec followed by a service's own n settings; as cfg_load. */
cfg_t *cfg_load_service(const cfg_spec_t *own, size_t n, char *const *env, char *err,
                        size_t errlen);

/*
 * The whole of a service's main: load the common and own settings, start
 * logging as name at LZ_LOG_LEVEL, log the settings, and return run's exit
 * code (2 when a setting is bad, with the reason on stderr).
 */
int cfg_service_main(const char *name, const cfg_spec_t *own, size_t n,
                     int (*run)(const cfg_t *cfg));

#endif
