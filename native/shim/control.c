// shim/control.c: start-up (zg_init fills the libzmq function table) and the control path:
// sockets, contexts, options and endpoints. Part of the unity build in native/zgate-shim.c.
//
// Invariants
// - Each wrapper returns >= 0 or -errno, with errno read by zmq_errno() right after the
//   failing call, on the same thread (see the unity file's header).
// - EINTR is never a failure: zmq_ctx_term and the option calls are retried on it.
// - Not on the per-message path: clarity over speed here.

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "abi.h"

// --- start-up: the function table and the ABI check ---

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
