// src/zmq/socket.ts over real libzmq sockets: inproc, ipc (temp dir) and tcp loopback.
// The interoperability case uses an independent peer, the zeromq npm package under Node
// (test/helpers/zmq-echo-peer.mjs).

import { heapStats } from 'bun:jsc'
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { INBOUND_MESSAGE_SIZE_MAX_BYTES, OUTBOX_SIZE_MIN_BYTES } from '../../src/limits.ts'
import {
  FRAME_HEADER_BYTES,
  OUTBOX_SIZE_MAX_BYTES,
  ZMQ_DEALER,
  ZMQ_LINGER,
  ZMQ_POLLIN,
  ZMQ_PUB,
  ZMQ_PULL,
  ZMQ_PUSH,
  ZMQ_RCVHWM,
  ZMQ_ROUTER,
  ZMQ_ROUTER_MANDATORY,
  ZMQ_ROUTING_ID,
  ZMQ_SNDHWM,
  ZMQ_SUB,
  ZMQ_SUBSCRIBE,
  ZmqContext,
  ZmqError,
  ZmqPoller,
  type ZmqSocket,
} from '../../src/zmq/socket.ts'

const WAIT_MS = 5_000
/** The interoperability peer needs Node (the zeromq npm package does not run in Bun). */
const HAVE_NODE = Bun.which('node') !== null
const enc = new TextEncoder()
const dec = new TextDecoder()

let dir = ''
let ctx: ZmqContext
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'zgate-zmq-'))
  ctx = new ZmqContext()
})
afterAll(() => {
  ctx.close()
  rmSync(dir, { recursive: true, force: true })
})

// --- helpers ---

function bytes(s: string): Uint8Array {
  return enc.encode(s)
}

/** Queue one multipart message in sock's outbox. */
function put(sock: ZmqSocket, frames: Uint8Array[]): void {
  const ob = sock.outbox
  let size = 0
  for (const f of frames) size += FRAME_HEADER_BYTES + f.length
  expect(ob.ensure(size)).toBe(true)
  ob.beginMessage()
  for (let i = 0; i < frames.length; i++) ob.frameBytes(frames[i], 0, frames[i].length, i < frames.length - 1)
  ob.endMessage()
}

/** Copy message i of the last batch out of the inbox. */
function take(sock: ZmqSocket, i: number): Uint8Array[] {
  const ib = sock.inbox
  const out: Uint8Array[] = []
  for (let f = 0; f < ib.frameCount(i); f++) out.push(ib.buf.slice(ib.frameStart(i, f), ib.frameEnd(i, f)))
  return out
}

/** Receive until `count` messages arrived (bounded wait). */
async function recvN(sock: ZmqSocket, count: number, timeoutMs = WAIT_MS): Promise<Uint8Array[][]> {
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
async function flushAll(sock: ZmqSocket): Promise<void> {
  const deadline = Date.now() + WAIT_MS
  while (!sock.flush()) {
    if (Date.now() > deadline) throw new Error('timed out flushing')
    await Bun.sleep(1)
  }
}

async function until(cond: () => boolean, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out waiting')
    await Bun.sleep(2)
  }
}

function text(b: Uint8Array): string {
  return dec.decode(b)
}

/** Message i of a test batch: 3 frames, one of them empty, sizes varying with i. */
function sample(i: number): Uint8Array[] {
  const body = new Uint8Array(i % 300).fill(i & 0xff)
  return [bytes(`m${i}`), new Uint8Array(0), body]
}

function expectSample(frames: Uint8Array[], i: number): void {
  expect(frames.length).toBe(3)
  expect(text(frames[0])).toBe(`m${i}`)
  expect(frames[1].length).toBe(0)
  expect(frames[2].length).toBe(i % 300)
  if (frames[2].length > 0) expect(frames[2][frames[2].length - 1]).toBe(i & 0xff)
}

function highWater(...socks: ZmqSocket[]): void {
  for (const s of socks) {
    s.setInt(ZMQ_SNDHWM, 100_000)
    s.setInt(ZMQ_RCVHWM, 100_000)
  }
}

let endpointSeq = 0
/** Bind `sock` on a fresh endpoint of the transport and return where to connect. */
function bindFresh(sock: ZmqSocket, transport: string): string {
  endpointSeq++
  if (transport === 'inproc') {
    sock.bind(`inproc://zgate-test-${endpointSeq}`)
    return `inproc://zgate-test-${endpointSeq}`
  }
  if (transport === 'ipc') {
    sock.bind(`ipc://${dir}/s${endpointSeq}`)
    return `ipc://${dir}/s${endpointSeq}`
  }
  sock.bind('tcp://127.0.0.1:*')
  return sock.lastEndpoint()
}

const MESSAGES = 1000

// --- loading ---

describe('loadZmq', () => {
  const ffiPath = join(import.meta.dir, '..', '..', 'src', 'zmq', 'ffi.ts')
  const script = `const m = await import(${JSON.stringify(ffiPath)});
try { const z = m.loadZmq(); console.log('OK ' + z.version + ' ' + z.path) }
catch (e) { console.log(e.code + ' ' + e.message) }`

  test('finds libzmq from any cwd (bun link / bunx) and prefers the zeromq package', async () => {
    const p = Bun.spawn([process.execPath, '-e', script], { cwd: tmpdir(), stdout: 'pipe', env: { ...process.env } })
    const out = (await new Response(p.stdout).text()).trim()
    await p.exited
    expect(out).toStartWith('OK 4.')
    expect(out).toContain(join('node_modules', 'zeromq', 'build'))
  })

  test('when nothing loads, one ZmqLoadError names every candidate tried', async () => {
    const env = { ...process.env, ZGATE_LIBZMQ: '/nonexistent/libzmq.so.5' }
    const p = Bun.spawn([process.execPath, '-e', script], { cwd: tmpdir(), stdout: 'pipe', env })
    const out = (await new Response(p.stdout).text()).trim()
    await p.exited
    expect(out).toStartWith('ZMQ_LOAD Could not load libzmq; tried: /nonexistent/libzmq.so.5 (')
    expect(out.split('\n').length).toBe(1)
  })
})

// --- transports ---

for (const transport of ['inproc', 'ipc', 'tcp']) {
  describe(`${transport} transport`, () => {
    test('PUSH→PULL: 1000 multipart messages in one flush arrive intact and in order', async () => {
      const pull = ctx.socket(ZMQ_PULL)
      const push = ctx.socket(ZMQ_PUSH)
      try {
        highWater(pull, push)
        push.connect(bindFresh(pull, transport))
        for (let i = 0; i < MESSAGES; i++) put(push, sample(i))
        expect(push.outbox.messages).toBe(MESSAGES)
        expect(push.flush()).toBe(true) // one crossing sent all of them
        expect(push.sent).toBe(MESSAGES)
        expect(push.outbox.pending).toBe(0)
        const got = await recvN(pull, MESSAGES)
        got.forEach(expectSample)
      } finally {
        push.close()
        pull.close()
      }
    })

    test('DEALER↔ROUTER: requests carry the routing id, replies route back', async () => {
      const router = ctx.socket(ZMQ_ROUTER)
      const dealer = ctx.socket(ZMQ_DEALER)
      try {
        highWater(router, dealer)
        router.setInt(ZMQ_ROUTER_MANDATORY, 1)
        dealer.setBytes(ZMQ_ROUTING_ID, bytes('dealer-1'))
        dealer.connect(bindFresh(router, transport))
        for (let i = 0; i < MESSAGES; i++) put(dealer, sample(i))
        expect(dealer.flush()).toBe(true)
        const requests = await recvN(router, MESSAGES)
        for (let i = 0; i < MESSAGES; i++) {
          expect(text(requests[i][0])).toBe('dealer-1')
          expectSample(requests[i].slice(1), i)
          put(router, [requests[i][0], ...requests[i].slice(1)])
        }
        expect(router.flush()).toBe(true)
        expect(router.sendDropped).toBe(0)
        const replies = await recvN(dealer, MESSAGES)
        replies.forEach(expectSample)
      } finally {
        dealer.close()
        router.close()
      }
    })

    test('PUB→SUB: only messages matching the subscription prefix arrive', async () => {
      const pub = ctx.socket(ZMQ_PUB)
      const sub = ctx.socket(ZMQ_SUB)
      try {
        highWater(pub, sub)
        sub.setBytes(ZMQ_SUBSCRIBE, bytes('a.'))
        sub.connect(bindFresh(pub, transport))
        // Subscriptions propagate asynchronously: probe until one gets through.
        const deadline = Date.now() + WAIT_MS
        for (;;) {
          put(pub, [bytes('a.probe')])
          pub.flush()
          await Bun.sleep(5)
          if (sub.recvBatch() > 0) break
          if (Date.now() > deadline) throw new Error('subscription never propagated')
        }
        await Bun.sleep(20)
        while (sub.recvBatch() > 0) {} // late probes
        for (let i = 0; i < MESSAGES; i++) put(pub, [bytes(i % 2 === 0 ? `a.${i}` : `b.${i}`), bytes(`body${i}`)])
        expect(pub.flush()).toBe(true)
        const got = await recvN(sub, MESSAGES / 2)
        for (let k = 0; k < got.length; k++) {
          expect(text(got[k][0])).toBe(`a.${2 * k}`)
          expect(text(got[k][1])).toBe(`body${2 * k}`)
        }
        await Bun.sleep(20)
        expect(sub.recvBatch()).toBe(0) // no b.* slipped through
      } finally {
        sub.close()
        pub.close()
      }
    })
  })
}

// --- inbox ---

describe('recvBatch', () => {
  test('a message larger than the space left stays pending and comes first next call', async () => {
    const pull = ctx.socket(ZMQ_PULL)
    const push = ctx.socket(ZMQ_PUSH)
    try {
      pull.bind('inproc://pending')
      push.connect('inproc://pending')
      const third = Math.floor(INBOUND_MESSAGE_SIZE_MAX_BYTES * 0.4)
      for (let i = 0; i < 3; i++) put(push, [bytes(`big${i}`), new Uint8Array(third).fill(i + 1)])
      put(push, [bytes('small')])
      await flushAll(push)
      await until(() => (pull.events() & ZMQ_POLLIN) !== 0)
      expect(pull.recvBatch()).toBe(2) // the third 40 % does not fit next to two others
      expect(text(pull.inbox.frame(1, 0))).toBe('big1')
      expect(pull.hasPending()).toBe(true)
      expect(pull.inbox.drained).toBe(false)
      expect(pull.recvBatch()).toBe(2)
      expect(pull.inbox.drained).toBe(true) // this call already met EAGAIN
      expect(text(pull.inbox.frame(0, 0))).toBe('big2')
      expect(pull.inbox.frame(0, 1)[third - 1]).toBe(3)
      expect(text(pull.inbox.frame(1, 0))).toBe('small')
      expect(pull.recvBatch()).toBe(0)
      expect(pull.recvDropped).toBe(0)
    } finally {
      push.close()
      pull.close()
    }
  })

  test('messages larger than INBOUND_MESSAGE_SIZE_MAX_BYTES are dropped and counted', async () => {
    const pull = ctx.socket(ZMQ_PULL)
    const push = ctx.socket(ZMQ_PUSH)
    try {
      pull.bind('inproc://oversize')
      push.connect('inproc://oversize')
      const half = INBOUND_MESSAGE_SIZE_MAX_BYTES / 2
      put(push, [bytes('before')])
      put(push, [new Uint8Array(half), new Uint8Array(half + 1), bytes('tail')]) // too big in total
      put(push, [new Uint8Array(INBOUND_MESSAGE_SIZE_MAX_BYTES + 1)]) // too big in one frame
      put(push, [new Uint8Array(INBOUND_MESSAGE_SIZE_MAX_BYTES - 4), bytes('edge')]) // exactly fits
      put(push, [bytes('after')])
      await flushAll(push)
      const got = await recvN(pull, 3)
      expect(text(got[0][0])).toBe('before')
      expect(text(got[1][1])).toBe('edge')
      expect(text(got[2][0])).toBe('after')
      expect(pull.recvDropped).toBe(2)
    } finally {
      push.close()
      pull.close()
    }
  })

  test('tiny inbox: frame and message limits hold messages back or drop them', async () => {
    const pull = ctx.socket(ZMQ_PULL, { inboxBytes: 64, inboxMessages: 2, inboxFrames: 3 })
    const push = ctx.socket(ZMQ_PUSH)
    try {
      pull.bind('inproc://tiny')
      push.connect('inproc://tiny')
      put(push, [bytes('a'), bytes('b')])
      put(push, [bytes('c'), bytes('d')]) // 4 frames in total: waits for the next batch
      put(push, [bytes('1'), bytes('2'), bytes('3'), bytes('4')]) // more frames than the index
      put(push, [new Uint8Array(65)]) // more bytes than the buffer
      put(push, [bytes('e')])
      put(push, [bytes('f')])
      put(push, [bytes('g')]) // third message: over inboxMessages
      await flushAll(push)
      await until(() => (pull.events() & ZMQ_POLLIN) !== 0)
      const seen: string[] = []
      for (let k = 0; k < 10; k++) {
        const n = pull.recvBatch()
        expect(n).toBeLessThanOrEqual(2)
        for (let i = 0; i < n; i++) seen.push(take(pull, i).map(text).join('+'))
      }
      expect(seen).toEqual(['a+b', 'c+d', 'e', 'f', 'g'])
      expect(pull.recvDropped).toBe(2)
    } finally {
      push.close()
      pull.close()
    }
  })
})

// --- outbox ---

describe('flush and the outbox', () => {
  test('ROUTER_MANDATORY: messages to unknown routing ids are dropped and counted', async () => {
    const router = ctx.socket(ZMQ_ROUTER)
    const dealer = ctx.socket(ZMQ_DEALER)
    try {
      router.setInt(ZMQ_ROUTER_MANDATORY, 1)
      dealer.setBytes(ZMQ_ROUTING_ID, bytes('known'))
      router.bind('inproc://mandatory')
      dealer.connect('inproc://mandatory')
      put(dealer, [bytes('hello')])
      await flushAll(dealer)
      await recvN(router, 1)
      put(router, [bytes('nobody'), bytes('lost-1')])
      put(router, [bytes('known'), bytes('delivered')])
      put(router, [bytes('nobody-either'), bytes('lost-2'), bytes('lost-2b')])
      put(router, [bytes('known'), bytes('delivered-too')])
      expect(router.flush()).toBe(true)
      expect(router.sendDropped).toBe(2)
      expect(router.sent).toBe(2)
      const got = await recvN(dealer, 2)
      expect(got.map((m) => text(m[0]))).toEqual(['delivered', 'delivered-too'])
    } finally {
      dealer.close()
      router.close()
    }
  })

  test('EAGAIN at the HWM stops on a message boundary; the rest is kept and sent later', async () => {
    const pull = ctx.socket(ZMQ_PULL)
    const push = ctx.socket(ZMQ_PUSH)
    try {
      for (const s of [pull, push]) {
        s.setInt(ZMQ_SNDHWM, 10)
        s.setInt(ZMQ_RCVHWM, 10)
      }
      pull.bind('inproc://hwm')
      push.connect('inproc://hwm')
      for (let i = 0; i < 300; i++) put(push, sample(i))
      expect(push.flush()).toBe(false)
      expect(push.blocked).toBe(true)
      expect(push.sent).toBeGreaterThan(0)
      expect(push.sent).toBeLessThan(300)
      expect(push.outbox.messages).toBe(300 - push.sent)
      const got: Uint8Array[][] = []
      const deadline = Date.now() + WAIT_MS
      while (got.length < 300) {
        push.flush()
        const n = pull.recvBatch()
        for (let i = 0; i < n; i++) got.push(take(pull, i))
        if (n === 0 && Date.now() > deadline) throw new Error(`stalled at ${got.length}`)
        if (n === 0) await Bun.sleep(1)
      }
      got.forEach(expectSample)
      expect(push.outbox.pending).toBe(0)
    } finally {
      push.close()
      pull.close()
    }
  })

  test('grows when unsent content cannot be flushed, then delivers everything in order', async () => {
    const push = ctx.socket(ZMQ_PUSH)
    const pull = ctx.socket(ZMQ_PULL)
    try {
      highWater(push, pull)
      const before = push.outbox.buf.length
      expect(before).toBeGreaterThanOrEqual(OUTBOX_SIZE_MIN_BYTES)
      const body = new Uint8Array(4000)
      const count = Math.ceil((3 * OUTBOX_SIZE_MIN_BYTES) / body.length)
      for (let i = 0; i < count; i++) put(push, [bytes(`g${i}`), body]) // no peer: nothing leaves
      expect(push.outbox.buf.length).toBeGreaterThan(before)
      expect(push.flush()).toBe(false)
      expect(push.blocked).toBe(true)
      pull.bind('inproc://grow')
      push.connect('inproc://grow')
      await flushAll(push)
      const got = await recvN(pull, count)
      for (let i = 0; i < count; i++) expect(text(got[i][0])).toBe(`g${i}`)
      expect(push.outbox.ensure(OUTBOX_SIZE_MAX_BYTES + 1)).toBe(false)
    } finally {
      push.close()
      pull.close()
    }
  })

  test('cancelMessage() abandons a partial message; misuse throws RangeError', async () => {
    const push = ctx.socket(ZMQ_PUSH)
    const pull = ctx.socket(ZMQ_PULL)
    try {
      pull.bind('inproc://cancel')
      push.connect('inproc://cancel')
      const ob = push.outbox
      ob.beginMessage()
      ob.frameBytes(bytes('partial'), 0, 7, true)
      expect(() => push.flush()).not.toThrow() // nothing committed yet: no-op
      ob.cancelMessage()
      expect(ob.pos).toBe(0)
      expect(() => ob.endMessage()).toThrow(RangeError)
      ob.beginMessage()
      const start = ob.beginFrame()
      ob.buf.set(bytes('direct'), start)
      ob.endFrame(start + 6, false)
      expect(() => ob.beginFrame()).toThrow(RangeError) // last frame already ended
      ob.endMessage()
      ob.beginMessage()
      expect(() => push.flush()).toThrow(RangeError) // committed data but a message is open
      ob.cancelMessage()
      expect(push.flush()).toBe(true)
      const got = await recvN(pull, 1)
      expect(text(got[0][0])).toBe('direct')
    } finally {
      push.close()
      pull.close()
    }
  })

  test('the hot path (write in place, flush, recvBatch, read offsets) allocates nothing', () => {
    const pull = ctx.socket(ZMQ_PULL)
    const push = ctx.socket(ZMQ_PUSH)
    try {
      highWater(pull, push)
      pull.bind('inproc://alloc')
      push.connect('inproc://alloc')
      const round = (): number => {
        const ob = push.outbox
        for (let k = 0; k < 100; k++) {
          ob.ensure(FRAME_HEADER_BYTES * 2 + 210)
          ob.beginMessage()
          let d = ob.beginFrame()
          ob.buf[d] = 0x41 // 'A'
          ob.endFrame(d + 1, true)
          d = ob.beginFrame()
          for (let i = 0; i < 200; i++) ob.buf[d + i] = i
          ob.endFrame(d + 200, false)
          ob.endMessage()
        }
        push.flush()
        let sum = 0
        let n = 0
        while ((n = pull.recvBatch()) > 0) {
          for (let i = 0; i < n; i++) sum += pull.inbox.frameCount(i) + pull.inbox.frameLength(i, 1)
        }
        return sum
      }
      for (let i = 0; i < 300; i++) round() // warm up the JIT
      Bun.gc(true)
      const before = heapStats().objectCount
      let total = 0
      for (let i = 0; i < 500; i++) total += round()
      const grown = heapStats().objectCount - before
      expect(total).toBe(500 * 100 * 202)
      expect(grown).toBeLessThan(20)
    } finally {
      push.close()
      pull.close()
    }
  })

  test('ZmqError carries a stable code, errno and the zmq_strerror text', () => {
    const pull = ctx.socket(ZMQ_PULL)
    try {
      const ep = `ipc://${dir}/missing-dir/x-out`
      let err: unknown
      try {
        pull.bind(ep)
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(ZmqError)
      const ze = err as ZmqError
      expect(ze.code).toBe('ZMQ_BIND')
      expect(ze.errno).toBe(2) // ENOENT
      expect(ze.message).toBe(`bind ${ep}: No such file or directory`)
      expect(() => pull.connect('bogus://x')).toThrow(ZmqError)
    } finally {
      pull.close()
    }
    expect(() => pull.flush()).not.toThrow() // empty outbox: nothing to do
    expect(() => pull.recvBatch()).toThrow(/socket is closed/)
  })
})

// --- poller ---

describe('ZmqPoller', () => {
  test('onReady fires when a message arrives and not again until rearm()', async () => {
    const pull = ctx.socket(ZMQ_PULL)
    const push = ctx.socket(ZMQ_PUSH)
    let calls = 0
    const poller = new ZmqPoller(() => calls++)
    try {
      pull.bind('inproc://poller')
      push.connect('inproc://poller')
      poller.add(pull)
      poller.start()
      // Connecting may leave commands on the fd: settle into an armed, idle state.
      await Bun.sleep(30)
      while (pull.recvBatch() > 0) {}
      poller.rearm()
      await Bun.sleep(30)
      const base = calls
      put(push, [bytes('one')])
      push.flush()
      await until(() => calls === base + 1)
      put(push, [bytes('two')])
      push.flush()
      await Bun.sleep(100)
      expect(calls).toBe(base + 1) // not re-armed: no second call
      const got = await recvN(pull, 2)
      expect(got.map((m) => text(m[0]))).toEqual(['one', 'two'])
      poller.rearm()
      await Bun.sleep(50)
      expect(calls).toBe(base + 1) // drained and idle
      put(push, [bytes('three')])
      push.flush()
      await until(() => calls === base + 2)
      // rearm() without draining re-notifies at once (input already waiting).
      poller.rearm()
      await until(() => calls === base + 3)
      expect(text((await recvN(pull, 1))[0][0])).toBe('three')
    } finally {
      poller.stop()
      push.close()
      pull.close()
    }
  })

  test('a blocked sender registered with the poller resumes when the peer drains', async () => {
    const pull = ctx.socket(ZMQ_PULL)
    const push = ctx.socket(ZMQ_PUSH)
    const poller = new ZmqPoller(() => {
      push.flush() // the only place this test sends from
      poller.rearm()
    })
    try {
      for (const s of [pull, push]) {
        s.setInt(ZMQ_SNDHWM, 10)
        s.setInt(ZMQ_RCVHWM, 10)
      }
      pull.bind('inproc://resume')
      push.connect('inproc://resume')
      poller.add(push)
      poller.start()
      for (let i = 0; i < 300; i++) put(push, sample(i))
      expect(push.flush()).toBe(false)
      const got: Uint8Array[][] = []
      await until(() => {
        const n = pull.recvBatch()
        for (let i = 0; i < n; i++) got.push(take(pull, i))
        return got.length === 300
      })
      got.forEach(expectSample)
      expect(push.outbox.pending).toBe(0)
    } finally {
      poller.stop()
      push.close()
      pull.close()
    }
  })

  test.skipIf(!HAVE_NODE)('interop: messages PUSHed by the zeromq npm package under Node arrive via the poller', async () => {
    const pull = ctx.socket(ZMQ_PULL)
    pull.setInt(ZMQ_LINGER, 0)
    const ep = bindFresh(pull, 'tcp')
    const count = 500
    const got: Uint8Array[][] = []
    const poller = new ZmqPoller(() => {
      do {
        const n = pull.recvBatch()
        for (let i = 0; i < n; i++) got.push(take(pull, i))
      } while (!pull.inbox.drained)
      poller.rearm()
    })
    poller.add(pull)
    poller.start()
    const peer = Bun.spawn(['node', join(import.meta.dir, '..', 'helpers', 'zmq-echo-peer.mjs'), 'push', ep, String(count)], {
      stdout: 'pipe',
      stderr: 'pipe',
    })
    try {
      await until(() => got.length >= count, 15_000)
      expect(got.length).toBe(count)
      for (let i = 0; i < count; i++) {
        expect(text(got[i][0])).toBe(`msg-${i}`)
        expect(new DataView(got[i][1].buffer).getUint32(0, true)).toBe(i)
        expect(got[i][2].length).toBe(300)
        expect(got[i][2][299]).toBe(i & 0xff)
      }
      expect(poller.wakeups()).toBeGreaterThan(0)
    } finally {
      process.kill(peer.pid, 'SIGKILL')
      await peer.exited
      poller.stop()
      pull.close()
    }
  })

  test.skipIf(!HAVE_NODE)('interop: a DEALER talks to a Node ROUTER echo peer', async () => {
    const ep = `ipc://${dir}/echo`
    const peer = Bun.spawn(['node', join(import.meta.dir, '..', 'helpers', 'zmq-echo-peer.mjs'), 'echo', ep], {
      stdout: 'pipe',
      stderr: 'pipe',
    })
    const dealer = ctx.socket(ZMQ_DEALER)
    try {
      const reader = peer.stdout.getReader()
      const first = await Promise.race([reader.read(), Bun.sleep(10_000).then(() => null)])
      expect(first !== null && text(first.value ?? new Uint8Array()).includes('ready')).toBe(true)
      reader.releaseLock()
      dealer.connect(ep)
      for (let i = 0; i < 100; i++) put(dealer, [bytes(`echo-${i}`), new Uint8Array(i)])
      await flushAll(dealer)
      const got = await recvN(dealer, 100, 10_000)
      for (let i = 0; i < 100; i++) {
        expect(text(got[i][0])).toBe(`echo-${i}`)
        expect(got[i][1].length).toBe(i)
      }
    } finally {
      process.kill(peer.pid, 'SIGKILL')
      await peer.exited
      dealer.close()
    }
  })

  test('idle: with the poller running and no traffic, CPU time grows < 50 ms in 1 s', async () => {
    const pull = ctx.socket(ZMQ_PULL)
    const poller = new ZmqPoller(() => {
      while (pull.recvBatch() > 0) {}
      poller.rearm()
    })
    try {
      pull.bind(`ipc://${dir}/idle`)
      poller.add(pull)
      poller.start()
      await Bun.sleep(50)
      const before = process.cpuUsage()
      await Bun.sleep(1_000)
      const used = process.cpuUsage(before)
      expect((used.user + used.system) / 1000).toBeLessThan(50)
      expect(poller.wakeups()).toBeLessThan(5)
    } finally {
      poller.stop()
      pull.close()
    }
  })
})

describe('FFI integer arguments', () => {
  // Bun's FFI passed 0 for an i32 argument whose JS number was held as a double; the outbox's
  // `committed` once came out that way under load and every flush sent nothing, forever.
  test('a send length held as a double still reaches C', () => {
    const c = new ZmqContext()
    try {
      const pull = c.socket(ZMQ_PULL)
      const push = c.socket(ZMQ_PUSH)
      pull.bind('inproc://zgate-test-double-len')
      push.connect('inproc://zgate-test-double-len')
      const ob = push.outbox
      ob.ensure(64)
      ob.beginMessage()
      ob.frameBytes(enc.encode('hello'), 0, 5, false)
      ob.endMessage()
      // A value read from a Float64Array is a double inside JSC.
      ob.committed = new Float64Array([ob.committed])[0]
      expect(push.flush()).toBe(true)
      expect(push.sent).toBe(1)
      let n = 0
      for (let i = 0; i < 100 && n === 0; i++) n = pull.recvBatch()
      expect(n).toBe(1)
      expect(dec.decode(pull.inbox.frame(0, 0))).toBe('hello')
    } finally {
      c.close()
    }
  })
})
