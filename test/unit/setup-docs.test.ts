// README's "Set up" section is what a new user types on a fresh machine: exactly two commands,
// the second the one CI runs (.ci/run), and that command installs the test dependencies
// before the suite (scripts/install-deps.sh, through package.json's `test:all`).

import { describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import pkg from '../../package.json' with { type: 'json' }

const ROOT = join(import.meta.dir, '../..')
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
const ci = readFileSync(join(ROOT, '.ci/run'), 'utf8')

/** The shell blocks of README's `## Set up` section, trimmed. */
function setUpCommands(): string[] {
  const start = readme.indexOf('\n## Set up\n')
  expect(start).toBeGreaterThanOrEqual(0)
  const end = readme.indexOf('\n## ', start + 1)
  const section = readme.slice(start, end < 0 ? undefined : end)
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!.trim())
}

describe('README set-up commands', () => {
  test('exactly two: the demo, then the whole test suite', () => {
    const cmds = setUpCommands()
    expect(cmds.length).toBe(2)
    expect(cmds[0]).toEndWith('bun run demo')
    expect(cmds[1]).toBe('npm install -g bun && bun install && bun run test:all')
  })

  test('.ci/run runs the second command as written', () => {
    const cmd = setUpCommands()[1]!
    const runs = ci.split('\n').filter((l) => !l.trimStart().startsWith('#') && l.includes(cmd))
    expect(runs.length).toBe(1)
  })

  test('test:all installs what the tests need, then runs the suite', () => {
    expect(pkg.scripts['test:all']).toBe('bash scripts/install-deps.sh test && bun run test')
    const script = readFileSync(join(ROOT, 'scripts/install-deps.sh'), 'utf8')
    for (const needed of ['condure', 'pushpin', 'zurl', 'curl', 'nodejs']) expect(script).toContain(`need ${needed} `)
  })
})
