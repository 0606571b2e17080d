import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { lookupId } from '../../src/conn/unix-socket.ts'

const dir = mkdtempSync(join(tmpdir(), 'zgate-unix-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('lookupId (/etc/passwd and /etc/group format)', () => {
  const db = join(dir, 'passwd')
  writeFileSync(db, 'root:x:0:0:root:/root:/bin/sh\nweb-user:x:1001:1001::/srv:/bin/false\n\nbroken-line\nodd:x:notanumber:1\n')

  test('a name gives its id, a number is taken as the id itself', () => {
    expect(lookupId(db, 'root')).toBe(0)
    expect(lookupId(db, 'web-user')).toBe(1001)
    expect(lookupId(db, '4242')).toBe(4242)
  })

  test('unknown names, prefixes, malformed entries and a missing file give -1', () => {
    expect(lookupId(db, 'web')).toBe(-1)
    expect(lookupId(db, 'broken-line')).toBe(-1)
    expect(lookupId(db, 'odd')).toBe(-1)
    expect(lookupId(join(dir, 'none'), 'root')).toBe(-1)
  })

  test('the real databases know root and nobody', () => {
    expect(lookupId('/etc/passwd', 'root')).toBe(0)
    expect(lookupId('/etc/passwd', 'nobody')).toBeGreaterThan(0)
  })
})
