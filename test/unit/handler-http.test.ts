// Handler sessions over HTTP, driven in-process by zgate/handler/testing's fake gateway:
// request fields, responses under credits, request bodies under credits at every split point,
// cancels, seq gaps, malformed packets, application errors, keep-alives, silence, close.

import { afterEach, describe, expect, test } from 'bun:test'
import { createHandler, type Handler, type HandlerOptions, type Request } from '../../src/handler/index.ts'
import { FakeGateway } from '../../src/handler/testing/index.ts'

const handlers: Handler[] = []
afterEach(async () => {
  for (const h of handlers.splice(0)) await h.close()
})

const logs: string[] = []
async function start(gw: FakeGateway, o: HandlerOptions): Promise<Handler> {
  const h = await createHandler({ transport: gw.transport, id: 'test-h', log: (l, m) => logs.push(`${l} ${m}`), ...o })
  handlers.push(h)
  return h
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const utf8 = new TextEncoder()

describe('requests', () => {
  test('method, uri, path, query, headers (case-insensitive, repeats in order), peer, id, from', async () => {
    const gw = new FakeGateway()
    let seen: Request | null = null
    await start(gw, {
      onRequest: (req) => {
        seen = req
        return req.respond(200, { 'Content-Type': 'text/plain' }, 'hi')
      },
    })
    const r = gw.request({
      method: 'GET',
      path: '/a%20b/c?x=1&y=2&x=3',
      headers: [
        ['Host', 'example.com'],
        ['Cookie', 'a=1'],
        ['X-Thing', 't'],
        ['cookie', 'b=2'],
      ],
      peer: { address: '10.1.2.3', port: 4321 },
    })
    const res = await r.response()
    expect(res.status).toBe(200)
    expect(res.reason).toBe('OK')
    expect(res.text()).toBe('hi')
    expect(res.header('content-type')).toBe('text/plain')
    const req = seen as unknown as Request
    expect(req.method).toBe('GET')
    expect(req.uri).toBe('http://example.com/a%20b/c?x=1&y=2&x=3')
    expect(req.path).toBe('/a%20b/c')
    expect(req.query.getAll('x')).toEqual(['1', '3'])
    expect(req.headers.get('COOKIE')).toBe('a=1')
    expect(req.headers.getAll('cookie')).toEqual(['a=1', 'b=2'])
    expect(req.headers.get('x-thing')).toBe('t')
    expect(req.headers.toArray()[3]).toEqual(['cookie', 'b=2'])
    expect(req.peer).toEqual({ address: '10.1.2.3', port: 4321 })
    expect(req.id).toBe(r.id)
    expect(req.from).toBe('fake-gateway')
    expect(gw.errors).toEqual([])
  })

  test('async iteration form', async () => {
    const gw = new FakeGateway()
    const h = await start(gw, {})
    const served = (async () => {
      let n = 0
      for await (const req of h) {
        await req.respond(200, {}, `n=${++n} ${req.path}`)
        if (n === 3) break
      }
    })()
    const rs = [gw.request({ path: '/1' }), gw.request({ path: '/2' }), gw.request({ path: '/3' })]
    const texts = await Promise.all(rs.map(async (r) => (await r.response()).text()))
    expect(texts).toEqual(['n=1 /1', 'n=2 /2', 'n=3 /3'])
    await served
  })

  test('a web Response returned by the callback is sent', async () => {
    const gw = new FakeGateway()
    await start(gw, { onRequest: () => new Response('made', { status: 201, headers: { 'X-A': 'b' } }) })
    const res = await gw.request().response()
    expect(res.status).toBe(201)
    expect(res.text()).toBe('made')
    expect(res.header('x-a')).toBe('b')
  })
})

describe('responses under credits (zhttp.md 4.7)', () => {
  test('a body larger than the credits is split, never over them, with a Content-Length', async () => {
    const gw = new FakeGateway({ bufferSize: 1000 })
    const body = new Uint8Array(5500).map((_, i) => i & 0xff)
    await start(gw, { onRequest: (req) => req.respond(200, [], body) })
    const r = gw.request()
    const res = await r.response()
    expect(res.body).toEqual(body)
    expect(res.header('content-length')).toBe('5500')
    const data = r.packets.filter((p) => p.type === '')
    expect(data.length).toBe(6)
    for (const p of data) expect(p.body.length).toBeLessThanOrEqual(1000)
    expect(gw.errors).toEqual([])
  })

  test('write() resolves only when credits let the chunk go', async () => {
    const gw = new FakeGateway({ bufferSize: 100 })
    let second: Promise<void> | null = null
    let secondDone = false
    await start(gw, {
      onRequest: async (req) => {
        const res = req.stream(200, { 'Content-Type': 'text/plain' })
        await res.write('x'.repeat(100))
        second = res.write('y'.repeat(50)).then(() => {
          secondDone = true
        })
        await second
        await res.end()
      },
    })
    const r = gw.request()
    r.autoCredit = false
    await r.bodyAtLeast(100)
    await sleep(30)
    expect(secondDone).toBe(false)
    r.grant(60)
    await r.bodyAtLeast(150)
    await sleep(10)
    expect(secondDone).toBe(true)
    r.grant(100)
    const res = await r.response()
    expect(res.text()).toBe('x'.repeat(100) + 'y'.repeat(50))
    expect(res.header('content-length')).toBeUndefined()
    expect(gw.errors).toEqual([])
  })

  test('stream() sends the head at once; end() finishes with a packet without more', async () => {
    const gw = new FakeGateway()
    let finish: () => void = () => {}
    await start(gw, {
      onRequest: async (req) => {
        const res = req.stream(200, { 'Content-Type': 'text/event-stream' })
        await new Promise<void>((r) => (finish = r))
        await res.end('data: bye\n\n')
      },
    })
    const r = gw.request()
    const head = await r.head()
    expect(head.status).toBe(200)
    expect(r.done).toBe(false)
    finish()
    const res = await r.response()
    expect(res.text()).toBe('data: bye\n\n')
    expect(r.packets.at(-1)!.more).toBe(false)
  })
})

describe('request bodies under credits (zhttp.md 4.4)', () => {
  const BODY = 'The quick brown fox jumps over the lazy dog, 0123456789.'

  test('text() reassembles a body split at every point', async () => {
    for (let cut = 1; cut < BODY.length; cut++) {
      const gw = new FakeGateway({ bufferSize: cut })
      const h = await start(gw, { onRequest: async (req) => req.respond(200, {}, await req.text()) })
      const r = gw.request({ body: BODY })
      const res = await r.response()
      expect(res.text()).toBe(BODY)
      expect(gw.errors).toEqual([])
      await h.close()
    }
  })

  test('bytes() past the limit answers 413; the handler keeps serving', async () => {
    const gw = new FakeGateway()
    await start(gw, { bodyLimitBytes: 10, onRequest: async (req) => req.respond(200, {}, await req.bytes()) })
    const bad = await gw.request({ body: 'x'.repeat(11) }).response()
    expect(bad.status).toBe(413)
    const good = await gw.request({ body: 'x'.repeat(10) }).response()
    expect(good.status).toBe(200)
    expect(good.text()).toBe('x'.repeat(10))
  })

  test('the body stream grants credits only as the application reads', async () => {
    const gw = new FakeGateway({ bufferSize: 100 })
    const WINDOW = 400
    const TOTAL = 5000
    let read = 0
    let maxAhead = 0
    let grantedAtRead: number[] = []
    let r!: ReturnType<FakeGateway['request']>
    await start(gw, {
      bodyWindowBytes: WINDOW,
      onRequest: async (req) => {
        const reader = req.body.getReader()
        for (;;) {
          const { value, done } = await reader.read()
          if (done) break
          read += value.length
          const granted = r.sent('credit').reduce((n, p) => n + (p.fields.get('credits') as number), 0)
          grantedAtRead.push(granted)
          maxAhead = Math.max(maxAhead, granted - read)
          await sleep(1)
        }
        await req.respond(200, {}, String(read))
      },
    })
    r = gw.request({ streamBody: true })
    r.sendBody(new Uint8Array(TOTAL).fill(1)).catch(() => {})
    const res = await r.response(5000)
    expect(res.text()).toBe(String(TOTAL))
    expect(maxAhead).toBeLessThanOrEqual(WINDOW)
    expect(grantedAtRead.length).toBeGreaterThan(TOTAL / 100 - 1)
    grantedAtRead = []
  })
})

describe('cancels, seq, malformed packets, errors', () => {
  test('a gateway cancel aborts the signal and rejects a pending write', async () => {
    const gw = new FakeGateway({ bufferSize: 10 })
    let reason = ''
    let writeError = ''
    let started: () => void = () => {}
    const wrote = new Promise<void>((r) => (started = r))
    await start(gw, {
      onRequest: async (req) => {
        req.signal.addEventListener('abort', () => (reason = (req.signal.reason as Error).message))
        const res = req.stream(200)
        started()
        await res.write('x'.repeat(50)).catch((e: Error) => (writeError = e.message))
      },
    })
    const r = gw.request()
    r.autoCredit = false
    await wrote
    await r.bodyAtLeast(10)
    r.disconnect()
    await sleep(20)
    expect(reason).toBe('cancel')
    expect(writeError).toContain('cancel')
  })

  test('a seq gap cancels the session as the protocol says (zhttp.md 4.5)', async () => {
    const gw = new FakeGateway()
    let reason = ''
    const h = await start(gw, {
      onRequest: (req) => {
        req.signal.addEventListener('abort', () => (reason = (req.signal.reason as Error).message))
        req.stream(200)
      },
    })
    const r = gw.request()
    await r.head()
    r.sendWithSeq(5, { type: 'keep-alive' })
    await r.waitPacket('cancel')
    expect(reason).toBe('seq-gap')
    expect(h.stats.seqErrors).toBe(1)
  })

  test('malformed and unexpected packets are counted, logged at a limited rate, dropped', async () => {
    const gw = new FakeGateway()
    logs.length = 0
    const h = await start(gw, { onRequest: (req) => req.respond(200, {}, 'ok') })
    for (let i = 0; i < 50; i++) gw.sendRawFirst(utf8.encode(`T5:junk`))
    gw.sendRawLater(utf8.encode('Xnot-a-packet'))
    gw.sendRawFirst(utf8.encode('T25:4:type,6:cancel,2:id,1:x,}'))
    const res = await gw.request().response()
    expect(res.text()).toBe('ok')
    expect(h.stats.malformed).toBe(51)
    expect(h.stats.unexpected).toBe(1)
    expect(logs.filter((l) => l.includes('malformed')).length).toBe(10)
  })

  test('an application exception answers 500, is logged and never kills the handler', async () => {
    const gw = new FakeGateway()
    logs.length = 0
    let n = 0
    const h = await start(gw, {
      onRequest: async (req) => {
        if (++n === 1) throw new Error('boom')
        if (n === 2) JSON.parse('{')
        return req.respond(200, {}, 'fine')
      },
    })
    expect((await gw.request().response()).status).toBe(500)
    expect((await gw.request().response()).status).toBe(500)
    const ok = await gw.request().response()
    expect(ok.text()).toBe('fine')
    expect(h.stats.appErrors).toBe(2)
    expect(logs.some((l) => l.startsWith('error') && l.includes('boom'))).toBe(true)
  })
})

describe('keep-alives, silence, close', () => {
  test('held streams get batched keep-alives well within the session timeout', async () => {
    const gw = new FakeGateway()
    await start(gw, { keepAliveIntervalMs: 60, onRequest: (req) => void req.stream(200) })
    const a = gw.request()
    const b = gw.request()
    await a.head()
    await b.head()
    await a.waitPacket('keep-alive', 1000)
    await sleep(30)
    const ka = gw.packets.filter((p) => p.type === 'keep-alive')
    // one packet listing both ids (zhttp.md 3.1): the same map seen for each id
    expect(ka.length).toBeGreaterThanOrEqual(2)
    expect(Array.isArray(ka[0].fields.get('id'))).toBe(true)
    expect(gw.errors).toEqual([])
  })

  test('a silent gateway ends its sessions; a vanished one at once', async () => {
    const gw = new FakeGateway()
    const reasons: string[] = []
    await start(gw, {
      gatewaySilenceMs: 80,
      keepAliveIntervalMs: 1000,
      onRequest: (req) => {
        req.signal.addEventListener('abort', () => reasons.push((req.signal.reason as Error).message))
        req.stream(200)
      },
    })
    const r = gw.request()
    await r.head()
    await sleep(200)
    expect(reasons).toEqual(['gateway-silent'])
    const r2 = gw.request()
    await r2.head()
    gw.vanish()
    await sleep(20)
    expect(reasons).toEqual(['gateway-silent', 'gateway-gone'])
  })

  test('packets wait for the gateway subscription instead of being lost', async () => {
    const gw = new FakeGateway({ subscribe: false })
    await start(gw, { onRequest: (req) => req.respond(200, {}, 'late') })
    const r = gw.request()
    await sleep(30)
    expect(r.packets.length).toBe(0)
    gw.subscribe()
    expect((await r.response()).text()).toBe('late')
  })

  test('close() lets held packets go when the subscription comes within the linger', async () => {
    const gw = new FakeGateway({ subscribe: false })
    const h = await start(gw, { lingerMs: 1000, onRequest: (req) => req.respond(200, {}, 'bye') })
    const r = gw.request()
    await sleep(20)
    const closing = h.close()
    setTimeout(() => gw.subscribe(), 50)
    await closing
    expect((await r.response()).text()).toBe('bye')
  })

  test('close() cancels open sessions in one batch and ends the iterator', async () => {
    const gw = new FakeGateway()
    const h = await start(gw, {})
    const got: string[] = []
    const loop = (async () => {
      for await (const req of h) {
        got.push(req.id)
        req.stream(200)
      }
    })()
    const a = gw.request()
    const b = gw.request()
    await a.head()
    await b.head()
    await h.close()
    await loop
    expect(got.length).toBe(2)
    const cancels = gw.packets.filter((p) => p.type === 'cancel')
    expect(cancels.length).toBe(2)
    expect(cancels[0].fields).toBe(cancels[1].fields)
    expect(gw.closed).toBe(true)
  })

  test('await using closes the handler', async () => {
    const gw = new FakeGateway()
    {
      await using h = await createHandler({ transport: gw.transport, onRequest: (req) => req.respond(204) })
      expect((await gw.request().response()).status).toBe(204)
      expect(h.openSessions).toBe(0)
    }
    expect(gw.closed).toBe(true)
  })
})

describe('req mode (zhttp.md 4.11)', () => {
  test('one reply packet through the envelope, streamed writes gathered', async () => {
    const gw = new FakeGateway()
    await start(gw, {
      onRequest: async (req) => {
        const body = await req.text()
        if (req.path === '/whole') return req.respond(200, { 'Content-Type': 'application/json' }, JSON.stringify({ got: body }))
        const res = req.stream(200)
        await res.write('a')
        await res.write('b')
        await res.end('c')
      },
    })
    const r = gw.request({ req: true, path: '/whole', body: 'payload' })
    const res = await r.response()
    expect(JSON.parse(res.text())).toEqual({ got: 'payload' })
    expect(r.packets.length).toBe(1)
    expect(r.packets[0].fields.has('from')).toBe(false)
    const r2 = gw.request({ req: true, path: '/stream' })
    expect((await r2.response()).text()).toBe('abc')
    expect(r2.packets.length).toBe(1)
    expect(gw.errors).toEqual([])
  })
})
