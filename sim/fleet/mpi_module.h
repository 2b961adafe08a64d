/* mpi_module.h: the MPI transport for `servesim sweep`, loaded only under mpirun.
 *
 * Linking OpenMPI into `servesim` made every command load and relocate
 * libmpi, libopen-rte, libopen-pal, hwloc, libevent and libudev (~1 ms of
 * start-up, against a 15 ms budget for a whole run), yet only a sweep that
 * mpirun launched uses it.  So the MPI calls live in a shared module,
 * libservesim_mpi.so (mpi_transport.c), built beside the binary when OpenMPI
 * is found, and dlopen()ed by `servesim sweep` when mpi_module_launched().
 * The module is looked for in $SERVESIM_MPI_MODULE, then beside the running
 * executable, then in the build directory recorded at configure time.
 *
 * The API is a transport, not MPI: no MPI type crosses it.  Every function
 * but last_error is collective (all ranks call it, in the same order) and
 * returns 0 or a negative errno, the same on every rank where that matters
 * (allreduce_max, gather_bytes), with last_error() saying why. */
#ifndef SERVESIM_FLEET_MPI_MODULE_H
#define SERVESIM_FLEET_MPI_MODULE_H

#include <stdbool.h>
#include <stddef.h>

/* Bumped whenever MpiTransport changes, so a stale module is refused
 * instead of called through the wrong pointers. */
#define MPI_TRANSPORT_ABI 1

typedef struct MpiWorld {
    int rank;         /* this process, 0 .. size - 1 */
    int size;         /* processes in the job */
    int local_size;   /* processes of the job on this node (they share its cores) */
} MpiWorld;

typedef struct MpiTransport {
    int abi;   /* MPI_TRANSPORT_ABI as the module was built */
    /* Start MPI (threads may run, only the calling thread talks MPI) and
     * describe the job.  May consume mpirun's arguments from argc/argv. */
    int (*init)(int *argc, char ***argv, MpiWorld *world);
    /* *value becomes the maximum of every rank's *value, on every rank. */
    int (*allreduce_max)(int *value);
    /* Every rank sends its len bytes.  Rank 0 gets *all: the ranks' bytes
     * concatenated in rank order, then a NUL; and *offsets: size + 1 entries,
     * rank r's bytes at (*all)[offsets[r] .. offsets[r + 1]).  Both malloc'd,
     * for the caller to free(); other ranks get NULL. */
    int (*gather_bytes)(const char *mine, size_t len, char **all, size_t **offsets);
    int (*finalize)(void);
    /* The last failure's message (module-owned, valid until the next call). */
    const char *(*last_error)(void);
} MpiTransport;

/* The module's only export. */
const MpiTransport *servesim_mpi_transport(void);

/* Was this process started by mpirun/srun?  (A plain run must not start MPI.) */
bool mpi_module_launched(void);

/* Load the module once (thread-safe); 0 or a negative errno with a message
 * naming the file looked for and dlerror(), or saying this build has no MPI. */
int mpi_module_load(const MpiTransport **api);

#endif
