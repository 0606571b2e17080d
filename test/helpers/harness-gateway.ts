// Gateway processes for the e2e harness: which gateways to run (zgate, Debian's condure),
// their listeners, and startGateway(), which waits until one is really ready: listening,
// started, signal handlers installed and accepting connections.

import { basename } from 'node:path'
import type { Subprocess } from 'bun'
import {
  LogTail,
  onCleanup,
  PROCESS_KILL_WAIT_MS,
  REPO_ROOT,
  spawnLogged,
  stopProcess,
  untrackProcess,
} from './harness-process.ts'
import { DEFAULT_WAIT_MS, Notifier, settlesWithin, sleep } from './harness-wait.ts'
import { rawHttp } from './raw-http.ts'

/** Bound on a gateway's start-up, and on a peer's link to it (harness modules only). */
export const GATEWAY_READY_TIMEOUT_MS = 10_000
const PROCESS_STOP_TIMEOUT_MS = 12_000 // condure may spend up to 10 s sending cancels (zhttp.md 4.12)
const READY_LINE = /\] started$/
const SIGNAL_HANDLER_WAIT_MS = 2_000

/** Commands that start a gateway; the harness appends the condure-style flags. */
export function gatewayCommands(): { zgate: string[]; condure: string[] } {
  const bun = basename(process.execPath).startsWith('bun') ? process.execPath : 'bun'
  return { zgate: [bun, 'src/main.ts', 'serve'], condure: ['condure'] }
}

export interface GatewayTarget {
  name: 'zgate' | 'condure'
  cmd: string[]
  /** Empty when the target can run here, otherwise why it is skipped. */
  skipReason: string
}

/**
 * Gateways e2e files run against when ZGATE_E2E_GATEWAYS is unset: the reference and zgate,
 * so every e2e case compares the two. ZGATE_E2E_GATEWAYS=condure (or =zgate) narrows it.
 */
export const DEFAULT_GATEWAYS: readonly GatewayTarget['name'][] = ['condure', 'zgate']

/**
 * The gateways e2e files should run against (ZGATE_E2E_GATEWAYS, comma-separated, else
 * DEFAULT_GATEWAYS). condure gets a skipReason when no `condure` is on PATH. zgate never
 * does: it is the program under test, and src/main.ts is part of this checkout, so a zgate
 * that cannot start fails its tests instead of skipping them.
 */
export function gatewayTargets(): GatewayTarget[] {
  const cmds = gatewayCommands()
  const env = process.env.ZGATE_E2E_GATEWAYS
  const wanted = env ? env.split(',').map((s) => s.trim()).filter(Boolean) : DEFAULT_GATEWAYS
  const out: GatewayTarget[] = []
  for (const name of wanted) {
    if (name === 'condure') {
      const ok = Bun.which('condure') !== null
      const skipReason = ok ? '' : 'condure is not installed (apt-get install condure)'
      out.push({ name, cmd: cmds.condure, skipReason })
    } else if (name === 'zgate') {
      out.push({ name, cmd: cmds.zgate, skipReason: '' })
    } else {
      throw new Error(`ZGATE_E2E_GATEWAYS: unknown gateway ${name}`)
    }
  }
  return out
}

/**
 * condure and zgate when both are among gatewayTargets() and runnable here, for tests that
 * compare the two side by side; null otherwise (such tests are skipped).
 */
export function comparedTargets(): { condure: GatewayTarget; zgate: GatewayTarget } | null {
  const byName = new Map(gatewayTargets().map((t) => [t.name, t]))
  const condure = byName.get('condure')
  const zgate = byName.get('zgate')
  if (condure === undefined || zgate === undefined || condure.skipReason || zgate.skipReason) return null
  return { condure, zgate }
}

export type ListenTarget = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string }

/** The listeners named by the `--listen` flags in `args` (condure syntax). */
export function listenTargets(args: string[]): ListenTarget[] {
  const out: ListenTarget[] = []
  for (let i = 0; i < args.length; i++) {
    let v: string | undefined
    if (args[i] === '--listen') v = args[++i]
    else if (args[i]?.startsWith('--listen=')) v = args[i]!.slice('--listen='.length)
    if (v === undefined) continue
    const [addr = '', ...params] = v.split(',')
    if (params.includes('local') || addr.includes('/')) {
      out.push({ kind: 'unix', path: addr })
      continue
    }
    const m = /^\[(.+)\]:(\d+)$/.exec(addr) ?? /^(.+):(\d+)$/.exec(addr)
    let host = m ? m[1]! : '127.0.0.1'
    const port = Number(m ? m[2] : addr)
    if (host === '0.0.0.0') host = '127.0.0.1'
    if (host === '::') host = '::1'
    out.push({ kind: 'tcp', host, port })
  }
  return out
}

export interface GatewayOptions {
  args: string[]
  /** Program and leading arguments; default gatewayCommands().zgate. */
  cmd?: string[]
  cwd?: string
  env?: Record<string, string>
  /** Wait for `listening on` lines, `readyLine` and a TCP connect to each listener (default true). */
  waitReady?: boolean
  /**
   * Logged once start-up is complete (condure and zgate: `[INFO] ... [<target>] started`);
   * signals sent before it may hit default handlers. null: do not wait for it.
   */
  readyLine?: RegExp | null
  readyTimeoutMs?: number
}

export interface Gateway {
  proc: Subprocess
  pid: number
  /** First TCP listener port from --listen (0 if none). */
  port: number
  listeners: ListenTarget[]
  /** stdout and stderr lines so far, in arrival order. */
  lines(stream?: 'stdout' | 'stderr'): string[]
  /** Index to pass as `since` to waitForLine to ignore earlier lines. */
  mark(): number
  waitForLine(re: RegExp, timeoutMs?: number, since?: number): Promise<string>
  exited: Promise<number | null>
  /** Sends `signal`, waits (bounded, SIGKILL fallback), returns the exit code (null if killed). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>
}

export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  const cmd = [...(opts.cmd ?? gatewayCommands().zgate), ...opts.args]
  const env = { ...process.env, ...opts.env }
  const spawned = spawnLogged(cmd, { cwd: opts.cwd ?? REPO_ROOT, env, stdin: 'ignore' }, 'gateway')
  const proc = spawned.proc
  const all: { stream: 'stdout' | 'stderr'; line: string }[] = []
  // Set only after the final read of the log files, so no line is missed by a waiter.
  let dead = false
  const isDead = () => dead
  const dump = () => {
    const exit = proc.exitCode ?? proc.signalCode ?? 'running'
    return `${cmd.join(' ')}\n  exit=${exit}\n  ${all.map((l) => l.line).join('\n  ')}`
  }
  const n = new Notifier(() => (isDead() ? `gateway exited (${proc.exitCode ?? proc.signalCode})` : undefined))
  const tails = (['stdout', 'stderr'] as const).map(
    (stream) =>
      new LogTail(stream === 'stdout' ? spawned.outPath : spawned.errPath, (line) => {
        all.push({ stream, line })
        n.wake()
      }),
  )
  const exited = proc.exited.then(() => {
    for (const t of tails) t.close()
    untrackProcess(proc)
    dead = true
    n.wake()
    return proc.exitCode
  })

  const waitForLine = (re: RegExp, timeoutMs = DEFAULT_WAIT_MS, since = 0): Promise<string> =>
    n.waitFor(
      () => all.slice(since).find((l) => re.test(l.line))?.line,
      timeoutMs,
      () => `a line matching ${re}:\n${dump()}`,
    )

  let stopping: Promise<number | null> | undefined
  const listeners = listenTargets(opts.args)
  const tcp = listeners.find((l) => l.kind === 'tcp')
  const gw: Gateway = {
    proc,
    pid: proc.pid,
    port: tcp?.kind === 'tcp' ? tcp.port : 0,
    listeners,
    lines: (stream) => all.filter((l) => !stream || l.stream === stream).map((l) => l.line),
    mark: () => all.length,
    waitForLine,
    exited,
    stop: (signal = 'SIGTERM', timeoutMs = PROCESS_STOP_TIMEOUT_MS) => {
      stopping ??= stopProcess(proc, signal, timeoutMs).then(async (code) => {
        await settlesWithin(exited, PROCESS_KILL_WAIT_MS)
        return code
      })
      return stopping
    },
  }
  onCleanup(() => gw.stop().then(() => {}))

  if (opts.waitReady ?? true) {
    const deadline = Date.now() + (opts.readyTimeoutMs ?? GATEWAY_READY_TIMEOUT_MS)
    const want = Math.max(listeners.length, 1)
    try {
      await n.waitFor(
        () => (all.filter((l) => /listening on/.test(l.line)).length >= want ? true : undefined),
        Math.max(deadline - Date.now(), 1),
        () => `${want} "listening on" line(s)`,
      )
      const readyLine = opts.readyLine === undefined ? READY_LINE : opts.readyLine
      if (readyLine) await waitForLine(readyLine, Math.max(deadline - Date.now(), 1))
      await waitSignalHandlers(proc.pid, Math.min(SIGNAL_HANDLER_WAIT_MS, Math.max(deadline - Date.now(), 1)))
      for (const l of listeners) await probeConnect(l, deadline)
    } catch (e) {
      await gw.stop('SIGKILL')
      throw new Error(`gateway did not become ready: ${e instanceof Error ? e.message : e}\n${dump()}`)
    }
  }
  return gw
}

/** Bound on a gateway expected to fail at start-up (failingStart). */
const ONE_SHOT_EXIT_TIMEOUT_MS = 10_000

/** Runs a gateway expecting it to exit at start-up; returns its exit code and stdout. */
export async function failingStart(target: GatewayTarget, args: string[]): Promise<{ code: number | null; out: string }> {
  const proc = Bun.spawn([...target.cmd, ...args], { stdout: 'pipe', stderr: 'pipe', stdin: 'ignore' })
  const timer = setTimeout(() => proc.kill('SIGKILL'), ONE_SHOT_EXIT_TIMEOUT_MS)
  const code = await proc.exited
  clearTimeout(timer)
  return { code, out: await new Response(proc.stdout).text() }
}

// Signal numbers on Linux; bit (n - 1) of /proc/PID/status SigCgt is set once n is caught.
const STOP_SIGNALS = { SIGINT: 2, SIGQUIT: 3, SIGTERM: 15 }

/** Whether `pid` has handlers installed for SIGINT, SIGQUIT and SIGTERM; null if unknown. */
export async function stopSignalsHandled(pid: number): Promise<boolean | null> {
  let status: string
  try {
    status = await Bun.file(`/proc/${pid}/status`).text()
  } catch {
    return null
  }
  const m = /^SigCgt:\s*([0-9a-f]+)$/m.exec(status)
  if (!m) return null
  const caught = BigInt(`0x${m[1]}`)
  return Object.values(STOP_SIGNALS).every((n) => (caught >> BigInt(n - 1)) & 1n)
}

/**
 * condure logs `started` a moment before it installs its signal handlers, so a SIGTERM
 * sent right after the line kills it outright. Wait (bounded) until the kernel reports the
 * handlers; if they never appear, carry on and let the test see the default disposition.
 */
async function waitSignalHandlers(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if ((await stopSignalsHandled(pid)) !== false) return
    await sleep(5)
  }
}

/** Connects (and immediately closes) until the listener accepts or the deadline passes. */
async function probeConnect(l: ListenTarget, deadline: number): Promise<void> {
  let last = ''
  while (Date.now() < deadline) {
    try {
      const c = await rawHttp(l.kind === 'tcp' ? { host: l.host, port: l.port } : { unix: l.path }, undefined, {
        connectTimeoutMs: Math.max(deadline - Date.now(), 1),
      })
      c.close()
      return
    } catch (e) {
      last = e instanceof Error ? e.message : String(e)
      await sleep(50)
    }
  }
  throw new Error(`cannot connect to ${JSON.stringify(l)}: ${last}`)
}
