/* registry.c: every cost model (simulator backend), NULL-terminated. */
#include <string.h>

#include "cost.h"

extern const BackendOps cost_backend_roofline;
extern const BackendOps cost_backend_synthetic;
extern const BackendOps cost_backend_profile;
extern const BackendOps cost_backend_measured;

const BackendOps *const cost_backend_registry[] = {
    &cost_backend_measured,
    &cost_backend_roofline,
    &cost_backend_synthetic,
    &cost_backend_profile,
    NULL,
};

const BackendOps *cost_backend_find(const char *name)
{
    for (const BackendOps *const *b = cost_backend_registry; *b; b++)
        if (!strcmp((*b)->name, name)) return *b;
    return NULL;
}
