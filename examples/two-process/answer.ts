#!/usr/bin/env bun
// Condure's two-process example, process two: answers a request that print-ids.ts printed,
// then exits. The gateway holds the client for up to its session timeout (60 s).
//   bun examples/two-process/answer.ts --base ipc:///tmp/zgate/client --dir /tmp/zgate/held <id> [text]

import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { createHandler, type HandoffState } from 'zgate/handler'

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1] : dflt
}
const base = arg('base', 'ipc://client')
const dir = arg('dir', '/tmp/zgate-held')
const rest = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && !all[i - 1]?.startsWith('--'))
const [id, text = 'answered by another process'] = rest
if (id === undefined) {
  console.error('usage: answer.ts --base BASE --dir DIR <id> [text]')
  process.exit(2)
}
const file = join(dir, `${id}.json`)
const state = JSON.parse(readFileSync(file, 'utf8')) as HandoffState
rmSync(file)

await using handler = await createHandler({ connect: { stream: base, newRequests: false } })
const req = handler.resume(state)
await req.respond(200, { 'Content-Type': 'text/plain' }, `${text} (request ${req.id}, ${req.method} ${req.path})\n`)
console.log(`answered ${id}`)
