/* registry.c: the client models, one line each. */
#include <string.h>

#include "client.h"

extern const ClientOps client_none;
extern const ClientOps client_deadline;

const ClientOps *const client_registry[] = { &client_none, &client_deadline, NULL };

const ClientOps *client_find(const char *name)
{
    for (const ClientOps *const *c = client_registry; *c; c++)
        if (!strcmp((*c)->name, name)) return *c;
    return NULL;
}

bool client_reason_retryable(ReqFailReason why)
{
    switch (why) {
    case REQ_REJECT_QUEUE_FULL: case REQ_REJECT_QUEUE_TIMEOUT: case REQ_FAIL_PREEMPTED:
    case REQ_FAIL_TRUNCATED: case REQ_CANCEL_TTFT_TIMEOUT: case REQ_CANCEL_TIMEOUT: case REQ_CANCEL_PATIENCE:
        return true;
    default:
        return false;
    }
}
