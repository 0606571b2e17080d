// The zmq.h constants zgate and its handlers use: socket types, socket and context options,
// and the ZMQ_EVENTS bits. Values are libzmq's ABI (zmq.h 4.x), stable across 4.x releases.
//
// Invariants
// - A leaf: imports nothing, so socket.ts, poller.ts and any handler code can depend on it
//   without pulling in bun:ffi or loading libzmq. socket.ts re-exports every name.
// - No errno values live here: the shim classifies EAGAIN/EINTR/EHOSTUNREACH itself
//   (native/shim/send.c, recv.c) and JS only sees a ZmqError's errno for diagnostics.

// --- socket types (zmq.h) ---
export const ZMQ_PAIR = 0
export const ZMQ_PUB = 1
export const ZMQ_SUB = 2
export const ZMQ_REQ = 3
export const ZMQ_REP = 4
export const ZMQ_DEALER = 5
export const ZMQ_ROUTER = 6
export const ZMQ_PULL = 7
export const ZMQ_PUSH = 8
export const ZMQ_XPUB = 9
export const ZMQ_XSUB = 10

// --- socket options (zmq.h); all int-valued unless noted ---
export const ZMQ_AFFINITY = 4 // uint64: use setBytes
export const ZMQ_ROUTING_ID = 5 // bytes
export const ZMQ_IDENTITY = ZMQ_ROUTING_ID
export const ZMQ_SUBSCRIBE = 6 // bytes
export const ZMQ_UNSUBSCRIBE = 7 // bytes
export const ZMQ_SNDBUF = 11
export const ZMQ_RCVBUF = 12
export const ZMQ_RCVMORE = 13
export const ZMQ_FD = 14
export const ZMQ_EVENTS = 15
export const ZMQ_TYPE = 16
export const ZMQ_LINGER = 17
export const ZMQ_RECONNECT_IVL = 18
export const ZMQ_BACKLOG = 19
export const ZMQ_RECONNECT_IVL_MAX = 21
export const ZMQ_MAXMSGSIZE = 22 // int64: use setBytes
export const ZMQ_SNDHWM = 23
export const ZMQ_RCVHWM = 24
export const ZMQ_RCVTIMEO = 27
export const ZMQ_SNDTIMEO = 28
export const ZMQ_LAST_ENDPOINT = 32 // string
export const ZMQ_ROUTER_MANDATORY = 33
export const ZMQ_TCP_KEEPALIVE = 34
export const ZMQ_IMMEDIATE = 39
export const ZMQ_IPV6 = 42
export const ZMQ_PROBE_ROUTER = 51
export const ZMQ_ROUTER_HANDOVER = 56
export const ZMQ_CONNECT_ROUTING_ID = 61 // bytes
export const ZMQ_HANDSHAKE_IVL = 66
export const ZMQ_HEARTBEAT_IVL = 75
export const ZMQ_HEARTBEAT_TTL = 76
export const ZMQ_HEARTBEAT_TIMEOUT = 77

// --- context options and ZMQ_EVENTS bits (zmq.h) ---
export const ZMQ_IO_THREADS = 1
export const ZMQ_MAX_SOCKETS = 2
export const ZMQ_POLLIN = 1
export const ZMQ_POLLOUT = 2
export const POLLIN = ZMQ_POLLIN
export const POLLOUT = ZMQ_POLLOUT
