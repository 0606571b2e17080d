// ZeroMQ layer benchmarks: bun bench/zmq.bench.ts
//
// 1. Throughput of batched PUSH→PULL (inproc, ipc) with 200-byte messages.
// 2. Per-message send cost: outbox + one flush per batch, vs one flush() per message, vs
//    one raw zmq_send FFI call per message (the receiver is drained outside the timing).
// 3. mitata: a 100-message send+receive round, batched vs one FFI call per frame.
// 4. Poller wake-up round trip: flush on one socket → C poll thread → threadsafe
//    JSCallback → onReady on the JS thread → recvBatch.

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bench, do_not_optimize, run, summary } from 'mitata'
import { loadZmq } from '../src/zmq/ffi.ts'
import {
  FRAME_HEADER_BYTES,
  ZMQ_PULL,
  ZMQ_PUSH,
  ZMQ_RCVHWM,
  ZMQ_SNDHWM,
  ZmqContext,
  ZmqPoller,
  type ZmqSocket,
} from '../src/zmq/socket.ts'

/** Payload of every benchmark message. */
const MESSAGE_SIZE_BYTES = 200
/** Messages written between flushes in the batched runs. */
const BATCH_MESSAGES = 1000
/** Messages per throughput run. */
const THROUGHPUT_MESSAGES = 2_000_000
/** Messages per send-cost sample, and samples taken. */
const SEND_COST_MESSAGES = 1000
const SEND_COST_SAMPLES = 300
/** Poller round trips measured (after warm-up). */
const LATENCY_ROUNDS = 3000
const HWM_MESSAGES = 100_000
const ZMQ_DONTWAIT = 1

const lib = loadZmq()
const ctx = new ZmqContext()
const dir = mkdtempSync(join(tmpdir(), 'zgate-bench-'))
const payload = new Uint8Array(MESSAGE_SIZE_BYTES).fill(0x5a)

function pair(endpoint: string): { push: ZmqSocket; pull: ZmqSocket } {
  const pull = ctx.socket(ZMQ_PULL)
  const push = ctx.socket(ZMQ_PUSH)
  for (const s of [pull, push]) {
    s.setInt(ZMQ_SNDHWM, HWM_MESSAGES)
    s.setInt(ZMQ_RCVHWM, HWM_MESSAGES)
  }
  pull.bind(endpoint)
  push.connect(endpoint)
  return { push, pull }
}

/** Write `count` single-frame messages straight into the outbox. */
function fill(push: ZmqSocket, count: number): void {
  const ob = push.outbox
  ob.ensure(count * (FRAME_HEADER_BYTES + MESSAGE_SIZE_BYTES))
  for (let i = 0; i < count; i++) {
    ob.beginMessage()
    const d = ob.beginFrame()
    ob.buf.set(payload, d)
    ob.endFrame(d + MESSAGE_SIZE_BYTES, false)
    ob.endMessage()
  }
}

function drain(pull: ZmqSocket): number {
  let total = 0
  do total += pull.recvBatch()
  while (!pull.inbox.drained)
  return total
}

async function throughput(name: string, endpoint: string): Promise<void> {
  const { push, pull } = pair(endpoint)
  let received = 0
  const t0 = Bun.nanoseconds()
  while (received < THROUGHPUT_MESSAGES) {
    if (push.outbox.messages < BATCH_MESSAGES) fill(push, BATCH_MESSAGES)
    push.flush()
    const n = drain(pull)
    received += n
    if (n === 0 && push.blocked) await Bun.sleep(0) // let ipc I/O threads catch up
  }
  const s = (Bun.nanoseconds() - t0) / 1e9
  const rate = received / s
  console.log(
    `${name.padEnd(8)} ${(rate / 1e6).toFixed(2)} M msg/s  ${((rate * MESSAGE_SIZE_BYTES) / 2 ** 20).toFixed(0)} MiB/s payload  (${received} msgs, ${s.toFixed(2)} s)`,
  )
  push.close()
  pull.close()
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(s.length * p))]
}

function sendCost(): void {
  const { push, pull } = pair('inproc://bench-send-cost')
  const raw = push.nativeHandle()
  const variants: [string, () => void][] = [
    [
      `batched: write ${SEND_COST_MESSAGES} in the outbox, 1 flush()`,
      () => {
        fill(push, SEND_COST_MESSAGES)
        push.flush()
      },
    ],
    [
      'one flush() per message',
      () => {
        for (let i = 0; i < SEND_COST_MESSAGES; i++) {
          fill(push, 1)
          push.flush()
        }
      },
    ],
    [
      'one raw zmq_send FFI call per message',
      () => {
        for (let i = 0; i < SEND_COST_MESSAGES; i++) lib.sendRaw(raw, payload, MESSAGE_SIZE_BYTES, ZMQ_DONTWAIT)
      },
    ],
  ]
  for (const [name, send] of variants) {
    const samples: number[] = []
    for (let k = 0; k < SEND_COST_SAMPLES + 50; k++) {
      const t0 = Bun.nanoseconds()
      send()
      const dt = Bun.nanoseconds() - t0
      if (drain(pull) !== SEND_COST_MESSAGES) throw new Error(`${name}: lost messages`)
      if (k >= 50) samples.push(dt / SEND_COST_MESSAGES) // first 50: JIT warm-up
    }
    console.log(`${name.padEnd(52)} ${median(samples).toFixed(0).padStart(5)} ns/msg (median)`)
  }
  push.close()
  pull.close()
}

async function mitataRound(): Promise<void> {
  const { push, pull } = pair('inproc://bench-mitata')
  const raw = push.nativeHandle()
  const rawPull = pull.nativeHandle()
  const rx = new Uint8Array(MESSAGE_SIZE_BYTES)
  summary(() => {
    bench('100 × 200 B: outbox + flush + recvBatch (2 FFI calls)', () => {
      fill(push, 100)
      push.flush()
      do_not_optimize(drain(pull))
    })
    bench('100 × 200 B: zmq_send + zmq_recv per message (200 FFI calls)', () => {
      for (let i = 0; i < 100; i++) lib.sendRaw(raw, payload, MESSAGE_SIZE_BYTES, ZMQ_DONTWAIT)
      let got = 0
      while (lib.recvRaw(rawPull, rx, rx.length, ZMQ_DONTWAIT) >= 0) got++
      do_not_optimize(got)
    })
  })
  await run()
  push.close()
  pull.close()
}

async function pollerLatency(name: string, endpoint: string): Promise<void> {
  const { push, pull } = pair(endpoint)
  let resolve: (() => void) | null = null
  const poller = new ZmqPoller(() => {
    drain(pull)
    poller.rearm()
    const r = resolve
    resolve = null
    if (r !== null) r()
  })
  poller.add(pull)
  poller.start()
  await Bun.sleep(20)
  const samples: number[] = []
  for (let k = 0; k < LATENCY_ROUNDS + 200; k++) {
    const done = new Promise<void>((r) => {
      resolve = r
    })
    const t0 = Bun.nanoseconds()
    fill(push, 1)
    push.flush()
    await done
    if (k >= 200) samples.push((Bun.nanoseconds() - t0) / 1000)
  }
  console.log(
    `${name.padEnd(8)} p50 ${median(samples).toFixed(1)} µs  p99 ${percentile(samples, 0.99).toFixed(1)} µs  (${LATENCY_ROUNDS} round trips, ${poller.wakeups()} C wake-ups)`,
  )
  poller.stop()
  push.close()
  pull.close()
}

console.log(`libzmq ${lib.version} from ${lib.path}\n`)
console.log('== throughput: batched PUSH→PULL, 200-byte messages, one JS thread both ends ==')
await throughput('inproc', 'inproc://bench-throughput')
await throughput('ipc', `ipc://${dir}/throughput`)
console.log('\n== per-message send cost (inproc, 200 B; receiver drained outside the timing) ==')
sendCost()
console.log('\n== poller wake-up round trip: flush → poll thread → JSCallback → onReady → recvBatch ==')
await pollerLatency('inproc', 'inproc://bench-latency')
await pollerLatency('ipc', `ipc://${dir}/latency`)
console.log('\n== mitata ==')
await mitataRound()
ctx.close()
rmSync(dir, { recursive: true, force: true })
