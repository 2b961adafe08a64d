/* out_file.c: temporary file + rename, and the registry a signal handler
 * cleans up from.  See out_file.h.
 *
 * The registry is a fixed array of slots (path + state) that the signal
 * handler only reads.  Threads change it under `lock`, inside a region
 * counted by `busy`; a signal that arrives while busy > 0 is only recorded
 * (`pending`), and whoever ends the last region acts on it.  With
 * sequentially consistent atomics, either the handler sees busy == 0 and
 * cleans up itself, or the thread leaving the region sees `pending` and
 * does; a region never starts once a signal is pending.  No signal is ever
 * acted on half-way through a rename or a slot update.
 *
 * The stream is a fopencookie() over the descriptor so that the errno of the
 * first failed write(2) is kept: stdio only keeps a flag, and by the time the
 * file is closed errno says nothing about a disk that filled an hour ago. */
#define _GNU_SOURCE /* fopencookie */
#include "out_file.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

enum { SLOT_FREE, SLOT_TEMP, SLOT_COMMITTED, SLOT_DIR };

typedef struct Slot {
    char *path;          /* the temporary name, or the committed file, or the directory */
    atomic_int state;
    unsigned generation; /* an OutFile's slot was not reused under it */
} Slot;

#define MAX_SLOTS 64
#define STREAM_BUFFER_BYTES ((size_t)1 << 16)

static Slot slots[MAX_SLOTS];
static atomic_int n_slots;          /* high-water mark: the handler scans [0, n_slots) */
static atomic_int busy, pending;    /* see the comment at the top */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned temp_counter;
static bool handlers_installed;

struct OutFile {
    FILE *f;
    int fd;
    int write_errno;     /* the first write(2) or close(2) that failed */
    char *buffer;
    char *temp_path, *final_path;
    int slot;
    unsigned generation;
};

/* Newest first: files before the directories they were created in, child
 * directories before their parents.  unlink/rmdir only: async-signal-safe. */
static void remove_registered(void)
{
    for (int i = atomic_load(&n_slots) - 1; i >= 0; i--) {
        int s = atomic_load(&slots[i].state);
        if (s == SLOT_TEMP || s == SLOT_COMMITTED) unlink(slots[i].path);
        else if (s == SLOT_DIR) rmdir(slots[i].path);
    }
}

static void cleanup_and_exit(int sig)
{
    remove_registered();
    static const char msg[] = "servesim: interrupted: the files this run created were removed\n";
    ssize_t ignored = write(STDERR_FILENO, msg, sizeof(msg) - 1);
    (void)ignored;
    _exit(128 + sig); /* 130 for SIGINT, 143 for SIGTERM */
}

static void on_signal(int sig)
{
    atomic_store(&pending, sig);
    if (atomic_load(&busy) == 0) cleanup_and_exit(sig);
}

static void install_handlers(void)
{
    if (handlers_installed) return;
    handlers_installed = true;
    static const int sigs[] = { SIGINT, SIGTERM };
    for (size_t i = 0; i < SS_ARRAY_LEN(sigs); i++) {
        struct sigaction old, sa;
        /* An ignored signal (nohup, a background job) stays ignored. */
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN) continue;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESTART;
        sigaction(sigs[i], &sa, NULL);
    }
    signal(SIGXFSZ, SIG_IGN); /* an over-size write fails with EFBIG instead */
}

static void region_begin(void)
{
    pthread_mutex_lock(&lock);
    atomic_fetch_add(&busy, 1);
    int sig = atomic_load(&pending);
    if (sig) cleanup_and_exit(sig);
}

static void region_end(void)
{
    atomic_fetch_sub(&busy, 1);
    pthread_mutex_unlock(&lock);
    int sig = atomic_load(&pending);
    if (sig && atomic_load(&busy) == 0) cleanup_and_exit(sig);
}

/* Inside a region: a free slot holding `path` (owned) in `state`, or -1. */
static int slot_add(char *path, int state, unsigned *generation)
{
    install_handlers();
    int n = atomic_load(&n_slots);
    int i = 0;
    while (i < n && atomic_load(&slots[i].state) != SLOT_FREE) i++;
    if (i == MAX_SLOTS) return -1;
    free(slots[i].path);
    slots[i].path = path;            /* written before the state publishes it */
    slots[i].generation++;
    if (generation) *generation = slots[i].generation;
    atomic_store(&slots[i].state, state);
    if (i == n) atomic_store(&n_slots, n + 1);
    return i;
}

static bool slot_is(const OutFile *o, int state)
{
    return o->slot >= 0 && slots[o->slot].generation == o->generation &&
           atomic_load(&slots[o->slot].state) == state;
}

/* DIR/.BASE.tmp.PID.N beside `final_path`. */
static char *temp_name(const char *final_path, unsigned n)
{
    const char *slash = strrchr(final_path, '/');
    size_t dir_len = slash ? (size_t)(slash - final_path) + 1 : 0;
    const char *base = final_path + dir_len;
    size_t cap = strlen(final_path) + 64;
    char *p = ss_malloc(cap);
    snprintf(p, cap, "%.*s.%s.tmp.%ld.%u", (int)dir_len, final_path, base, (long)getpid(), n);
    return p;
}

int out_file_reserve(OutFile **out, const char *final_path)
{
    *out = NULL;
    size_t len = strlen(final_path);
    if (len == 0 || final_path[len - 1] == '/')
        return ss_error_set(EISDIR, "%s: not a file name", final_path);
    OutFile *o = ss_calloc(1, sizeof(*o));
    o->final_path = ss_strdup(final_path);
    o->slot = -1;
    o->fd = -1;
    region_begin();
    int fd = -1, err = 0;
    for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
        free(o->temp_path);
        o->temp_path = temp_name(final_path, temp_counter++);
        fd = open(o->temp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        err = fd < 0 ? errno : 0;
        if (fd < 0 && err != EEXIST) break;
    }
    if (fd >= 0) {
        close(fd); /* an empty file now holds the name; the writer reopens it */
        o->slot = slot_add(ss_strdup(o->temp_path), SLOT_TEMP, &o->generation);
        if (o->slot < 0) { unlink(o->temp_path); err = EMFILE; }
    }
    region_end();
    if (err) {
        free(o->temp_path);
        free(o->final_path);
        free(o);
        return ss_error_set(err, "%s: cannot create: %s", final_path, strerror(err));
    }
    *out = o;
    return 0;
}

static ssize_t cookie_write(void *cookie, const char *buf, size_t n)
{
    OutFile *o = cookie;
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(o->fd, buf + done, n - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            if (!o->write_errno) o->write_errno = w < 0 ? errno : EIO;
            return done ? (ssize_t)done : -1;
        }
        done += (size_t)w;
    }
    return (ssize_t)n;
}

static int cookie_close(void *cookie)
{
    OutFile *o = cookie;
    int r = close(o->fd);
    if (r && !o->write_errno) o->write_errno = errno;
    o->fd = -1;
    return r;
}

int out_file_open(OutFile **out, const char *final_path)
{
    int r = out_file_reserve(out, final_path);
    if (r) return r;
    OutFile *o = *out;
    o->fd = open(o->temp_path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    cookie_io_functions_t io = { .read = NULL, .write = cookie_write, .seek = NULL, .close = cookie_close };
    if (o->fd < 0 || !(o->f = fopencookie(o, "w", io))) {
        int e = errno;
        if (o->fd >= 0) close(o->fd);
        out_file_discard(out);
        return ss_error_set(e, "%s: cannot create: %s", final_path, strerror(e));
    }
    /* Per-request rows are small and many: 64 KiB buffers, not 4 KiB write()s. */
    o->buffer = ss_malloc(STREAM_BUFFER_BYTES);
    setvbuf(o->f, o->buffer, _IOFBF, STREAM_BUFFER_BYTES);
    return 0;
}

FILE *out_file_stream(OutFile *o) { return o->f; }
const char *out_file_temp_path(const OutFile *o) { return o->temp_path; }
const char *out_file_final_path(const OutFile *o) { return o->final_path; }

static void out_file_free(OutFile *o)
{
    free(o->buffer);
    free(o->temp_path);
    free(o->final_path);
    free(o);
}

/* No fsync: a simulator's results are rewritten by rerunning it, and a
 * sync per file would put disk latency into every run's wall time.  A full
 * disk or a quota is reported by write() or close(), which are checked. */
int out_file_commit(OutFile **po)
{
    OutFile *o = *po;
    *po = NULL;
    if (!o) return 0;
    int err = 0;
    if (o->f) {
        bool failed = fflush(o->f) != 0 || ferror(o->f);
        failed |= fclose(o->f) != 0;
        o->f = NULL;
        if (failed) err = o->write_errno ? o->write_errno : EIO;
    }
    region_begin();
    if (!err && !slot_is(o, SLOT_TEMP)) err = ENOENT; /* abandoned under us */
    if (!err && rename(o->temp_path, o->final_path)) err = errno;
    if (o->slot >= 0 && slots[o->slot].generation == o->generation) {
        Slot *s = &slots[o->slot];
        if (err) {
            unlink(o->temp_path);
            atomic_store(&s->state, SLOT_FREE);
        } else {
            /* Still this run's until out_file_keep_all: the same slot now names the result. */
            atomic_store(&s->state, SLOT_FREE);
            free(s->path);
            s->path = ss_strdup(o->final_path);
            atomic_store(&s->state, SLOT_COMMITTED);
        }
    }
    region_end();
    if (err) ss_error_set(err, "%s: write failed: %s", o->final_path, strerror(err));
    out_file_free(o);
    return err ? -err : 0;
}

void out_file_discard(OutFile **po)
{
    OutFile *o = *po;
    *po = NULL;
    if (!o) return;
    if (o->f) fclose(o->f);
    region_begin();
    if (slot_is(o, SLOT_TEMP)) {
        unlink(o->temp_path);
        atomic_store(&slots[o->slot].state, SLOT_FREE);
    }
    region_end();
    out_file_free(o);
}

void out_file_note_dir(const char *path)
{
    region_begin();
    slot_add(ss_strdup(path), SLOT_DIR, NULL); /* full: the directory just stays */
    region_end();
}

void out_file_abandon_all(void)
{
    region_begin();
    remove_registered();
    for (int i = 0; i < atomic_load(&n_slots); i++) atomic_store(&slots[i].state, SLOT_FREE);
    region_end();
}

void out_file_keep_all(void)
{
    region_begin();
    for (int i = 0; i < atomic_load(&n_slots); i++) {
        int s = atomic_load(&slots[i].state);
        if (s == SLOT_COMMITTED || s == SLOT_DIR) atomic_store(&slots[i].state, SLOT_FREE);
    }
    region_end();
}

int out_file_dump_json(const char *path, const json_t *j, size_t flags)
{
    OutFile *o;
    int r = out_file_open(&o, path);
    if (r) return r;
    if (json_dumpf(j, out_file_stream(o), flags)) {
        int e = errno ? errno : EIO;
        out_file_discard(&o);
        return ss_error_set(e, "%s: write failed: %s", path, strerror(e));
    }
    return out_file_commit(&o);
}
