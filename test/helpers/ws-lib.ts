// A well-known WebSocket client for the e2e tests: the `ws` npm package under Node
// (test/helpers/ws-lib-client.mjs), driven over stdio. startWsLib() connects it to a gateway;
// its events (open, message, ping, pong, close, error) queue up for next(), bounded waits.

import { join } from 'node:path'
import type { Subprocess } from 'bun'
import { LogTail, onCleanup, PROCESS_KILL_WAIT_MS, REPO_ROOT, spawnLogged, stopProcess, untrackProcess } from './harness-process.ts'
import { DEFAULT_WAIT_MS, Notifier, settlesWithin } from './harness-wait.ts'

const CLIENT_SCRIPT = join(REPO_ROOT, 'test/helpers/ws-lib-client.mjs')

export interface WsLibEvent {
  ev: 'open' | 'unexpected-response' | 'message' | 'ping' | 'pong' | 'close' | 'error' | 'ack'
  status?: number
  headers?: Record<string, string>
  extensions?: string
  protocol?: string
  binary?: boolean
  length?: number
  sha1?: string
  b64?: string
  code?: number
  reason?: string
  message?: string
}

/** `ws` ClientOptions passed through as JSON, plus subprotocols. */
export interface WsLibOptions {
  perMessageDeflate?: boolean | { [k: string]: boolean | number }
  headers?: Record<string, string>
  protocols?: string[]
  maxPayload?: number
  /** CA file to verify a wss:// server with. */
  caFile?: string
  /** SNI and verification name for wss:// (default: the URL host). */
  servername?: string
}

export interface WsLib {
  proc: Subprocess
  /** Removes and returns the first queued event of kind `ev` (bounded wait). */
  next(ev: WsLibEvent['ev'], timeoutMs?: number): Promise<WsLibEvent>
  events(): WsLibEvent[]
  send(data: Uint8Array | string, o?: { binary?: boolean; fin?: boolean; compress?: boolean }): void
  /** Sends patternBytes(n) as one message. */
  sendPattern(n: number, o?: { binary?: boolean }): void
  ping(data?: Uint8Array | string): void
  pong(data?: Uint8Array | string): void
  close(code?: number, reason?: string): void
  /** Sends burstMessage(seed, 0 .. count-1, min, max) (ws-burst.mjs), `window` awaiting echo. */
  burst(o: { seed: number; count: number; min: number; max: number; window: number }): void
  stop(): Promise<void>
}

/** Deterministic message bytes, identical to patternBytes in ws-lib-client.mjs. */
export function patternBytes(n: number): Uint8Array {
  const b = new Uint8Array(n)
  for (let i = 0; i < n; i++) b[i] = (i * 31 + (i >> 8)) & 0xff
  return b
}

export function sha1Hex(b: Uint8Array): string {
  return new Bun.CryptoHasher('sha1').update(b).digest('hex')
}

/** Decoded bytes of an event's b64 field. */
export function eventBytes(e: WsLibEvent): Uint8Array {
  return new Uint8Array(Buffer.from(e.b64 ?? '', 'base64'))
}

const b64 = (d: Uint8Array | string) => Buffer.from(typeof d === 'string' ? new TextEncoder().encode(d) : d).toString('base64')

export async function startWsLib(url: string, options: WsLibOptions = {}): Promise<WsLib> {
  const node = Bun.which('node')
  if (node === null) throw new Error('startWsLib: node is not installed')
  const spawned = spawnLogged([node, CLIENT_SCRIPT, url, JSON.stringify(options)], { cwd: REPO_ROOT, stdin: 'pipe' }, 'ws-lib')
  const proc = spawned.proc as Subprocess<'pipe', number, number>
  const all: WsLibEvent[] = []
  const queue: WsLibEvent[] = []
  const errLines: string[] = []
  let dead = false
  const n = new Notifier(() => (dead ? `ws client exited (code ${proc.exitCode})` : undefined))
  const tails = [
    new LogTail(spawned.outPath, (line) => {
      try {
        const e = JSON.parse(line) as WsLibEvent
        all.push(e)
        queue.push(e)
      } catch {
        errLines.push(`stdout: ${line}`)
      }
      n.wake()
    }),
    new LogTail(spawned.errPath, (l) => errLines.push(l)),
  ]
  void proc.exited.then(() => {
    for (const t of tails) t.close()
    untrackProcess(proc)
    dead = true
    n.wake()
  })
  const write = (obj: object) => {
    if (dead || proc.exitCode !== null) throw new Error('ws client exited')
    proc.stdin.write(`${JSON.stringify(obj)}\n`)
    proc.stdin.flush()
  }
  const describe = () => {
    const evs = all.slice(-10).map((e) => `  ${JSON.stringify(e).slice(0, 300)}`)
    return `events:\n${evs.join('\n')}\nstderr:\n  ${errLines.slice(-10).join('\n  ')}`
  }
  let stopping: Promise<void> | undefined
  const lib: WsLib = {
    proc,
    next: (ev, timeoutMs = DEFAULT_WAIT_MS) =>
      n.waitFor(
        () => {
          const i = queue.findIndex((e) => e.ev === ev)
          return i < 0 ? undefined : queue.splice(i, 1)[0]
        },
        timeoutMs,
        () => `ws client event ${ev}\n${describe()}`,
      ),
    events: () => all.slice(),
    send: (data, o = {}) => write({ cmd: 'send', b64: b64(data), binary: o.binary ?? typeof data !== 'string', fin: o.fin, compress: o.compress }),
    sendPattern: (len, o = {}) => write({ cmd: 'send', pattern: len, binary: o.binary ?? true }),
    ping: (data = '') => write({ cmd: 'ping', b64: b64(data) }),
    pong: (data = '') => write({ cmd: 'pong', b64: b64(data) }),
    close: (code, reason) => write({ cmd: 'close', code, reason }),
    burst: (o) => write({ cmd: 'burst', ...o }),
    stop: () => {
      stopping ??= (async () => {
        if (!dead) {
          try {
            write({ cmd: 'quit' })
            proc.stdin.end()
          } catch {
            // already gone
          }
          await settlesWithin(proc.exited, PROCESS_KILL_WAIT_MS)
        }
        await stopProcess(proc, 'SIGTERM', PROCESS_KILL_WAIT_MS)
      })()
      return stopping
    },
  }
  onCleanup(() => lib.stop())
  return lib
}
