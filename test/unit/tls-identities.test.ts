// TLS identity selection (src/tls/identities.ts, zhttp.md 7.3): Condure's lookup order
// checked against a slow reference over many names, name normalization, the mtime reload with
// a controlled clock (a failed reload keeps the last good identity), the bound on cached names,
// and the start-up checks.

import { describe, expect, test } from 'bun:test'
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { normalizeSniName, TlsIdentities, TlsSetupError, wildcardStem } from '../../src/tls/identities.ts'
import { setLogLevel } from '../../src/log.ts'
import { rng } from '../helpers/rng.ts'

const FIXTURES = join(import.meta.dir, '../fixtures/tls')
const IDENTITIES = join(FIXTURES, 'identities')
const ROTATED = join(FIXTURES, 'rotated')
const RECHECK_MS = 1000

setLogLevel(-1) // the warnings these cases provoke are expected

function freshDir(stems: string[] = ['localhost', '_.example.com', 'default']): string {
  const dir = mkdtempSync(join(tmpdir(), 'zgate-tls-'))
  for (const s of stems) {
    copyFileSync(join(IDENTITIES, `${s}.crt`), join(dir, `${s}.crt`))
    copyFileSync(join(IDENTITIES, `${s}.key`), join(dir, `${s}.key`))
  }
  return dir
}

/** Slow reference of zhttp.md 7.3: the stem Condure serves for `sni`, or null. */
function referenceStem(sni: string, dflt: string, have: Set<string>): string | null {
  const ok = sni !== '' && new TextEncoder().encode(sni).length <= 253 && !/[\x00-\x1f\x7f/]/.test(sni) && /^[\x20-\x7e]*$/.test(sni)
  if (ok) {
    const name = sni.toLowerCase()
    if (have.has(name)) return name
    const labels = name.split('.')
    if (labels.length > 1 && labels[0] !== '') {
      const wild = ['_', ...labels.slice(1)].join('.')
      if (have.has(wild)) return wild
    }
  }
  return dflt !== '' && have.has(dflt) ? dflt : null
}

describe('names', () => {
  test('normalizeSniName lower-cases and refuses long names, controls, / and non-ASCII', () => {
    expect(normalizeSniName('WWW.Example.COM')).toBe('www.example.com')
    expect(normalizeSniName('a'.repeat(253))).toBe('a'.repeat(253))
    expect(normalizeSniName('a'.repeat(254))).toBe('')
    for (const bad of ['', 'a/b', 'a\x00b', 'tab\there', 'del\x7f', 'ünï.test']) expect(normalizeSniName(bad)).toBe('')
  })

  test('wildcardStem replaces the first label only', () => {
    expect(wildcardStem('www.example.com')).toBe('_.example.com')
    expect(wildcardStem('a.b.example.com')).toBe('_.b.example.com')
    expect(wildcardStem('localhost')).toBe('')
    expect(wildcardStem('.example.com')).toBe('')
  })
})

describe('select', () => {
  test('matches the reference over 3,000 generated names, with and without a default', () => {
    const dir = freshDir()
    const ids = new TlsIdentities(dir)
    const have = new Set(['localhost', '_.example.com', 'default'])
    const rnd = rng(7)
    const parts = ['localhost', 'LOCALHOST', 'www', 'a', 'b', 'example', 'EXAMPLE', 'com', 'test', '_', '', 'x/y', 'é', '\t', 'default']
    const pick = () => parts[Math.floor(rnd() * parts.length)]!
    let checked = 0
    for (let i = 0; i < 3000; i++) {
      const labels = Array.from({ length: 1 + Math.floor(rnd() * 4) }, pick)
      const sni = rnd() < 0.02 ? 'a'.repeat(250 + Math.floor(rnd() * 8)) : labels.join('.')
      for (const dflt of ['', 'default', 'missing']) {
        const want = referenceStem(sni, dflt, have)
        const got = ids.select(sni, dflt)
        expect({ sni, dflt, got: got === null ? null : got === ids.lookup(want ?? '') }).toEqual({ sni, dflt, got: want === null ? null : true })
        checked++
      }
    }
    expect(checked).toBe(9000)
    rmSync(dir, { recursive: true })
  })
})

describe('reload', () => {
  test('a changed pair is loaded after the recheck period; a broken or missing one keeps the last good', () => {
    const dir = freshDir(['localhost'])
    let now = 0
    const ids = new TlsIdentities(dir, () => now)
    const a = ids.lookup('localhost')
    expect(a).not.toBeNull()
    copyFileSync(join(ROTATED, 'localhost.key'), join(dir, 'localhost.key'))
    copyFileSync(join(ROTATED, 'localhost.crt'), join(dir, 'localhost.crt'))
    const t = new Date(Date.now() + 5_000)
    utimesSync(join(dir, 'localhost.crt'), t, t)
    now += RECHECK_MS - 1
    expect(ids.lookup('localhost')).toBe(a) // within the period: no stat at all
    now += 1
    const b = ids.lookup('localhost')
    expect(b).not.toBeNull()
    expect(b).not.toBe(a)
    // A copy caught half-written, then finished within the same mtime tick: the broken read
    // keeps the last good identity, and the finished file is still picked up.
    const tick = new Date(Date.now() + 10_000)
    writeFileSync(join(dir, 'localhost.crt'), 'half-written')
    utimesSync(join(dir, 'localhost.crt'), tick, tick)
    now += RECHECK_MS
    expect(ids.lookup('localhost')).toBe(b)
    copyFileSync(join(ROTATED, 'localhost.crt'), join(dir, 'localhost.crt'))
    utimesSync(join(dir, 'localhost.crt'), tick, tick)
    now += RECHECK_MS
    const c = ids.lookup('localhost')
    expect(c).not.toBeNull()
    expect(c).not.toBe(b)
    rmSync(join(dir, 'localhost.crt'))
    now += RECHECK_MS
    expect(ids.lookup('localhost')).toBe(c)
    // A new identity appears without a restart.
    copyFileSync(join(IDENTITIES, 'default.crt'), join(dir, 'new.test.crt'))
    copyFileSync(join(IDENTITIES, 'default.key'), join(dir, 'new.test.key'))
    expect(ids.select('new.test', '')).not.toBeNull()
    rmSync(dir, { recursive: true })
  })

  test('names without files are forgotten past the cache bound', () => {
    const dir = freshDir(['localhost'])
    const ids = new TlsIdentities(dir, () => 0)
    for (let i = 0; i < 10_000; i++) expect(ids.select(`n${i}.test`, '')).toBeNull()
    expect(ids.cachedNames).toBeLessThanOrEqual(4096 + 1) // the misses plus `localhost`
    expect(ids.select('localhost', '')).not.toBeNull()
    rmSync(dir, { recursive: true })
  })
})

describe('preload', () => {
  test('loads every pair; a .crt without its key is skipped', () => {
    const dir = freshDir()
    copyFileSync(join(FIXTURES, 'ca.crt'), join(dir, 'ca.crt'))
    expect(new TlsIdentities(dir).preload(['default'])).toBe(3)
    rmSync(dir, { recursive: true })
  })

  test('an unreadable dir, a missing default-cert and a bad pair are TlsSetupErrors', () => {
    const dir = freshDir(['localhost'])
    const fails = (d: string, defaults: string[]): string => {
      try {
        new TlsIdentities(d).preload(defaults)
      } catch (e) {
        expect(e).toBeInstanceOf(TlsSetupError)
        return (e as Error).message
      }
      throw new Error('preload did not fail')
    }
    expect(fails(join(dir, 'nope'), [])).toStartWith(`failed to read tls identities dir ${join(dir, 'nope')}: `)
    expect(fails(dir, ['default'])).toContain('default.crt and default.key are needed (default-cert)')
    mkdirSync(join(dir, 'sub'))
    copyFileSync(join(IDENTITIES, 'localhost.crt'), join(dir, 'sub', 'x.crt'))
    copyFileSync(join(IDENTITIES, 'default.key'), join(dir, 'sub', 'x.key'))
    expect(fails(join(dir, 'sub'), [])).toMatch(/^failed to load tls identity x: .*x\.crt: .*KEY_VALUES_MISMATCH/)
    rmSync(dir, { recursive: true })
  })
})
