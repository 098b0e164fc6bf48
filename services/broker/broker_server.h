/*
 * broker_server.h - the broker loop: routes requests by service name to the
 * least-recently-used live worker with credit (Majordomo-style).
 *
 * One ROUTER socket serves clients ("LZC01") and workers ("LZW01"); the
 * grammar and the behaviour are in services/broker/README.md.  The broker
 * never unpacks an envelope: it reads the service, request id and deadline
 * from the client's own frames and checks every size first.
 */
#ifndef LZ_BROKER_SERVER_H
#define LZ_BROKER_SERVER_H

#include <stddef.h>

typedef struct {
    const char *bind; /* endpoint to bind, e.g. "tcp://127.0.0.1:25555" */
    int heartbeat_ms; /* heartbeat unit; also the grace for services without workers */
    size_t frame_max; /* largest envelope accepted, bytes */
    size_t queue_max; /* most requests waiting per service */
} broker_params_t;

typedef struct broker_s broker_t;

/* Return a broker bound to params->bind, or NULL (logged) when it cannot
 * bind; caller destroys it.  params is copied. */
broker_t *broker_new(const broker_params_t *params);
/* Tell the workers to go, close the socket, free everything; nulls *self_p. */
void broker_destroy(broker_t **self_p);
/* Serve until SIGINT/SIGTERM (zsys_interrupted) or broker_stop; 0 on a clean
 * stop, -1 when the socket fails. */
int broker_run(broker_t *self);
/* Ask broker_run to return (from any thread; seen within 250 ms). */
void broker_stop(broker_t *self);

#endif
