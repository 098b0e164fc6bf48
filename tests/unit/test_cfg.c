/*
 * test_cfg.c - settings: defaults, overrides, ranges, required values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cfg.h"

#include <string.h>

static const cfg_spec_t spec[] = {
    {"T_PORT", CFG_INT, "8080", 1, 65535, false, "port"},
    {"T_NAME", CFG_STR, "liangze", 1, 10, false, "name"},
    {"T_ON", CFG_BOOL, "false", 0, 0, false, "flag"},
    {"T_SECRET", CFG_STR, "s3cret", 1, 0, true, "secret"},
};
#define NSPEC (sizeof spec / sizeof spec[0])

static void test_defaults(void **state)
{
    (void)state;
    char *env[] = {NULL};
    char err[128];
    cfg_t *c = cfg_load(spec, NSPEC, env, err, sizeof err);
    assert_non_null(c);
    assert_int_equal(cfg_int(c, "T_PORT"), 8080);
    assert_string_equal(cfg_str(c, "T_NAME"), "liangze");
    assert_false(cfg_bool(c, "T_ON"));
    cfg_destroy(&c);
    assert_null(c);
}

static void test_overrides(void **state)
{
    (void)state;
    char *env[] = {"T_PORT=18080", "T_NAME=two", "T_ON=yes", "T_PORTX=1", NULL};
    char err[128];
    cfg_t *c = cfg_load(spec, NSPEC, env, err, sizeof err);
    assert_non_null(c);
    assert_int_equal(cfg_int(c, "T_PORT"), 18080);
    assert_string_equal(cfg_str(c, "T_NAME"), "two");
    assert_true(cfg_bool(c, "T_ON"));
    cfg_destroy(&c);
}

static void test_rejects(void **state)
{
    (void)state;
    struct {
        const char *var;
        const char *needle;
    } cases[] = {
        {"T_PORT=0", "between 1 and 65535"},        {"T_PORT=70000", "between 1 and 65535"},
        {"T_PORT=80x", "not an integer"},           {"T_PORT= 80", "not an integer"},
        {"T_NAME=elevenchars", "1 to 10"},          {"T_ON=maybe", "true or false"},
        {"T_PORT=99999999999999999999", "integer"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *env[] = {(char *)cases[i].var, NULL};
        char err[128] = "";
        cfg_t *c = cfg_load(spec, NSPEC, env, err, sizeof err);
        assert_null(c);
        assert_non_null(strstr(err, cases[i].needle));
    }
}

static void test_required(void **state)
{
    (void)state;
    const cfg_spec_t req[] = {{"T_MUST", CFG_STR, NULL, 1, 0, false, "required"}};
    char *env[] = {NULL};
    char err[128];
    assert_null(cfg_load(req, 1, env, err, sizeof err));
    assert_non_null(strstr(err, "T_MUST is required"));
    char *env2[] = {"T_MUST=x", NULL};
    cfg_t *c = cfg_load(req, 1, env2, err, sizeof err);
    assert_non_null(c);
    cfg_destroy(&c);
}

static void test_service_joins_common(void **state)
{
    (void)state;
    const cfg_spec_t own[] = {{"T_OWN", CFG_INT, "7", 1, 9, false, "own"}};
    char *env[] = {"LZ_REDIS_PORT=6390", NULL};
    char err[128];
    cfg_t *c = cfg_load_service(own, 1, env, err, sizeof err);
    assert_non_null(c);
    assert_int_equal(cfg_int(c, "T_OWN"), 7);
    assert_int_equal(cfg_int(c, "LZ_REDIS_PORT"), 6390);
    assert_string_equal(cfg_str(c, "LZ_LOG_LEVEL"), "info");
    cfg_destroy(&c);
    char *bad[] = {"T_OWN=10", NULL};
    assert_null(cfg_load_service(own, 1, bad, err, sizeof err));
    assert_non_null(strstr(err, "T_OWN"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_required),
        cmocka_unit_test(test_service_joins_common),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
