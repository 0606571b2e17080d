#!/usr/bin/env bun
// A JSON API in req mode (the gateway's --zclient-req DEALER, zhttp.md 4.11): one request, one
// reply, the same API as stream mode. `bun examples/run.ts req-json-api`, then
// `curl -d '{"name":"tea"}' localhost:8001/items` and `curl localhost:8001/items`.
//   bun examples/req-json-api.ts --req ipc:///tmp/zgate/req

import { BodyTooLargeError, createHandler, type Request } from 'zgate/handler'

const req = process.argv[process.argv.indexOf('--req') + 1] ?? 'ipc://client'
const items = new Map<number, { id: number; name: string }>()
let nextId = 1

const json = (r: Request, status: number, value: unknown) =>
  r.respond(status, { 'Content-Type': 'application/json' }, `${JSON.stringify(value)}\n`)

const handler = await createHandler({
  connect: { req },
  bodyLimitBytes: 64 << 10,
  onRequest: async (r) => {
    const m = /^\/items(?:\/(\d+))?$/.exec(r.path)
    if (m === null) return json(r, 404, { error: 'not found' })
    if (m[1] !== undefined) {
      const item = items.get(Number(m[1]))
      return item ? json(r, 200, item) : json(r, 404, { error: 'no such item' })
    }
    if (r.method === 'GET') return json(r, 200, [...items.values()])
    if (r.method !== 'POST') return json(r, 405, { error: 'use GET or POST' })
    let body: { name?: unknown }
    try {
      body = await r.json()
    } catch (e) {
      if (e instanceof BodyTooLargeError) throw e // answered 413 by the library
      return json(r, 400, { error: 'body must be JSON' })
    }
    if (typeof body.name !== 'string') return json(r, 422, { error: 'name must be a string' })
    const item = { id: nextId++, name: body.name }
    items.set(item.id, item)
    return json(r, 201, item)
  },
})
console.log(`req-json-api: serving ${req} as ${handler.id}`)
process.on('SIGTERM', () => handler.close().then(() => process.exit(0)))
process.on('SIGINT', () => handler.close().then(() => process.exit(0)))
