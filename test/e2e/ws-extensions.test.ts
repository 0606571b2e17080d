// Sec-WebSocket-Extensions negotiation over real sockets (zhttp.md 5.1, 5.7; checklist
// 118-122): every case of test/helpers/ws-extension-cases.ts is sent as an upgrade request;
// a case expects the connection closed without a packet, or the handler's 101 relayed with
// the expected Sec-WebSocket-Extensions (or none). Against every target of gatewayTargets();
// zgate runs it once it has WebSocket sessions (features.ts).

import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { cleanup, freePort, gatewayTargets, rawHttp, sleep, startGateway, startPeer, tmpDir } from '../helpers/harness.ts'
import type { Gateway, Peer } from '../helpers/harness.ts'
import { lacksWebSocket } from '../helpers/features.ts'
import { EXTENSION_CASES, EXTENSION_CASES_NO_COMPRESSION } from '../helpers/ws-extension-cases.ts'
import type { ExtensionOutcome } from '../helpers/ws-extension-cases.ts'

const HOOK_TIMEOUT_MS = 30_000
/** How long a malformed offer's connection may take to close, and a packet to arrive. */
const OUTCOME_TIMEOUT_MS = 3_000
const POLL_MS = 5

setDefaultTimeout(120_000)
afterAll(cleanup, HOOK_TIMEOUT_MS)

/** Sends one upgrade with these extension header lines; reports what the client saw. */
async function outcome(port: number, peer: Peer, values: string[]): Promise<ExtensionOutcome> {
  const lines = values.map((v) => `Sec-WebSocket-Extensions: ${v}\r\n`).join('')
  const req =
    'GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${lines}\r\n`
  const conn = await rawHttp(port, req)
  try {
    // Polls instead of waiting in peer.next(): a waiter left behind by a closed case would
    // take the next case's packet.
    const deadline = Date.now() + OUTCOME_TIMEOUT_MS
    for (;;) {
      if (peer.queued().some((p) => p.sock === 'pull')) break
      if (conn.isClosed) return 'closed'
      if (Date.now() > deadline) return 'no packet and no close'
      await sleep(POLL_MS)
    }
    const first = await peer.next({ $sock: 'pull' })
    const id = String(first.packet.id)
    await peer.send({ from: peer.from, id, seq: 0, code: 101, reason: 'Switching Protocols', headers: [] })
    const res = await conn.readResponse(OUTCOME_TIMEOUT_MS, { head: true })
    expect(res.status).toBe(101)
    const ext = res.headers.filter(([n]) => n.toLowerCase() === 'sec-websocket-extensions')
    expect(ext.length).toBeLessThanOrEqual(1)
    return ext.length === 0 ? 'none' : ext[0]![1]
  } finally {
    conn.close()
  }
}

for (const target of gatewayTargets()) {
  for (const compression of [true, false]) {
    const skip = target.skipReason !== '' || lacksWebSocket(target.name)
    describe.skipIf(skip)(`${target.name}: extension offers${compression ? ' with --compression' : ''}`, () => {
      let gw: Gateway | undefined
      let peer: Peer | undefined
      let port = 0

      beforeAll(async () => {
        const dir = tmpDir()
        port = freePort()
        const args = ['--listen', `127.0.0.1:${port},stream`, '--zclient-stream', `ipc://${dir}/zs`]
        if (compression) args.push('--compression')
        gw = await startGateway({ cmd: target.cmd, args })
        peer = await startPeer({ base: `ipc://${dir}/zs` })
        await peer.waitLinked()
      }, HOOK_TIMEOUT_MS)

      afterAll(async () => {
        await peer?.stop()
        await gw?.stop()
      }, HOOK_TIMEOUT_MS)

      // One test per table, every mismatch listed at once (a case takes ~0.3 s on condure).
      test(compression ? '118-122: each offer gets the recorded outcome' : '118: offers ignored, malformed closes', async () => {
        const cases = compression ? EXTENSION_CASES : EXTENSION_CASES_NO_COMPRESSION
        const wrong: string[] = []
        for (const [values, condure, zgate] of cases) {
          const want = target.name === 'zgate' ? (zgate ?? condure) : condure
          const got = await outcome(port, peer!, values)
          if (got !== want) wrong.push(`${JSON.stringify(values)}: got ${got}, want ${want}`)
        }
        expect(wrong).toEqual([])
      })
    })
  }
}
