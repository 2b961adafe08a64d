/* synth_dataset.h: request streams over a dataset of real requests with text.
 *
 * `servesim trace gen --from-dataset F`: F is JSONL (plain or gzip), one
 * request per line with at least "prompt_tokens" and "output_tokens" (and
 * usually "app", "instruction", "input", "split"), e.g.
 * ../shared/datasets/lmaas_apps.jsonl.gz.  Lines of the chosen split are kept
 * in memory as text; each generated request takes the arrival time of a
 * SynthSource (its lengths are not used) and a line drawn uniformly, with
 * replacement, from the stream "synth.dataset".  Output lines, in this order:
 *
 *   {"arrival_s": 0.0, "app": "chat", "instruction": "...", "input": "...",
 *    "prompt_tokens": 33, "output_tokens": 19, "split": "train", "source_line": 17}
 *
 * which the generic JSONL reader takes with
 * --map arrival=arrival_s,input=prompt_tokens,output=output_tokens,app=app,
 *       instruction=instruction,text=input. */
#ifndef SERVESIM_SYNTH_DATASET_H
#define SERVESIM_SYNTH_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "synth.h"
#include "writer.h"

typedef struct SynthDataset SynthDataset;

/* split: "train", "valid", ... or NULL / "all" for every line. */
int synth_dataset_load(SynthDataset **out, const char *path, const char *split);
size_t synth_dataset_size(const SynthDataset *d);
/* Write requests until `arrivals` (a SynthSource over p) ends; *rows and
 * *last_arrival_s report what was written. */
int synth_dataset_generate(SynthDataset *d, const SynthParams *p, uint64_t seed, TraceWriter *w,
                           int64_t *rows, double *last_arrival_s);
void synth_dataset_destroy(SynthDataset **d);

#endif
