// shim/recv.c: zg_recv_batch and the per-socket receive state it keeps between calls. Part
// of the unity build in native/zgate-shim.c.
//
// Invariants
// - Inbox layout written by zg_recv_batch (src/zmq/inbox.ts reads it): frame bytes back to
//   back in `buf`, located by an int32 index: index[0..maxMessages] holds each message's
//   first frame number (and the total frame count after the last message);
//   index[maxMessages + 1 + 2*f] and [.. + 1] hold frame f's start and end offsets in `buf`.
// - Only whole messages are delivered: one that does not fit yet is held in zg_rx_t as
//   zmq_msg_t parts (no copy) and comes first next call; one that can never fit is received
//   and dropped, counted in stats[ZG_STAT_DROPPED].
// - Every held zmq_msg_t is closed exactly once (zg_rx_reset), including on zg_rx_free.

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "abi.h"


/**
 * Per-socket receive state: the frames of the message being received, held as zmq_msg_t
 * until the whole message fits in the caller's buffer. `complete` is set once the last
 * frame is in; `dropping` while the rest of an oversized message is being discarded.
 */
typedef struct {
    zg_msg_t *parts;
    int nparts;
    int cap;
    int64_t size;
    int complete;
    int dropping;
} zg_rx_t;

#define ZG_RX_PARTS_INITIAL 8

zg_rx_t *zg_rx_new(void) {
    zg_rx_t *rx = (zg_rx_t *)calloc(1, sizeof(zg_rx_t));
    if (!rx) return NULL;
    rx->parts = (zg_msg_t *)malloc(sizeof(zg_msg_t) * ZG_RX_PARTS_INITIAL);
    if (!rx->parts) { free(rx); return NULL; }
    rx->cap = ZG_RX_PARTS_INITIAL;
    return rx;
}

static void zg_rx_reset(zg_rx_t *rx) {
    for (int i = 0; i < rx->nparts; i++) Z.msg_close(&rx->parts[i]);
    rx->nparts = 0;
    rx->size = 0;
    rx->complete = 0;
}

void zg_rx_free(zg_rx_t *rx) {
    if (!rx) return;
    zg_rx_reset(rx);
    free(rx->parts);
    free(rx);
}

/** 1 when a message is held between calls (received, not yet delivered). */
int zg_rx_pending(zg_rx_t *rx) { return rx->nparts > 0 || rx->complete; }

/**
 * Receive whole messages with ZMQ_DONTWAIT into buf (layout in the file header), at most
 * maxMessages messages and maxFrames frames. Returns the number of messages written.
 * A message that does not fit in what is left of buf (or of the frame index) stays held
 * in rx and is delivered first by the next call. A message larger than cap bytes or with
 * more than maxFrames frames can never fit: it is received and discarded (counted in
 * ZG_STAT_DROPPED). Relies on libzmq's atomic multipart delivery: once the first frame is
 * readable, the rest are too; a mid-message EAGAIN is still handled by keeping the
 * partial message in rx.
 */
int zg_recv_batch(void *sock, zg_rx_t *rx, uint8_t *buf, int cap, int32_t *index,
                  int maxMessages, int maxFrames, int32_t *stats) {
    // Locals instead of globals and struct fields: TinyCC does not optimize, and this
    // loop runs once per message.
    int (*msg_init)(zg_msg_t *) = Z.msg_init;
    int (*msg_recv)(zg_msg_t *, void *, int) = Z.msg_recv;
    void *(*msg_data)(zg_msg_t *) = Z.msg_data;
    size_t (*msg_size)(const zg_msg_t *) = Z.msg_size;
    int (*msg_more)(const zg_msg_t *) = Z.msg_more;
    int (*msg_close)(zg_msg_t *) = Z.msg_close;
    int32_t *first = index;
    int32_t *offs = index + maxMessages + 1;
    int nmsg = 0;
    int nfr = 0;
    int pos = 0;
    int dropped = 0;
    stats[ZG_STAT_ERRNO] = 0;
    stats[ZG_STAT_BLOCKED] = 0;
    while (nmsg < maxMessages) {
        if (rx->nparts == 0 && !rx->dropping) {
            // Fast path: a single-frame message that fits is copied out at once, without
            // the held-parts bookkeeping. Anything else continues on the general path.
            zg_msg_t *m = rx->parts;
            msg_init(m);
            if (msg_recv(m, sock, ZG_ZMQ_DONTWAIT) < 0) {
                int e = Z.errno_();
                msg_close(m);
                if (e != EAGAIN && e != EINTR) stats[ZG_STAT_ERRNO] = e;
                goto done;
            }
            size_t n = msg_size(m);
            int more = msg_more(m);
            if (!more && n <= (size_t)(cap - pos) && nfr < maxFrames) {
                first[nmsg] = nfr;
                if (n > 0) memcpy(buf + pos, msg_data(m), n);
                offs[2 * nfr] = pos;
                pos += (int)n;
                offs[2 * nfr + 1] = pos;
                nfr++;
                nmsg++;
                msg_close(m);
                continue;
            }
            rx->nparts = 1;
            rx->size = (int64_t)n;
            if (rx->size > cap || maxFrames < 1) {
                zg_rx_reset(rx);
                if (more) rx->dropping = 1;
                else dropped++;
                continue;
            }
            if (!more) rx->complete = 1;
        }
        while (!rx->complete) {
            if (rx->nparts == rx->cap) {
                zg_msg_t *grown = (zg_msg_t *)realloc(rx->parts, sizeof(zg_msg_t) * rx->cap * 2);
                if (!grown) {
                    // Out of memory: discard what is held and the rest of this message.
                    zg_rx_reset(rx);
                    rx->dropping = 1;
                } else {
                    rx->parts = grown;
                    rx->cap *= 2;
                }
            }
            zg_msg_t *m = &rx->parts[rx->nparts];
            msg_init(m);
            if (msg_recv(m, sock, ZG_ZMQ_DONTWAIT) < 0) {
                int e = Z.errno_();
                msg_close(m);
                if (e != EAGAIN && e != EINTR) stats[ZG_STAT_ERRNO] = e;
                goto done;
            }
            int more = msg_more(m);
            if (rx->dropping) {
                msg_close(m);
                if (!more) {
                    rx->dropping = 0;
                    dropped++;
                    break; // back to the outer loop: the next message may take the fast path
                }
                continue;
            }
            rx->size += (int64_t)msg_size(m);
            rx->nparts++;
            if (rx->size > cap || rx->nparts > maxFrames) {
                zg_rx_reset(rx);
                if (more) rx->dropping = 1;
                else { dropped++; break; }
                continue;
            }
            if (!more) rx->complete = 1;
        }
        if (!rx->complete) continue; // a message was just dropped
        if (pos + rx->size > cap || nfr + rx->nparts > maxFrames) {
            stats[ZG_STAT_BLOCKED] = 1;
            break;
        }
        first[nmsg] = nfr;
        for (int i = 0; i < rx->nparts; i++) {
            zg_msg_t *m = &rx->parts[i];
            size_t n = msg_size(m);
            if (n > 0) memcpy(buf + pos, msg_data(m), n);
            offs[2 * nfr] = pos;
            pos += (int)n;
            offs[2 * nfr + 1] = pos;
            nfr++;
        }
        zg_rx_reset(rx);
        nmsg++;
    }
    if (nmsg == maxMessages) stats[ZG_STAT_BLOCKED] = 1;
done:
    first[nmsg] = nfr;
    stats[ZG_STAT_MESSAGES] = nmsg;
    stats[ZG_STAT_DROPPED] = dropped;
    stats[ZG_STAT_BYTES] = pos;
    stats[ZG_STAT_FRAMES] = nfr;
    return nmsg;
}
