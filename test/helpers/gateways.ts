// Per-gateway suites: forEachGateway() registers one describe block per gateway target
// (gatewayTargets(): condure, the reference, and zgate), so an e2e file states once what it
// runs against and what a gateway missing here means for it.

import { describe, test } from 'bun:test'
import { gatewayTargets } from './harness-gateway.ts'
import type { GatewayTarget } from './harness-gateway.ts'

export type GatewayName = GatewayTarget['name']

/**
 * What a gateway that cannot run here gets (its skipReason is set, e.g. condure is not
 * installed):
 * - 'skip': a loud warning and a skipped block naming the reason (the default);
 * - 'omit': nothing at all;
 * - 'fail': the suite is registered anyway, so its tests fail at start-up.
 */
export type MissingGateway = 'skip' | 'omit' | 'fail'

export interface ForEachGatewayOptions {
  /** Register only for this gateway (a zgate-only or condure-only suite). */
  only?: GatewayName
  missing?: MissingGateway
}

/**
 * Runs `suite(target)` inside a describe block once per gateway target that applies. The
 * block is titled `${title} against ${name}` (plus ` (${name} only)` with `only`), or
 * `title(target)` when `title` is a function.
 */
export function forEachGateway(
  title: string | ((target: GatewayTarget) => string),
  suite: (target: GatewayTarget) => void,
  options: ForEachGatewayOptions = {},
): void {
  for (const target of gatewayTargets()) {
    if (options.only !== undefined && target.name !== options.only) continue
    const only = options.only === undefined ? '' : ` (${options.only} only)`
    const name = typeof title === 'string' ? `${title} against ${target.name}${only}` : title(target)
    const missing = options.missing ?? 'skip'
    if (target.skipReason === '' || missing === 'fail') {
      if (target.skipReason !== '') warn(name, `cannot run ${target.name} (${target.skipReason}); its tests will fail`)
      describe(name, () => suite(target))
    } else if (missing === 'skip') {
      warn(name, `SKIPPING target '${target.name}': ${target.skipReason}`)
      describe.skip(`${name} (${target.skipReason})`, () => {
        test('skipped', () => {})
      })
    }
  }
}

/**
 * `test` when `target` is one of `names`, otherwise a registrar that registers nothing: for
 * cases where the two gateways deliberately differ, inside a forEachGateway suite.
 */
export function testFor(target: GatewayTarget, ...names: GatewayName[]): (name: string, fn: () => Promise<void> | void, timeoutMs?: number) => void {
  return names.includes(target.name) ? test : noTest
}

function noTest(_name: string, _fn: () => Promise<void> | void, _timeoutMs?: number): void {}

function warn(block: string, message: string): void {
  const bar = '!'.repeat(78)
  console.warn(`\n${bar}\n!!! ${block}: ${message}\n${bar}\n`)
}
