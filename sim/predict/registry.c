/* registry.c: every length predictor, NULL-terminated. */
#include <string.h>

#include "predict.h"

const PredictorOps *const predictor_registry[] = {
    NULL,
};

const PredictorOps *predictor_find(const char *name)
{
    for (const PredictorOps *const *p = predictor_registry; *p; p++)
        if (!strcmp((*p)->name, name)) return *p;
    return NULL;
}
