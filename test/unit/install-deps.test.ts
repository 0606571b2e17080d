// scripts/install-deps.sh decides what to install from what is missing. Run here with a PATH
// that holds only the shell tools it uses and a recording apt-get (the one stand-in: this
// machine has everything, and a test must not install packages), so every program counts as
// missing; then with the real PATH, where nothing is missing and apt-get is never called.

import { afterAll, describe, expect, test } from 'bun:test'
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const SCRIPT = join(import.meta.dir, '../../scripts/install-deps.sh')
const dir = mkdtempSync(join(tmpdir(), 'zgate-deps-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** A bin directory with the script's own tools and an apt-get that records its arguments. */
function bareBin(): { bin: string; calls: string } {
  const bin = join(dir, 'bin')
  const calls = join(dir, 'apt-calls')
  if (!existsSync(bin)) {
    Bun.spawnSync(['mkdir', '-p', bin])
    for (const tool of ['bash', 'id', 'tail', 'env', 'cat']) {
      const real = Bun.which(tool)
      expect([tool, real]).not.toEqual([tool, null])
      symlinkSync(real!, join(bin, tool))
    }
    for (const fake of ['apt-get', 'sudo']) {
      const body = fake === 'sudo' ? 'exec "$@"' : `echo "$*" >> '${calls}'`
      writeFileSync(join(bin, fake), `#!${Bun.which('bash')}\n${body}\n`)
      chmodSync(join(bin, fake), 0o755)
    }
  }
  rmSync(calls, { force: true })
  return { bin, calls }
}

function runScript(group: string, path: string): { code: number; err: string } {
  const p = Bun.spawnSync([Bun.which('bash')!, SCRIPT, group], { env: { PATH: path }, stdout: 'pipe', stderr: 'pipe' })
  return { code: p.exitCode, err: p.stderr.toString() }
}

describe('scripts/install-deps.sh', () => {
  test('test: installs every missing program of the e2e tests in one apt-get install', () => {
    const { bin, calls } = bareBin()
    const r = runScript('test', bin)
    expect(r.code).toBe(0)
    const lines = readFileSync(calls, 'utf8').trim().split('\n')
    expect(lines[0]).toBe('update -qq')
    expect(lines.length).toBe(2)
    const install = lines[1]!.split(' ')
    expect(install.slice(0, 3)).toEqual(['install', '-y', '-qq'])
    for (const pkg of ['nodejs', 'condure', 'pushpin', 'zurl', 'curl']) expect(install).toContain(pkg)
  })

  test('bench: wrk, the compiler and the harness tools', () => {
    const { bin, calls } = bareBin()
    const r = runScript('bench', bin)
    expect(r.code).toBe(0)
    const install = readFileSync(calls, 'utf8').trim().split('\n')[1]!.split(' ')
    for (const pkg of ['wrk', 'curl', 'condure', 'mongrel2-core', 'gcc', 'make', 'iproute2']) expect(install).toContain(pkg)
  })

  test('with everything present nothing is installed; an unknown group is a usage error', () => {
    const { bin, calls } = bareBin()
    // The recording apt-get shadows the real one; every other program is the real one. On a
    // machine that lacks one, this names the package (`bun run test:all` installs it first).
    const path = `${bin}:${process.env.PATH}`
    const r = runScript('test', path)
    expect(existsSync(calls) ? readFileSync(calls, 'utf8') : '').toBe('')
    expect([r.code, r.err]).toEqual([0, ''])
    expect(runScript('everything', path).code).toBe(2)
  })
})
