// The ZeroMQ layer the handler runs on, as an interface with two implementations chosen at
// run time: in Bun, zgate's own bun:ffi libzmq binding (transport-bun.ts; the `zeromq`
// package's JS API crashes under Bun); in Node, the `zeromq` package (transport-node.ts).
// Each is loaded with a dynamic import (load-transport.ts), so Node never touches bun:ffi and
// Bun never loads the zeromq addon's JS API. The in-process fake gateway (testing/) is a third
// implementation. This file is a leaf: types and socket kinds only.

/** The sockets a handler opens (zhttp.md 1.3, 1.4). */
export const SOCK_PULL = 0
/** ROUTER with identity = `from`, on the gateway's `-out-stream`. */
export const SOCK_ROUTER = 1
/** XPUB on the gateway's `-in` SUB: a PUB on the wire that also reports subscriptions. */
export const SOCK_PUB = 2
/** ROUTER on the gateway's req DEALER. */
export const SOCK_REQ = 3
export type SocketKind = typeof SOCK_PULL | typeof SOCK_ROUTER | typeof SOCK_PUB | typeof SOCK_REQ

/**
 * One received message, as views into the transport's buffer (valid during the callback).
 * Frame f is buf(f)[start(f), end(f)).
 */
export interface InMessage {
  frames: number
  buf(f: number): Uint8Array
  start(f: number): number
  end(f: number): number
}

/** Called for every message received, on the event loop. */
export type MessageSink = (kind: SocketKind, msg: InMessage) => void

export interface TransportOptions {
  /** ROUTER identity (the handler's `from`). */
  identity: Uint8Array
  /** Close linger in ms: how long unsent packets may hold close() up. */
  lingerMs: number
}

/** A set of four sockets (created on first use) and the loop that drains them. */
export interface Transport {
  /** Starts delivering messages to `sink`. */
  start(sink: MessageSink): void
  connect(kind: SocketKind, endpoint: string, bind: boolean): void
  disconnect(kind: SocketKind, endpoint: string, bind: boolean): void
  /** Queues one message; `frames` are copied before this returns. */
  send(kind: SocketKind, frames: readonly Uint8Array[]): void
  /** Hands queued messages to ZeroMQ. */
  flush(): void
  /** Closes every socket (linger bounded) and the context. */
  close(): Promise<void>
  /** 'bun', 'node' or 'fake', for logs. */
  readonly name: string
}

export type TransportFactory = (opts: TransportOptions) => Transport
