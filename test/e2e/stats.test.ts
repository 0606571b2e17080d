// `--stats` (issue 5 part 6, zgate only: Condure has no metrics endpoint): Prometheus text at
// GET /metrics on a TCP port or a unix socket, whose counters move by exactly what the test
// did — connections, requests by kind, client bytes, handler packets, drops by reason, zgate's
// own error responses by status, WebSocket messages — and the debug-level summary line.

import { afterAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { cleanup, freePort, gatewayTargets, rawHttp, sleep, startGateway, startPeer, tmpDir } from '../helpers/harness.ts'
import type { Gateway, GatewayTarget, Peer } from '../helpers/harness.ts'
import { HandlerSession } from '../helpers/ws-session.ts'
import { wsConnect } from '../helpers/ws-raw.ts'
import { OP_TEXT } from '../helpers/ws-frame.ts'
import { answer, ok } from '../helpers/req-mode.ts'

const HOOK_TIMEOUT_MS = 30_000
const SUMMARY_MS = 300
/** A few of zgate's 100 ms housekeeping ticks. */
const TICK_WAIT_MS = 350
/** How long the lag test stops the gateway process. */
const STALL_MS = 600

setDefaultTimeout(30_000)
afterAll(cleanup, HOOK_TIMEOUT_MS)

type Metrics = Map<string, number>

/** Parses the exposition text: `name{labels} value` lines, comments checked for shape. */
function parseMetrics(text: string): Metrics {
  const m: Metrics = new Map()
  for (const line of text.split('\n')) {
    if (line === '') continue
    if (line.startsWith('#')) {
      expect(line).toMatch(/^# (HELP|TYPE) zgate_\w+ .+$/)
      continue
    }
    const sp = line.lastIndexOf(' ')
    const value = Number(line.slice(sp + 1))
    expect(Number.isFinite(value)).toBe(true)
    m.set(line.slice(0, sp), value)
  }
  return m
}

interface Env {
  gw: Gateway
  stream: Peer
  req: Peer
  port: number
  reqPort: number
  statsPort: number
  base: string
}

async function scrape(env: Env): Promise<Metrics> {
  const r = await fetch(`http://127.0.0.1:${env.statsPort}/metrics`)
  expect(r.status).toBe(200)
  expect(r.headers.get('content-type')).toStartWith('text/plain; version=0.0.4')
  return parseMetrics(await r.text())
}

/** Gauges that move with time rather than with what a test does (the event-loop lag). */
const TIME_GAUGES = new Set(['zgate_event_loop_lag_seconds'])

/** The change of every metric between two scrapes (only the ones that moved), time gauges aside. */
function delta(a: Metrics, b: Metrics): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [k, v] of b) if (!TIME_GAUGES.has(k) && v !== (a.get(k) ?? 0)) out[k] = v - (a.get(k) ?? 0)
  return out
}

async function startEnv(target: GatewayTarget, extra: string[] = [], env?: Record<string, string>): Promise<Env> {
  const dir = tmpDir()
  const [port, reqPort, statsPort] = [freePort(), freePort(), freePort()]
  const base = `ipc://${dir}/zs`
  const reqEp = `ipc://${dir}/req`
  const gw = await startGateway({
    cmd: target.cmd,
    env,
    args: [
      '--listen', `127.0.0.1:${port},stream`,
      '--listen', `127.0.0.1:${reqPort},req`,
      '--zclient-stream', base,
      '--zclient-req', reqEp,
      '--stats', `127.0.0.1:${statsPort}`,
      ...extra,
    ],
  })
  const stream = await startPeer({ base })
  const req = await startPeer({ base: '', req: { type: 'router', endpoints: [reqEp] } })
  await stream.waitLinked()
  await req.waitLinked()
  return { gw, stream, req, port, reqPort, statsPort, base }
}

async function stopEnv(env: Env): Promise<void> {
  await env.stream.stop()
  await env.req.stop()
  expect(await env.gw.stop()).toBe(0)
}

/** Waits (bounded) until the gateway's gauges show no open connections of the harness probes. */
async function settled(env: Env): Promise<Metrics> {
  for (let i = 0; i < 50; i++) {
    const m = await scrape(env)
    if (m.get('zgate_connections_open{mode="stream"}') === 0 && m.get('zgate_connections_open{mode="req"}') === 0) return m
    await sleep(20)
  }
  return scrape(env)
}

for (const target of gatewayTargets()) {
  if (target.name !== 'zgate' || target.skipReason) continue
  describe('--stats against zgate (zgate only)', () => {
    test('counters move by exactly what one stream request, one req request and one WebSocket message did', async () => {
      const env = await startEnv(target)
      const before = await settled(env)

      // One stream-mode request with a 5-byte response body, connection kept open.
      const reqText = 'GET /s HTTP/1.1\r\nHost: h\r\n\r\n'
      const conn = await rawHttp(env.port, reqText)
      const first = await env.stream.next({ $sock: 'pull', uri: 'http://h/s' })
      await new HandlerSession(env.stream, first).send({ code: 200, reason: 'OK', headers: [['Content-Length', '5']], body: 'hello' })
      const resp = await conn.readResponse()
      expect(resp.bodyText()).toBe('hello')
      const open = await scrape(env)
      expect(delta(before, open)).toEqual({
        'zgate_connections_open{mode="stream"}': 1,
        'zgate_connections_accepted_total': 1,
        'zgate_requests_total{kind="stream"}': 1,
        'zgate_client_bytes_in_total': reqText.length,
        'zgate_client_bytes_out_total': resp.raw.length,
        'zgate_handler_packets_in_total': 1,
        'zgate_handler_packets_out_total': 1,
      })
      conn.close()
      await sleep(50)
      const closed = await scrape(env)
      expect(delta(open, closed)).toEqual({ 'zgate_connections_open{mode="stream"}': -1 })

      // One req-mode request.
      const rconn = await rawHttp(env.reqPort, 'GET /r HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n')
      const pk = await env.req.next({ $sock: 'req' })
      await answer(env.req, pk, ok('r'))
      expect((await rconn.readResponse()).bodyText()).toBe('r')
      await rconn.waitClosed()
      await sleep(50)
      const afterReq = delta(closed, await scrape(env))
      expect(afterReq['zgate_requests_total{kind="req"}']).toBe(1)
      expect(afterReq['zgate_connections_accepted_total']).toBe(1)
      expect(afterReq['zgate_handler_packets_in_total']).toBe(1)
      expect(afterReq['zgate_handler_packets_out_total']).toBe(1)
      expect(afterReq['zgate_connections_open{mode="req"}']).toBeUndefined() // back to 0

      // One WebSocket session: one message each way.
      const m0 = await scrape(env)
      const opening = wsConnect(env.port, { path: '/w' })
      const wf = await env.stream.next({ $sock: 'pull', uri: 'ws://h/w' })
      const hs = new HandlerSession(env.stream, wf)
      await hs.accept()
      const { ws } = await opening
      ws.send({ opcode: OP_TEXT, payload: new TextEncoder().encode('ping me') })
      await hs.next((p) => p['content-type'] === 'text')
      await hs.send({ body: 'pong you', 'content-type': 'text' })
      expect((await ws.nextFrame()).opcode).toBe(OP_TEXT)
      const m1 = await scrape(env)
      const d = delta(m0, m1)
      expect(d['zgate_requests_total{kind="websocket"}']).toBe(1)
      expect(d['zgate_websocket_messages_in_total']).toBe(1)
      expect(d['zgate_websocket_messages_out_total']).toBe(1)
      expect(d['zgate_requests_total{kind="stream"}']).toBeUndefined()
      ws.close()
      await stopEnv(env)
    })

    test('client errors by status and handler packet drops by reason', async () => {
      const env = await startEnv(target, ['--stream-maxconn', '2', '--workers', '1', '--req-maxconn', '1'])
      const before = await settled(env)
      // 400: a malformed request line; 505: HTTP/2.0; 431: a head larger than the buffer.
      for (const bad of ['BAD\r\n\r\n', 'GET / HTTP/2.0\r\nHost: h\r\n\r\n', `GET / HTTP/1.1\r\nHost: h\r\nX: ${'a'.repeat(9000)}\r\n\r\n`]) {
        const c = await rawHttp(env.port, bad)
        await c.waitClosed()
      }
      // 503: both stream slots taken by open connections, a third is refused.
      const holders = [await rawHttp(env.port, 'GET /h1 HTTP/1.1\r\nHost: h\r\n\r\n'), await rawHttp(env.port, 'GET /h2 HTTP/1.1\r\nHost: h\r\n\r\n')]
      const refused = await rawHttp(env.port)
      expect((await refused.readResponse()).status).toBe(503)
      // Handler packets zgate cannot use: unparsable, unknown id. (A wrong instance prefix
      // never arrives: SUB filters on "condure ".)
      await env.stream.sendRaw('condure Tnot-a-tnetstring')
      await env.stream.send({ from: env.stream.from, id: '0-999-1', seq: 0, type: 'keep-alive' })
      let d: Record<string, number> = {}
      for (let i = 0; i < 50; i++) {
        d = delta(before, await scrape(env))
        if (d['zgate_handler_packets_dropped_total{reason="unknown-id"}'] === 1) break
        await sleep(20)
      }
      expect(d['zgate_client_errors_total{status="400"}']).toBe(1)
      expect(d['zgate_client_errors_total{status="505"}']).toBe(1)
      expect(d['zgate_client_errors_total{status="431"}']).toBe(1)
      expect(d['zgate_client_errors_total{status="503"}']).toBe(1)
      expect(d['zgate_client_errors_total{status="504"}']).toBeUndefined()
      expect(d['zgate_handler_packets_dropped_total{reason="parse-error"}']).toBe(1)
      expect(d['zgate_handler_packets_dropped_total{reason="unknown-id"}']).toBe(1)
      expect(d['zgate_handler_packets_in_total']).toBe(2)
      expect(d['zgate_connections_accepted_total']).toBe(6)
      for (const h of holders) h.close()
      await stopEnv(env)
    })

    test('zgate_event_loop_lag_seconds: 0 with no connection open; a stopped process shows as lag', async () => {
      const env = await startEnv(target)
      await settled(env)
      // The housekeeping tick stops at its first run without connections, and the gauge with it.
      await sleep(TICK_WAIT_MS)
      expect((await scrape(env)).get('zgate_event_loop_lag_seconds')).toBe(0)
      // An open connection keeps the tick running; a SIGSTOP of STALL_MS makes the tick that
      // fell due meanwhile run at least STALL_MS minus one period late.
      const conn = await rawHttp(env.port)
      await sleep(TICK_WAIT_MS)
      process.kill(env.gw.pid, 'SIGSTOP')
      await sleep(STALL_MS)
      process.kill(env.gw.pid, 'SIGCONT')
      await sleep(TICK_WAIT_MS)
      const lag = (await scrape(env)).get('zgate_event_loop_lag_seconds') ?? -1
      expect(lag).toBeGreaterThanOrEqual((STALL_MS - 100) / 1000)
      conn.close()
      await stopEnv(env)
    })

    test('a unix-socket --stats endpoint; other paths are 404; the file is removed at exit', async () => {
      const dir = tmpDir()
      const path = join(dir, 'stats.sock')
      const port = freePort()
      const gw = await startGateway({ cmd: target.cmd, args: ['--listen', `127.0.0.1:${port}`, '--zclient-stream', `ipc://${dir}/zs`, '--stats', path] })
      const r = await fetch('http://localhost/metrics', { unix: path })
      expect(r.status).toBe(200)
      const m = parseMetrics(await r.text())
      expect(m.get('zgate_connections_accepted_total')).toBeGreaterThanOrEqual(1) // the harness's probe
      expect((await fetch('http://localhost/other', { unix: path })).status).toBe(404)
      // The client listener knows nothing of /metrics: it is a ZHTTP request there (no handler: 503 later).
      expect(await gw.stop()).toBe(0)
      expect(existsSync(path)).toBe(false)
    })

    test('--stats on a port in use is a start-up error, exit 1', async () => {
      const dir = tmpDir()
      const busy = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
      const proc = Bun.spawn([...target.cmd, '--listen', `127.0.0.1:${freePort()}`, '--zclient-stream', `ipc://${dir}/zs`, '--stats', `127.0.0.1:${busy.port}`], { stdout: 'pipe', stderr: 'pipe' })
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000)
      expect(await proc.exited).toBe(1)
      clearTimeout(timer)
      expect(await new Response(proc.stdout).text()).toMatch(/\[ERR\] .* stats: failed to bind 127\.0\.0\.1:\d+: /)
      busy.stop(true)
      expect(existsSync(join(dir, 'zs-in'))).toBe(false)
    })

    test('--log-level 3 logs a summary line when counters changed, and not when idle', async () => {
      const env = await startEnv(target, ['--log-level', '3'], { ZGATE_STATS_SUMMARY_MS: String(SUMMARY_MS) })
      const conn = await rawHttp(env.port, 'BAD\r\n\r\n')
      await conn.waitClosed()
      // The harness's readiness probes may show up in an earlier line; this one follows the 400.
      const line = await env.gw.waitForLine(/\[zgate::stats\] stats: .* client-errors=1 /, SUMMARY_MS * 5)
      expect(line).toMatch(/^\[DEBUG\] .* conns open stream=0 req=0 accepted=3 .* bytes in=7 out=\d+ /)
      const mark = env.gw.mark()
      await sleep(SUMMARY_MS * 3)
      expect(env.gw.lines().slice(mark).filter((l) => l.includes('[zgate::stats]'))).toEqual([])
      await stopEnv(env)
    })
  })
}
