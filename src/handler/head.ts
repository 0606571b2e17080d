// Plain data shared by requests, sessions and handoff: what a request's first packet said, and
// the portable state of a handed-off session (zhttp.md 4.10).

/** The client's address, when the gateway knows it (absent on unix listeners, zhttp.md 4.3). */
export interface Peer {
  address: string
  port: number
}

/** What the first packet told us, decoded once. */
export interface RequestHead {
  method: string
  uri: string
  /** Name, value, name, value... in arrival order. */
  headers: string[]
  peer: Peer | null
  /** The gateway's instance id; '' in req mode. */
  from: string
  /** The first packet's `more`: a body follows. */
  more: boolean
  /** req mode: the whole body. */
  body: Uint8Array | null
  websocket: boolean
}

/**
 * A session handed off by session.handoff(), for handler.resume() in another process. Plain
 * JSON: send it any way you like. The gateway waits up to its session timeout (60 s,
 * zhttp.md 4.10) for the new owner's first packet.
 */
export interface HandoffState {
  v: 1
  kind: 'http' | 'websocket'
  /** The gateway's instance id (one char per byte). */
  gateway: string
  /** The session id (one char per byte). */
  id: string
  /** Next seq we send; next seq we expect (zhttp.md 4.5). */
  seqOut: number
  seqIn: number
  /** Bytes the gateway still lets us send. */
  credits: number
  method: string
  uri: string
  headers: string[]
  peer: Peer | null
  /** The request body was not read yet (it still comes, under the new owner's credits). */
  bodyPending: boolean
  /** The response head already went out: the new owner continues the body. */
  responseStarted: boolean
}

export const HANDOFF_STATE_VERSION = 1

/** Bytes of a one-char-per-byte string (the inverse of spanKey in text.ts). */
export function keyBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length)
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff
  return out
}
