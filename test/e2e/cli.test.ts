// The command line and process behaviour (zhttp.md 7.1-7.5, 1.1, 4.12; checklist items
// 126-135, 137, 141). Runs once per gateway target (forEachGateway): Debian's condure 1.9.1
// (the reference) and zgate. Every gateway runs in a fresh temp cwd, so a default
// `ipc://client` could never land in the repository.

import { afterAll, expect, setDefaultTimeout, test } from 'bun:test'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import {
  cleanup,
  freePort,
  gatewayCommands,
  forEachGateway,
  rawHttp,
  REPO_ROOT,
  sleep,
  startGateway,
  startPeer,
  stopSignalsHandled,
  tmpDir,
  waitUntilServing,
  withTimeout,
} from '../helpers/harness.ts'
import type { Gateway, GatewayTarget, Peer } from '../helpers/harness.ts'
import pkg from '../../package.json' with { type: 'json' }

const HOOK_TIMEOUT_MS = 30_000
const ONE_SHOT_EXIT_TIMEOUT_MS = 15_000
/** zgate must finish its shutdown this fast (brief; Condure may take up to 10 s, 4.12). */
const ZGATE_STOP_MAX_MS = 2_000
const LOG_LINE_RE = /^\[(ERR|WARN|INFO|DEBUG|TRACE)\] \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \[[\w:]+\] (.*)$/
const ANSI_RE = /\x1b\[[0-9;]*m/g
/** Every option of Condure 1.9.1 (zhttp.md 7.1 minus the 1.10-only ones). */
const CONDURE_191_FLAGS = [
  '--log-level', '--id', '--workers', '--req-maxconn', '--stream-maxconn', '--buffer-size',
  '--body-buffer-size', '--messages-max', '--req-timeout', '--stream-timeout', '--listen',
  '--zclient-req', '--zclient-stream', '--zclient-connect', '--ipc-file-mode',
  '--tls-identities-dir', '--compression', '--sizes', '--help', '--version',
]

setDefaultTimeout(30_000)
afterAll(cleanup, HOOK_TIMEOUT_MS)

forEachGateway('cli', cliSuite)

// ---------------------------------------------------------------------------------------
// local helpers

/** The program without subcommand: `condure`, or bun + the absolute path of src/main.ts. */
function programCmd(target: GatewayTarget): string[] {
  if (target.name === 'condure') return [...target.cmd]
  const [bun] = gatewayCommands().zgate
  return [bun!, join(REPO_ROOT, 'src/main.ts')]
}

/** The command that serves: `condure` / `zgate serve` (absolute path: cwd is a temp dir). */
function serveCmd(target: GatewayTarget): string[] {
  return target.name === 'condure' ? [...target.cmd] : [...programCmd(target), 'serve']
}

interface OneShot {
  code: number | null
  out: string[]
  err: string[]
}

/** Runs a command that is expected to exit by itself (bounded) and returns its output. */
async function runOnce(cmd: string[], args: string[]): Promise<OneShot> {
  const gw = await startGateway({ cmd, args, cwd: tmpDir(), waitReady: false })
  const code = await withTimeout(gw.exited, ONE_SHOT_EXIT_TIMEOUT_MS, () => `${cmd.join(' ')} ${args.join(' ')} to exit`)
  const clean = (l: string) => l.replace(ANSI_RE, '')
  return { code, out: gw.lines('stdout').map(clean), err: gw.lines('stderr').map(clean) }
}

/** The messages of stdout's `[ERR]` lines; fails on any stdout line not in the log format. */
function errMessages(out: string[]): string[] {
  for (const l of out) expect(l).toMatch(LOG_LINE_RE)
  return out.filter((l) => l.startsWith('[ERR] ')).map((l) => LOG_LINE_RE.exec(l)![2]!)
}

/** The ipc files under `dir`, sorted. */
function filesIn(dir: string): string[] {
  return readdirSync(dir).sort()
}

/** A gateway in a temp cwd with an ipc base there, plus an auto-hello peer, serving. */
async function servingGateway(
  target: GatewayTarget,
  extra: string[] = [],
  opts: { waitReady?: boolean; id?: string } = {},
): Promise<{ gw: Gateway; peer: Peer; dir: string; port: number }> {
  const dir = tmpDir()
  const port = freePort()
  const id = opts.id ?? 'condure'
  const args = ['--listen', `127.0.0.1:${port},stream`, '--zclient-stream', `ipc://${dir}/zs`, ...extra]
  if (id !== 'condure') args.push('--id', id)
  const gw = await startGateway({ cmd: serveCmd(target), args, cwd: dir, waitReady: opts.waitReady })
  const peer = await startPeer({ base: `ipc://${dir}/zs`, from: 'cli-h', instance: id, auto: 'hello' })
  await peer.waitLinked()
  await waitUntilServing(gw, peer)
  return { gw, peer, dir, port }
}

/** Waits (bounded) until the gateway has handlers for the stop signals installed. */
async function waitSignalHandlers(gw: Gateway): Promise<void> {
  const deadline = Date.now() + 5_000
  while (Date.now() < deadline && (await stopSignalsHandled(gw.pid)) === false) await sleep(10)
  expect(await stopSignalsHandled(gw.pid)).not.toBe(false)
}

/** Whether a TCP listener can be bound on ::1 here; returns a port that was free on it. */
function ipv6LoopbackPort(): number | null {
  try {
    const s = Bun.listen({ hostname: '::1', port: 0, socket: { data() {} } })
    const p = s.port
    s.stop(true)
    return p
  } catch {
    return null
  }
}

// ---------------------------------------------------------------------------------------

function cliSuite(target: GatewayTarget): void {
  const isZgate = target.name === 'zgate'

  test('7.1: --help exits 0 and lists every Condure 1.9.1 option', async () => {
    // zgate's options live on `zgate serve --help` (README); condure has no subcommand.
    const r = await runOnce(programCmd(target), isZgate ? ['serve', '--help'] : ['--help'])
    expect(r.code).toBe(0)
    const text = [...r.out, ...r.err].join('\n')
    for (const flag of CONDURE_191_FLAGS) expect(text).toContain(flag)
  })

  if (isZgate) {
    test('7.1: zgate --help exits 0 and lists the serve command', async () => {
      const r = await runOnce(programCmd(target), ['--help'])
      expect(r.code).toBe(0)
      expect(r.out.join('\n')).toMatch(/\bserve\b/)
    })
  }

  test('7.5: --version prints the version and exits 0; -V prints the same', async () => {
    const want = isZgate ? pkg.version : /^condure (\d+\.\d+\.\d+)$/.exec((await runOnce(programCmd(target), ['-V'])).out[0] ?? '')?.[1]
    expect(want).toBeDefined()
    const long = await runOnce(programCmd(target), ['--version'])
    expect(long.code).toBe(0)
    expect(long.out.join('\n')).toContain(want!)
    const short = await runOnce(programCmd(target), ['-V'])
    expect(short.code).toBe(0)
    expect(short.out).toEqual(long.out)
  })

  // [name, args, sentence]; every case exits 1 after one [ERR] line (items 126-131).
  const errorCases: [string, string[], string][] = [
    ['126', ['--workers', 'abc'], 'failed to parse workers: invalid digit found in string'],
    ['126', ['--workers', '2000'], 'failed to parse workers: value too large'],
    ['126', ['--workers=abc'], 'failed to parse workers: invalid digit found in string'],
    ['127', ['--id', 'a b'], 'failed to parse id: value cannot be empty or contain a space'],
    ['127', ['--id', ''], 'failed to parse id: value cannot be empty or contain a space'],
    ['128', ['--listen', '70000'], 'failed to parse listen: invalid port 70000'],
    ['129', ['--listen', '9000,bogus'], 'failed to parse listen: invalid param: bogus'],
    ['130', ['--req-maxconn', '1', '--workers', '2'], 'req maxconn must be >= workers'],
    ['131', ['--zclient-stream', 'foo://x'], 'base spec must be ipc or tcp'],
  ]
  for (const [item, args, sentence] of errorCases) {
    test(`${item}: ${JSON.stringify(args.join(' '))} logs one [ERR] "${sentence}" and exits 1`, async () => {
      const extra = args.some((a) => a.startsWith('--listen')) ? [] : ['--listen', `127.0.0.1:${freePort()},stream`]
      const r = await runOnce(serveCmd(target), [...args, ...extra])
      expect(r.code).toBe(1)
      expect(errMessages(r.out)).toEqual([sentence])
      expect(r.err).toEqual([])
    })
  }

  test('132: an unknown option is a usage error: exit 2, message on stderr, no [ERR] line', async () => {
    const r = await runOnce(serveCmd(target), ['--bogus', '--listen', `127.0.0.1:${freePort()}`])
    expect(r.code).toBe(2)
    expect(r.err.join('\n')).toContain('--bogus')
    expect(errMessages(r.out)).toEqual([])
  })

  test('132: a mistyped option gets "Did you mean" with the closest option, in Condure\'s words, exit 2', async () => {
    for (const [typed, meant] of [['--listn', '--listen'], ['--workrs', '--workers'], ['--zclient-strem', '--zclient-stream']]) {
      const r = await runOnce(serveCmd(target), [typed, '1'])
      expect(r.code).toBe(2)
      expect(r.err[0]).toBe(`error: Found argument '${typed}' which wasn't expected, or isn't valid in this context`)
      expect(r.err).toContain(`\tDid you mean '${meant}'?`)
      expect(r.err.at(-1)).toBe('For more information try --help')
      expect(r.out).toEqual([])
    }
  })

  test('133: a listen port in use logs "failed to bind 127.0.0.1:P: Address already in use (os error 98)", exit 1', async () => {
    const holder = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
    try {
      const dir = tmpDir()
      const p = holder.port
      const gw = await startGateway({
        cmd: serveCmd(target),
        cwd: dir,
        args: ['--listen', `127.0.0.1:${p},stream`, '--zclient-stream', `ipc://${dir}/zs`],
        waitReady: false,
      })
      expect(await withTimeout(gw.exited, ONE_SHOT_EXIT_TIMEOUT_MS, () => 'exit after the bind failure')).toBe(1)
      expect(errMessages(gw.lines('stdout'))).toEqual([`failed to bind 127.0.0.1:${p}: Address already in use (os error 98)`])
      // The ipc sockets bound before the failure are cleaned up too.
      expect(filesIn(dir)).toEqual([])
    } finally {
      holder.stop(true)
    }
  })

  test('7.1: --flag=value works like --flag value', async () => {
    const dir = tmpDir()
    const port = freePort()
    const gw = await startGateway({
      cmd: serveCmd(target),
      cwd: dir,
      args: [`--listen=127.0.0.1:${port},stream`, `--zclient-stream=ipc://${dir}/eq`, '--id=eqgw', '--buffer-size=4096'],
    })
    expect(gw.lines('stdout').some((l) => l.endsWith(`listening on 127.0.0.1:${port}`))).toBe(true)
    const peer = await startPeer({ base: `ipc://${dir}/eq`, from: 'eq-h', instance: 'eqgw', auto: 'hello' })
    await peer.waitLinked()
    await waitUntilServing(gw, peer)
    const conn = await rawHttp(port, 'GET /eq HTTP/1.1\r\nHost: eq\r\n\r\n')
    expect((await conn.readResponse()).bodyText()).toBe('hello world\n')
    conn.close()
    const first = await peer.next({ uri: 'http://eq/eq' })
    expect(first.packet.from).toBe('eqgw')
    expect(first.packet.credits).toBe(4096)
    await peer.stop()
    expect(await gw.stop()).toBe(0)
  })

  for (const signal of ['SIGINT', 'SIGTERM', 'SIGQUIT'] as const) {
    test(`134: ${signal} logs "stopping..." then "stopped", exits 0 and removes the ipc files (135: log format)`, async () => {
      const { gw, peer, dir } = await servingGateway(target)
      expect(filesIn(dir)).toEqual(['zs-in', 'zs-out', 'zs-out-stream'])
      const mark = gw.mark()
      const t0 = performance.now()
      const code = await gw.stop(signal)
      const ms = performance.now() - t0
      expect(code).toBe(0)
      expect(gw.proc.signalCode).toBeNull()
      const after = gw.lines('stdout').slice(mark).map((l) => LOG_LINE_RE.exec(l)?.[2])
      const stopping = after.indexOf('stopping...')
      expect(stopping).toBeGreaterThanOrEqual(0)
      expect(after.indexOf('stopped')).toBeGreaterThan(stopping)
      if (isZgate) expect(ms).toBeLessThan(ZGATE_STOP_MAX_MS)
      // 135: every stdout line is `[LEVEL] YYYY-MM-DD HH:MM:SS.mmm [target] msg`; at the
      // default level there is no DEBUG or TRACE line.
      for (const l of gw.lines('stdout')) expect(l).toMatch(LOG_LINE_RE)
      expect(gw.lines('stdout').some((l) => /^\[(DEBUG|TRACE)\]/.test(l))).toBe(false)
      expect(filesIn(dir)).toEqual([])
      await peer.stop()
    })
  }

  if (isZgate) {
    // zgate parses --ipc-file-mode as octal like Condure 1.10.1; the reference 1.9.1 parses
    // it as decimal (zhttp.md 1.1), so this runs on zgate only.
    test('141: --ipc-file-mode 660 gives mode 0660 on every bound ipc file (zgate only)', async () => {
      const { gw, peer, dir } = await servingGateway(target, ['--ipc-file-mode', '660'])
      for (const f of ['zs-out', 'zs-out-stream', 'zs-in']) {
        const st = statSync(join(dir, f))
        expect(st.isSocket()).toBe(true)
        expect((st.mode & 0o777).toString(8)).toBe('660')
      }
      await peer.stop()
      expect(await gw.stop()).toBe(0)
    })
  }

  test('7.4: --log-level 3 shows DEBUG lines once something happens', async () => {
    const { gw, peer, port } = await servingGateway(target, ['--log-level', '3'])
    const conn = await rawHttp(port, 'GET /dbg HTTP/1.1\r\nHost: d\r\n\r\n')
    expect((await conn.readResponse()).status).toBe(200)
    conn.close()
    await peer.sendRaw('condure Tgarbage') // WARN level (1.5)
    await gw.waitForLine(/^\[WARN\] /)
    expect(await gw.stop()).toBe(0)
    const out = gw.lines('stdout')
    for (const l of out) expect(l).toMatch(LOG_LINE_RE)
    expect(out.some((l) => l.startsWith('[DEBUG] '))).toBe(true)
    expect(out.some((l) => l.startsWith('[INFO] '))).toBe(true)
    await peer.stop()
  })

  test('7.4: --log-level 0 hides INFO and WARN lines', async () => {
    // No `listening on` / `started` lines to wait for: readiness is a served request plus
    // installed signal handlers.
    const { gw, peer, port } = await servingGateway(target, ['--log-level', '0'], { waitReady: false })
    await waitSignalHandlers(gw)
    await peer.sendRaw('condure Tgarbage') // would be a WARN at level >= 1
    const conn = await rawHttp(port, 'GET /quiet HTTP/1.1\r\nHost: q\r\n\r\n')
    expect((await conn.readResponse()).status).toBe(200) // the garbage was processed before this
    conn.close()
    expect(await gw.stop()).toBe(0)
    expect(gw.lines('stdout').filter((l) => /^\[(WARN|INFO|DEBUG|TRACE)\]/.test(l))).toEqual([])
    await peer.stop()
  })

  test('137: --listen [::1]:P serves a request over IPv6', async () => {
    const port = ipv6LoopbackPort()
    if (port === null) {
      const bar = '!'.repeat(78)
      console.warn(`\n${bar}\n!!! cli 137: SKIPPING: ::1 cannot be bound on this machine\n${bar}\n`)
      return
    }
    const dir = tmpDir()
    const gw = await startGateway({
      cmd: serveCmd(target),
      cwd: dir,
      args: ['--listen', `[::1]:${port},stream`, '--zclient-stream', `ipc://${dir}/v6`],
    })
    expect(gw.lines('stdout').some((l) => l.endsWith(`listening on [::1]:${port}`))).toBe(true)
    const peer = await startPeer({ base: `ipc://${dir}/v6`, from: 'v6-h', auto: 'hello' })
    await peer.waitLinked()
    // waitUntilServing() dials 127.0.0.1, so retry over ::1 here (bounded).
    const deadline = Date.now() + 10_000
    let body = ''
    while (body === '' && Date.now() < deadline) {
      const conn = await rawHttp({ host: '::1', port }, 'GET /v6 HTTP/1.1\r\nHost: v6\r\n\r\n')
      try {
        body = (await conn.readResponse(1_000)).bodyText()
      } catch {
        await sleep(50)
      } finally {
        conn.close()
      }
    }
    expect(body).toBe('hello world\n')
    const first = await peer.next({ uri: 'http://v6/v6' })
    expect(first.packet['peer-address']).toBe('::1')
    await peer.stop()
    expect(await gw.stop()).toBe(0)
  })
}
