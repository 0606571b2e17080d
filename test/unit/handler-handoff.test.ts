// Handoff between two handlers on one fake gateway (zhttp.md 4.10): handoff-start, the
// gateway's proceed, the portable state, and the second handler continuing with the next seq
// as the session's new address; for a request before and after its head, and a WebSocket.

import { afterEach, describe, expect, test } from 'bun:test'
import { createHandler, type HandoffState, type Handler, type HandlerOptions } from '../../src/handler/index.ts'
import { FakeGateway } from '../../src/handler/testing/index.ts'

const handlers: Handler[] = []
afterEach(async () => {
  for (const h of handlers.splice(0)) await h.close()
})

async function start(gw: FakeGateway, id: string, o: HandlerOptions = {}): Promise<Handler> {
  const h = await createHandler({ transport: gw.transport, id, log: () => {}, ...o })
  handlers.push(h)
  return h
}

describe('handoff', () => {
  test('one handler takes the request, another answers it', async () => {
    const gw = new FakeGateway()
    let resolveState: (s: HandoffState) => void = () => {}
    const handed = new Promise<HandoffState>((r) => (resolveState = r))
    await start(gw, 'first', { onRequest: async (req) => resolveState(await req.handoff()) })
    const second = await start(gw, 'second')
    const r = gw.request({ path: '/job?n=7', body: 'payload' })
    const state = JSON.parse(JSON.stringify(await handed)) as HandoffState
    expect(state.kind).toBe('http')
    expect(state.bodyPending).toBe(true)
    expect(state.uri).toBe('http://example.com/job?n=7')
    const req = second.resume(state)
    expect(req.isResumed).toBe(true)
    expect(req.query.get('n')).toBe('7')
    const body = await req.text()
    await req.respond(200, { 'Content-Type': 'text/plain' }, `${body} done by ${second.id}`)
    const res = await r.response()
    expect(res.text()).toBe('payload done by second')
    const froms = r.packets.map((p) => new TextDecoder().decode(p.fields.get('from') as Uint8Array))
    expect(froms).toEqual(['first', 'second', 'second', 'second'])
    expect(r.packets.map((p) => p.type)).toEqual(['handoff-start', 'keep-alive', 'credit', ''])
    expect(gw.errors).toEqual([])
  })

  test('a streamed response continues in the new process, body still under credits', async () => {
    const gw = new FakeGateway({ bufferSize: 100 })
    let resolveState: (s: HandoffState) => void = () => {}
    const handed = new Promise<HandoffState>((r) => (resolveState = r))
    await start(gw, 'first', {
      onRequest: async (req) => {
        const res = req.stream(200, { 'Content-Type': 'text/plain' })
        await res.write('a'.repeat(80))
        resolveState(await req.handoff())
      },
    })
    const second = await start(gw, 'second')
    const r = gw.request()
    const state = await handed
    expect(state.responseStarted).toBe(true)
    expect(state.bodyPending).toBe(false)
    const req = second.resume(state)
    const res = req.stream(0)
    await res.write('b'.repeat(80))
    await res.end()
    const out = await r.response()
    expect(out.status).toBe(200)
    expect(out.text()).toBe('a'.repeat(80) + 'b'.repeat(80))
    expect(gw.errors).toEqual([])
  })

  test('a WebSocket moves to another handler', async () => {
    const gw = new FakeGateway()
    let resolveState: (s: HandoffState) => void = () => {}
    const handed = new Promise<HandoffState>((r) => (resolveState = r))
    await start(gw, 'first', {
      onRequest: async (req) => {
        const ws = req.accept()
        const m = await ws.receive()
        await ws.send(`first:${m!.text()}`)
        resolveState(await ws.handoff())
      },
    })
    const second = await start(gw, 'second')
    const c = gw.websocket()
    await c.opened()
    await c.send('one')
    expect((await c.message(1)).text()).toBe('first:one')
    const ws = second.resume(await handed).accept()
    await c.send('two')
    const m = await ws.receive()
    await ws.send(`second:${m!.text()}`)
    expect((await c.message(2)).text()).toBe('second:two')
    expect(gw.errors).toEqual([])
  })
})
