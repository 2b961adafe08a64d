#include "cuda_module.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "servesim_config.h"

#define MODULE_NAME "libservesim_cuda.so"

static CudaModuleApi module_api;
static int module_status = -ENOENT;
static char module_error[1024];
static pthread_once_t module_once = PTHREAD_ONCE_INIT;

static void *try_open(const char *path, char *tried, size_t cap)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    size_t used = strlen(tried);
    snprintf(tried + used, cap - used, "%s%s (%s)", used ? "; " : "", path,
             h ? "ok" : dlerror());
    return h;
}

static void module_load_once(void)
{
    char tried[768] = "", path[PATH_MAX + 64];
    void *h = NULL;
    const char *env = getenv("SERVESIM_CUDA_MODULE");
    if (env && *env) h = try_open(env, tried, sizeof(tried));
    if (!h) {
        ssize_t n = readlink("/proc/self/exe", path, PATH_MAX);
        if (n > 0) {
            path[n] = '\0';
            char *slash = strrchr(path, '/');
            if (slash) {
                strcpy(slash + 1, MODULE_NAME);
                h = try_open(path, tried, sizeof(tried));
            }
        }
    }
#ifdef SERVESIM_BUILD_DIR
    if (!h) h = try_open(SERVESIM_BUILD_DIR "/" MODULE_NAME, tried, sizeof(tried));
#endif
    if (!h) {
        snprintf(module_error, sizeof(module_error),
                 "--backend cuda: cannot load " MODULE_NAME " (built only where nvcc is found; "
                 "tried %s)", tried);
        module_status = -ENOTSUP;
        return;
    }
    /* POSIX allows this cast from void * to a function pointer (dlsym's contract). */
    *(void **)&module_api.device_count = dlsym(h, "kern_cuda_device_count");
    *(void **)&module_api.create = dlsym(h, "model_cuda_create");
    *(void **)&module_api.destroy = dlsym(h, "model_cuda_destroy");
    *(void **)&module_api.forward_step = dlsym(h, "model_cuda_forward_step");
    if (!module_api.device_count || !module_api.create || !module_api.destroy ||
        !module_api.forward_step) {
        snprintf(module_error, sizeof(module_error), "%s: missing symbols", MODULE_NAME);
        module_status = -ENOEXEC;
        return;
    }
    module_status = 0;
}

int cuda_module_load(const CudaModuleApi **api)
{
    pthread_once(&module_once, module_load_once);
    if (module_status) return ss_error_set(module_status, "%s", module_error);
    *api = &module_api;
    return 0;
}
