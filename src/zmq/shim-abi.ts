// The contract between the JS side and native/zgate-shim.c: buffer layouts, stats slots and
// operation codes. native/shim/abi.h holds the C side of each value (ZG_POLL_FDS_MAX is in
// native/shim/poller.c); change both together.
//
// Invariants
// - A leaf: imports nothing, so outbox.ts and socket.ts get the layout without bun:ffi.
// - ffi.ts checks at load time what it can (the function table size, sizeof(zmq_msg_t));
//   the rest is kept in step by hand, so each value names its C twin.

/** Size of a zmq_msg_t (zmq.h): 64 bytes. The shim checks it sees the same (zg_msg_t). */
export const ZMQ_MSG_T_SIZE_BYTES = 64
/** Frame header in the outbox layout: u32 LE length | FRAME_MORE_FLAG (ZG_FRAME_HEADER_BYTES). */
export const FRAME_HEADER_BYTES = 4
/** Bit 31 of a frame header: another frame of the same message follows (ZG_FRAME_MORE). */
export const FRAME_MORE_FLAG = 0x80000000
/** Largest frame the outbox layout can describe (31-bit length, ZG_FRAME_LEN_MASK). */
export const FRAME_SIZE_MAX_BYTES = 0x7fffffff
/** Registered descriptors per poller (ZG_POLL_FDS_MAX, native/shim/poller.c). */
export const POLLER_FDS_MAX = 256

/** Slots of the int32 stats array filled by sendBatch/recvBatch (enum zg_stat, native/shim/abi.h). */
export const STAT_ERRNO = 0
export const STAT_MESSAGES = 1
export const STAT_DROPPED = 2
export const STAT_BYTES = 3
/** sendBatch: ZMQ_EVENTS after the batch. recvBatch: frames written. */
export const STAT_EVENTS = 4
export const STAT_FRAMES = 4
export const STAT_BLOCKED = 5
export const STATS_LENGTH = 8

/** `op` of endpoint(): the libzmq call it makes (index into the shim's Z.endpoint). */
export const ENDPOINT_BIND = 0
export const ENDPOINT_CONNECT = 1
export const ENDPOINT_UNBIND = 2
export const ENDPOINT_DISCONNECT = 3
