#!/usr/bin/env bun
// Runs one example behind zgate with one command: zgate on :8000 (stream) and :8001 (req), the
// example's process(es), all in the foreground until Ctrl-C.
//   bun examples/run.ts hello-world | sse-clock | chat-room | req-json-api | two-process | handoff

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const name = process.argv[2] ?? 'hello-world'
const port = Number(process.env.PORT ?? '8000')
const dir = mkdtempSync(join(tmpdir(), 'zgate-example-'))
const base = `ipc://${dir}/client`
const reqEp = `ipc://${dir}/req`
const root = join(import.meta.dir, '..')
const ex = (f: string) => join(import.meta.dir, f)

const procs: Record<string, string[][]> = {
  'hello-world': [[ex('hello-world.ts'), '--base', base]],
  'sse-clock': [[ex('sse-clock.ts'), '--base', base]],
  'chat-room': [[ex('chat-room.ts'), '--base', base]],
  'req-json-api': [[ex('req-json-api.ts'), '--req', reqEp]],
  'two-process': [[ex('two-process/print-ids.ts'), '--base', base, '--dir', join(dir, 'held')]],
  handoff: [
    [ex('handoff/finish.ts'), '--base', base, '--listen', join(dir, 'finish.sock')],
    [ex('handoff/accept.ts'), '--base', base, '--to', join(dir, 'finish.sock')],
  ],
}
const cmds = procs[name]
if (cmds === undefined) {
  console.error(`unknown example ${name}; one of: ${Object.keys(procs).join(', ')}`)
  process.exit(2)
}

const children = [
  Bun.spawn(
    ['bun', join(root, 'src/main.ts'), 'serve', '--listen', `${port},stream`, '--listen', `${port + 1},req`]
      .concat(['--zclient-stream', base, '--zclient-req', reqEp]),
    { stdout: 'inherit', stderr: 'inherit' },
  ),
]
for (const c of cmds) children.push(Bun.spawn(['bun', ...c], { stdout: 'inherit', stderr: 'inherit' }))
console.log(`examples/${name}: stream on :${port}, req on :${port + 1} (Ctrl-C stops all)`)
if (name === 'two-process') {
  console.log(`answer a printed id with: bun examples/two-process/answer.ts --base ${base} --dir ${join(dir, 'held')} <id>`)
}

let stopping = false
function stop(): void {
  if (stopping) return
  stopping = true
  for (const c of children) c.kill('SIGTERM')
  Promise.all(children.map((c) => c.exited)).then(() => {
    rmSync(dir, { recursive: true, force: true })
    process.exit(0)
  })
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
await Promise.race(children.map((c) => c.exited))
stop()
