/*
 * test_notifier_render.c - templates: placeholders, escaping for HTML and
 * SMS, parameter lists (services/notifier/notifier_render.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "notifier/notifier_render.h"

static void test_render_plain(void **state)
{
    (void)state;
    render_kv_t kv[] = {{"business_name", "通测饭店"}, {"deadline", "11月30日"}};
    char *s = notifier_render(
        "【两责】{{business_name}}：请于{{deadline}}前填报{{missing}}。{{ bad }}{x}", kv, 2,
        RENDER_PLAIN);
    assert_string_equal(s, "【两责】通测饭店：请于11月30日前填报。{{ bad }}{x}");
    free(s);
    s = notifier_render("{{a}}{{a}}{{", (render_kv_t[]){{"a", "x"}}, 1, RENDER_PLAIN);
    assert_string_equal(s, "xx{{");
    free(s);
    s = notifier_render(NULL, NULL, 0, RENDER_PLAIN);
    assert_string_equal(s, "");
    free(s);
}

static void test_render_html(void **state)
{
    (void)state;
    render_kv_t kv[] = {{"name", "<script>alert('x')</script>&\"饭店\""}};
    char *s = notifier_render("<p>{{name}}</p>", kv, 1, RENDER_HTML);
    assert_string_equal(
        s, "<p>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;饭店&quot;</p>");
    free(s);
    char *page = notifier_html_page("提醒书<", "一行\n二行");
    assert_non_null(strstr(page, "<title>提醒书&lt;</title>"));
    assert_non_null(strstr(page, "一行<br>\n二行"));
    free(page);
}

static void test_render_sms(void **state)
{
    (void)state;
    char *s = notifier_escape("饭\x07店\r\n名\x7f<b>", RENDER_SMS);
    assert_string_equal(s, "饭店名<b>");
    free(s);
    /* long values are cut on a UTF-8 boundary */
    size_t n = RENDER_VALUE_MAX + 10;
    char *big = malloc(n + 1);
    for (size_t i = 0; i < n; i += 3)
        memcpy(big + i, "饭", 3 <= n - i ? 3 : n - i);
    big[n] = '\0';
    s = notifier_escape(big, RENDER_PLAIN);
    assert_true(strlen(s) <= RENDER_VALUE_MAX);
    assert_int_equal(strlen(s) % 3, 0);
    free(s);
    free(big);
}

static void test_params(void **state)
{
    (void)state;
    char names[RENDER_PARAMS_MAX][RENDER_NAME_MAX + 1];
    size_t n = notifier_template_params("{{b}}x{{a}}{{b}}{{ c}}{{d_1}}", names, RENDER_PARAMS_MAX);
    assert_int_equal(n, 3);
    assert_string_equal(names[0], "b");
    assert_string_equal(names[1], "a");
    assert_string_equal(names[2], "d_1");
    assert_int_equal(notifier_template_params("{{a}}{{b}}", names, 1), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_plain),
        cmocka_unit_test(test_render_html),
        cmocka_unit_test(test_render_sms),
        cmocka_unit_test(test_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
