// User and group resolution for unix listeners (`user=`, `group=`, zhttp.md 7.2) through the C
// library, checked against getent(1), an independent client of the same NSS sources, and
// applied to a real socket file.

import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ListenSpec } from '../../src/config.ts'
import { applyOwnership, resolveGroupId, resolveUserId, UnixSocketSetupError } from '../../src/conn/unix-socket.ts'
import { groupIdByName, userIdByName } from '../../src/sys/libc-ffi.ts'

/** Entries compared with getent per database (bounded: a directory service may list many). */
const GETENT_ENTRIES_MAX = 200

const dir = mkdtempSync(join(tmpdir(), 'zgate-unix-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** `name -> id` from `getent DB` (name:x:id:...), at most GETENT_ENTRIES_MAX entries. */
function getent(db: 'passwd' | 'group'): Map<string, number> {
  const p = Bun.spawnSync(['getent', db], { stdout: 'pipe', stderr: 'ignore' })
  expect(p.exitCode).toBe(0)
  const out = new Map<string, number>()
  for (const line of p.stdout.toString().split('\n')) {
    const f = line.split(':')
    if (f.length >= 3 && f[0] !== '' && /^[0-9]+$/.test(f[2]) && !out.has(f[0])) out.set(f[0], Number(f[2]))
    if (out.size === GETENT_ENTRIES_MAX) break
  }
  return out
}

function unixSpec(path: string, over: Partial<ListenSpec>): ListenSpec {
  return { spec: `${path},local`, host: '', port: 0, path, mode: 0, tls: false, defaultCert: '', fileMode: -1, user: '', group: '', ...over }
}

describe('getpwnam/getgrnam over FFI', () => {
  test('every user getent lists resolves to the same uid', () => {
    const users = getent('passwd')
    expect(users.get('root')).toBe(0)
    for (const [name, uid] of users) expect([name, userIdByName(name)]).toEqual([name, uid])
  })

  test('every group getent lists resolves to the same gid', () => {
    const groups = getent('group')
    expect(groups.get('root')).toBe(0)
    for (const [name, gid] of groups) expect([name, groupIdByName(name)]).toEqual([name, gid])
  })

  test('unknown names, prefixes of real names and names with a NUL give -1', () => {
    for (const name of ['zgate-no-such-user', 'roo', 'root ', 'ro\0ot', '']) {
      expect(userIdByName(name)).toBe(-1)
      expect(groupIdByName(name)).toBe(-1)
    }
  })
})

describe('user= and group= values', () => {
  test('a decimal number is the id itself, known to the system or not', () => {
    expect(resolveUserId('4242')).toBe(4242)
    expect(resolveGroupId('0')).toBe(0)
    expect(resolveUserId('65534')).toBe(65534)
  })

  test('a name is resolved through the C library', () => {
    expect(resolveUserId('root')).toBe(0)
    expect(resolveGroupId('root')).toBe(0)
    expect(resolveUserId('zgate-no-such-user')).toBe(-1)
  })
})

describe('applyOwnership on a bound socket file', () => {
  test('mode, user and group by name land on the file (as root); else chown is refused', () => {
    const path = join(dir, 'owned.sock')
    const server = Bun.listen({ unix: path, socket: { data() {} } })
    try {
      const users = getent('passwd')
      const groups = getent('group')
      // Any non-root account and group the system has (nobody/nogroup on Debian).
      const user = [...users].find(([, id]) => id !== 0)
      const group = [...groups].find(([, id]) => id !== 0)
      expect(user).toBeDefined()
      expect(group).toBeDefined()
      const spec = unixSpec(path, { user: user![0], group: group![0], fileMode: 0o640 })
      if (process.getuid!() === 0) {
        applyOwnership(spec)
        const st = statSync(path)
        expect(st.isSocket()).toBe(true)
        expect([st.uid, st.gid, st.mode & 0o777]).toEqual([user![1], group![1], 0o640])
      } else {
        expect(() => applyOwnership(spec)).toThrow(/^chown: /)
      }
    } finally {
      server.stop(true)
    }
  })

  test('an unknown user or group stops with one sentence naming it', () => {
    const path = join(dir, 'unknown.sock')
    const server = Bun.listen({ unix: path, socket: { data() {} } })
    try {
      expect(() => applyOwnership(unixSpec(path, { user: 'zgate-no-such-user' }))).toThrow(
        new UnixSocketSetupError('unknown user zgate-no-such-user'),
      )
      expect(() => applyOwnership(unixSpec(path, { group: 'zgate-no-such-group' }))).toThrow(
        new UnixSocketSetupError('unknown group zgate-no-such-group'),
      )
    } finally {
      server.stop(true)
    }
  })
})
