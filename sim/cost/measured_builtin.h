/* measured_builtin.h: the measured tables of the repository's GPUs, parsed
 * at build time (sim/cost/gen_measured_builtin.c writes measured_builtin.c
 * from the models/profiles/measured/ tables with optable.c's own loader).
 *
 * Why: parsing a 230 KB table file was about 4 % of a whole Azure conv run
 * (issue #15).  A load still reads the file, and takes the compiled tables
 * only when the file's bytes are exactly those they were parsed from
 * (memcmp: a changed, moved or other file is parsed as before), so the
 * result cannot differ from parsing it. */
#ifndef SERVESIM_MEASURED_BUILTIN_H
#define SERVESIM_MEASURED_BUILTIN_H

#include <stddef.h>
#include <stdint.h>

#include "cost/optable.h"

typedef struct MeasuredBuiltin {
    const char *name;             /* the file's name, for tests */
    const char *text;             /* its bytes */
    size_t text_len;              /* bytes */
    const MeasuredTables *tables; /* measured_tables_load's result for it (every row) */
} MeasuredBuiltin;

extern const MeasuredBuiltin measured_builtins[];
extern const int32_t measured_builtins_count;

/* The compiled tables parsed from exactly these bytes, or NULL. */
const MeasuredTables *measured_builtin_for(const char *text, size_t text_len);

#endif
