// Child processes and other resources of the e2e harness: the cleanup registry, temp dirs,
// free ports, spawning with output to log files, and bounded stopping.
//
// Invariants:
// - Processes are only ever signalled through the Subprocess objects this module spawned
//   (their own PID); cleanup() and a process 'exit' hook reap whatever is still alive.
// - Sockets are loopback TCP or ipc under a directory from tmpDir().

import { closeSync, fstatSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { Subprocess } from 'bun'
import { settlesWithin } from './harness-wait.ts'

export const REPO_ROOT = resolve(import.meta.dir, '../..')

/** How long a process gets to exit after SIGKILL or a polite quit (harness modules only). */
export const PROCESS_KILL_WAIT_MS = 3_000
const IPC_PATH_MAX = 100 // sun_path is 108 bytes; leave room for "-out-stream"
const TAIL_POLL_MS = 5 // how often child log files are polled for new lines

// ---------------------------------------------------------------------------------------
// cleanup registry

type Cleanup = () => Promise<void> | void
const cleanups: Cleanup[] = []
const liveProcs = new Set<Subprocess>()

const liveDirs = new Set<string>()

// Last resort, synchronous: SIGKILL what is still running and remove temp dirs.
function killAll(): void {
  for (const p of liveProcs) p.kill('SIGKILL')
  for (const d of liveDirs) rmSync(d, { recursive: true, force: true })
}
process.on('exit', killAll)
// 'exit' does not run when the test process itself is killed by a signal (ctrl-c, a CI
// timeout); gateways would then outlive it (peers exit on their own when stdin closes).
for (const [sig, num] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]] as const) {
  process.on(sig, () => {
    killAll()
    process.exit(128 + num)
  })
}

/** Runs every registered cleanup (stop processes, close sockets, remove temp dirs). */
export async function cleanup(): Promise<void> {
  const list = cleanups.splice(0).reverse()
  for (const fn of list) {
    try {
      await fn()
    } catch (e) {
      console.error('harness cleanup:', e)
    }
  }
}

/** Registers `fn` to run (in reverse order) at cleanup() (harness modules only). */
export function onCleanup(fn: Cleanup): void {
  cleanups.push(fn)
}

/** Forgets an exited process so the exit hook does not signal it (harness modules only). */
export function untrackProcess(proc: Subprocess): void {
  liveProcs.delete(proc)
}

// ---------------------------------------------------------------------------------------
// temp dirs and ports

/** A unique directory under os.tmpdir() (or /tmp if that path is too long for ipc). */
export function tmpDir(prefix = 'zgate-e2e-'): string {
  let root = tmpdir()
  if (root.length + prefix.length + 40 > IPC_PATH_MAX) root = '/tmp'
  const dir = mkdtempSync(join(root, prefix))
  liveDirs.add(dir)
  cleanups.push(() => {
    rmSync(dir, { recursive: true, force: true })
    liveDirs.delete(dir)
  })
  return dir
}

function tryListen(port: number): number {
  const server = Bun.listen({ hostname: '127.0.0.1', port, socket: { data() {} } })
  const p = server.port
  server.stop(true)
  return p
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): number {
  return tryListen(0)
}

/** A port P such that P, P+1 and P+2 are free (for tcp:// spec bases, zhttp.md 1.2). */
export function freeTcpBase(): number {
  for (let attempt = 0; attempt < 50; attempt++) {
    const p = freePort()
    if (p + 2 > 65535) continue
    try {
      tryListen(p + 1)
      tryListen(p + 2)
      return p
    } catch {
      // taken; try another
    }
  }
  throw new Error('freeTcpBase: no run of 3 free ports found')
}

// ---------------------------------------------------------------------------------------
// child processes

/**
 * Follows a log file a child process writes to. Children write their stdout/stderr to files
 * rather than pipes: a pipe's ReadableStream in bun 1.4.5 was seen to stall for good
 * mid-run (no data, no EOF), while a file can always be re-read, and once the process has
 * exited one last poll yields every line it wrote. (Harness modules only.)
 */
export class LogTail {
  private readonly fd: number
  private pos = 0
  private partial = ''
  private readonly dec = new TextDecoder()
  private readonly timer: ReturnType<typeof setInterval>
  private closed = false

  constructor(
    readonly path: string,
    private readonly onLine: (line: string) => void,
  ) {
    this.fd = openSync(path, 'r')
    this.timer = setInterval(() => this.poll(), TAIL_POLL_MS)
    this.timer.unref()
  }

  poll(): void {
    if (this.closed) return
    const size = fstatSync(this.fd).size
    while (this.pos < size) {
      const buf = Buffer.allocUnsafe(Math.min(size - this.pos, 1 << 16))
      const n = readSync(this.fd, buf, 0, buf.length, this.pos)
      if (n <= 0) break
      this.pos += n
      this.partial += this.dec.decode(buf.subarray(0, n), { stream: true })
      let nl = this.partial.indexOf('\n')
      while (nl >= 0) {
        this.onLine(this.partial.slice(0, nl).replace(/\r$/, ''))
        this.partial = this.partial.slice(nl + 1)
        nl = this.partial.indexOf('\n')
      }
    }
  }

  /** Final read (call after the writer exited); emits a trailing unterminated line too. */
  close(): void {
    if (this.closed) return
    this.poll()
    this.closed = true
    clearInterval(this.timer)
    closeSync(this.fd)
    this.partial += this.dec.decode()
    if (this.partial !== '') this.onLine(this.partial)
    this.partial = ''
  }
}

let logDir = ''
let logSeq = 0

/**
 * Spawns `cmd` with stdout and stderr going to fresh files under one temp dir (harness
 * modules only).
 */
export function spawnLogged(
  cmd: string[],
  opts: { cwd: string; env?: Record<string, string | undefined>; stdin: 'pipe' | 'ignore' },
  name: string,
): { proc: Subprocess<'pipe' | 'ignore', number, number>; outPath: string; errPath: string } {
  if (logDir === '') {
    logDir = tmpDir('zgate-e2e-logs-')
    cleanups.push(() => {
      logDir = ''
    })
  }
  const base = join(logDir, `${++logSeq}-${name}`)
  const outPath = `${base}.out`
  const errPath = `${base}.err`
  const out = openSync(outPath, 'w')
  const err = openSync(errPath, 'w')
  try {
    const proc = Bun.spawn(cmd, { cwd: opts.cwd, env: opts.env, stdin: opts.stdin, stdout: out, stderr: err })
    liveProcs.add(proc)
    return { proc, outPath, errPath }
  } finally {
    closeSync(out)
    closeSync(err)
  }
}

/**
 * Sends `signal`, SIGKILLs after `timeoutMs`, waits (bounded) for the exit and returns the
 * exit code, null if killed (harness modules only).
 */
export async function stopProcess(proc: Subprocess, signal: NodeJS.Signals, timeoutMs: number): Promise<number | null> {
  if (proc.exitCode === null && proc.signalCode === null) {
    proc.kill(signal)
    if (!(await settlesWithin(proc.exited, timeoutMs))) proc.kill('SIGKILL')
  }
  await settlesWithin(proc.exited, PROCESS_KILL_WAIT_MS)
  liveProcs.delete(proc)
  return proc.exitCode
}
