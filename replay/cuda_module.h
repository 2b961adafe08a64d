/* cuda_module.h: the CUDA replay backend, loaded only when asked for.
 *
 * Linking cuBLAS/cudart into `servesim` cost ~200 MiB of resident memory in
 * every run (the libraries' relocations are touched at load), simulations
 * included.  So the CUDA model runner and kernels live in a shared module,
 * libservesim_cuda.so, built beside the binary when nvcc is found, and
 * dlopen()ed by `servesim replay --backend cuda` alone.  The module is
 * looked for in $SERVESIM_CUDA_MODULE, then beside the running executable,
 * then in the build directory recorded at configure time. */
#ifndef SERVESIM_REPLAY_CUDA_MODULE_H
#define SERVESIM_REPLAY_CUDA_MODULE_H

#include <stdint.h>

#include "model.h"

typedef struct CudaModuleApi {
    int (*device_count)(void);
    int (*create)(ModelCuda **out, const ModelShape *shape, uint64_t seed, int num_blocks,
                  int block_size);
    void (*destroy)(ModelCuda **m);
    int (*forward_step)(ModelCuda *m, const ModelSeq *seqs, int n_seqs, int32_t *next_tokens,
                        float *logits);
} CudaModuleApi;

/* Load the module once (thread-safe); 0 or a negative errno with a message
 * naming where it looked. */
int cuda_module_load(const CudaModuleApi **api);

#endif
