/* mpi_transport.c: libservesim_mpi.so, the one place servesim calls MPI
 * (see mpi_module.h for why it is a module and what each call promises).
 * It uses only MPI and libc, so it links nothing of libservesim. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <mpi.h>

#include "mpi_module.h"

static char last_error_message[MPI_MAX_ERROR_STRING + 128];

static int transport_fail(const char *call, int code)
{
    char text[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    if (MPI_Error_string(code, text, &len) != MPI_SUCCESS)
        snprintf(text, sizeof(text), "MPI error %d", code);
    snprintf(last_error_message, sizeof(last_error_message), "%s: %s", call, text);
    return -EIO;
}

static int transport_init(int *argc, char ***argv, MpiWorld *world)
{
    /* The sweep's worker threads never call MPI; only the main thread does. */
    int provided, rc = MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
    if (rc != MPI_SUCCESS) return transport_fail("MPI_Init_thread", rc);
    if ((rc = MPI_Comm_rank(MPI_COMM_WORLD, &world->rank)) != MPI_SUCCESS)
        return transport_fail("MPI_Comm_rank", rc);
    if ((rc = MPI_Comm_size(MPI_COMM_WORLD, &world->size)) != MPI_SUCCESS)
        return transport_fail("MPI_Comm_size", rc);
    /* Ranks sharing a node share its cores: the caller divides its threads by this. */
    MPI_Comm node;
    rc = MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
    if (rc != MPI_SUCCESS) return transport_fail("MPI_Comm_split_type", rc);
    rc = MPI_Comm_size(node, &world->local_size);
    MPI_Comm_free(&node);
    return rc == MPI_SUCCESS ? 0 : transport_fail("MPI_Comm_size(node)", rc);
}

static int transport_allreduce_max(int *value)
{
    int rc = MPI_Allreduce(MPI_IN_PLACE, value, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return rc == MPI_SUCCESS ? 0 : transport_fail("MPI_Allreduce", rc);
}

/* Every rank learns every length first (Allgather, not Gather), so when the
 * total exceeds MPI's int counts all ranks fail together instead of rank 0
 * alone leaving the others blocked in Gatherv. */
static int transport_gather_bytes(const char *mine, size_t len, char **all, size_t **offsets)
{
    int rank, size, rc;
    *all = NULL, *offsets = NULL;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    uint64_t my_len = len, *lens = malloc((size_t)size * sizeof(*lens));
    int *counts = malloc((size_t)size * sizeof(*counts));
    int *displs = malloc((size_t)size * sizeof(*displs));
    size_t *offs = malloc(((size_t)size + 1) * sizeof(*offs));
    char *recv = NULL;
    if (!lens || !counts || !displs || !offs) {
        snprintf(last_error_message, sizeof(last_error_message), "gather: out of memory");
        MPI_Abort(MPI_COMM_WORLD, 1); /* a collective cannot be left half-done */
    }
    rc = MPI_Allgather(&my_len, 1, MPI_UINT64_T, lens, 1, MPI_UINT64_T, MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) { rc = transport_fail("MPI_Allgather", rc); goto done; }
    uint64_t total = 0;
    for (int r = 0; r < size; r++) {
        offs[r] = (size_t)total;
        counts[r] = (int)lens[r], displs[r] = (int)total;
        total += lens[r];
        if (total > INT_MAX) {
            snprintf(last_error_message, sizeof(last_error_message),
                     "gather: %llu bytes from %d ranks exceed MPI's int counts",
                     (unsigned long long)total, size);
            rc = -EOVERFLOW;
            goto done;
        }
    }
    offs[size] = (size_t)total;
    if (rank == 0 && !(recv = malloc((size_t)total + 1))) {
        snprintf(last_error_message, sizeof(last_error_message), "gather: out of memory");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    rc = MPI_Gatherv(mine, (int)my_len, MPI_CHAR, recv, counts, displs, MPI_CHAR, 0,
                     MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) { rc = transport_fail("MPI_Gatherv", rc); goto done; }
    rc = 0;
    if (rank == 0) {
        recv[total] = '\0';
        *all = recv, *offsets = offs;
        recv = NULL, offs = NULL;
    }
done:
    free(lens), free(counts), free(displs), free(offs), free(recv);
    return rc;
}

static int transport_finalize(void)
{
    int rc = MPI_Finalize();
    return rc == MPI_SUCCESS ? 0 : transport_fail("MPI_Finalize", rc);
}

static const char *transport_last_error(void) { return last_error_message; }

static const MpiTransport transport = {
    .abi = MPI_TRANSPORT_ABI,
    .init = transport_init,
    .allreduce_max = transport_allreduce_max,
    .gather_bytes = transport_gather_bytes,
    .finalize = transport_finalize,
    .last_error = transport_last_error,
};

__attribute__((visibility("default"))) const MpiTransport *servesim_mpi_transport(void)
{
    return &transport;
}
