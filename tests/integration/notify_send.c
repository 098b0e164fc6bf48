/*
 * notify_send.c - put notification requests on the notifier's stream, as
 * the outbox relay would, for the notifier's tests.
 *
 *   notify_send [--topic T] [--times N] < requests.jsonl
 *
 * Each input line is an lz.NotifyRequest as JSON (field names as in
 * proto/notify.proto, params as [{"key","value"}]); each is appended N times
 * (default 1) to lz:stream:<topic> with the fields id, key, payload, at.
 * Settings: LZ_REDIS_HOST, LZ_REDIS_PORT.  Prints how many entries it added.
 */
#include "clock.h"
#include "notify.pb-c.h"
#include "pbjson.h"
#include "rds.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    const char *topic = "notify.request";
    long times = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--topic"))
            topic = argv[i + 1];
        else if (!strcmp(argv[i], "--times"))
            times = strtol(argv[i + 1], NULL, 10);
    }
    const char *host = getenv("LZ_REDIS_HOST");
    const char *port = getenv("LZ_REDIS_PORT");
    rds_t *r =
        rds_connect(host ? host : "127.0.0.1", port ? (int)strtol(port, NULL, 10) : 26379, 2000);
    if (!r)
        return 1;
    char line[65536], stream[160];
    snprintf(stream, sizeof stream, "lz:stream:%s", topic);
    long added = 0, n = 0;
    while (fgets(line, sizeof line, stdin)) {
        json_error_t err;
        json_t *o = json_loads(line, 0, &err);
        if (!o)
            continue;
        char field[128], msg[256];
        ProtobufCMessage *m = pbjson_to_message(&lz__notify_request__descriptor, o, field,
                                                sizeof field, msg, sizeof msg);
        if (!m) {
            fprintf(stderr, "notify_send: %s %s\n", field, msg);
            return 1;
        }
        size_t len = protobuf_c_message_get_packed_size(m);
        uint8_t *buf = malloc(len + 1);
        protobuf_c_message_pack(m, buf);
        const Lz__NotifyRequest *nr = (const Lz__NotifyRequest *)m;
        for (long k = 0; k < times; k++) {
            char id[24], at[24];
            snprintf(id, sizeof id, "%ld", ++n);
            snprintf(at, sizeof at, "%lld", (long long)clock_now_ms());
            redisReply *rep = rds_cmd(r, "XADD %s * id %s key %s payload %b at %s", stream, id,
                                      nr->dedupe_key ? nr->dedupe_key : "", buf, len, at);
            if (rep)
                added++;
            rds_free(&rep);
        }
        free(buf);
        pbjson_free(&m);
    }
    printf("%ld\n", added);
    rds_destroy(&r);
    return 0;
}
