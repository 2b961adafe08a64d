/* sha256 of files against FIPS 180-4 vectors and every padding length; run
 * twice by meson: with the CPU's SHA instructions when present, and with
 * SERVESIM_SHA256_PORTABLE=1 (the plain C path). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common.h"

static void hash_bytes(const char *data, size_t n, char out[65])
{
    char path[] = "/tmp/servesim-sha256-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
    assert_int_equal(ss_sha256_file(path, out), 0);
    remove(path);
}

static void test_vectors(void **state)
{
    (void)state;
    char h[65];
    hash_bytes("", 0, h);
    assert_string_equal(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    hash_bytes("abc", 3, h);
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    hash_bytes(two, strlen(two), h);
    assert_string_equal(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    char *million = malloc(1000000);
    memset(million, 'a', 1000000);
    hash_bytes(million, 1000000, h);
    assert_string_equal(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(million);
}

static void test_missing_file(void **state)
{
    (void)state;
    char h[65];
    assert_true(ss_sha256_file("/nonexistent/servesim", h) < 0);
    assert_non_null(strstr(ss_error_get(), "/nonexistent/servesim"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_missing_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
