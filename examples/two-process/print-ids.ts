#!/usr/bin/env bun
// Condure's two-process example, process one: it takes every request, prints its id and
// leaves it waiting (it hands the session off, zhttp.md 4.10, into --dir/<id>.json). Process
// two (answer.ts) answers any of them: "the process that receives the request doesn't need to
// be the same one that responds". `bun examples/run.ts two-process`.
//   bun examples/two-process/print-ids.ts --base ipc:///tmp/zgate/client --dir /tmp/zgate/held

import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createHandler } from 'zgate/handler'

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1] : dflt
}
const base = arg('base', 'ipc://client')
const dir = arg('dir', '/tmp/zgate-held')
mkdirSync(dir, { recursive: true })

const handler = await createHandler({
  connect: base,
  onRequest: async (req) => {
    const state = await req.handoff()
    writeFileSync(join(dir, `${req.id}.json`), JSON.stringify(state))
    console.log(req.id)
  },
})
console.error(`print-ids: serving ${base} as ${handler.id}; answer with: bun examples/two-process/answer.ts --base ${base} --dir ${dir} <id>`)
process.on('SIGTERM', () => handler.close().then(() => process.exit(0)))
process.on('SIGINT', () => handler.close().then(() => process.exit(0)))
