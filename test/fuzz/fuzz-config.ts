// Run sizes for the fuzz properties. In the normal test suite each property runs a fixed,
// seeded number of cases (deterministic, cheap). `bun run fuzz` sets ZGATE_FUZZ_SECONDS and
// each property then runs for its share of that time with a random seed, printed up front;
// fast-check prints the seed, path and shrunk counterexample of any failure either way.
// Replaying one: ZGATE_FUZZ_SEED=<seed> ZGATE_FUZZ_PATH=<path> bun test test/fuzz -t '<name>'.

import type { Parameters } from 'fast-check'

/** Seed of the normal suite's runs; ZGATE_FUZZ_SEED overrides it to replay a long run. */
const SUITE_SEED = 20261207

const longSeconds = Number(process.env.ZGATE_FUZZ_SECONDS ?? '0')
/** True under `bun run fuzz`. */
export const LONG = longSeconds > 0

/** bun:test timeout of a property in the suite: generous, its case count is what bounds it. */
const SUITE_TIMEOUT_MS = 60_000
/** Extra time bun:test grants a long property beyond its budget (shrinking, set-up). */
const LONG_MARGIN_MS = 120_000

/**
 * fast-check parameters for one property: `runs` cases in the suite, or `share` of the long
 * budget (shares of all properties add up to 1). Also the bun:test timeout to give the test.
 */
export function fuzzParams<T>(name: string, runs: number, share: number): { params: Parameters<T>; timeoutMs: number } {
  const fixed = process.env.ZGATE_FUZZ_SEED
  const path = process.env.ZGATE_FUZZ_PATH
  if (!LONG) {
    const seed = fixed !== undefined ? Number(fixed) : SUITE_SEED
    return { params: { seed, path, numRuns: runs, includeErrorInReport: true }, timeoutMs: SUITE_TIMEOUT_MS }
  }
  const seed = fixed !== undefined ? Number(fixed) : (Math.random() * 0x7fffffff) | 0
  const budgetMs = Math.round(longSeconds * 1000 * share)
  console.log(`fuzz ${name}: seed ${seed}, ${Math.round(budgetMs / 1000)} s`)
  return {
    params: {
      seed,
      numRuns: Number.MAX_SAFE_INTEGER,
      interruptAfterTimeLimit: budgetMs,
      markInterruptAsFailure: false,
      includeErrorInReport: true,
    },
    timeoutMs: budgetMs + LONG_MARGIN_MS,
  }
}
