#!/usr/bin/env bun
// The README's first command: zgate on port 8000 plus the hello-world handler, both in the
// foreground until Ctrl-C. Try `curl -i localhost:8000` from another terminal.

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const port = process.env.PORT ?? '8000'
const dir = mkdtempSync(join(tmpdir(), 'zgate-demo-'))
const base = `ipc://${dir}/client`
const root = join(import.meta.dir, '..')

const gateway = Bun.spawn(
  ['bun', join(root, 'src/main.ts'), 'serve', '--listen', `${port},stream`, '--zclient-stream', base],
  { stdout: 'inherit', stderr: 'inherit' },
)
// Give the gateway a moment to bind before the handler connects (ZeroMQ reconnects anyway).
await Bun.sleep(300)
const handler = Bun.spawn(['bun', join(root, 'scripts/hello-handler.ts'), '--base', base], {
  stdout: 'inherit',
  stderr: 'inherit',
})
console.log(`demo: try  curl -i localhost:${port}/  (Ctrl-C stops both)`)

let stopping = false
function stop(): void {
  if (stopping) return
  stopping = true
  handler.kill('SIGTERM')
  gateway.kill('SIGTERM')
  Promise.all([handler.exited, gateway.exited]).then(() => {
    rmSync(dir, { recursive: true, force: true })
    process.exit(0)
  })
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
await Promise.race([gateway.exited, handler.exited])
stop()
