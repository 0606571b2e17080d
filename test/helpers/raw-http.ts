// Raw TCP (or unix socket) client for the e2e harness: writes exact bytes, reads what the
// gateway sends back with bounded waits, and reports how the connection closed.

import type { Socket } from 'bun'
import { onCleanup } from './harness-process.ts'
import { DEFAULT_WAIT_MS, Notifier, withTimeout } from './harness-wait.ts'
import { parseHttpResponse, responseLength, UNTIL_CLOSE } from './http-response.ts'
import type { HttpResponse } from './http-response.ts'

const CONNECT_TIMEOUT_MS = 5_000

export interface CloseInfo {
  /** fin: the server closed; reset: ECONNRESET; error: another socket error; local: we closed. */
  how: 'fin' | 'reset' | 'error' | 'local'
  error?: string
}

export interface RawConn {
  localPort: number
  /** Queues bytes (a string is latin1: one char per byte, so "\xff" is byte 0xff). */
  write(data: string | Uint8Array): void
  /**
   * Waits until the bytes received since connect satisfy `until` (a RegExp tested on their
   * latin1 text, a minimum byte count, or a predicate) and returns all of them. Rejects on
   * timeout or when the connection closes first.
   */
  readUntil(until: RegExp | number | ((all: Uint8Array) => boolean), timeoutMs?: number): Promise<Uint8Array>
  /** Next complete response after the previous one read this way (1xx count as responses). */
  readResponse(timeoutMs?: number, opts?: { head?: boolean }): Promise<HttpResponse>
  received(): Uint8Array
  text(): string
  closed: Promise<CloseInfo>
  readonly isClosed: boolean
  waitClosed(timeoutMs?: number): Promise<CloseInfo>
  /** Half-close: send FIN, keep reading. */
  end(): void
  /** Abortive close (RST). */
  reset(): void
  /** Close both directions. */
  close(): void
  /** Stop reading from the socket (the peer's writes back up), until resume(). */
  pause(): void
  resume(): void
}

type RawTarget = number | { port: number; host?: string } | { unix: string }

export async function rawHttp(
  target: RawTarget,
  initial?: string | Uint8Array,
  opts: { connectTimeoutMs?: number } = {},
): Promise<RawConn> {
  let buf = new Uint8Array(4096)
  let len = 0
  let cursor = 0
  let pending: Uint8Array[] = []
  let closeInfo: CloseInfo | undefined
  let resolveClosed: (c: CloseInfo) => void = () => {}
  const closed = new Promise<CloseInfo>((r) => (resolveClosed = r))
  const n = new Notifier(() => (closeInfo ? `connection closed (${describeClose(closeInfo)})` : undefined))
  const wake = () => n.wake()
  const finish = (c: CloseInfo) => {
    if (closeInfo) return
    closeInfo = c
    resolveClosed(c)
    wake()
  }
  const flush = (s: Socket<undefined>) => {
    while (pending.length > 0) {
      const head = pending[0]!
      const n = s.write(head)
      if (n < 0) return
      if (n < head.length) {
        pending[0] = head.subarray(n)
        return
      }
      pending.shift()
    }
  }
  const handlers = {
    data(_s: Socket<undefined>, chunk: Uint8Array) {
      if (len + chunk.length > buf.length) {
        const nb = new Uint8Array(Math.max(buf.length * 2, len + chunk.length))
        nb.set(buf.subarray(0, len))
        buf = nb
      }
      buf.set(chunk, len)
      len += chunk.length
      wake()
    },
    drain: (s: Socket<undefined>) => flush(s),
    end: () => finish({ how: 'fin' }),
    close: (_s: Socket<undefined>, err?: Error) => finish(err ? classify(err) : { how: 'fin' }),
    error: (_s: Socket<undefined>, err: Error) => finish(classify(err)),
  }
  const t = typeof target === 'number' ? { host: '127.0.0.1', port: target } : target
  const describe = 'unix' in t ? t.unix : `${t.host ?? '127.0.0.1'}:${t.port}`
  const connecting =
    'unix' in t
      ? Bun.connect({ unix: t.unix, socket: handlers })
      : Bun.connect({ hostname: t.host ?? '127.0.0.1', port: t.port, socket: handlers })
  const connectMs = opts.connectTimeoutMs ?? CONNECT_TIMEOUT_MS
  const sock = await withTimeout(connecting, connectMs, () => `connect to ${describe}`)
  onCleanup(() => conn.close())
  const received = () => buf.slice(0, len)
  const dump = () => JSON.stringify(Buffer.from(buf.subarray(0, len)).toString('latin1').slice(-2000))

  const waitFor = <T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> =>
    n.waitFor(check, timeoutMs, () => `${what}; received ${len} bytes: ${dump()}`)

  const conn: RawConn = {
    localPort: 'localPort' in sock ? sock.localPort : 0,
    write(data) {
      if (closeInfo && closeInfo.how === 'local') throw new Error('write after close')
      pending.push(typeof data === 'string' ? Buffer.from(data, 'latin1') : data)
      flush(sock)
    },
    readUntil(until, timeoutMs = DEFAULT_WAIT_MS) {
      const test =
        typeof until === 'number'
          ? () => len >= until
          : until instanceof RegExp
            ? () => until.test(Buffer.from(buf.subarray(0, len)).toString('latin1'))
            : () => until(buf.subarray(0, len))
      return waitFor(() => (test() ? received() : undefined), timeoutMs, `data matching ${String(until)}`)
    },
    readResponse(timeoutMs = DEFAULT_WAIT_MS, o = {}) {
      return waitFor(
        () => {
          const view = buf.subarray(cursor, len)
          const n = responseLength(view, o)
          if (n >= 0) {
            cursor += n
            return parseHttpResponse(view.slice(0, n))
          }
          if (closeInfo && closeInfo.how !== 'local' && n === UNTIL_CLOSE) {
            cursor = len
            return parseHttpResponse(view.slice())
          }
          return undefined
        },
        timeoutMs,
        'a complete HTTP response',
      )
    },
    received,
    text: () => new TextDecoder().decode(buf.subarray(0, len)),
    closed,
    get isClosed() {
      return closeInfo !== undefined
    },
    waitClosed: (timeoutMs = DEFAULT_WAIT_MS) =>
      withTimeout(closed, timeoutMs, () => `server to close ${describe}; received ${len} bytes: ${dump()}`),
    end() {
      if (!closeInfo) sock.shutdown()
    },
    reset() {
      if (!closeInfo) sock.terminate()
      finish({ how: 'local' })
    },
    close() {
      pending = []
      if (!closeInfo) sock.end()
      finish({ how: 'local' })
    },
    pause: () => sock.pause(),
    resume: () => sock.resume(),
  }
  if (initial !== undefined) conn.write(initial)
  return conn
}

function classify(err: Error): CloseInfo {
  const code = (err as Error & { code?: string }).code ?? ''
  const how = code === 'ECONNRESET' || /reset/i.test(err.message) ? 'reset' : 'error'
  return { how, error: `${code} ${err.message}`.trim() }
}

function describeClose(c: CloseInfo): string {
  return c.error ? `${c.how}: ${c.error}` : c.how
}
