// zgate-shim.c: batched ZeroMQ I/O and a file-descriptor poller thread for zgate.
//
// Compiled at run time by bun:ffi `cc` (TinyCC) from src/zmq/ffi.ts, which is the only
// caller. This file never links libzmq: ffi.ts dlopens libzmq and hands its function
// pointers to zg_init(), in the order of enum zg_fn below.
//
// Invariants
// - Only the JS thread touches ZeroMQ sockets (zg_send_batch, zg_recv_batch, the control
//   wrappers). The poller thread only calls poll(2) on file descriptors and the
//   thread-safe JS callback; ZeroMQ sockets are not thread safe.
// - Every call returns failures as a negative errno (or in a stats slot), read right after
//   the failing libzmq call on the same thread, so nothing between the failure and the
//   read can clobber errno (a separate zmq_errno() FFI call from JS could be).
// - Outbox wire layout read by zg_send_batch, repeated:
//     u32 little-endian header = frame length (bits 0-30) | ZG_FRAME_MORE (bit 31)
//     frame bytes
//   A frame with ZG_FRAME_MORE clear ends its message. The host is little endian.
// - Inbox layout written by zg_recv_batch: frame bytes back to back in `buf`, located by
//   an int32 index: index[0..maxMessages] holds each message's first frame number (and
//   the total frame count after the last message); index[maxMessages + 1 + 2*f] and
//   [.. + 1] hold frame f's start and end offsets in `buf`.

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// --- libzmq ABI (zmq.h 4.x), declared here so no zmq.h is needed at run time ---
#define ZG_ZMQ_DONTWAIT 1
#define ZG_ZMQ_SNDMORE 2
#define ZG_ZMQ_EVENTS 15
#define ZG_ZMQ_POLLOUT 2
#define ZG_ZMQ_LINGER 17
/** zmq_msg_t is an opaque 64-byte, pointer-aligned struct (zmq.h). */
typedef struct { void *align; unsigned char rest[56]; } zg_msg_t;

#define ZG_FRAME_MORE 0x80000000u
#define ZG_FRAME_LEN_MASK 0x7fffffffu
#define ZG_FRAME_HEADER_BYTES 4

/** Slots of the stats array (int32) shared by zg_send_batch and zg_recv_batch. */
enum zg_stat {
    ZG_STAT_ERRNO = 0,    // hard failure errno, 0 when none (EAGAIN/EINTR are not failures)
    ZG_STAT_MESSAGES = 1, // messages sent / received by this call
    ZG_STAT_DROPPED = 2,  // messages dropped by this call
    ZG_STAT_BYTES = 3,    // send: bytes consumed; recv: bytes written to buf
    ZG_STAT_EVENTS = 4,   // send: ZMQ_EVENTS after the batch
    ZG_STAT_FRAMES = 4,   // recv: frames written
    ZG_STAT_BLOCKED = 5,  // 1 when the call stopped at EAGAIN with work left
};

/** Function pointers from ffi.ts, in this exact order (ffi.ts SHIM_IMPORTS mirrors it). */
enum zg_fn {
    ZG_FN_ERRNO,       // int zmq_errno(void)
    ZG_FN_SOCKET,      // void *zmq_socket(void *ctx, int type)
    ZG_FN_CLOSE,       // int zmq_close(void *s)
    ZG_FN_CTX_TERM,    // int zmq_ctx_term(void *ctx)
    ZG_FN_SETSOCKOPT,  // int zmq_setsockopt(void *s, int opt, const void *val, size_t len)
    ZG_FN_GETSOCKOPT,  // int zmq_getsockopt(void *s, int opt, void *val, size_t *len)
    ZG_FN_BIND,        // int zmq_bind(void *s, const char *addr)
    ZG_FN_CONNECT,     // int zmq_connect(void *s, const char *addr)
    ZG_FN_UNBIND,      // int zmq_unbind(void *s, const char *addr)
    ZG_FN_DISCONNECT,  // int zmq_disconnect(void *s, const char *addr)
    ZG_FN_SEND,        // int zmq_send(void *s, const void *buf, size_t len, int flags)
    ZG_FN_MSG_INIT,    // int zmq_msg_init(zmq_msg_t *msg)
    ZG_FN_MSG_RECV,    // int zmq_msg_recv(zmq_msg_t *msg, void *s, int flags)
    ZG_FN_MSG_DATA,    // void *zmq_msg_data(zmq_msg_t *msg)
    ZG_FN_MSG_SIZE,    // size_t zmq_msg_size(const zmq_msg_t *msg)
    ZG_FN_MSG_MORE,    // int zmq_msg_more(const zmq_msg_t *msg)
    ZG_FN_MSG_CLOSE,   // int zmq_msg_close(zmq_msg_t *msg)
    ZG_FN_COUNT
};

static struct {
    int (*errno_)(void);
    void *(*socket)(void *, int);
    int (*close)(void *);
    int (*ctx_term)(void *);
    int (*setsockopt)(void *, int, const void *, size_t);
    int (*getsockopt)(void *, int, void *, size_t *);
    int (*endpoint[4])(void *, const char *);
    int (*send)(void *, const void *, size_t, int);
    int (*msg_init)(zg_msg_t *);
    int (*msg_recv)(zg_msg_t *, void *, int);
    void *(*msg_data)(zg_msg_t *);
    size_t (*msg_size)(const zg_msg_t *);
    int (*msg_more)(const zg_msg_t *);
    int (*msg_close)(zg_msg_t *);
} Z;

/** Store libzmq's function pointers. Returns 0, or -EINVAL when the table has the wrong size. */
int zg_init(const uint64_t *fns, int count) {
    if (count != ZG_FN_COUNT) return -EINVAL;
    Z.errno_ = (int (*)(void))(uintptr_t)fns[ZG_FN_ERRNO];
    Z.socket = (void *(*)(void *, int))(uintptr_t)fns[ZG_FN_SOCKET];
    Z.close = (int (*)(void *))(uintptr_t)fns[ZG_FN_CLOSE];
    Z.ctx_term = (int (*)(void *))(uintptr_t)fns[ZG_FN_CTX_TERM];
    Z.setsockopt = (int (*)(void *, int, const void *, size_t))(uintptr_t)fns[ZG_FN_SETSOCKOPT];
    Z.getsockopt = (int (*)(void *, int, void *, size_t *))(uintptr_t)fns[ZG_FN_GETSOCKOPT];
    Z.endpoint[0] = (int (*)(void *, const char *))(uintptr_t)fns[ZG_FN_BIND];
    Z.endpoint[1] = (int (*)(void *, const char *))(uintptr_t)fns[ZG_FN_CONNECT];
    Z.endpoint[2] = (int (*)(void *, const char *))(uintptr_t)fns[ZG_FN_UNBIND];
    Z.endpoint[3] = (int (*)(void *, const char *))(uintptr_t)fns[ZG_FN_DISCONNECT];
    Z.send = (int (*)(void *, const void *, size_t, int))(uintptr_t)fns[ZG_FN_SEND];
    Z.msg_init = (int (*)(zg_msg_t *))(uintptr_t)fns[ZG_FN_MSG_INIT];
    Z.msg_recv = (int (*)(zg_msg_t *, void *, int))(uintptr_t)fns[ZG_FN_MSG_RECV];
    Z.msg_data = (void *(*)(zg_msg_t *))(uintptr_t)fns[ZG_FN_MSG_DATA];
    Z.msg_size = (size_t (*)(const zg_msg_t *))(uintptr_t)fns[ZG_FN_MSG_SIZE];
    Z.msg_more = (int (*)(const zg_msg_t *))(uintptr_t)fns[ZG_FN_MSG_MORE];
    Z.msg_close = (int (*)(zg_msg_t *))(uintptr_t)fns[ZG_FN_MSG_CLOSE];
    return 0;
}

/** sizeof(zmq_msg_t) as this file sees it, so ffi.ts can check the ABI assumption. */
int zg_msg_size_bytes(void) { return (int)sizeof(zg_msg_t); }

// --- control path: each wrapper returns >= 0 or -errno ---

void *zg_socket(void *ctx, int type, int32_t *err) {
    void *s = Z.socket(ctx, type);
    err[0] = s ? 0 : Z.errno_();
    return s;
}

/** Close with linger `linger_ms` (0 drops unsent messages at once). */
int zg_close(void *sock, int linger_ms) {
    Z.setsockopt(sock, ZG_ZMQ_LINGER, &linger_ms, sizeof linger_ms);
    return Z.close(sock) == 0 ? 0 : -Z.errno_();
}

/** zmq_ctx_term, retried on EINTR (a signal must not leave the context half terminated). */
int zg_ctx_term(void *ctx) {
    for (;;) {
        if (Z.ctx_term(ctx) == 0) return 0;
        int e = Z.errno_();
        if (e != EINTR) return -e;
    }
}

/*
 * Socket options are retried when a signal interrupts them: ZMQ_EVENTS processes the
 * socket's command mailbox and can meet EINTR whenever the process gets a signal (SIGPROF of
 * a profiler, SIGCHLD, the SIGTERM that starts a shutdown). EINTR is not a failure.
 */
#define ZG_EINTR_RETRIES 16

int zg_setsockopt(void *sock, int opt, const void *val, int len) {
    for (int i = 0; i < ZG_EINTR_RETRIES; i++) {
        if (Z.setsockopt(sock, opt, val, (size_t)len) == 0) return 0;
        if (Z.errno_() != EINTR) break;
    }
    return -Z.errno_();
}

int zg_setsockopt_int(void *sock, int opt, int value) {
    return zg_setsockopt(sock, opt, &value, (int)sizeof value);
}

int zg_getsockopt_int(void *sock, int opt, int32_t *out) {
    for (int i = 0; i < ZG_EINTR_RETRIES; i++) {
        int v = 0;
        size_t len = sizeof v;
        if (Z.getsockopt(sock, opt, &v, &len) == 0) {
            out[0] = v;
            return 0;
        }
        if (Z.errno_() != EINTR) break;
    }
    return -Z.errno_();
}

/** Returns the option's length in bytes (may exceed cap: then only cap bytes were asked). */
int zg_getsockopt_bytes(void *sock, int opt, uint8_t *out, int cap) {
    for (int i = 0; i < ZG_EINTR_RETRIES; i++) {
        size_t len = (size_t)cap;
        if (Z.getsockopt(sock, opt, out, &len) == 0) return (int)len;
        if (Z.errno_() != EINTR) break;
    }
    return -Z.errno_();
}

/** op: 0 bind, 1 connect, 2 unbind, 3 disconnect; addr is NUL-terminated. */
int zg_endpoint(void *sock, int op, const char *addr) {
    if (op < 0 || op > 3) return -EINVAL;
    return Z.endpoint[op](sock, addr) == 0 ? 0 : -Z.errno_();
}

// --- batched multipart send ---

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

// --- batched receive ---

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

// --- poller thread ---

#define ZG_POLL_FDS_MAX 256

/**
 * One thread blocked in poll(2). Armed, it watches the registered ZMQ_FD descriptors and
 * the command pipe; when a ZMQ_FD turns readable it calls `cb` once (a thread-safe
 * JSCallback: the call only queues work for the JS thread) and disarms, watching only the
 * command pipe until zg_poller_rearm(). Nothing spins: an idle gateway sleeps in poll(2).
 * The shared fields below are guarded by `lock`; the pipe only wakes the thread.
 */
typedef struct {
    pthread_mutex_t lock;
    pthread_t thread;
    void (*cb)(void);
    int pipe_rd;
    int pipe_wr;
    int fds[ZG_POLL_FDS_MAX];
    int nfds;
    int started;
    int stop;
    int rearm;
    int64_t wakeups;
    int last_errno;
} zg_poller_t;

static void zg_poller_wake(zg_poller_t *p) {
    char c = 1;
    // Non-blocking: a full pipe already guarantees a pending wake-up.
    ssize_t r = write(p->pipe_wr, &c, 1);
    (void)r;
}

zg_poller_t *zg_poller_new(void *cb, int32_t *err) {
    int fds[2];
    zg_poller_t *p = (zg_poller_t *)calloc(1, sizeof(zg_poller_t));
    if (!p) { err[0] = ENOMEM; return NULL; }
    if (pipe(fds) != 0) { err[0] = errno; free(p); return NULL; }
    fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
    fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK);
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    pthread_mutex_init(&p->lock, NULL);
    p->pipe_rd = fds[0];
    p->pipe_wr = fds[1];
    p->cb = (void (*)(void))cb;
    p->rearm = 1;
    err[0] = 0;
    return p;
}

/** Watch fd (a ZMQ_FD); works before and after start. -ENOSPC when full, -EEXIST if present. */
int zg_poller_add(zg_poller_t *p, int fd) {
    int rc = 0;
    pthread_mutex_lock(&p->lock);
    for (int i = 0; i < p->nfds; i++) if (p->fds[i] == fd) rc = -EEXIST;
    if (rc == 0 && p->nfds == ZG_POLL_FDS_MAX) rc = -ENOSPC;
    if (rc == 0) p->fds[p->nfds++] = fd;
    pthread_mutex_unlock(&p->lock);
    if (rc == 0) zg_poller_wake(p);
    return rc;
}

/** Stop watching fd. Call before the socket owning it is closed. -ENOENT if absent. */
int zg_poller_remove(zg_poller_t *p, int fd) {
    int rc = -ENOENT;
    pthread_mutex_lock(&p->lock);
    for (int i = 0; i < p->nfds; i++) {
        if (p->fds[i] == fd) {
            p->fds[i] = p->fds[--p->nfds];
            rc = 0;
            break;
        }
    }
    pthread_mutex_unlock(&p->lock);
    if (rc == 0) zg_poller_wake(p);
    return rc;
}

static void *zg_poller_main(void *arg) {
    zg_poller_t *p = (zg_poller_t *)arg;
    struct pollfd pfds[ZG_POLL_FDS_MAX + 1];
    int armed = 0;
    for (;;) {
        int n = 1;
        pthread_mutex_lock(&p->lock);
        if (p->stop) { pthread_mutex_unlock(&p->lock); break; }
        if (p->rearm) { p->rearm = 0; armed = 1; }
        pfds[0].fd = p->pipe_rd;
        pfds[0].events = POLLIN;
        pfds[0].revents = 0;
        if (armed) {
            for (int i = 0; i < p->nfds; i++, n++) {
                pfds[n].fd = p->fds[i];
                pfds[n].events = POLLIN;
                pfds[n].revents = 0;
            }
        }
        pthread_mutex_unlock(&p->lock);

        int rc = poll(pfds, (nfds_t)n, -1);
        if (rc < 0) {
            if (errno == EINTR) continue;
            pthread_mutex_lock(&p->lock);
            p->last_errno = errno;
            pthread_mutex_unlock(&p->lock);
            break;
        }
        if (pfds[0].revents & POLLIN) {
            char drain[64];
            while (read(p->pipe_rd, drain, sizeof drain) > 0) {}
        }
        int fired = 0;
        for (int i = 1; i < n; i++) {
            short re = pfds[i].revents;
            if (re & POLLNVAL) {
                // The fd was closed without zg_poller_remove: forget it rather than spin.
                zg_poller_remove(p, pfds[i].fd);
            } else if (re & (POLLIN | POLLERR | POLLHUP)) {
                fired = 1;
            }
        }
        if (fired) {
            armed = 0;
            pthread_mutex_lock(&p->lock);
            p->wakeups++;
            pthread_mutex_unlock(&p->lock);
            p->cb();
        }
    }
    return NULL;
}

int zg_poller_start(zg_poller_t *p) {
    if (p->started) return -EALREADY;
    int rc = pthread_create(&p->thread, NULL, zg_poller_main, p);
    if (rc != 0) return -rc;
    p->started = 1;
    return 0;
}

/** Resume watching the ZMQ_FDs after the JS side drained its sockets. */
void zg_poller_rearm(zg_poller_t *p) {
    pthread_mutex_lock(&p->lock);
    p->rearm = 1;
    pthread_mutex_unlock(&p->lock);
    zg_poller_wake(p);
}

/** Times the callback was called. */
double zg_poller_wakeups(zg_poller_t *p) {
    pthread_mutex_lock(&p->lock);
    double w = (double)p->wakeups;
    pthread_mutex_unlock(&p->lock);
    return w;
}

/** Join the thread and free everything. Returns the thread's poll errno, 0 when none. */
int zg_poller_stop(zg_poller_t *p) {
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    pthread_mutex_unlock(&p->lock);
    zg_poller_wake(p);
    if (p->started) pthread_join(p->thread, NULL);
    int e = p->last_errno;
    close(p->pipe_rd);
    close(p->pipe_wr);
    pthread_mutex_destroy(&p->lock);
    free(p);
    return e;
}
