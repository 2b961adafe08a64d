/* replay_main.c: run a fuzz target over its seed corpus without libFuzzer,
 * as a normal test:  fuzz_replay_FORMAT DIR... */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

#include "common.h"
#include "fuzz_trace.h"

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 1;
    }
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0, got;
    do {
        SS_GROW(buf, cap, n + 65536);
        got = fread(buf + n, 1, cap - n, f);
        n += got;
    } while (got);
    fclose(f);
    LLVMFuzzerTestOneInput(buf, n);
    /* Every prefix too: truncated rows, headers and gzip streams. */
    for (size_t k = 0; k < n; k += 1 + n / 64) LLVMFuzzerTestOneInput(buf, k);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    int files = 0, fails = 0;
    for (int i = 1; i < argc; i++) {
        DIR *d = opendir(argv[i]);
        if (!d) {
            perror(argv[i]);
            return 1;
        }
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.') continue;
            char p[4096];
            snprintf(p, sizeof(p), "%s/%s", argv[i], e->d_name);
            fails += replay_file(p);
            files++;
        }
        closedir(d);
    }
    printf("replayed %d corpus files\n", files);
    return fails || !files ? 1 : 0;
}
