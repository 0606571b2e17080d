// dist/zgate, the compiled zgate (`bun run build`, scripts/build.ts), run the way a user with
// only that file would run it: copied alone into an empty folder and started with a minimal
// environment (env -i, PATH=/usr/bin:/bin, HOME in the test folder) in a mount namespace where
// the repository's node_modules, the system libzmq, the C compilers, the bun runtime and
// /usr/include are hidden (an empty tmpfs or an empty file mounted over each). With
// --workers 2 it serves stream, req, WebSocket and TLS listeners, loads the libzmq and the shim
// it carries from HOME's cache (read from /proc/PID/maps), and exits 0 on SIGTERM.
// Also from source: with no prebuilt shim, no compiler and no libc headers, start-up fails with
// one line that names what is missing.
// Handlers and clients run outside the namespace: ipc files and loopback ports are shared.
// Skipped, with the reason, when not root or without unshare(1), which the namespace needs.

import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, realpathSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { bytesOf, cleanup, freePort, rawHttp, REPO_ROOT, startGateway, startPeer, tmpDir } from '../helpers/harness.ts'
import type { Gateway, Peer, PeerPacket } from '../helpers/harness.ts'
import { answer, ok } from '../helpers/req-mode.ts'
import { nodeTls, TEST_IDENTITIES } from '../helpers/tls-client.ts'
import { eventBytes, startWsLib } from '../helpers/ws-lib.ts'
import { echoHandler, HandlerSession } from '../helpers/ws-session.ts'

/** Building the binary takes ~10 s idle and minutes on a loaded machine. */
const BUILD_TIMEOUT_MS = 600_000
setDefaultTimeout(60_000)
afterAll(cleanup, 30_000)

const BINARY = join(REPO_ROOT, 'dist', 'zgate')
/** What the binary is built from: a newer file here means dist/zgate must be rebuilt. */
const BUILD_INPUTS = ['src', 'native/zgate-shim.c', 'native/shim', 'scripts/build.ts', 'scripts/build-native.ts', 'package.json', 'bun.lock']
/** Compiler drivers hidden in the namespace (with gcc-N and the triplet names found on PATH). */
const COMPILER_NAMES = ['cc', 'c99', 'gcc', 'clang', 'tcc']
const SEARCH_PATH = '/usr/local/bin:/usr/bin:/bin'
/** Connections opened until both workers took one (the kernel spreads them). */
const CONNECTIONS_MAX = 40
/** How long a packet from a client started as its own process may take to arrive. */
const CLIENT_WAIT_MS = 20_000
/** The exit status the namespace script uses when hiding something failed. */
const HIDE_FAILED_EXIT = 97

function skipReason(): string {
  if (process.platform !== 'linux') return 'needs Linux mount namespaces'
  if (process.getuid?.() !== 0) return 'needs root for unshare -m and mounts'
  if (Bun.which('unshare') === null) return 'unshare(1) is not installed (util-linux)'
  return ''
}

function newestMtimeMs(path: string): number {
  const st = statSync(path)
  if (!st.isDirectory()) return st.mtimeMs
  let newest = st.mtimeMs
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtimeMs(join(path, name)))
  return newest
}

/** dist/zgate, rebuilt when any input is newer. */
function ensureBinary(): void {
  if (existsSync(BINARY)) {
    const inputs = Math.max(...BUILD_INPUTS.map((p) => newestMtimeMs(join(REPO_ROOT, p))))
    if (statSync(BINARY).mtimeMs > inputs) return
  }
  const r = Bun.spawnSync([process.execPath, 'scripts/build.ts'], { cwd: REPO_ROOT, stdout: 'pipe', stderr: 'pipe' })
  if (r.exitCode !== 0) throw new Error(`bun run build failed: ${r.stderr.toString()}${r.stdout.toString()}`)
}

/** Real files of every libzmq the dynamic loader or a path search could find. */
function systemLibzmq(): string[] {
  const found = new Set<string>()
  const ldconfig = Bun.spawnSync(['ldconfig', '-p'], { stdout: 'pipe', stderr: 'ignore' })
  for (const m of ldconfig.stdout.toString().matchAll(/libzmq\S*.*=> (\S+)/g)) found.add(m[1]!)
  for (const dir of ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib', '/usr/local/lib']) {
    if (!existsSync(dir)) continue
    for (const name of readdirSync(dir)) if (name.startsWith('libzmq.so')) found.add(join(dir, name))
  }
  return realFiles(found)
}

function compilers(): string[] {
  const names = new Set(COMPILER_NAMES)
  for (const dir of SEARCH_PATH.split(':')) {
    if (!existsSync(dir)) continue
    for (const name of readdirSync(dir)) if (/^(gcc|clang|cc)-\d+$|-linux-gnu-(gcc|cc)(-\d+)?$/.test(name)) names.add(name)
  }
  const found = new Set<string>()
  for (const name of names) {
    const p = Bun.which(name, { PATH: SEARCH_PATH })
    if (p !== null) found.add(p)
  }
  return realFiles(found)
}

function realFiles(paths: Iterable<string>): string[] {
  const out = new Set<string>()
  for (const p of paths) {
    try {
      out.add(realpathSync(p))
    } catch {
      // A dangling link hides nothing.
    }
  }
  return [...out].sort()
}

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`

/**
 * `sh -c` text that hides `dirs` (empty tmpfs) and `files` (an empty file bound over each) in
 * this mount namespace, checks that they are hidden, then runs `exec` with "$@" appended.
 */
function namespaceScript(dirs: string[], files: string[], empty: string, cwd: string, exec: string): string {
  return [
    'set -e',
    ...dirs.map((d) => `mount -t tmpfs -o size=64k,mode=755 zgate-hidden ${q(d)}`),
    ...files.map((f) => `mount --bind ${q(empty)} ${q(f)}`),
    `for d in ${dirs.map(q).join(' ')}; do`,
    `  if [ -n "$(ls -A "$d")" ]; then echo "not hidden: $d" >&2; exit ${HIDE_FAILED_EXIT}; fi`,
    'done',
    `for f in ${files.map(q).join(' ')}; do`,
    `  if [ -s "$f" ]; then echo "not hidden: $f" >&2; exit ${HIDE_FAILED_EXIT}; fi`,
    'done',
    `cd ${q(cwd)}`,
    `exec ${exec} "$@"`,
  ].join('\n')
}

const reason = skipReason()

describe.skipIf(reason !== '')(`dist/zgate alone in a mount namespace${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let dir = ''
  let home = ''
  let gw: Gateway
  let peer: Peer
  let reqPeer: Peer
  const ports = { stream: 0, req: 0, tls: 0 }

  beforeAll(async () => {
    ensureBinary()
    dir = tmpDir('zgate-bin-')
    home = join(dir, 'home')
    const bin = join(dir, 'bin')
    mkdirSync(home)
    mkdirSync(bin)
    copyFileSync(BINARY, join(bin, 'zgate'))
    const tls = join(dir, 'tls')
    cpSync(TEST_IDENTITIES, tls, { recursive: true })
    const empty = join(dir, 'empty')
    writeFileSync(empty, '')
    const files = [...systemLibzmq(), ...compilers(), realpathSync(process.execPath)]
    const dirs = ['/usr/include', join(REPO_ROOT, 'node_modules')].filter((d) => existsSync(d))
    const env = `env -i PATH=/usr/bin:/bin HOME=${q(home)} ./zgate serve`
    const script = namespaceScript(dirs, files, empty, bin, env)
    ports.stream = freePort()
    ports.req = freePort()
    ports.tls = freePort()
    const base = `ipc://${dir}/zs`
    const reqEp = `ipc://${dir}/req`
    gw = await startGateway({
      cmd: ['unshare', '-m', '--', 'sh', '-c', script, 'zgate-namespace'],
      args: [
        '--workers', '2',
        '--listen', `127.0.0.1:${ports.stream},stream`,
        '--listen', `127.0.0.1:${ports.req},req`,
        '--listen', `127.0.0.1:${ports.tls},stream,tls`,
        '--tls-identities-dir', tls,
        '--zclient-stream', base,
        '--zclient-req', reqEp,
      ],
      readyTimeoutMs: 60_000,
    })
    peer = await startPeer({ base })
    reqPeer = await startPeer({ base: '', req: { type: 'router', endpoints: [reqEp] } })
    await peer.waitLinked()
    await reqPeer.waitLinked()
  }, BUILD_TIMEOUT_MS)

  /** Answers the stream request `first` with 200 and `body`. */
  const reply = (first: PeerPacket, body: string): Promise<void> =>
    peer.send({ from: peer.from, id: String(first.packet.id), seq: 0, code: 200, reason: 'OK', headers: [], body })

  test('libzmq and the shim are the copies it carries, in HOME/.cache/zgate; no system or node_modules libzmq', async () => {
    const maps = await Bun.file(`/proc/${gw.pid}/maps`).text()
    const files = new Set(maps.split('\n').map((l) => l.split(/\s+/)[5] ?? '').filter((p) => p.startsWith('/')))
    const cache = join(home, '.cache', 'zgate').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    const libzmq = [...files].filter((p) => /libzmq|addon\.node/.test(p))
    expect(libzmq).toHaveLength(1)
    expect(libzmq[0]).toMatch(new RegExp(`^${cache}/[0-9a-f]{16}/libzmq-\\d+-glibc-[\\w.-]+\\.so$`))
    expect([...files].filter((p) => p.includes('zgate-shim'))).toEqual([expect.stringMatching(new RegExp(`^${cache}/[0-9a-f]{16}/zgate-shim\\.so$`))])
    expect([...files].filter((p) => p.includes('node_modules') || p.startsWith('/usr/include'))).toEqual([])
    expect(gw.lines().some((l) => /\] started$/.test(l))).toBe(true)
  })

  test('stream mode with --workers 2: requests reach the handler from both workers and are answered', async () => {
    const workers = new Set<string>()
    for (let i = 0; i < CONNECTIONS_MAX && workers.size < 2; i++) {
      const c = await rawHttp(ports.stream, `GET /s${i} HTTP/1.1\r\nHost: h\r\n\r\n`)
      const first = await peer.next({ $sock: 'pull', uri: `http://h/s${i}` })
      workers.add(String(first.packet.id).split('-')[0]!)
      await reply(first, `stream ${i}`)
      const r = await c.readResponse(5000)
      expect([r.status, new TextDecoder().decode(r.body)]).toEqual([200, `stream ${i}`])
      c.close()
    }
    expect([...workers].sort()).toEqual(['0', '1'])
  })

  test('req mode: the whole request as one packet, the reply written back', async () => {
    const c = await rawHttp(ports.req, 'POST /r HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nabcde')
    const pk = await reqPeer.next({ $sock: 'req', uri: 'http://h/r' })
    expect(new TextDecoder().decode(bytesOf(pk.packet.body))).toBe('abcde')
    await answer(reqPeer, pk, ok('req via the binary'))
    const r = await c.readResponse(5000)
    expect([r.status, new TextDecoder().decode(r.body)]).toEqual([200, 'req via the binary'])
    c.close()
  })

  test('WebSocket: upgrade accepted by the handler, a message echoed, closed cleanly', async () => {
    const client = await startWsLib(`ws://127.0.0.1:${ports.stream}/ws`, { perMessageDeflate: false })
    const hs = new HandlerSession(peer, await peer.next({ $sock: 'pull', uri: `ws://127.0.0.1:${ports.stream}/ws` }, CLIENT_WAIT_MS))
    await hs.accept()
    const echo = echoHandler(hs)
    expect((await client.next('open')).status).toBe(101)
    client.send('echo from the binary ✓')
    expect(new TextDecoder().decode(eventBytes(await client.next('message')))).toBe('echo from the binary ✓')
    client.close(1000, 'bye')
    expect(await echo).toBe('close')
    expect(await client.next('close')).toMatchObject({ code: 1000, reason: 'bye' })
    await client.stop()
  })

  test('TLS: SNI localhost gets the localhost identity; the response comes back over https', async () => {
    const done = nodeTls({ port: ports.tls, servername: 'localhost', request: 'GET /t HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' })
    // Bounded by the client's own start (a Node process) and handshake on a loaded machine.
    const first = await peer.next({ $sock: 'pull', uri: 'https://localhost/t' }, CLIENT_WAIT_MS)
    await reply(first, 'over tls')
    const r = await done
    expect([r.ok, r.authorized, r.cn]).toEqual([true, true, 'localhost'])
    expect(r.head).toStartWith('HTTP/1.1 200 OK\r\n')
    expect(r.head).toEndWith('\r\n\r\nover tls')
  })

  test('SIGTERM: logs stopping and stopped, exit 0', async () => {
    await reqPeer.stop()
    const code = await gw.stop('SIGTERM')
    await peer.stop()
    expect(code).toBe(0)
    expect(gw.lines().filter((l) => /\] (stopping\.\.\.|stopped)$/.test(l))).toHaveLength(2)
  })
})

describe.skipIf(reason !== '')(`from source with nothing to build the shim${reason ? ` (skipped: ${reason})` : ''}`, () => {
  test('no prebuilt shim, no compiler, no libc headers: exit 1 with one line naming them', async () => {
    const dir = tmpDir('zgate-src-')
    const empty = join(dir, 'empty')
    writeFileSync(empty, '')
    const dirs = ['/usr/include', join(REPO_ROOT, 'native', 'build')].filter((d) => existsSync(d))
    const bun = realpathSync(process.execPath)
    const exec = `env -i PATH=/usr/bin:/bin HOME=${q(dir)} ${q(bun)} src/main.ts serve`
    const script = namespaceScript(dirs, compilers(), empty, REPO_ROOT, exec)
    const port = freePort()
    const proc = Bun.spawn(
      ['unshare', '-m', '--', 'sh', '-c', script, 'zgate-namespace', '--listen', `127.0.0.1:${port}`, '--zclient-stream', `ipc://${dir}/zs`],
      { stdout: 'pipe', stderr: 'pipe', stdin: 'ignore' },
    )
    const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
    expect(code).toBe(1)
    const errors = `${out}${err}`.split('\n').filter((l) => l.includes('[ERR]'))
    expect(errors).toHaveLength(1)
    expect(errors[0]).toContain('no C compiler on PATH')
    expect(errors[0]).toMatch(/bun:ffi cc: \S+: error: include file '[\w./]+\.h' not found;/)
    expect(errors[0]).toContain('apt-get install gcc libc6-dev')
  })
})
