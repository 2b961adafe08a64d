/* kernels/cuda/common.cu: context, memory and timing helpers behind the C
 * interface, so that C callers (the checker, the model runner) never include
 * a CUDA header. */
#include <algorithm>
#include <vector>

#include "common.cuh"

extern "C" int kern_cuda_device_count(void)
{
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        (void)cudaGetLastError(); /* no driver / no device: clear the sticky error */
        return 0;
    }
    return n;
}

extern "C" void kern_cuda_device_info(char *buf, size_t len)
{
    cudaDeviceProp p;
    int drv = 0, rt = 0;
    kern_cuda_check(cudaGetDeviceProperties(&p, 0));
    kern_cuda_check(cudaDriverGetVersion(&drv));
    kern_cuda_check(cudaRuntimeGetVersion(&rt));
    snprintf(buf, len, "%s, sm_%d%d, %d SMs, %.1f GiB, L2 %d MiB, driver %d.%d, runtime %d.%d",
             p.name, p.major, p.minor, p.multiProcessorCount,
             (double)p.totalGlobalMem / (1024.0 * 1024 * 1024), p.l2CacheSize >> 20,
             drv / 1000, (drv % 1000) / 10, rt / 1000, (rt % 1000) / 10);
}

extern "C" int kern_cuda_create(KernCuda **out)
{
    KernCuda *ctx = (KernCuda *)calloc(1, sizeof *ctx);
    if (!ctx)
        return -ENOMEM;
    /* a blocking stream: it orders with the legacy default stream that the
     * synchronous helpers below (cudaMemcpy, cudaMemset) use */
    kern_cuda_check(cudaStreamCreate(&ctx->stream));
    int dev = 0;
    kern_cuda_check(cudaGetDevice(&dev));
    kern_cuda_check(cudaDeviceGetAttribute(&ctx->sm_count, cudaDevAttrMultiProcessorCount, dev));
    kern_blas_check(cublasCreate(&ctx->blas));
    kern_blas_check(cublasSetStream(ctx->blas, ctx->stream));
    *out = ctx;
    return 0;
}

extern "C" void kern_cuda_destroy(KernCuda **pctx)
{
    KernCuda *ctx = *pctx;
    if (!ctx)
        return;
    kern_cuda_check(cudaStreamSynchronize(ctx->stream));
    if (ctx->work)
        kern_cuda_check(cudaFree(ctx->work));
    if (ctx->flush)
        kern_cuda_check(cudaFree(ctx->flush));
    kern_blas_check(cublasDestroy(ctx->blas));
    kern_cuda_check(cudaStreamDestroy(ctx->stream));
    free(ctx);
    *pctx = NULL;
}

extern "C" void kern_cuda_set_attn_prefill_version(KernCuda *ctx, int version)
{
    ctx->prefill_version = version;
}

extern "C" void kern_cuda_set_decode_partition(KernCuda *ctx, int tokens)
{
    ctx->decode_partition = tokens;
}

void *kern_cuda__workspace(KernCuda *ctx, size_t bytes)
{
    if (bytes > ctx->work_bytes) {
        /* grow: wait for kernels still reading the old buffer */
        kern_cuda_check(cudaStreamSynchronize(ctx->stream));
        if (ctx->work)
            kern_cuda_check(cudaFree(ctx->work));
        kern_cuda_check(cudaMalloc(&ctx->work, bytes));
        ctx->work_bytes = bytes;
    }
    return ctx->work;
}

extern "C" void *kern_cuda_malloc(size_t bytes)
{
    void *p = NULL;
    kern_cuda_check(cudaMalloc(&p, bytes ? bytes : 1));
    return p;
}

extern "C" void kern_cuda_free(void *p)
{
    if (p)
        kern_cuda_check(cudaFree(p));
}

/* Synchronous in the strong sense: the data is on the device on return
 * (cudaMemcpy from pageable memory may return before the DMA ends). */
extern "C" void kern_cuda_upload(void *dst, const void *src, size_t bytes)
{
    kern_cuda_check(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
    kern_cuda_check(cudaDeviceSynchronize());
}

extern "C" void kern_cuda_download(void *dst, const void *src, size_t bytes)
{
    kern_cuda_check(cudaDeviceSynchronize());
    kern_cuda_check(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
}

extern "C" void kern_cuda_memset(void *dst, int byte, size_t bytes)
{
    kern_cuda_check(cudaMemset(dst, byte, bytes));
    kern_cuda_check(cudaDeviceSynchronize());
}

extern "C" void kern_cuda_sync(KernCuda *ctx)
{
    kern_cuda_check(cudaStreamSynchronize(ctx->stream));
    kern_cuda_check(cudaGetLastError());
}

extern "C" void kern_cuda_copy(KernCuda *ctx, void *dst, const void *src, size_t bytes)
{
    kern_cuda_check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, ctx->stream));
}

extern "C" double kern_cuda_time_ms(KernCuda *ctx, void (*fn)(void *arg), void *arg, int warmup,
                                    int reps, int flush_l2)
{
    if (flush_l2 && !ctx->flush) {
        int dev = 0, l2 = 0;
        kern_cuda_check(cudaGetDevice(&dev));
        kern_cuda_check(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, dev));
        ctx->flush_bytes = 2 * (size_t)(l2 > 0 ? l2 : 64 << 20);
        kern_cuda_check(cudaMalloc(&ctx->flush, ctx->flush_bytes));
    }
    for (int i = 0; i < warmup; i++)
        fn(arg);
    kern_cuda_sync(ctx);
    std::vector<cudaEvent_t> ev(2 * (size_t)reps);
    for (auto &e : ev)
        kern_cuda_check(cudaEventCreate(&e));
    for (int i = 0; i < reps; i++) {
        if (flush_l2)
            kern_cuda_check(cudaMemsetAsync(ctx->flush, i & 0xff, ctx->flush_bytes, ctx->stream));
        kern_cuda_check(cudaEventRecord(ev[2 * i], ctx->stream));
        fn(arg);
        kern_cuda_check(cudaEventRecord(ev[2 * i + 1], ctx->stream));
    }
    kern_cuda_sync(ctx);
    std::vector<float> ms((size_t)reps);
    for (int i = 0; i < reps; i++)
        kern_cuda_check(cudaEventElapsedTime(&ms[i], ev[2 * i], ev[2 * i + 1]));
    for (auto &e : ev)
        kern_cuda_check(cudaEventDestroy(e));
    std::sort(ms.begin(), ms.end());
    return reps ? ms[(size_t)reps / 2] : 0.0;
}
