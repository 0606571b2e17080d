// `bun run demo` (README's first set-up command, scripts/demo.ts): it serves hello world once
// the gateway has started, stops cleanly on SIGTERM, and when the gateway cannot start it
// says so and exits non-zero instead of inviting a curl (issue 13).

import { afterAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { join } from 'node:path'
import { cleanup, freePort, rawHttp, REPO_ROOT, startGateway, withTimeout } from '../helpers/harness.ts'

const HOOK_TIMEOUT_MS = 30_000
const DEMO_EXIT_TIMEOUT_MS = 20_000
const TRY_LINE_RE = /^demo: try {2}curl -i localhost:(\d+)\//

setDefaultTimeout(60_000)
afterAll(cleanup, HOOK_TIMEOUT_MS)

function demoCmd(): string[] {
  return [process.execPath, join(REPO_ROOT, 'scripts/demo.ts')]
}

describe('the demo', () => {
  test('serves hello world after `started`, and SIGTERM stops both processes with exit 0', async () => {
    const port = freePort()
    const demo = await startGateway({
      cmd: demoCmd(),
      args: [],
      env: { PORT: String(port), DEMO_HOST: '127.0.0.1' },
      readyLine: TRY_LINE_RE,
    })
    const out = demo.lines('stdout')
    const started = out.findIndex((l) => l.endsWith('[zgate] started'))
    const hint = out.findIndex((l) => TRY_LINE_RE.test(l))
    expect(started).toBeGreaterThanOrEqual(0)
    expect(hint).toBeGreaterThan(started)
    // The handler connects after the hint: retry (bounded) until it answers.
    const deadline = Date.now() + 10_000
    let body = ''
    while (body === '' && Date.now() < deadline) {
      const conn = await rawHttp(port, 'GET / HTTP/1.1\r\nHost: demo\r\n\r\n')
      try {
        const res = await conn.readResponse(1_000)
        if (res.status === 200) body = res.bodyText()
      } catch {
        // not answered yet
      } finally {
        conn.close()
      }
    }
    expect(body).toBe('hello world\n')
    expect(await demo.stop('SIGTERM')).toBe(0)
    expect(demo.lines('stdout').some((l) => l.endsWith('[zgate] stopped'))).toBe(true)
  })

  test('a gateway that cannot start ends the demo non-zero, without the curl hint', async () => {
    const holder = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
    try {
      const demo = await startGateway({
        cmd: demoCmd(),
        args: [],
        env: { PORT: String(holder.port), DEMO_HOST: '127.0.0.1' },
        waitReady: false,
      })
      const code = await withTimeout(demo.exited, DEMO_EXIT_TIMEOUT_MS, () => 'the demo to exit')
      expect(code).toBe(1)
      const all = demo.lines().join('\n')
      expect(all).toContain(`failed to bind 127.0.0.1:${holder.port}: Address already in use`)
      expect(all).toContain('demo: the gateway did not start (status 1)')
      expect(all).not.toContain('demo: try')
    } finally {
      holder.stop(true)
    }
  })
})
