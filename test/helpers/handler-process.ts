// Handler processes written on zgate/handler for e2e tests: build the Node bundle once
// (dist/handler, `bun run build:handler`), spawn a handler script under Bun or Node, and wait
// for the JSON events it prints on stdout (bounded waits, reaped at cleanup).

import { join } from 'node:path'
import type { Subprocess } from 'bun'
import { LogTail, onCleanup, PROCESS_KILL_WAIT_MS, REPO_ROOT, spawnLogged, stopProcess, untrackProcess } from './harness-process.ts'
import { DEFAULT_WAIT_MS, Notifier } from './harness-wait.ts'

/** The generic test application (routes listed in its header). */
export const HANDLER_APP = join(REPO_ROOT, 'test/helpers/handler-app.mjs')
const BUILD_TIMEOUT_MS = 60_000

export type Runtime = 'bun' | 'node'

let built: Promise<void> | null = null

/** Builds dist/handler for Node once per test process. */
export function ensureHandlerBuilt(): Promise<void> {
  built ??= (async () => {
    const p = Bun.spawn(['bun', 'run', 'build:handler'], { cwd: REPO_ROOT, stdout: 'pipe', stderr: 'pipe' })
    const timer = setTimeout(() => p.kill('SIGKILL'), BUILD_TIMEOUT_MS)
    const code = await p.exited
    clearTimeout(timer)
    if (code !== 0) throw new Error(`build:handler failed: ${await new Response(p.stderr).text()}`)
  })()
  return built
}

export interface AppEvent {
  ev: string
  [k: string]: unknown
}

export interface HandlerApp {
  proc: Subprocess
  events(): AppEvent[]
  /** Waits for an event matching `match` (fields compared with ===) after index `since`. */
  waitEvent(match: Partial<AppEvent>, timeoutMs?: number, since?: number): Promise<AppEvent>
  /** Plain (non-JSON) stdout lines so far. */
  lines(): string[]
  /** Waits for a plain stdout line matching `re`; returns it. */
  waitLine(re: RegExp, timeoutMs?: number): Promise<string>
  stderr(): string[]
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

/** Starts `script` (default HANDLER_APP) under `runtime` and waits for its `ready` event. */
export async function startHandlerApp(runtime: Runtime, args: string[], script = HANDLER_APP, waitReady = true): Promise<HandlerApp> {
  if (runtime === 'node') await ensureHandlerBuilt()
  const exe = runtime === 'bun' ? process.execPath : (Bun.which('node') ?? 'node')
  // --expose-gc: the test application may collect garbage to measure what it retains.
  const flags = runtime === 'node' ? ['--expose-gc'] : []
  const spawned = spawnLogged([exe, ...flags, script, ...args], { cwd: REPO_ROOT, stdin: 'ignore' }, `handler-${runtime}`)
  const proc = spawned.proc
  const all: AppEvent[] = []
  const plain: string[] = []
  const errs: string[] = []
  let dead = false
  const n = new Notifier(() => (dead ? `handler exited (${proc.exitCode ?? proc.signalCode})` : undefined))
  const tails = [
    new LogTail(spawned.outPath, (line) => {
      try {
        all.push(JSON.parse(line) as AppEvent)
      } catch {
        plain.push(line)
      }
      n.wake()
    }),
    new LogTail(spawned.errPath, (line) => {
      errs.push(line)
      n.wake()
    }),
  ]
  const exited = proc.exited.then(() => {
    for (const t of tails) t.close()
    untrackProcess(proc)
    dead = true
    n.wake()
  })
  const matches = (e: AppEvent, m: Partial<AppEvent>) => Object.entries(m).every(([k, v]) => e[k] === v)
  let stopping: Promise<number | null> | undefined
  const app: HandlerApp = {
    proc,
    events: () => all.slice(),
    waitEvent: (m, timeoutMs = DEFAULT_WAIT_MS, since = 0) =>
      n.waitFor(
        () => all.slice(since).find((e) => matches(e, m)),
        timeoutMs,
        () => `handler event ${JSON.stringify(m)}; got:\n  ${all.map((e) => JSON.stringify(e).slice(0, 300)).join('\n  ')}\nstderr:\n  ${errs.slice(-20).join('\n  ')}`,
      ),
    lines: () => plain.slice(),
    waitLine: (re, timeoutMs = DEFAULT_WAIT_MS) =>
      n.waitFor(
        () => plain.find((l) => re.test(l)),
        timeoutMs,
        () => `a stdout line matching ${re}; got:\n  ${plain.slice(-20).join('\n  ')}\nstderr:\n  ${errs.slice(-20).join('\n  ')}`,
      ),
    stderr: () => errs.slice(),
    stop: (signal = 'SIGTERM') => {
      stopping ??= stopProcess(proc, signal, PROCESS_KILL_WAIT_MS).then(async (code) => {
        await exited
        return code
      })
      return stopping
    },
  }
  onCleanup(() => app.stop().then(() => {}))
  if (waitReady) await app.waitEvent({ ev: 'ready', ready: true }, 15_000)
  return app
}
