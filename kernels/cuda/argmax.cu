/* kernels/cuda/argmax.cu: greedy sampling, one block per row.  Same rule as
 * the reference: ties go to the lowest index, NaN never wins, a row with no
 * value above -inf gives 0. */
#include <climits>

#include "common.cuh"

#define ARGMAX_THREADS 512

static __device__ __forceinline__ void argmax_merge(float &best, int &idx, float ob, int oi)
{
    if (ob > best || (ob == best && oi < idx)) {
        best = ob;
        idx = oi;
    }
}

// tokens is (N); logits is (N,V)
__global__ static void __launch_bounds__(ARGMAX_THREADS)
    argmax_kernel(int32_t *tokens, const float *logits, int v)
{
    __shared__ float sb[ARGMAX_THREADS / 32];
    __shared__ int si[ARGMAX_THREADS / 32];
    const float *row = logits + (size_t)blockIdx.x * v;
    float best = -INFINITY;
    int idx = INT_MAX;
    for (int i = threadIdx.x; i < v; i += blockDim.x)
        if (row[i] > best) { /* increasing i: strict > keeps the lowest index */
            best = row[i];
            idx = i;
        }
    for (int o = 16; o > 0; o >>= 1) {
        float ob = __shfl_xor_sync(0xffffffffu, best, o);
        int oi = __shfl_xor_sync(0xffffffffu, idx, o);
        argmax_merge(best, idx, ob, oi);
    }
    if (threadIdx.x % 32 == 0) {
        sb[threadIdx.x / 32] = best;
        si[threadIdx.x / 32] = idx;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        for (int w = 1; w < ARGMAX_THREADS / 32; w++)
            argmax_merge(best, idx, sb[w], si[w]);
        tokens[blockIdx.x] = idx == INT_MAX ? 0 : idx;
    }
}

extern "C" int kern_cuda_argmax(KernCuda *ctx, int32_t *tokens, const float *logits, int n, int v)
{
    if (n <= 0)
        return 0;
    argmax_kernel<<<n, ARGMAX_THREADS, 0, ctx->stream>>>(tokens, logits, v);
    kern_cuda_check_launch();
    return 0;
}
