// Connection and request-body states, shared by connection.ts and request-reader.ts.
// The state machine itself is described at the top of connection.ts.

export const ST_HEAD = 0
export const ST_WAIT_HANDLER = 1
export const ST_ACTIVE = 2
export const ST_CLOSING = 3
export const ST_ORPHAN = 4
export const ST_CLOSED = 5
/** The slot is free; the object waits for the next connection on this slot. */
export const ST_FREE = 6
/** A kept-alive response is complete but not yet written; the next request waits. */
export const ST_FLUSHING = 7

export const BODY_NONE = 0
export const BODY_LENGTH = 1
export const BODY_CHUNKED = 2

// WebSocket phase of a stream connection (`wsState`), described in ws-session.ts.
/** A plain HTTP request cycle. */
export const WS_NONE = 0
/** The upgrade request went to the handler; its answer decides. */
export const WS_HANDSHAKE = 1
/** Frames flow both ways. */
export const WS_OPEN = 2
