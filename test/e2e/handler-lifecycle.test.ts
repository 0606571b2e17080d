// zgate/handler lifecycle end to end, with the handler in this (Bun) process and real gateways
// (each of gatewayTargets()): joining and leaving gateways while running, sessions ended when
// their gateway dies, and close() returning promptly even with a dead gateway.

import { afterAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { createHandler, type Handler, type Request } from '../../src/handler/index.ts'
import { cleanup, freePort, freeTcpBase, gatewayTargets, rawHttp, sleep, startGateway, tmpDir } from '../helpers/harness.ts'
import type { GatewayTarget } from '../helpers/harness.ts'
import { text } from '../helpers/ws-frame.ts'

setDefaultTimeout(30_000)
afterAll(cleanup, 30_000)

const QUIET_MS = 500
const CLOSE_BOUND_MS = 1_500
const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: h\r\n\r\n`

for (const target of gatewayTargets()) {
  if (target.skipReason) describe.skip(`handler lifecycle against ${target.name} (${target.skipReason})`, () => {})
  else describe(`handler lifecycle against ${target.name}`, () => lifecycleSuite(target))
}

async function gateway(target: GatewayTarget, id: string, base: string) {
  const port = freePort()
  const gw = await startGateway({ cmd: target.cmd, args: ['--id', id, '--listen', `127.0.0.1:${port},stream`, '--zclient-stream', base] })
  return { gw, port }
}

function lifecycleSuite(target: GatewayTarget) {
  const handlers: Handler[] = []
  afterAll(async () => {
    for (const h of handlers) await h.close()
  })

  const hello = (req: Request) => req.respond(200, { 'Content-Type': 'text/plain' }, `hello from ${req.from}\n`)

  test('connect() and disconnect() while running', async () => {
    const dir = tmpDir()
    const a = await gateway(target, 'gwA', `ipc://${dir}/a`)
    const b = await gateway(target, 'gwB', `ipc://${dir}/b`)
    const h = await createHandler({ connect: `ipc://${dir}/a`, onRequest: hello })
    handlers.push(h)
    expect(await h.ready()).toBe(true)
    const c1 = await rawHttp(a.port, get('/'))
    expect(text((await c1.readResponse()).body)).toBe('hello from gwA\n')
    // B has no handler yet: its request waits in the gateway...
    const c2 = await rawHttp(b.port, get('/'))
    await expect(c2.readResponse(QUIET_MS)).rejects.toThrow()
    // ...until the handler joins B.
    h.connect(`ipc://${dir}/b`)
    expect(text((await c2.readResponse()).body)).toBe('hello from gwB\n')
    h.disconnect(`ipc://${dir}/a`)
    await sleep(100)
    const c3 = await rawHttp(a.port, get('/'))
    await expect(c3.readResponse(QUIET_MS)).rejects.toThrow()
    h.connect(`ipc://${dir}/a`)
    expect(text((await c3.readResponse()).body)).toBe('hello from gwA\n')
    for (const c of [c1, c2, c3]) c.close()
    await a.gw.stop()
    await b.gw.stop()
  })

  test('a gateway that dies ends its sessions with an abort; the others go on', async () => {
    const dir = tmpDir()
    const a = await gateway(target, 'gwA', `ipc://${dir}/a`)
    const b = await gateway(target, 'gwB', `ipc://${dir}/b`)
    const reasons: string[] = []
    const h = await createHandler({
      connect: [`ipc://${dir}/a`, `ipc://${dir}/b`],
      onRequest: (req) => {
        if (req.path !== '/hold') return hello(req)
        req.signal.addEventListener('abort', () => reasons.push(`${req.from} ${(req.signal.reason as Error).message}`))
        req.stream(200)
      },
    })
    handlers.push(h)
    expect(await h.ready()).toBe(true)
    const held = await rawHttp(a.port, get('/hold'))
    await held.readUntil(/\r\n\r\n/)
    await a.gw.stop('SIGKILL')
    const t0 = Date.now()
    while (reasons.length === 0 && Date.now() - t0 < 5000) await sleep(20)
    expect(reasons).toEqual(['gwA gateway-gone'])
    const c = await rawHttp(b.port, get('/'))
    expect(text((await c.readResponse()).body)).toBe('hello from gwB\n')
    c.close()
    await b.gw.stop()
  })

  test('close() returns promptly with a dead gateway and with one never reached', async () => {
    const dir = tmpDir()
    const a = await gateway(target, 'gwA', `ipc://${dir}/a`)
    const h = await createHandler({
      connect: [`ipc://${dir}/a`, `tcp://127.0.0.1:${freeTcpBase()}`],
      onRequest: (req) => void req.stream(200),
    })
    expect(await h.ready(2000)).toBe(false) // the tcp gateway does not exist
    const held = await rawHttp(a.port, get('/'))
    await held.readUntil(/\r\n\r\n/)
    expect(h.openSessions).toBe(1)
    await a.gw.stop('SIGKILL')
    const t0 = Date.now()
    await h.close()
    expect(Date.now() - t0).toBeLessThan(CLOSE_BOUND_MS)
    expect(h.openSessions).toBe(0)
  })
}
