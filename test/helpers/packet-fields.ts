// Byte-level views of ZHTTP payloads for the e2e tests that compare zgate's packets with
// condure's (first-packet.test.ts, req-mode.test.ts).

/** Splits a `T<map>` payload into its top-level [key, encoded value] pairs, in order. */
export function topLevelFields(raw: Uint8Array): [string, string][] {
  const b = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength)
  if (b[0] !== 0x54) throw new Error('payload does not start with T')
  const item = (pos: number): { start: number; end: number; dataStart: number; dataEnd: number } => {
    const colon = b.indexOf(0x3a, pos)
    const len = Number(b.toString('latin1', pos, colon))
    if (colon < 0 || !Number.isInteger(len)) throw new Error(`bad tnetstring at ${pos}`)
    return { start: pos, dataStart: colon + 1, dataEnd: colon + 1 + len, end: colon + 2 + len }
  }
  const top = item(1)
  if (String.fromCharCode(b[top.dataEnd]!) !== '}') throw new Error('top level is not a map')
  const out: [string, string][] = []
  for (let p = top.dataStart; p < top.dataEnd; ) {
    const k = item(p)
    const v = item(k.end)
    out.push([b.toString('latin1', k.dataStart, k.dataEnd), b.toString('latin1', v.start, v.end)])
    p = v.end
  }
  return out
}

/**
 * Whether payload `got` has the same top-level keys in the same order as `want`, and the same
 * encoded value bytes for every key not in `varying`; returns a description of the first
 * difference, or '' when they agree.
 */
export function fieldDifference(want: Uint8Array, got: Uint8Array, varying: ReadonlySet<string>): string {
  const a = topLevelFields(want)
  const b = topLevelFields(got)
  const ka = a.map(([k]) => k).join(',')
  const kb = b.map(([k]) => k).join(',')
  if (ka !== kb) return `keys differ: want [${ka}], got [${kb}]`
  for (let i = 0; i < a.length; i++) {
    const [k, va] = a[i]!
    if (!varying.has(k) && va !== b[i]![1]) return `${k} differs: want ${JSON.stringify(va)}, got ${JSON.stringify(b[i]![1])}`
  }
  return ''
}
