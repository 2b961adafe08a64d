/* helper_thread.h: start a thread that works beside the simulation.
 *
 * servesim's helper threads (the trace prefetcher, the metrics thread)
 * take work off the engine's thread; they only help if they run on another
 * core.  Linux wakes a sleeping thread on the core of the thread that woke
 * it when it can, which on a 2-core machine put the helpers on the engine's
 * core and cost 4 ms of a 27 ms run while the other core sat idle.  So a
 * helper is kept off the core its creator runs on, when there is another. */
#ifndef SERVESIM_HELPER_THREAD_H
#define SERVESIM_HELPER_THREAD_H

#include <pthread.h>
#include <stdbool.h>

/* pthread_create with (best effort) the calling thread's current CPU taken
 * out of the new thread's affinity.  False when no thread could be started. */
bool helper_thread_start(pthread_t *thread, void *(*main_fn)(void *), void *arg);

#endif
