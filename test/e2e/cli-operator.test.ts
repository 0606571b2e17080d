// What an operator sees from zgate's command line beyond Condure's flags (issue 13, item 5):
// `--version` names the libzmq it loads, a libzmq that cannot load is one clear line, help and
// errors carry no ANSI colours unless both streams are terminals and NO_COLOR is unset, and
// `serve --help` states the defaults zgate really uses. zgate only: Condure has none of this.

import { afterAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { cleanup, gatewayCommands, REPO_ROOT, startGateway, tmpDir, withTimeout } from '../helpers/harness.ts'
import pkg from '../../package.json' with { type: 'json' }

const HOOK_TIMEOUT_MS = 30_000
const ONE_SHOT_EXIT_TIMEOUT_MS = 15_000
const ESC = '\x1b['
const LOG_ERR_RE = /^\[ERR\] \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \[zgate\] (.*)$/
/** A path no libzmq can be loaded from. */
const MISSING_LIBZMQ = '/nonexistent/zgate-test/libzmq.so.5'

setDefaultTimeout(30_000)
afterAll(cleanup, HOOK_TIMEOUT_MS)

function zgateCmd(): string[] {
  const [bun] = gatewayCommands().zgate
  return [bun!, join(REPO_ROOT, 'src/main.ts')]
}

interface OneShot {
  code: number | null
  out: string[]
  err: string[]
}

/** zgate with `args` (and `env`), expected to exit by itself (bounded); raw output lines. */
async function runZgate(args: string[], env: Record<string, string> = {}): Promise<OneShot> {
  const gw = await startGateway({ cmd: zgateCmd(), args, env, cwd: tmpDir(), waitReady: false })
  const code = await withTimeout(gw.exited, ONE_SHOT_EXIT_TIMEOUT_MS, () => `zgate ${args.join(' ')} to exit`)
  return { code, out: gw.lines('stdout'), err: gw.lines('stderr') }
}

/**
 * zgate under a pseudo-terminal (script(1)): stdout and stderr are both a TTY. CI, TEST and a
 * dumb TERM, which citty also reads as "no colour", are cleared so that only NO_COLOR decides.
 */
async function runOnTty(args: string[], extra: Record<string, string>): Promise<OneShot> {
  const env = { CI: '', TEST: '', TERM: 'xterm', ...extra }
  const quoted = [...zgateCmd(), ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ')
  const gw = await startGateway({ cmd: ['script', '-qec', quoted, '/dev/null'], args: [], env, cwd: tmpDir(), waitReady: false })
  const code = await withTimeout(gw.exited, ONE_SHOT_EXIT_TIMEOUT_MS, () => `script ${quoted} to exit`)
  return { code, out: gw.lines('stdout'), err: gw.lines('stderr') }
}

describe('zgate --version', () => {
  test('prints zgate\'s version, then the libzmq it loaded and from where', async () => {
    for (const flag of ['--version', '-V']) {
      const r = await runZgate([flag])
      expect(r.code).toBe(0)
      expect(r.out[0]).toBe(`zgate ${pkg.version}`)
      const m = /^libzmq (\d+\.\d+\.\d+) \((.+)\)$/.exec(r.out[1] ?? '')
      expect(m).not.toBeNull()
      expect(existsSync(m![2]!)).toBe(true)
      expect(r.out.length).toBe(2)
      expect(r.err).toEqual([])
    }
  })

  test('with no loadable libzmq: the version, one error line with the fix, exit 1', async () => {
    const r = await runZgate(['--version'], { ZGATE_LIBZMQ: MISSING_LIBZMQ })
    expect(r.code).toBe(1)
    expect(r.out).toEqual([`zgate ${pkg.version}`])
    expect(r.err.length).toBe(1)
    expect(r.err[0]).toStartWith('error: Could not load libzmq')
    expect(r.err[0]).toContain(MISSING_LIBZMQ)
    expect(r.err[0]).toContain('ZGATE_LIBZMQ')
  })
})

describe('zgate serve without libzmq', () => {
  test('logs one [ERR] line naming libzmq and what to do, exit 1', async () => {
    const r = await runZgate(['serve', '--listen', '127.0.0.1:0'], { ZGATE_LIBZMQ: MISSING_LIBZMQ })
    expect(r.code).toBe(1)
    const errs = r.out.filter((l) => l.startsWith('[ERR] '))
    expect(errs.length).toBe(1)
    const msg = LOG_ERR_RE.exec(errs[0]!)![1]!
    expect(msg).toStartWith('Could not load libzmq')
    expect(msg).toContain('apt-get install libzmq5')
    expect(msg).toContain('ZGATE_LIBZMQ')
    expect(r.err).toEqual([])
  })
})

describe('colours', () => {
  test('none in pipes: help, serve help, an unknown command, a usage error', async () => {
    for (const args of [['--help'], ['serve', '--help'], ['no-such-command'], ['serve', '--listn', '1']]) {
      const r = await runZgate(args)
      const text = [...r.out, ...r.err].join('\n')
      expect(text.length).toBeGreaterThan(0)
      expect([args.join(' '), text.includes(ESC)]).toEqual([args.join(' '), false])
    }
  })

  test('on a terminal: coloured help, unless NO_COLOR is set (and not empty)', async () => {
    const coloured = await runOnTty(['--help'], {})
    expect(coloured.code).toBe(0)
    expect(coloured.out.join('\n')).toContain(ESC)
    const plain = await runOnTty(['--help'], { NO_COLOR: '1' })
    expect(plain.code).toBe(0)
    expect(plain.out.join('\n')).toContain('serve')
    expect(plain.out.join('\n')).not.toContain(ESC)
    // no-color.org: an empty NO_COLOR does not count.
    const empty = await runOnTty(['--help'], { NO_COLOR: '' })
    expect(empty.out.join('\n')).toContain(ESC)
  })
})

describe('serve --help', () => {
  test('states one worker (event loop) as the default, not Condure\'s 2', async () => {
    const r = await runZgate(['serve', '--help'])
    expect(r.code).toBe(0)
    const line = r.out.find((l) => l.trimStart().startsWith('--workers '))
    expect(line).toBeDefined()
    expect(line!).toEndWith('[default: 1]')
  })
})
