#!/usr/bin/env bun
// Hello world: every request gets `hello world`. Behind zgate: `bun examples/run.ts hello-world`.
//   bun examples/hello-world.ts --base ipc:///tmp/zgate/client

import { createHandler } from 'zgate/handler'

const base = process.argv[process.argv.indexOf('--base') + 1] ?? 'ipc://client'
const handler = await createHandler({
  connect: base,
  onRequest: (req) => req.respond(200, { 'Content-Type': 'text/plain' }, 'hello world\n'),
})
console.log(`hello-world: serving ${base} as ${handler.id}`)
process.on('SIGTERM', () => handler.close().then(() => process.exit(0)))
process.on('SIGINT', () => handler.close().then(() => process.exit(0)))
