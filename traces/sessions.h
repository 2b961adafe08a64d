/* sessions.h: prefix hashes derived from a session trace (--sessions
 * cumulative; internal to traces/).
 *
 * Turn k of a session is taken to send the whole conversation so far: its
 * prompt (the trace's Request tokens) = turns 1..k-1's prompts and responses,
 * then the new user tokens.  So turn k's leading blocks that lie wholly
 * inside turn k-1's prompt are turn k-1's blocks, and keep its hashes; the
 * rest (turn k-1's partial last block, its response, the new tokens) are new.
 * A turn shorter than the history it should hold breaks the assumption: it
 * shares only the blocks inside both prompts and is counted.
 *
 * Memory: one entry per session seen (its key and its last prompt's hashes,
 * 8 bytes per block), kept to the end since a session may come back. */
#ifndef SERVESIM_TRACE_SESSIONS_H
#define SERVESIM_TRACE_SESSIONS_H

#include <stdbool.h>
#include <stdint.h>

typedef struct SessionHasher SessionHasher;

void session_hasher_create(SessionHasher **out, int32_t block_tokens);
void session_hasher_destroy(SessionHasher **h);
/* The hashes of a turn of `session` ("" = a session of one row): owned by
 * the hasher, valid until the next call.  *short_turn: the prompt is shorter
 * than the previous turn's prompt + response. */
void session_hasher_turn(SessionHasher *h, const char *session, int64_t input_tokens,
                         int64_t output_tokens, const uint64_t **hashes, int32_t *n,
                         bool *short_turn);

#endif
