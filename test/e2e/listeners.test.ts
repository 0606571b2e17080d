// Listeners (zhttp.md 7.2, checklist 136, 137; issue 5 parts 2 and 4; TLS in tls.test.ts): unix-socket listeners
// with `mode=`, `user=`, `group=` (Condure 1.10; the reference 1.9.1 refuses those params, so
// they run on zgate only), the socket file's removal at exit, and many listeners of every kind
// in one process, each serving requests.

import { afterAll, expect, setDefaultTimeout, test } from 'bun:test'
import { existsSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { cleanup, failingStart, freePort, forEachGateway, rawHttp, startGateway, startPeer, tmpDir } from '../helpers/harness.ts'
import { answer, ok } from '../helpers/req-mode.ts'
import { curlTls, TEST_IDENTITIES } from '../helpers/tls-client.ts'

const HOOK_TIMEOUT_MS = 30_000

setDefaultTimeout(30_000)
afterAll(cleanup, HOOK_TIMEOUT_MS)

/** The uid or gid of `name` in /etc/passwd or /etc/group, or -1. */
async function idOf(db: string, name: string): Promise<number> {
  const text = await Bun.file(db).text()
  const line = text.split('\n').find((l) => l.split(':')[0] === name)
  return line === undefined ? -1 : Number(line.split(':')[2])
}

forEachGateway('listeners', (target) => {
  test('136: a unix listener serves without peer fields, and its socket file is removed after SIGTERM', async () => {
    const dir = tmpDir()
    const path = join(dir, 'http.sock')
    const base = `ipc://${dir}/zs`
    const gw = await startGateway({ cmd: target.cmd, args: ['--listen', `${path},local,stream`, '--zclient-stream', base] })
    const peer = await startPeer({ base, auto: 'hello' })
    await peer.waitLinked()
    expect(statSync(path).isSocket()).toBe(true)
    const conn = await rawHttp({ unix: path }, 'GET /ux HTTP/1.1\r\nHost: ux\r\n\r\n')
    expect((await conn.readResponse()).bodyText()).toBe('hello world\n')
    conn.close()
    const first = await peer.next({ uri: 'http://ux/ux' })
    expect(first.packet['peer-address']).toBeUndefined()
    expect(first.packet['peer-port']).toBeUndefined()
    expect(await gw.stop('SIGTERM')).toBe(0)
    // Condure 1.9.1 leaves its unix socket file behind; zgate removes what it bound.
    if (target.name === 'zgate') expect(existsSync(path)).toBe(false)
    await peer.stop()
  })

  test('4, 137: stream TCP, req TCP, stream unix, stream IPv6 and stream TLS listeners in one process all serve', async () => {
    const dir = tmpDir()
    const base = `ipc://${dir}/zs`
    const reqEp = `ipc://${dir}/req`
    const [p4, pReq, p6, pTls] = [freePort(), freePort(), freePort(), freePort()]
    const path = join(dir, 'mixed.sock')
    const gw = await startGateway({
      cmd: target.cmd,
      args: [
        '--listen', `127.0.0.1:${p4},stream`,
        '--listen', `127.0.0.1:${pReq},req`,
        '--listen', `${path},local,stream`,
        '--listen', `[::1]:${p6},stream`,
        '--listen', `127.0.0.1:${pTls},stream,tls`,
        '--tls-identities-dir', TEST_IDENTITIES,
        '--zclient-stream', base,
        '--zclient-req', reqEp,
      ],
    })
    const stream = await startPeer({ base, auto: 'hello' })
    const req = await startPeer({ base: '', req: { type: 'router', endpoints: [reqEp] } })
    await stream.waitLinked()
    await req.waitLinked()
    // Several rounds, the listeners interleaved, so that every one keeps serving beside the others.
    for (let round = 0; round < 3; round++) {
      for (const [where, target4] of [['v4', { host: '127.0.0.1', port: p4 }], ['unix', { unix: path }], ['v6', { host: '::1', port: p6 }]] as const) {
        const conn = await rawHttp(target4, `GET /${where}/${round} HTTP/1.1\r\nHost: m\r\n\r\n`)
        expect((await conn.readResponse()).bodyText()).toBe('hello world\n')
        conn.close()
        const first = await stream.next({ uri: `http://m/${where}/${round}` })
        if (where === 'unix') expect(first.packet['peer-address']).toBeUndefined()
        else expect(first.packet['peer-address']).toBe(where === 'v4' ? '127.0.0.1' : '::1')
      }
      const tls = await curlTls('localhost', pTls, `/tls/${round}`)
      expect([tls.code, tls.body]).toEqual([0, 'hello world\n'])
      await stream.next({ uri: `https://localhost:${pTls}/tls/${round}` })
      const conn = await rawHttp(pReq, `GET /req/${round} HTTP/1.1\r\nHost: m\r\n\r\n`)
      const pk = await req.next({ $sock: 'req', uri: `http://m/req/${round}` })
      await answer(req, pk, ok(`req ${round}`))
      expect((await conn.readResponse()).bodyText()).toBe(`req ${round}`)
      conn.close()
    }
    expect(await gw.stop('SIGTERM')).toBe(0)
    if (target.name === 'zgate') expect(existsSync(path)).toBe(false)
    await stream.stop()
    await req.stop()
  })

  if (target.name !== 'zgate') return

  test('7.2: mode=660 and user/group (names) are applied to the socket file (zgate only)', async () => {
    const uid = await idOf('/etc/passwd', 'nobody')
    const gid = await idOf('/etc/group', 'nogroup')
    expect(uid).toBeGreaterThan(0)
    expect(gid).toBeGreaterThan(0)
    const dir = tmpDir()
    const path = join(dir, 'own.sock')
    const base = `ipc://${dir}/zs`
    const root = process.getuid?.() === 0
    // Only root may give a file away; otherwise the test owns it already and checks the mode.
    const owner = root ? ',user=nobody,group=nogroup' : ''
    const gw = await startGateway({ cmd: target.cmd, args: ['--listen', `${path},local,stream,mode=660${owner}`, '--zclient-stream', base] })
    const st = statSync(path)
    expect(st.isSocket()).toBe(true)
    expect((st.mode & 0o777).toString(8)).toBe('660')
    if (root) {
      expect(st.uid).toBe(uid)
      expect(st.gid).toBe(gid)
    }
    const peer = await startPeer({ base, auto: 'hello' })
    await peer.waitLinked()
    const conn = await rawHttp({ unix: path }, 'GET / HTTP/1.1\r\nHost: o\r\n\r\n')
    expect((await conn.readResponse()).status).toBe(200) // root still connects through mode 660
    conn.close()
    expect(await gw.stop('SIGTERM')).toBe(0)
    expect(existsSync(path)).toBe(false)
    await peer.stop()
  })

  test('7.2: a numeric user= and group= work like names (zgate only)', async () => {
    if (process.getuid?.() !== 0) return // chown to another id needs root
    const dir = tmpDir()
    const path = join(dir, 'num.sock')
    const gw = await startGateway({ cmd: target.cmd, args: ['--listen', `${path},local,user=65534,group=65534`, '--zclient-stream', `ipc://${dir}/zs`] })
    expect(statSync(path).uid).toBe(65534)
    expect(statSync(path).gid).toBe(65534)
    expect(await gw.stop()).toBe(0)
  })

  for (const [param, want] of [
    ['user=no-such-user-zg', /\[ERR\] .* failed to set up .*: unknown user no-such-user-zg$/m],
    ['group=no-such-group-zg', /\[ERR\] .* failed to set up .*: unknown group no-such-group-zg$/m],
    ['mode=999', /\[ERR\] .* failed to parse listen: invalid param: mode=999$/m],
    ['mode=rw', /\[ERR\] .* failed to parse listen: invalid param: mode=rw$/m],
  ] as const) {
    test(`7.2: ${param} is a start-up error, exit 1, no socket file left (zgate only)`, async () => {
      const dir = tmpDir()
      const path = join(dir, 'bad.sock')
      const r = await failingStart(target, ['--listen', `${path},local,${param}`, '--zclient-stream', `ipc://${dir}/zs`])
      expect(r.code).toBe(1)
      expect(r.out).toMatch(want)
      expect(existsSync(path)).toBe(false)
      expect(existsSync(join(dir, 'zs-in'))).toBe(false)
    })
  }
})
