/* helper_thread.c: see helper_thread.h. */
#define _GNU_SOURCE /* sched_getcpu, pthread_{get,set}affinity_np */
#include "helper_thread.h"

#include <sched.h>

bool helper_thread_start(pthread_t *thread, void *(*main_fn)(void *), void *arg)
{
    if (pthread_create(thread, NULL, main_fn, arg)) return false;
#ifdef __linux__
    /* A hint only: with one allowed CPU, or when anything fails, the thread
     * runs where the scheduler puts it, and the results are the same. */
    cpu_set_t allowed;
    int here = sched_getcpu();
    if (here >= 0 && !pthread_getaffinity_np(pthread_self(), sizeof(allowed), &allowed) &&
        CPU_ISSET(here, &allowed) && CPU_COUNT(&allowed) > 1) {
        CPU_CLR(here, &allowed);
        pthread_setaffinity_np(*thread, sizeof(allowed), &allowed);
    }
#endif
    return true;
}
