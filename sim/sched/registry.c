/* registry.c: every scheduling policy, NULL-terminated. */
#include <string.h>

#include "sched.h"

const SchedOps *const sched_registry[] = {
    NULL,
};

const SchedOps *sched_find(const char *name)
{
    for (const SchedOps *const *s = sched_registry; *s; s++)
        if (!strcmp((*s)->name, name)) return *s;
    return NULL;
}
