#!/usr/bin/env bun
// `bun run bench`: every mitata micro-benchmark of a hot module, one after another (each in
// its own process so JIT state does not leak between them). Pass names to run a subset:
//   bun bench/run-all.ts http-parser tnetstring
// `bun run bench` runs these, then the end-to-end comparison `bench/e2e.sh`.

import { readdirSync } from 'node:fs'
import { join } from 'node:path'

const dir = import.meta.dir
const wanted = process.argv.slice(2)
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w)))
  .sort()
let failed = 0
for (const f of files) {
  console.log(`\n=== ${f} ===`)
  const p = Bun.spawnSync(['bun', join(dir, f)], { stdout: 'inherit', stderr: 'inherit' })
  if (p.exitCode !== 0) failed++
}
process.exit(failed === 0 ? 0 : 1)
