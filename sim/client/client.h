/* client.h: the client model (--client SPEC): what the sender of a request
 * does when the service is slow or fails.  A plug-in says, per attempt, when
 * its client gives up (a deadline on the whole request, on the first token,
 * or a drawn patience) and, after an attempt that did not complete, when it
 * sends the request again.  The engine enforces the deadlines (a request
 * given up while queued leaves the queue; one given up while running is cut
 * at the next iteration boundary and frees its KV blocks) and replays the
 * retries as new attempts linked to their original request. */
#ifndef SERVESIM_CLIENT_H
#define SERVESIM_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include <gsl/gsl_rng.h>

#include "opts.h"
#include "request.h"

typedef struct ClientDeadlines {
    double give_up_s;        /* absolute simulated seconds; INFINITY: never */
    ReqFailReason give_up_why;
    double ttft_deadline_s;  /* no first token by then: give up; INFINITY: none */
} ClientDeadlines;

typedef struct ClientOps {
    const char *name;
    const char *help;
    const OptSpec *opts;
    size_t opts_size;
    size_t priv_size;
    int (*init)(void *priv, const void *opts, gsl_rng *rng);
    /* Attempt r (arrival_s, attempt, original_arrival_s set) arrives. */
    ClientDeadlines (*deadlines)(void *priv, const Request *r);
    /* Attempt r ended without completing (failed, rejected or cancelled, its
     * reason in fail_reason) at now_s: the next attempt's arrival, or NAN
     * when the client stops trying. */
    double (*retry_at)(void *priv, const Request *r, double now_s);
} ClientOps;

extern const ClientOps *const client_registry[]; /* NULL-terminated */
const ClientOps *client_find(const char *name);

/* Reasons a retry can help: the load's, not the request's (a prompt over
 * the context or a failure the trace records fails again). */
bool client_reason_retryable(ReqFailReason why);

#endif
