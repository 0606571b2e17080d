// contrib/zgate.service: its zgate command line is one zgate accepts, its stop timeout leaves
// zgate the whole shutdown (grace + drain), its ipc sockets live in the runtime directory, and
// the hardening options are there. `systemd-analyze verify` checks the syntax where it exists.

import { describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseServeArgs } from '../../src/config.ts'
import { SHUTDOWN_GRACE_MS } from '../../src/limits.ts'

const UNIT_PATH = join(import.meta.dir, '../../contrib/zgate.service')
/** Headroom beyond grace + drain, for a loaded machine (the unit's comment says why). */
const STOP_HEADROOM_S = 2

/** `Key=value` lines (continuations joined, comments dropped) as key -> every value. */
function parseUnit(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>()
  const joined = text.replace(/\\\n\s*/g, ' ')
  for (const raw of joined.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#') || line.startsWith('[')) continue
    const eq = line.indexOf('=')
    const key = line.slice(0, eq)
    const list = out.get(key) ?? []
    list.push(line.slice(eq + 1))
    out.set(key, list)
  }
  return out
}

const unit = parseUnit(readFileSync(UNIT_PATH, 'utf8'))
const one = (key: string): string => {
  const v = unit.get(key)
  expect([key, v?.length]).toEqual([key, 1])
  return v![0]!
}

describe('contrib/zgate.service', () => {
  const exec = one('ExecStart').split(/\s+/)
  const serveAt = exec.indexOf('serve')
  const cfg = parseServeArgs(exec.slice(serveAt + 1))

  test('ExecStart runs `zgate serve` with flags zgate parses', () => {
    expect(exec[0]).toEndWith('/zgate')
    expect(serveAt).toBe(1)
    expect(cfg.listen.length).toBeGreaterThan(0)
  })

  test('TimeoutStopSec covers --shutdown-timeout plus the drain after it, with headroom', () => {
    const stop = /^(\d+)s$/.exec(one('TimeoutStopSec'))
    expect(stop).not.toBeNull()
    expect(Number(stop![1])).toBeGreaterThanOrEqual(cfg.shutdownTimeoutS + SHUTDOWN_GRACE_MS / 1000 + STOP_HEADROOM_S)
    expect(one('KillSignal')).toBe('SIGTERM')
  })

  test('the ipc sockets are in the RuntimeDirectory, group-accessible', () => {
    const runDir = `/run/${one('RuntimeDirectory')}/`
    const endpoints = [...cfg.zclientStream.flatMap((e) => [e.out, e.outStream, e.in]), ...cfg.zclientReq]
    for (const e of endpoints) expect(e).toStartWith(`ipc://${runDir}`)
    expect(cfg.ipcFileMode).toBe(0o660)
    expect(unit.get('ReadWritePaths')).toContain(runDir.slice(0, -1))
  })

  test('hardening options are set; MemoryDenyWriteExecute is not (the JIT needs it off)', () => {
    const want: Record<string, string> = {
      NoNewPrivileges: 'yes',
      ProtectSystem: 'strict',
      ProtectHome: 'yes',
      PrivateTmp: 'yes',
      PrivateDevices: 'yes',
      RestrictSUIDSGID: 'yes',
      CapabilityBoundingSet: '',
    }
    for (const [k, v] of Object.entries(want)) expect([k, one(k)]).toEqual([k, v])
    expect(Number(one('LimitNOFILE'))).toBeGreaterThan(cfg.streamMaxconn + cfg.reqMaxconn)
    expect(unit.has('MemoryDenyWriteExecute')).toBe(false)
  })

  const analyze = Bun.which('systemd-analyze')
  test.skipIf(analyze === null)('systemd-analyze verify finds nothing but the absent binary', () => {
    const p = Bun.spawnSync([analyze!, 'verify', UNIT_PATH], { stdout: 'pipe', stderr: 'pipe' })
    const lines = `${p.stdout}${p.stderr}`.split('\n').filter((l) => l.trim() !== '')
    const other = lines.filter((l) => !/Command \S+ is not executable/.test(l))
    expect(other).toEqual([])
  })
})
