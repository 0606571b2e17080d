// shim/abi.h: the libzmq ABI the shim relies on, the values shared with JS, and the table of
// libzmq function pointers. Included by every part of the shim (native/zgate-shim.c is the
// unity file that compiles them together).
//
// Invariants
// - Declared here so no zmq.h is needed at run time: every value is zmq.h 4.x's ABI, stable
//   across 4.x releases. zg_msg_t must match sizeof(zmq_msg_t); ffi.ts checks it through
//   zg_msg_size_bytes() at load time.
// - The frame layout, enum zg_stat and the endpoint ops have JS twins in src/zmq/shim-abi.ts;
//   so does ZG_POLL_FDS_MAX (shim/poller.c);
//   enum zg_fn is mirrored by SHIM_IMPORTS in src/zmq/ffi.ts. Change both sides together.
// - Z is filled once, by zg_init() (shim/control.c), before any other zg_* call.

#ifndef ZG_SHIM_ABI_H
#define ZG_SHIM_ABI_H

#include <stddef.h>
#include <stdint.h>

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

/**
 * libzmq's functions, set once by zg_init(). endpoint[] is indexed by zg_endpoint's `op`
 * (ENDPOINT_* in shim-abi.ts): bind, connect, unbind, disconnect.
 */
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

#endif // ZG_SHIM_ABI_H
