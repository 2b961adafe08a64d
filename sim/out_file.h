/* out_file.h: output files that appear whole or not at all.
 *
 * Every file a command writes goes to a temporary name in the directory of
 * its final name (".NAME.tmp.PID.N": the same file system, so the rename is
 * atomic) and is renamed there only once it has been written, flushed and
 * closed without error.  A process-wide registry remembers the temporary
 * files, the final files this run has committed and the directories it
 * created, so that
 *  - a failure (out_file_abandon_all) removes everything this run created:
 *    a later run or reader never finds a partial file under a final name;
 *  - SIGINT / SIGTERM do the same from the signal handler (unlink and rmdir
 *    only: async-signal-safe) and exit 130 / 143.
 * SIGXFSZ (ulimit -f) is ignored so that an over-size write fails with EFBIG
 * and is reported like a full disk, instead of killing the process with its
 * temporary files left behind.  Errors name the file and strerror(errno). */
#ifndef SERVESIM_OUT_FILE_H
#define SERVESIM_OUT_FILE_H

#include <jansson.h>
#include <stdio.h>

typedef struct OutFile OutFile;

/* A temporary file beside `final_path`, open for writing (64 KiB buffer). */
int out_file_open(OutFile **out, const char *final_path);
/* A temporary file beside `final_path`, created empty and not opened: for
 * writers that open a path themselves (gzip, profile_save).  They write to
 * out_file_temp_path() and close it before out_file_commit. */
int out_file_reserve(OutFile **out, const char *final_path);
FILE *out_file_stream(OutFile *o);              /* NULL for a reserved file */
const char *out_file_temp_path(const OutFile *o);
const char *out_file_final_path(const OutFile *o);
/* Flush, fsync, close (each checked), then rename to the final name.  On
 * failure the temporary file is removed and the message names the final
 * path and errno.  *o is NULL afterwards either way. */
int out_file_commit(OutFile **o);
/* Close and remove the temporary file. */
void out_file_discard(OutFile **o);

/* A directory this run created (mkdir succeeded): removed with the files on
 * failure or signal, if empty by then. */
void out_file_note_dir(const char *path);
/* The command failed: remove every temporary file, every file this run
 * committed and every directory it created (newest first).  Open OutFiles
 * stay valid handles (discard them); their names are gone. */
void out_file_abandon_all(void);
/* The command succeeded: its committed files and directories are the
 * result and stay, whatever happens next (a signal while exiting). */
void out_file_keep_all(void);

/* `j` as JSON through a temporary file, committed: json_dump_file's bytes. */
int out_file_dump_json(const char *path, const json_t *j, size_t flags);

#endif
