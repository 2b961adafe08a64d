/* registry.c: the autoscaling policies (--autoscale NAME). */
#include <string.h>

#include "autoscale.h"

extern const AutoscaleOps autoscale_target_utilisation, autoscale_queue, autoscale_schedule;

const AutoscaleOps *const autoscale_registry[] = {
    &autoscale_target_utilisation, &autoscale_queue, &autoscale_schedule, NULL,
};

const AutoscaleOps *autoscale_find(const char *name)
{
    for (const AutoscaleOps *const *p = autoscale_registry; *p; p++)
        if (!strcmp((*p)->name, name)) return *p;
    return NULL;
}
