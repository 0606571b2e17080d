// Two gateways in front of one handler pool (issue 10, hole 12; zgate only: Condure 1.9.1
// stalls in this setup). Both run with the default instance id (`condure`) and
// --zclient-connect to a handler that binds tcp://, the usual way to put several gateways in
// front of the same handlers. The handler publishes every reply under `condure `, so both
// gateways receive every reply; only the one whose session id it carries may deliver it.
// Before session ids carried a per-process nonce, both gateways generated the same ids and a
// client now and then got the body meant for a client of the other gateway.
//
// Interleaved keep-alive clients on both gateways check every body: the handler (zhttp-peer
// `--auto echo`) answers each request with `<uri> <id>`, and each uri is unique.

import { afterAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { cleanup, freePort, freeTcpBase, gatewayTargets, rawHttp, startGateway, startPeer, withTimeout } from '../helpers/harness.ts'
import type { Gateway, Peer } from '../helpers/harness.ts'

setDefaultTimeout(120_000)
afterAll(cleanup, 30_000)

// One client per gateway, so the two gateways' session ids run in step (the same slot and
// counter at the same time) and every reply of one gateway meets a session with its id in the
// other. More clients per gateway would only make the ids drift apart.
const CLIENTS_PER_GATEWAY = 1
const REQUESTS_PER_CLIENT = 2000
/** Bound on one client's whole run of requests. */
const CLIENT_RUN_TIMEOUT_MS = 90_000

const zgate = gatewayTargets().find((t) => t.name === 'zgate' && t.skipReason === '')
if (!zgate) console.warn('\n!!! shared-handlers.test.ts: SKIPPING, zgate is not among the runnable targets\n')

/** One keep-alive client: REQUESTS_PER_CLIENT requests in sequence; returns the wrong bodies. */
async function client(port: number, name: string): Promise<string[]> {
  const conn = await rawHttp(port)
  const wrong: string[] = []
  for (let i = 0; i < REQUESTS_PER_CLIENT; i++) {
    const path = `/${name}/${i}`
    conn.write(`GET ${path} HTTP/1.1\r\nHost: h\r\n\r\n`)
    const r = await conn.readResponse()
    const body = r.bodyText()
    if (r.status !== 200 || !body.startsWith(`http://h${path} `)) wrong.push(`${path}: ${r.status} ${body}`)
  }
  conn.close()
  return wrong
}

describe.skipIf(!zgate)('two gateways with the same instance id share one handler pool', () => {
  for (const [title, extraA] of [
    ['one event loop each', [] as string[]],
    ['one of them with --workers 2', ['--workers', '2']],
  ] as const) {
    test(`${title}: every client gets only its own responses`, async () => {
      const base = `tcp://127.0.0.1:${freeTcpBase()}`
      const pool: Peer = await startPeer({ base, bind: true, auto: 'echo' })
      const start = (extra: readonly string[]): Promise<Gateway> =>
        startGateway({
          cmd: zgate!.cmd,
          args: ['--listen', `127.0.0.1:${freePort()}`, '--zclient-stream', base, '--zclient-connect', ...extra],
        })
      const statsPort = freePort()
      const gws = [await start(extraA), await start(['--stats', `127.0.0.1:${statsPort}`])]
      // Both SUB sockets subscribed (`condure `) before any request: a reply must reach both.
      await withTimeout(
        (async () => {
          while (pool.events().filter((e) => e.ev === 'subscribe' && e.on === true).length < 2) await Bun.sleep(20)
        })(),
        10_000,
        () => 'two subscriptions',
      )
      const runs: Promise<string[]>[] = []
      for (let c = 0; c < CLIENTS_PER_GATEWAY; c++) {
        gws.forEach((gw, g) => runs.push(client(gw.port, `g${g}c${c}`)))
      }
      const wrong = (await withTimeout(Promise.all(runs), CLIENT_RUN_TIMEOUT_MS, () => 'all clients')).flat()
      expect(wrong.slice(0, 5)).toEqual([])
      expect(wrong.length).toBe(0)
      // Every request reached the pool and was answered once (the peer reports replies a bit later).
      const total = 2 * CLIENTS_PER_GATEWAY * REQUESTS_PER_CLIENT
      const answered = () => pool.events().filter((e) => e.ev === 'auto').length
      await withTimeout((async () => { while (answered() < total) await Bun.sleep(20) })(), 10_000, () => `${total} replies, ${answered()} so far`)
      expect(answered()).toBe(total)
      // The second gateway received every reply: its own were delivered, the first gateway's
      // (another nonce) were dropped as unknown ids.
      const metrics = await (await fetch(`http://127.0.0.1:${statsPort}/metrics`)).text()
      const metric = (name: string) => Number(new RegExp(`^${name.replace(/[{}]/g, '\\$&')} (\\d+)$`, 'm').exec(metrics)?.[1])
      const perGateway = CLIENTS_PER_GATEWAY * REQUESTS_PER_CLIENT
      expect(metric('zgate_handler_packets_in_total')).toBe(2 * perGateway)
      expect(metric('zgate_handler_packets_dropped_total{reason="unknown-id"}')).toBe(perGateway)
      expect(metric('zgate_requests_total{kind="stream"}')).toBe(perGateway)
      for (const gw of gws) expect(await gw.stop()).toBe(0)
      await pool.stop()
    })
  }
})
