// Helpers for the unit tests of src/zmq/socket.ts over real libzmq sockets
// (zmq-socket.test.ts, zmq-queues.test.ts, zmq-poller.test.ts): a per-file context and temp
// dir, fresh endpoints on every transport, and message builders and readers.

import { afterAll, beforeAll, expect } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FRAME_HEADER_BYTES, ZMQ_RCVHWM, ZMQ_SNDHWM, ZmqContext, type ZmqSocket } from '../../src/zmq/socket.ts'

export const WAIT_MS = 5_000
/** The interoperability peer needs Node (the zeromq npm package does not run in Bun). */
export const HAVE_NODE = Bun.which('node') !== null
export const MESSAGES = 1000
const enc = new TextEncoder()
const dec = new TextDecoder()

let endpointSeq = 0

export interface ZmqFixture {
  ctx: ZmqContext
  /** A temp dir for ipc endpoints, removed after the file's tests. */
  dir: string
  /** Binds `sock` on a fresh endpoint of the transport and returns where to connect. */
  bindFresh(sock: ZmqSocket, transport: string): string
}

/** A context and temp dir for the calling test file, made before its tests and closed after. */
export function zmqFixture(): ZmqFixture {
  const fx: ZmqFixture = {
    ctx: undefined as unknown as ZmqContext, // set in beforeAll, before any test runs
    dir: '',
    bindFresh(sock, transport) {
      endpointSeq++
      if (transport === 'inproc') {
        sock.bind(`inproc://zgate-test-${endpointSeq}`)
        return `inproc://zgate-test-${endpointSeq}`
      }
      if (transport === 'ipc') {
        sock.bind(`ipc://${fx.dir}/s${endpointSeq}`)
        return `ipc://${fx.dir}/s${endpointSeq}`
      }
      sock.bind('tcp://127.0.0.1:*')
      return sock.lastEndpoint()
    },
  }
  beforeAll(() => {
    fx.dir = mkdtempSync(join(tmpdir(), 'zgate-zmq-'))
    fx.ctx = new ZmqContext()
  })
  afterAll(() => {
    fx.ctx.close()
    rmSync(fx.dir, { recursive: true, force: true })
  })
  return fx
}

export function bytes(s: string): Uint8Array {
  return enc.encode(s)
}

/** Queue one multipart message in sock's outbox. */
export function put(sock: ZmqSocket, frames: Uint8Array[]): void {
  const ob = sock.outbox
  let size = 0
  for (const f of frames) size += FRAME_HEADER_BYTES + f.length
  expect(ob.ensure(size)).toBe(true)
  ob.beginMessage()
  for (let i = 0; i < frames.length; i++) ob.frameBytes(frames[i], 0, frames[i].length, i < frames.length - 1)
  ob.endMessage()
}

/** Copy message i of the last batch out of the inbox. */
export function take(sock: ZmqSocket, i: number): Uint8Array[] {
  const ib = sock.inbox
  const out: Uint8Array[] = []
  for (let f = 0; f < ib.frameCount(i); f++) out.push(ib.buf.slice(ib.frameStart(i, f), ib.frameEnd(i, f)))
  return out
}

/** Receive until `count` messages arrived (bounded wait). */
export async function recvN(sock: ZmqSocket, count: number, timeoutMs = WAIT_MS): Promise<Uint8Array[][]> {
  const got: Uint8Array[][] = []
  const deadline = Date.now() + timeoutMs
  while (got.length < count) {
    const n = sock.recvBatch()
    for (let i = 0; i < n; i++) got.push(take(sock, i))
    if (n === 0) {
      if (Date.now() > deadline) throw new Error(`timed out with ${got.length}/${count} messages`)
      await Bun.sleep(1)
    }
  }
  return got
}

/** Flush until the outbox is empty (bounded wait). */
export async function flushAll(sock: ZmqSocket): Promise<void> {
  const deadline = Date.now() + WAIT_MS
  while (!sock.flush()) {
    if (Date.now() > deadline) throw new Error('timed out flushing')
    await Bun.sleep(1)
  }
}

export async function until(cond: () => boolean, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out waiting')
    await Bun.sleep(2)
  }
}

export function text(b: Uint8Array): string {
  return dec.decode(b)
}

/** Message i of a test batch: 3 frames, one of them empty, sizes varying with i. */
export function sample(i: number): Uint8Array[] {
  const body = new Uint8Array(i % 300).fill(i & 0xff)
  return [bytes(`m${i}`), new Uint8Array(0), body]
}

export function expectSample(frames: Uint8Array[], i: number): void {
  expect(frames.length).toBe(3)
  expect(text(frames[0])).toBe(`m${i}`)
  expect(frames[1].length).toBe(0)
  expect(frames[2].length).toBe(i % 300)
  if (frames[2].length > 0) expect(frames[2][frames[2].length - 1]).toBe(i & 0xff)
}

export function highWater(...socks: ZmqSocket[]): void {
  for (const s of socks) {
    s.setInt(ZMQ_SNDHWM, 100_000)
    s.setInt(ZMQ_RCVHWM, 100_000)
  }
}
