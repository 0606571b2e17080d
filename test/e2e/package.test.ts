// The published package as a user gets it (issue 13, item 3): `bun pm pack` the repository,
// check what the tarball holds (the run-time files, never tests, CI, benchmarks or the test
// TLS keys), install it into an empty project, and run `bunx zgate serve` there in front of an
// independent handler (the Node peer of test/helpers).
// Installing needs the npm registry for zgate's dependencies (citty, zeromq), or bun's cache.

import { afterAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  cleanup,
  freePort,
  rawHttp,
  REPO_ROOT,
  startGateway,
  startPeer,
  tmpDir,
  waitUntilServing,
} from '../helpers/harness.ts'
import pkg from '../../package.json' with { type: 'json' }

/** Packing and installing run bun's package manager: slow on a loaded machine. */
const PACKAGE_STEP_TIMEOUT_MS = 120_000
const HOOK_TIMEOUT_MS = 30_000
/**
 * The tarball stays well under this (about 210 KB with the prebuilt shim, when written);
 * test/ alone was ~1 MB, so crossing it means something that is not run-time code got in.
 */
const PACKED_SIZE_MAX_BYTES = 1024 * 1024

setDefaultTimeout(PACKAGE_STEP_TIMEOUT_MS)
afterAll(cleanup, HOOK_TIMEOUT_MS)

/** Runs a package-manager command (bounded), failing the test with its output on error. */
function run(cmd: string[], cwd: string): string {
  const p = Bun.spawnSync(cmd, { cwd, stdout: 'pipe', stderr: 'pipe', timeout: PACKAGE_STEP_TIMEOUT_MS })
  const out = `${p.stdout}${p.stderr}`
  if (p.exitCode !== 0) throw new Error(`${cmd.join(' ')} (in ${cwd}) exited ${p.exitCode}:\n${out}`)
  return out
}

const bun = process.execPath
const tarball = join(tmpDir('zgate-pack-'), `zgate-${pkg.version}.tgz`)
const project = tmpDir('zgate-pack-project-')

describe('the npm package', () => {
  test('bun pm pack ships the run-time files only', () => {
    run([bun, 'pm', 'pack', '--destination', join(tarball, '..'), '--quiet'], REPO_ROOT)
    expect(existsSync(tarball)).toBe(true)
    const files = run(['tar', '-tzf', tarball], REPO_ROOT)
      .split('\n')
      .filter((l) => l !== '' && !l.endsWith('/'))
      .map((l) => l.replace(/^package\//, ''))
    for (const f of ['package.json', 'README.md', 'src/main.ts', 'src/app.ts', 'native/zgate-shim.c', 'scripts/condure', 'contrib/zgate.service']) {
      expect(files).toContain(f)
    }
    for (const f of files) {
      expect([f, /^(test|bench|\.ci|node_modules)\//.test(f) || f.endsWith('.key') || f === 'bun.lock']).toEqual([f, false])
    }
    const size = statSync(tarball).size
    console.log(`package: zgate-${pkg.version}.tgz ${size} bytes packed, ${files.length} files`)
    expect(size).toBeLessThan(PACKED_SIZE_MAX_BYTES)
  })

  test('installed into an empty project, `bunx zgate serve` answers through a handler', async () => {
    expect(existsSync(tarball)).toBe(true)
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'zgate-pack-check', private: true }))
    run([bun, 'add', tarball], project)
    const installed = JSON.parse(readFileSync(join(project, 'node_modules/zgate/package.json'), 'utf8'))
    expect(installed.version).toBe(pkg.version)
    expect(existsSync(join(project, 'node_modules/.bin/zgate'))).toBe(true)
    // Nothing of the repository is reachable from there: no test helpers, no tsconfig paths.
    expect(existsSync(join(project, 'node_modules/zgate/test'))).toBe(false)

    const dir = tmpDir()
    const port = freePort()
    const bunx = Bun.which('bunx') !== null ? ['bunx'] : [bun, 'x']
    const gw = await startGateway({
      cmd: [...bunx, 'zgate', 'serve'],
      args: ['--listen', `127.0.0.1:${port},stream`, '--zclient-stream', `ipc://${dir}/zs`],
      cwd: project,
    })
    const peer = await startPeer({ base: `ipc://${dir}/zs`, from: 'pack-h', auto: 'hello' })
    await peer.waitLinked()
    await waitUntilServing(gw, peer)
    const conn = await rawHttp(port, 'GET /from-the-package HTTP/1.1\r\nHost: pack.example\r\n\r\n')
    const res = await conn.readResponse()
    expect([res.status, res.bodyText()]).toEqual([200, 'hello world\n'])
    conn.close()
    const first = await peer.next({ uri: 'http://pack.example/from-the-package' })
    expect(first.packet.from).toBe('condure')
    await peer.stop()
    // bunx passes the signal on to zgate, which stops cleanly.
    expect(await gw.stop('SIGTERM')).toBe(0)
    expect(gw.lines('stdout').some((l) => l.endsWith('[zgate] stopped'))).toBe(true)
  })
})
