/* registry.c: every length predictor, NULL-terminated. */
#include <string.h>

#include "predict.h"

extern const PredictorOps predictor_oracle;
extern const PredictorOps predictor_noisy;
extern const PredictorOps predictor_constant;
extern const PredictorOps predictor_linear;
extern const PredictorOps predictor_quantile;
extern const PredictorOps predictor_forest;
extern const PredictorOps predictor_gbt;

const PredictorOps *const predictor_registry[] = {
    &predictor_oracle,
    &predictor_noisy,
    &predictor_constant,
    &predictor_linear,
    &predictor_quantile,
    &predictor_forest,
    &predictor_gbt,
    NULL,
};

const PredictorOps *predictor_find(const char *name)
{
    for (const PredictorOps *const *p = predictor_registry; *p; p++)
        if (!strcmp((*p)->name, name)) return *p;
    return NULL;
}
