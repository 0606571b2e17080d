#!/usr/bin/env bun
// The README's first command: zgate on port 8000 plus the hello-world handler, both in the
// foreground until Ctrl-C. Try `curl -i localhost:8000` from another terminal.
// The handler starts, and the curl hint is printed, only once the gateway has logged `started`;
// a gateway that stops before that (a port in use, no libzmq) ends the demo with its status.

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const port = process.env.PORT ?? '8000'
/** DEMO_HOST=127.0.0.1 keeps the demo on loopback (the tests); unset, it listens on every address. */
const listen = process.env.DEMO_HOST ? `${process.env.DEMO_HOST}:${port}` : port
const dir = mkdtempSync(join(tmpdir(), 'zgate-demo-'))
const base = `ipc://${dir}/client`
const root = join(import.meta.dir, '..')
/** The end of zgate's start-up line: `[INFO] <time> [zgate] started` (app.ts). */
const STARTED_RE = /\] started$/m

const gateway = Bun.spawn(
  [process.execPath, join(root, 'src/main.ts'), 'serve', '--listen', `${listen},stream`, '--zclient-stream', base],
  { stdout: 'pipe', stderr: 'inherit' },
)
let handler: ReturnType<typeof Bun.spawn> | null = null
/** The gateway's log relay; settles once its stdout ends (so its last lines are out). */
let relay: Promise<boolean> = Promise.resolve(false)

/**
 * Ctrl-C reaches the whole foreground process group, so the gateway and the handler got the
 * SIGINT too: give them this long to stop by themselves before a SIGTERM (a second signal
 * would make zgate exit at once, skipping its clean shutdown).
 */
const CHILDREN_SIGINT_WAIT_MS = 2_000

let stopping = false
/** Stops both children (now, or after CHILDREN_SIGINT_WAIT_MS) and exits with `code`. */
function stop(code: number, waitForSigint = false): void {
  if (stopping) return
  stopping = true
  const terminate = (): void => {
    for (const p of [handler, gateway]) if (p !== null && p.exitCode === null) p.kill('SIGTERM')
  }
  if (waitForSigint) setTimeout(terminate, CHILDREN_SIGINT_WAIT_MS).unref()
  else terminate()
  Promise.all([handler?.exited, gateway.exited, relay]).then(() => {
    rmSync(dir, { recursive: true, force: true })
    process.exit(code)
  })
}
process.on('SIGINT', () => stop(0, true))
process.on('SIGTERM', () => stop(0))

/** Copies the gateway's log to ours; resolves true at `started`, false if it ends first. */
async function relayUntilStarted(): Promise<boolean> {
  const decoder = new TextDecoder()
  let pending = ''
  let started = false
  for await (const chunk of gateway.stdout) {
    process.stdout.write(chunk)
    if (started) continue
    pending = (pending + decoder.decode(chunk, { stream: true })).slice(-200)
    if (STARTED_RE.test(pending)) {
      started = true
      startHandler()
    }
  }
  return started
}

function startHandler(): void {
  handler = Bun.spawn([process.execPath, join(root, 'scripts/hello-handler.ts'), '--base', base], {
    stdout: 'inherit',
    stderr: 'inherit',
  })
  console.log(`demo: try  curl -i localhost:${port}/  (Ctrl-C stops both)`)
  handler.exited.then((code) => {
    if (stopping) return
    console.error(`demo: the handler exited with status ${code}`)
    stop(1)
  })
}

relay = relayUntilStarted()
const code = await gateway.exited
const started = await relay
if (!stopping) {
  console.error(
    started
      ? `demo: the gateway exited with status ${code}`
      : `demo: the gateway did not start (status ${code}); see its [ERR] line above`,
  )
  stop(code === 0 ? 1 : code)
}
