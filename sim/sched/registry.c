/* registry.c: every scheduling policy, NULL-terminated. */
#include <string.h>

#include "sched.h"

extern const SchedOps sched_fcfs_static;
extern const SchedOps sched_magnus;

const SchedOps *const sched_registry[] = {
    &sched_fcfs_static,
    &sched_magnus,
    NULL,
};

const SchedOps *sched_find(const char *name)
{
    for (const SchedOps *const *s = sched_registry; *s; s++)
        if (!strcmp((*s)->name, name)) return *s;
    return NULL;
}
