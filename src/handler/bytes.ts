// One byte-array primitive the handler needs in several places (body reassembly, WebSocket
// messages, req-mode replies, the fake gateway): joining chunks into one array.

const EMPTY = new Uint8Array(0)

/** The chunks joined into one array (the only chunk itself when there is one). */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]
  if (parts.length === 0) return EMPTY
  let n = 0
  for (const p of parts) n += p.length
  const out = new Uint8Array(n)
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}
