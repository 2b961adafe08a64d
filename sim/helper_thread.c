/* helper_thread.c: see helper_thread.h. */
#define _GNU_SOURCE /* sched_getcpu, pthread_attr_setaffinity_np */
#include "helper_thread.h"

#include <sched.h>

bool helper_thread_start(pthread_t *thread, void *(*main_fn)(void *), void *arg)
{
#ifdef __linux__
    /* A hint only: with one allowed CPU, or when anything fails, the thread
     * runs where the scheduler puts it, and the results are the same.  Set
     * in the attributes, so that the thread starts on the other core: set
     * after pthread_create it first ran on ours, and the creator waited
     * ~1.3 ms for the migration. */
    cpu_set_t allowed;
    int here = sched_getcpu();
    pthread_attr_t attr;
    if (here >= 0 && !pthread_getaffinity_np(pthread_self(), sizeof(allowed), &allowed) &&
        CPU_ISSET(here, &allowed) && CPU_COUNT(&allowed) > 1 && !pthread_attr_init(&attr)) {
        CPU_CLR(here, &allowed);
        bool started = !pthread_attr_setaffinity_np(&attr, sizeof(allowed), &allowed) &&
                       !pthread_create(thread, &attr, main_fn, arg);
        pthread_attr_destroy(&attr);
        if (started) return true;
    }
#endif
    return pthread_create(thread, NULL, main_fn, arg) == 0;
}
