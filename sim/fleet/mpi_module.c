/* mpi_module.c: finds and dlopen()s libservesim_mpi.so (see mpi_module.h).
 * This file never includes <mpi.h>: the main library stays free of MPI. */
#include "mpi_module.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "fleet/mpi_config.h"
#include "servesim_config.h"

#define MODULE_NAME "libservesim_mpi.so"

static const MpiTransport *module_api;
static int module_status = -ENOENT;
static char module_error[1024];
static pthread_once_t module_once = PTHREAD_ONCE_INIT;

bool mpi_module_launched(void)
{
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK");
}

/* RTLD_GLOBAL: some OpenMPI builds dlopen() MCA components that resolve
 * libmpi's and libopen-pal's symbols from the global scope (why mpi4py loads
 * libmpi so).  Debian's 4.1 also works with RTLD_LOCAL, but the module exports
 * one symbol, so global scope costs nothing. */
static void *try_open(const char *path, char *tried, size_t cap)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
    if (h) {
        snprintf(tried, cap, "%s", path); /* now names the file loaded */
        return h;
    }
    /* glibc's dlerror() starts with "path: ": keep one copy of the path. */
    const char *why = dlerror();
    size_t path_len = strlen(path), used = strlen(tried);
    if (!why) why = "unknown dlopen() error";
    else if (!strncmp(why, path, path_len) && !strncmp(why + path_len, ": ", 2)) why += path_len + 2;
    snprintf(tried + used, cap - used, "%s%s: %s", used ? "; " : "", path, why);
    return NULL;
}

/* Returns the handle, with *tried naming the file opened; or NULL, with
 * *tried listing every file looked for and why each failed. */
static void *open_module(char *tried, size_t cap)
{
    char path[PATH_MAX + 64] = "";
    void *h = NULL;
    const char *env = getenv("SERVESIM_MPI_MODULE");
    if (env && *env) h = try_open(env, tried, cap);
    if (!h) {
        ssize_t n = readlink("/proc/self/exe", path, PATH_MAX);
        char *slash = n > 0 ? (path[n] = '\0', strrchr(path, '/')) : NULL;
        if (slash) {
            strcpy(slash + 1, MODULE_NAME);
            h = try_open(path, tried, cap);
        }
    }
    const char *in_build_dir = SERVESIM_BUILD_DIR "/" MODULE_NAME;
    if (!h && strcmp(path, in_build_dir)) h = try_open(in_build_dir, tried, cap);
    return h;
}

static void module_load_once(void)
{
    if (!SERVESIM_MPI_MODULE_BUILT) {
        snprintf(module_error, sizeof(module_error),
                 "this servesim was built without MPI (-Dmpi=disabled, or no OpenMPI at "
                 "configure time), so it cannot run under mpirun: rebuild with -Dmpi=enabled");
        module_status = -ENOTSUP;
        return;
    }
    char tried[768] = "";
    void *h = open_module(tried, sizeof(tried));
    if (!h) {
        snprintf(module_error, sizeof(module_error),
                 "launched by mpirun, but cannot load " MODULE_NAME " (tried %s)", tried);
        module_status = -ENOENT;
        return;
    }
    const MpiTransport *(*entry)(void);
    /* POSIX allows this cast from void * to a function pointer (dlsym's contract). */
    *(void **)&entry = dlsym(h, "servesim_mpi_transport");
    const MpiTransport *api = entry ? entry() : NULL;
    if (!api) {
        snprintf(module_error, sizeof(module_error),
                 "%s: not a servesim MPI module (no servesim_mpi_transport)", tried);
        module_status = -ENOEXEC;
        return;
    }
    if (api->abi != MPI_TRANSPORT_ABI) {
        snprintf(module_error, sizeof(module_error),
                 "%s: built for MPI transport ABI %d, this servesim needs %d: rebuild it", tried,
                 api->abi, MPI_TRANSPORT_ABI);
        module_status = -ENOEXEC;
        return;
    }
    module_api = api;
    module_status = 0;
}

int mpi_module_load(const MpiTransport **api)
{
    pthread_once(&module_once, module_load_once);
    if (module_status) return ss_error_set(module_status, "%s", module_error);
    *api = module_api;
    return 0;
}
