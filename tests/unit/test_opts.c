/* The option parser: typed values, defaults, bounds, choices and one clear
 * message for each kind of mistake. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common.h"
#include "opts.h"

typedef struct TestOpts {
    int64_t batch;
    double window;
    bool adaptive;
    char model[OPTS_STRING_MAX];
    int order;
} TestOpts;

static const OptSpec specs[] = {
    { "batch", OPT_INT, offsetof(TestOpts, batch), "8", "requests", NULL, 1, 4096 },
    { "window", OPT_DOUBLE, offsetof(TestOpts, window), "0.05", "seconds", NULL, 0, 10 },
    { "adaptive", OPT_BOOL, offsetof(TestOpts, adaptive), "true", "on/off", NULL, OPT_NO_BOUNDS },
    { "model", OPT_STRING, offsetof(TestOpts, model), "", "path", NULL, OPT_NO_BOUNDS },
    { "order", OPT_CHOICE, offsetof(TestOpts, order), "hrrn", "batch order", "fcfs|hrrn", OPT_NO_BOUNDS },
    { NULL, OPT_INT, 0, NULL, NULL, NULL, OPT_NO_BOUNDS },
};

static void test_defaults_and_values(void **state)
{
    (void)state;
    TestOpts o;
    assert_int_equal(opts_init(specs, NULL, &o, "t"), 0);
    assert_int_equal(o.batch, 8);
    assert_true(o.window == 0.05 && o.adaptive && o.model[0] == '\0' && o.order == 1);
    assert_int_equal(opts_init(specs, "batch=64,window=0,adaptive=off,model=a/b.txt,order=fcfs", &o, "t"), 0);
    assert_int_equal(o.batch, 64);
    assert_true(o.window == 0 && !o.adaptive && o.order == 0);
    assert_string_equal(o.model, "a/b.txt");
    assert_string_equal(opts_choice_name(specs, "order", o.order), "fcfs");
}

static void expect_error(const char *kvs, const char *needle)
{
    TestOpts o;
    assert_true(opts_init(specs, kvs, &o, "sched x") < 0);
    if (!strstr(ss_error_get(), needle)) fail_msg("'%s': message '%s' lacks '%s'", kvs, ss_error_get(), needle);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("batchx=3", "unknown option 'batchx' (known: batch, window, adaptive, model, order)");
    expect_error("batch=0", "out of range");
    expect_error("batch=3.5", "not an integer");
    expect_error("batch=99999999999999999999", "not an integer");
    expect_error("window=fast", "not a finite number");
    expect_error("window=inf", "not a finite number");
    expect_error("adaptive=maybe", "not a boolean");
    expect_error("order=sjf", "not one of fcfs|hrrn");
    expect_error("batch", "not key=value");
}

static void test_split_and_json(void **state)
{
    (void)state;
    char name[32];
    const char *kvs;
    assert_int_equal(opts_split_spec("magnus:batch=4", name, sizeof(name), &kvs), 0);
    assert_string_equal(name, "magnus");
    assert_string_equal(kvs, "batch=4");
    assert_int_equal(opts_split_spec("oracle", name, sizeof(name), &kvs), 0);
    assert_null(kvs);
    assert_true(opts_split_spec(":x=1", name, sizeof(name), &kvs) < 0);
    TestOpts o;
    assert_int_equal(opts_init(specs, "batch=2", &o, "t"), 0);
    json_t *j = opts_to_json(specs, &o);
    char *text = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(10));
    assert_string_equal(text, "{\"batch\":2,\"window\":0.05,\"adaptive\":true,\"model\":\"\",\"order\":\"hrrn\"}");
    free(text);
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_values),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_split_and_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
