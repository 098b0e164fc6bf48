/*
 * test_intake_import.c - unit tests for services/intake/intake_import: the
 * header check, every row rule of each import kind, the checks that need
 * looked-up values (fed by hand here, no database), the 100-row cap and the
 * COPY text a good file turns into.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "intake/intake_import.h"

#define BIZ_HEADER                                                                                 \
    "license_no,credit_code,name,type,risk_grade,region_code,address,head_name,head_phone,"        \
    "officer_name,officer_phone\n"
#define BIZ_ROW(lic, code, type, grade, region, phone)                                             \
    lic "," code ",铜官区幸福路张记面馆," type "," grade "," region ",幸福路12号,张三," phone      \
        ",李四,13912345678\n"
#define GOOD_CODE "91340700MA2N0X6K7H"

/* Parse text as kind (scope may be NULL); the caller destroys the import. */
static import_t *s_parse(import_kind_t kind, const char *text, const char *scope)
{
    return import_parse(kind, text, strlen(text), scope);
}

/* Mark every region key as existing with the level its code implies (or level when given). */
static void s_regions_known(import_t *imp, const char *level)
{
    for (size_t i = 0; i < import_lookup_count(imp, IMPORT_LOOKUP_REGIONS); i++) {
        const char *code = import_lookup_key(imp, IMPORT_LOOKUP_REGIONS, i);
        const char *l = level                             ? level
                        : strcmp(code + 9, "000") != 0    ? "community"
                        : strcmp(code + 6, "000000") != 0 ? "township"
                                                          : "district";
        import_lookup_set(imp, IMPORT_LOOKUP_REGIONS, i, l);
    }
}

/* Assert exactly one error, on line with field, whose message contains part. */
static void s_one_error(import_t *imp, int line, const char *field, const char *part)
{
    size_t n;
    const import_error_t *e = import_errors(imp, &n);
    if (n != 1)
        fail_msg("expected 1 error, got %zu (first: %s)", n, n ? e[0].message : "-");
    assert_int_equal(e[0].line, line);
    assert_string_equal(e[0].field, field);
    if (part && !strstr(e[0].message, part))
        fail_msg("message \"%s\" lacks \"%s\"", e[0].message, part);
}

static void s_no_errors(import_t *imp)
{
    size_t n;
    const import_error_t *e = import_errors(imp, &n);
    if (n)
        fail_msg("unexpected error line %d %s: %s", e[0].line, e[0].field, e[0].message);
}

static void test_kind_names(void **state)
{
    (void)state;
    import_kind_t k;
    assert_int_equal(import_kind_parse("businesses", &k), 0);
    assert_int_equal(k, IMPORT_BUSINESSES);
    assert_int_equal(import_kind_parse("people", &k), -1);
    assert_string_equal(import_kind_name(IMPORT_INSPECTORS), "inspectors");
    assert_string_equal(import_header(IMPORT_ASSIGNMENTS), "cadre_phone,license_no");
}

static void test_header(void **state)
{
    (void)state;
    import_t *imp = s_parse(IMPORT_REGIONS, "code,name,level\n", NULL);
    s_one_error(imp, 1, "", "code,name,level,parent_code");
    import_destroy(&imp);
    imp = s_parse(IMPORT_REGIONS, "code,name,parent_code,level\n", NULL);
    s_one_error(imp, 1, "", "header");
    import_destroy(&imp);
    imp = s_parse(IMPORT_REGIONS, "", NULL);
    s_one_error(imp, 1, "", "header row is missing");
    import_destroy(&imp);
    imp = s_parse(IMPORT_REGIONS,
                  "\xEF\xBB\xBF"
                  "code,name,level,parent_code\r\n",
                  NULL);
    s_no_errors(imp);
    assert_int_equal(import_rows(imp), 0);
    import_destroy(&imp);
    assert_null(imp);
}

static void test_business_good(void **state)
{
    (void)state;
    import_t *imp =
        s_parse(IMPORT_BUSINESSES,
                BIZ_HEADER BIZ_ROW("JY1", GOOD_CODE, "catering", "A", "340705001001", "13812345678")
                    BIZ_ROW("JY2", GOOD_CODE, "small_workshop", "D", "340705001001", "13812345678"),
                NULL);
    s_no_errors(imp);
    assert_int_equal(import_rows(imp), 2);
    assert_int_equal(import_lookup_count(imp, IMPORT_LOOKUP_REGIONS), 1);
    assert_int_equal(import_lookup_count(imp, IMPORT_LOOKUP_EXISTING), 0); /* admin */
    s_regions_known(imp, NULL);
    import_check(imp);
    s_no_errors(imp);
    size_t len;
    const char *copy = import_copy_data(imp, &len);
    assert_true(!strncmp(copy, "2\tJY1\t" GOOD_CODE "\t", 6 + 19));
    assert_non_null(strstr(copy, "\n3\tJY2\t"));
    import_destroy(&imp);
}

/* One bad field per case: the row is refused naming that field. */
static void test_business_fields(void **state)
{
    (void)state;
    static const struct {
        const char *row, *field, *part;
    } cases[] = {
        {BIZ_ROW("JY1", "91340700MA2N0X6K7A", "catering", "A", "340705001001", "13812345678"),
         "credit_code", "check character"},
        {BIZ_ROW("JY1", "91340700MA2N0X6K7", "catering", "A", "340705001001", "13812345678"),
         "credit_code", "18-character"},
        {BIZ_ROW("JY1", GOOD_CODE, "restaurant", "A", "340705001001", "13812345678"), "type",
         "catering"},
        {BIZ_ROW("JY1", GOOD_CODE, "catering", "E", "340705001001", "13812345678"), "risk_grade",
         "A, B, C or D"},
        {BIZ_ROW("JY1", GOOD_CODE, "catering", "A", "34070500100", "13812345678"), "region_code",
         "12-digit"},
        {BIZ_ROW("JY1", GOOD_CODE, "catering", "A", "340705001001", "12812345678"), "head_phone",
         "mobile"},
        {BIZ_ROW("JY1", GOOD_CODE, "catering", "A", "340705001001", "1381234567"), "head_phone",
         "mobile"},
        {BIZ_ROW("", GOOD_CODE, "catering", "A", "340705001001", "13812345678"), "license_no",
         "1 to 64"},
        {"JY1," GOOD_CODE ",,catering,A,340705001001,路,张三,13812345678,李四,13912345678\n",
         "name", "1 to 200"},
        {"JY1," GOOD_CODE ",店,catering,A,340705001001,路,,13812345678,李四,13912345678\n",
         "head_name", "1 to 100"},
        {"JY1," GOOD_CODE ",店,catering,A,340705001001,路,张三,13812345678,李四,139\n",
         "officer_phone", "mobile"},
        {"JY1," GOOD_CODE ",\"店\tx\",catering,A,340705001001,路,张三,13812345678,李四,"
         "13912345678\n",
         "name", "control"},
        {"JY1," GOOD_CODE ",\xff\xfe,catering,A,340705001001,路,张三,13812345678,李四,"
         "13912345678\n",
         "name", "UTF-8"},
        {"JY1," GOOD_CODE ",店,catering,A\n", "", "fields"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[2048];
        snprintf(text, sizeof text, BIZ_HEADER "%s", cases[i].row);
        import_t *imp = s_parse(IMPORT_BUSINESSES, text, NULL);
        s_one_error(imp, 2, cases[i].field, cases[i].part);
        assert_int_equal(import_rows(imp), 0);
        import_destroy(&imp);
    }
    /* a name of 201 characters (Chinese: 3 bytes each) is too long, 200 is fine */
    buf_t *b = buf_new(1 << 16);
    for (int n = 200; n <= 201; n++) {
        buf_reset(b);
        buf_append_str(b, BIZ_HEADER "JY1," GOOD_CODE ",");
        for (int i = 0; i < n; i++)
            buf_append_str(b, "店");
        buf_append_str(b, ",catering,A,340705001001,路,张三,13812345678,李四,13912345678\n");
        import_t *imp = import_parse(IMPORT_BUSINESSES, buf_data(b), buf_len(b), NULL);
        if (n == 200)
            s_no_errors(imp);
        else
            s_one_error(imp, 2, "name", "1 to 200");
        import_destroy(&imp);
    }
    buf_destroy(&b);
}

static void test_business_duplicate_and_scope(void **state)
{
    (void)state;
    import_t *imp =
        s_parse(IMPORT_BUSINESSES,
                BIZ_HEADER BIZ_ROW("JY1", GOOD_CODE, "catering", "A", "340705001001", "13812345678")
                    BIZ_ROW("JY1", GOOD_CODE, "sales", "B", "340705001001", "13812345678"),
                NULL);
    s_one_error(imp, 3, "license_no", "more than once");
    import_destroy(&imp);

    /* a regulator of 340705: a row in 340706 is outside */
    imp =
        s_parse(IMPORT_BUSINESSES,
                BIZ_HEADER BIZ_ROW("JY1", GOOD_CODE, "catering", "A", "340705001001", "13812345678")
                    BIZ_ROW("JY2", GOOD_CODE, "catering", "A", "340706001001", "13812345678"),
                "340705000000");
    s_one_error(imp, 3, "region_code", "outside your jurisdiction");
    /* the existing JY1 lies elsewhere: moving it in is refused too */
    assert_int_equal(import_lookup_count(imp, IMPORT_LOOKUP_EXISTING), 1);
    assert_string_equal(import_lookup_key(imp, IMPORT_LOOKUP_EXISTING, 0), "JY1");
    import_lookup_set(imp, IMPORT_LOOKUP_EXISTING, 0, "340711001001");
    s_regions_known(imp, NULL);
    import_check(imp);
    size_t n;
    const import_error_t *e = import_errors(imp, &n);
    assert_int_equal(n, 2);
    assert_int_equal(e[0].line, 2);
    assert_string_equal(e[0].field, "license_no");
    assert_int_equal(e[1].line, 3);
    assert_int_equal(import_error_total(imp), 2);
    import_destroy(&imp);
}

static void test_business_region_level(void **state)
{
    (void)state;
    import_t *imp =
        s_parse(IMPORT_BUSINESSES,
                BIZ_HEADER BIZ_ROW("JY1", GOOD_CODE, "catering", "A", "340705001000", "13812345678")
                    BIZ_ROW("JY2", GOOD_CODE, "catering", "A", "340705001009", "13812345678")
                        BIZ_ROW("JY3", GOOD_CODE, "catering", "A", "340705001001", "13812345678"),
                NULL);
    s_no_errors(imp);
    for (size_t i = 0; i < import_lookup_count(imp, IMPORT_LOOKUP_REGIONS); i++) {
        const char *code = import_lookup_key(imp, IMPORT_LOOKUP_REGIONS, i);
        if (!strcmp(code, "340705001000"))
            import_lookup_set(imp, IMPORT_LOOKUP_REGIONS, i, "township");
        else if (!strcmp(code, "340705001001"))
            import_lookup_set(imp, IMPORT_LOOKUP_REGIONS, i, "community");
        /* 340705001009 is not in the database */
    }
    import_check(imp);
    size_t n;
    const import_error_t *e = import_errors(imp, &n);
    assert_int_equal(n, 2);
    assert_int_equal(e[0].line, 2);
    assert_string_equal(e[0].field, "region_code");
    assert_non_null(strstr(e[0].message, "must be a community"));
    assert_int_equal(e[1].line, 3);
    assert_non_null(strstr(e[1].message, "does not exist"));
    import_destroy(&imp);
}

static void test_regions(void **state)
{
    (void)state;
    const char *text = "code,name,level,parent_code\n"
                       "990000000000,测试省,province,\n"
                       "990100000000,测试市,city,990000000000\n"
                       "990101000000,测试区,district,990100000000\n"
                       "990101001000,测试街道,township,990101000000\n"
                       "990101001001,测试社区,community,990101001000\n";
    import_t *imp = s_parse(IMPORT_REGIONS, text, NULL);
    s_no_errors(imp);
    assert_int_equal(import_rows(imp), 5);
    import_check(imp); /* nothing in the database: parents come from the file */
    s_no_errors(imp);
    size_t len;
    const char *copy = import_copy_data(imp, &len);
    const char *first = "2\t990000000000\t测试省\tprovince\t\\N\n";
    assert_true(len > strlen(first) && !strncmp(copy, first, strlen(first)));
    import_destroy(&imp);

    static const struct {
        const char *row, *field, *part;
    } cases[] = {
        {"99010100100,x,community,990101001000\n", "code", "12-digit"},
        {"990101001002,,community,990101001000\n", "name", "1 to 100"},
        {"990101001002,x,village,990101001000\n", "level", "community"},
        {"990101001002,x,township,990101001000\n", "level", "community code"},
        {"990101001002,x,community,\n", "parent_code", "needs a parent_code"},
        {"990101001002,x,community,990102001000\n", "parent_code", "containing"},
        {"990000000000,x,province,980000000000\n", "parent_code", "no parent_code"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char t[512];
        snprintf(t, sizeof t, "code,name,level,parent_code\n%s", cases[i].row);
        imp = s_parse(IMPORT_REGIONS, t, NULL);
        s_one_error(imp, 2, cases[i].field, cases[i].part);
        import_destroy(&imp);
    }

    /* parent missing, parent later in the file, parent of the wrong level in the database */
    imp = s_parse(IMPORT_REGIONS,
                  "code,name,level,parent_code\n"
                  "990101001001,a,community,990101001000\n"
                  "990101001000,b,township,990101000000\n"
                  "990101002001,c,community,990101002000\n"
                  "990101001001,d,community,990101001000\n",
                  NULL);
    s_one_error(imp, 5, "code", "more than once");
    for (size_t i = 0; i < import_lookup_count(imp, IMPORT_LOOKUP_REGIONS); i++) {
        const char *code = import_lookup_key(imp, IMPORT_LOOKUP_REGIONS, i);
        if (!strcmp(code, "990101000000"))
            import_lookup_set(imp, IMPORT_LOOKUP_REGIONS, i, "district");
        if (!strcmp(code, "990101002000"))
            import_lookup_set(imp, IMPORT_LOOKUP_REGIONS, i, "community"); /* nonsense */
    }
    import_check(imp);
    size_t n;
    const import_error_t *e = import_errors(imp, &n);
    assert_int_equal(n, 3);
    assert_int_equal(e[0].line, 2);
    assert_non_null(strstr(e[0].message, "earlier in the file"));
    assert_int_equal(e[1].line, 4);
    assert_non_null(strstr(e[1].message, "must be a township"));
    assert_int_equal(e[2].line, 5);
    import_destroy(&imp);
}

static void test_cadres(void **state)
{
    (void)state;
    const char *text = "phone,name,level,region_code,title\n"
                       "13900000001,王一,county,340705000000,副区长\n"
                       "13900000002,王二,township,340705001000,\n"
                       "13900000003,王三,village,340705001001,书记\n"
                       "13900000004,王四,city,340700000000,\n"
                       "13900000005,王五,county,340705001000,\n"  /* not a district */
                       "13900000001,王六,village,340705001001,\n" /* phone again */
                       "13900000007,王七,mayor,340705001001,\n"
                       "1390000008,王八,village,340705001001,\n";
    import_t *imp = s_parse(IMPORT_CADRES, text, NULL);
    size_t n;
    const import_error_t *e = import_errors(imp, &n);
    assert_int_equal(n, 3);
    assert_int_equal(e[0].line, 7);
    assert_string_equal(e[0].field, "phone");
    assert_int_equal(e[1].line, 8);
    assert_string_equal(e[1].field, "level");
    assert_int_equal(e[2].line, 9);
    assert_string_equal(e[2].field, "phone");
    for (size_t i = 0; i < import_lookup_count(imp, IMPORT_LOOKUP_REGIONS); i++) {
        const char *code = import_lookup_key(imp, IMPORT_LOOKUP_REGIONS, i);
        const char *l = !strcmp(code, "340700000000")   ? "city"
                        : !strcmp(code, "340705000000") ? "district"
                        : !strcmp(code, "340705001000") ? "township"
                                                        : "community";
        import_lookup_set(imp, IMPORT_LOOKUP_REGIONS, i, l);
    }
    import_check(imp);
    e = import_errors(imp, &n);
    assert_int_equal(n, 4);
    assert_int_equal(e[0].line, 6);
    assert_string_equal(e[0].field, "region_code");
    assert_non_null(strstr(e[0].message, "must be a district"));
    import_destroy(&imp);
}

static void test_assignments(void **state)
{
    (void)state;
    const char *text = "cadre_phone,license_no\n"
                       "13900000001,JY1\n" /* fine */
                       "13900000001,JY2\n" /* business in another township */
                       "13900000009,JY1\n" /* no such cadre */
                       "13900000001,JY9\n" /* no such business */
                       "13900000001,JY1\n" /* the pair again */
                       "1390000000,JY1\n"; /* bad phone */
    import_t *imp = s_parse(IMPORT_ASSIGNMENTS, text, NULL);
    size_t n;
    const import_error_t *e = import_errors(imp, &n);
    assert_int_equal(n, 2);
    assert_int_equal(e[0].line, 6);
    assert_string_equal(e[0].field, "license_no");
    assert_int_equal(e[1].line, 7);
    assert_string_equal(e[1].field, "cadre_phone");
    assert_int_equal(import_lookup_count(imp, IMPORT_LOOKUP_CADRES), 2);
    assert_int_equal(import_lookup_count(imp, IMPORT_LOOKUP_BUSINESSES), 3);
    for (size_t i = 0; i < import_lookup_count(imp, IMPORT_LOOKUP_CADRES); i++)
        if (!strcmp(import_lookup_key(imp, IMPORT_LOOKUP_CADRES, i), "13900000001"))
            import_lookup_set(imp, IMPORT_LOOKUP_CADRES, i, "340705001000");
    for (size_t i = 0; i < import_lookup_count(imp, IMPORT_LOOKUP_BUSINESSES); i++) {
        const char *lic = import_lookup_key(imp, IMPORT_LOOKUP_BUSINESSES, i);
        if (!strcmp(lic, "JY1"))
            import_lookup_set(imp, IMPORT_LOOKUP_BUSINESSES, i, "340705001003");
        if (!strcmp(lic, "JY2"))
            import_lookup_set(imp, IMPORT_LOOKUP_BUSINESSES, i, "340705002003");
    }
    import_check(imp);
    e = import_errors(imp, &n);
    assert_int_equal(n, 5);
    assert_int_equal(e[0].line, 3);
    assert_non_null(strstr(e[0].message, "does not contain"));
    assert_int_equal(e[1].line, 4);
    assert_string_equal(e[1].field, "cadre_phone");
    assert_int_equal(e[2].line, 5);
    assert_non_null(strstr(e[2].message, "no business"));
    import_destroy(&imp);

    /* a regulator of another district may not assign a business outside it */
    imp = s_parse(IMPORT_ASSIGNMENTS, "cadre_phone,license_no\n13900000001,JY1\n", "340706000000");
    import_lookup_set(imp, IMPORT_LOOKUP_CADRES, 0, "340705000000");
    import_lookup_set(imp, IMPORT_LOOKUP_BUSINESSES, 0, "340705001003");
    import_check(imp);
    s_one_error(imp, 2, "license_no", "outside your jurisdiction");
    import_destroy(&imp);
}

static void test_inspectors(void **state)
{
    (void)state;
    const char *text = "phone,name,region_code,badge_no\n"
                       "13700000001,赵一,340705000000,TG001\n"
                       "13700000002,赵二,340705000000,TG001\n"  /* badge again */
                       "13700000003,赵三,340705000000,\n"       /* no badge */
                       "13700000004,赵四,340705001000,TG004\n"; /* a township */
    import_t *imp = s_parse(IMPORT_INSPECTORS, text, NULL);
    size_t n;
    const import_error_t *e = import_errors(imp, &n);
    assert_int_equal(n, 2);
    assert_int_equal(e[0].line, 3);
    assert_string_equal(e[0].field, "badge_no");
    assert_int_equal(e[1].line, 4);
    s_regions_known(imp, NULL);
    import_check(imp);
    e = import_errors(imp, &n);
    assert_int_equal(n, 3);
    assert_int_equal(e[2].line, 5);
    assert_non_null(strstr(e[2].message, "must be a district"));
    import_destroy(&imp);
}

/* 150 bad rows: 150 counted, the first 100 listed in line order. */
static void test_error_cap(void **state)
{
    (void)state;
    buf_t *b = buf_new(1 << 20);
    buf_append_str(b, BIZ_HEADER);
    for (int i = 0; i < 300; i++)
        buf_printf(b, "JY%d,%s,店,catering,A,340705001001,路,张三,13812345678,李四,13912345678\n",
                   i, i % 2 ? GOOD_CODE : "91340700MA2N0X6K7A");
    import_t *imp = import_parse(IMPORT_BUSINESSES, buf_data(b), buf_len(b), NULL);
    s_regions_known(imp, NULL);
    import_check(imp);
    assert_int_equal(import_error_total(imp), 150);
    size_t n;
    const import_error_t *e = import_errors(imp, &n);
    assert_int_equal(n, IMPORT_ERRORS_MAX);
    assert_int_equal(e[0].line, 2);
    assert_int_equal(e[99].line, 200);
    import_destroy(&imp);
    buf_destroy(&b);
}

/* A backslash survives into COPY text doubled; a quoted comma stays in the field. */
static void test_copy_escaping(void **state)
{
    (void)state;
    import_t *imp = s_parse(IMPORT_BUSINESSES,
                            BIZ_HEADER "JY\\1," GOOD_CODE ",\"店,一\",catering,A,340705001001,"
                                       "路,张三,13812345678,李四,13912345678\n",
                            NULL);
    s_no_errors(imp);
    size_t len;
    const char *copy = import_copy_data(imp, &len);
    assert_non_null(strstr(copy, "2\tJY\\\\1\t"));
    assert_non_null(strstr(copy, "\t店,一\t"));
    import_destroy(&imp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kind_names),
        cmocka_unit_test(test_header),
        cmocka_unit_test(test_business_good),
        cmocka_unit_test(test_business_fields),
        cmocka_unit_test(test_business_duplicate_and_scope),
        cmocka_unit_test(test_business_region_level),
        cmocka_unit_test(test_regions),
        cmocka_unit_test(test_cadres),
        cmocka_unit_test(test_assignments),
        cmocka_unit_test(test_inspectors),
        cmocka_unit_test(test_error_cap),
        cmocka_unit_test(test_copy_escaping),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
