/* registry.c: every scheduling policy, NULL-terminated. */
#include <string.h>

#include "sched.h"

extern const SchedOps sched_fcfs_static;
extern const SchedOps sched_magnus;
extern const SchedOps sched_vllm;
extern const SchedOps sched_chunked_prefill;
extern const SchedOps sched_sjf;
extern const SchedOps sched_srpt;
extern const SchedOps sched_lifo;
extern const SchedOps sched_sjf_window;

const SchedOps *const sched_registry[] = {
    &sched_fcfs_static,
    &sched_magnus,
    &sched_vllm,
    &sched_chunked_prefill,
    &sched_sjf,
    &sched_srpt,
    &sched_lifo,
    &sched_sjf_window,
    NULL,
};

const SchedOps *sched_find(const char *name)
{
    for (const SchedOps *const *s = sched_registry; *s; s++)
        if (!strcmp((*s)->name, name)) return *s;
    return NULL;
}
