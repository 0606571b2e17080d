// "Did you mean ...?" for a mistyped option: the known name most similar to the typed one, by
// Jaro similarity above a threshold, the measure and threshold Condure's clap 3 parser uses,
// so that both gateways suggest the same option for the same typo.

/** Candidates at or below this similarity are not suggested (clap's threshold). */
const SUGGEST_MIN_SIMILARITY = 0.8

/** Jaro similarity of `a` and `b`: 1 for equal strings, 0 when no character matches. */
export function jaroSimilarity(a: string, b: string): number {
  if (a.length === 0 && b.length === 0) return 1
  if (a.length === 0 || b.length === 0) return 0
  // Characters match when equal and at most this far apart (Jaro's window).
  const window = Math.max(0, Math.floor(Math.max(a.length, b.length) / 2) - 1)
  const aMatched = new Uint8Array(a.length)
  const bMatched = new Uint8Array(b.length)
  let matches = 0
  for (let i = 0; i < a.length; i++) {
    const lo = Math.max(0, i - window)
    const hi = Math.min(b.length - 1, i + window)
    for (let j = lo; j <= hi; j++) {
      if (bMatched[j] === 0 && a.charCodeAt(i) === b.charCodeAt(j)) {
        aMatched[i] = 1
        bMatched[j] = 1
        matches++
        break
      }
    }
  }
  if (matches === 0) return 0
  // Matched characters that appear in a different order, counted in pairs.
  let outOfOrder = 0
  let j = 0
  for (let i = 0; i < a.length; i++) {
    if (aMatched[i] === 0) continue
    while (bMatched[j] === 0) j++
    if (a.charCodeAt(i) !== b.charCodeAt(j)) outOfOrder++
    j++
  }
  const t = outOfOrder / 2
  return (matches / a.length + matches / b.length + (matches - t) / matches) / 3
}

/** The candidate most similar to `typed`, or '' when none is similar enough. */
export function closestMatch(typed: string, candidates: readonly string[]): string {
  let best = ''
  let bestScore = SUGGEST_MIN_SIMILARITY
  for (const c of candidates) {
    const score = jaroSimilarity(typed, c)
    if (score > bestScore) {
      best = c
      bestScore = score
    }
  }
  return best
}
