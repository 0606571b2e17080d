// shim/send.c: zg_send_batch, the batched multipart send. Part of the unity build in
// native/zgate-shim.c.
//
// Invariants
// - Outbox wire layout read by zg_send_batch (src/zmq/outbox.ts writes it), repeated:
//     u32 little-endian header = frame length (bits 0-30) | ZG_FRAME_MORE (bit 31)
//     frame bytes
//   A frame with ZG_FRAME_MORE clear ends its message. The host is little endian.
// - A batch stops only on a message boundary and never half-sends a message: the returned
//   byte count tells JS what to keep. Failures go in stats[ZG_STAT_ERRNO], read right after
//   the failing zmq_send.
// - One FFI crossing per batch; TinyCC does not optimize, so the loop keeps libzmq's
//   function pointer in a local.

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "abi.h"


/** Read a u32 frame header. A macro: TinyCC never inlines functions. x86-64 and arm64 are
 *  little endian and allow unaligned loads; memcpy keeps it well defined. */
#define ZG_READ_U32(dst, p) memcpy(&(dst), (p), 4)

/**
 * Send the framed messages in buf[0, len) with ZMQ_DONTWAIT, in order. Returns the bytes
 * consumed, always a message boundary: the caller keeps buf[ret, len) for a later call.
 *
 * libzmq behaviour relied on (4.3.x socket_base_t::send, lb_t, router_t, dist_t):
 * - EAGAIN on the FIRST frame of a message means nothing of it was queued: stop there
 *   (after one retry if ZMQ_EVENTS shows the socket became writable, see below).
 * - Once a first frame is accepted, PUSH/DEALER (lb_t) and ROUTER accept the remaining
 *   frames: pipe_t::check_hwm counts whole messages, so the HWM cannot trip mid-message.
 *   The one exception is the peer's pipe dying between two frames: lb_t rolls back,
 *   returns EAGAIN once, and then silently swallows the rest of that message ("dropping"
 *   mode). We therefore keep sending the remaining frames, ignoring their results, and
 *   count the message as dropped; the socket is back at a message boundary either way.
 * - ROUTER with ROUTER_MANDATORY fails the first (routing id) frame with EHOSTUNREACH for
 *   an unknown peer without queueing anything: skip that message and count it as dropped.
 * - PUB (dist_t) never returns EAGAIN; it drops at the HWM itself.
 * With want_events, ZMQ_EVENTS is read afterwards into ZG_STAT_EVENTS (for sockets the
 * poller watches: sending may have consumed their ZMQ_FD signal). It costs a syscall.
 */
int zg_send_batch(void *sock, const uint8_t *buf, int len, int want_events, int32_t *stats) {
    int (*send)(void *, const void *, size_t, int) = Z.send;
    int off = 0;
    int retried_at = -1;
    stats[ZG_STAT_ERRNO] = 0;
    stats[ZG_STAT_MESSAGES] = 0;
    stats[ZG_STAT_DROPPED] = 0;
    stats[ZG_STAT_BLOCKED] = 0;
    while (off < len) {
        // Find the message end first, so a malformed buffer never half-sends a message.
        int end = off;
        uint32_t hdr;
        do {
            if (len - end < ZG_FRAME_HEADER_BYTES) goto malformed;
            ZG_READ_U32(hdr, buf + end);
            uint32_t flen = hdr & ZG_FRAME_LEN_MASK;
            if ((uint32_t)(len - end - ZG_FRAME_HEADER_BYTES) < flen) goto malformed;
            end += ZG_FRAME_HEADER_BYTES + (int)flen;
        } while (hdr & ZG_FRAME_MORE);

        int p = off;
        int failed = 0;
        int stop = 0;
        int retry = 0;
        while (p < end) {
            ZG_READ_U32(hdr, buf + p);
            int flen = (int)(hdr & ZG_FRAME_LEN_MASK);
            int flags = ZG_ZMQ_DONTWAIT | ((hdr & ZG_FRAME_MORE) ? ZG_ZMQ_SNDMORE : 0);
            int rc = send(sock, buf + p + ZG_FRAME_HEADER_BYTES, (size_t)flen, flags);
            if (rc < 0 && !failed) {
                int e = Z.errno_();
                if (p == off) {
                    if (e == EHOSTUNREACH) { failed = 1; break; }
                    if (e == EAGAIN && retried_at != off) {
                        // zmq_send processes pending commands at most about once per ms
                        // (socket_base_t::send throttles process_commands), so the peer's
                        // "activate_write" may be queued unseen. Reading ZMQ_EVENTS
                        // processes commands unthrottled; if the socket is writable now,
                        // try this message once more. Without this a polled sender could
                        // stall: the fd signal is consumed, yet nothing was sent.
                        int ev = 0;
                        size_t evlen = sizeof ev;
                        retried_at = off;
                        if (Z.getsockopt(sock, ZG_ZMQ_EVENTS, &ev, &evlen) == 0 && (ev & ZG_ZMQ_POLLOUT)) {
                            retry = 1;
                            break;
                        }
                    }
                    if (e == EAGAIN || e == EINTR) stats[ZG_STAT_BLOCKED] = 1;
                    else stats[ZG_STAT_ERRNO] = e;
                    stop = 1;
                    break;
                }
                // Mid-message failure: finish the message (libzmq discards the rest).
                failed = 1;
                if (e != EAGAIN && e != EINTR) stats[ZG_STAT_ERRNO] = e;
            }
            p += ZG_FRAME_HEADER_BYTES + flen;
        }
        if (retry) continue;
        if (stop) break;
        if (failed) stats[ZG_STAT_DROPPED]++;
        else stats[ZG_STAT_MESSAGES]++;
        off = end;
        if (stats[ZG_STAT_ERRNO] != 0) break;
    }
    stats[ZG_STAT_BYTES] = off;
    stats[ZG_STAT_EVENTS] = 0;
    if (want_events) {
        int ev = 0;
        size_t evlen = sizeof ev;
        if (Z.getsockopt(sock, ZG_ZMQ_EVENTS, &ev, &evlen) == 0) stats[ZG_STAT_EVENTS] = ev;
    }
    return off;

malformed:
    stats[ZG_STAT_ERRNO] = EINVAL;
    stats[ZG_STAT_BYTES] = off;
    stats[ZG_STAT_EVENTS] = 0;
    return off;
}
