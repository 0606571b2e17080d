// The Host grammar, `uri-host [":" port]` (RFC 9112 3.2, RFC 3986 3.2.2-3.2.3), for the Host
// header and for the authority of an absolute-form target: a value that passes names a host,
// and can never carry a path, a query or userinfo into the uri a handler sees.

// --- byte classes, built once at load time ---
/** reg-name bytes besides `%` (RFC 3986 3.2.2): unreserved and sub-delims; IPv4 is a subset. */
const REG_NAME = new Uint8Array(256)
/** Bytes of an IPvFuture address after its `v<hex>.` (RFC 3986 3.2.2): REG_NAME plus `:`. */
const IP_FUTURE = new Uint8Array(256)
/** HEXDIG (RFC 5234): pct-encoded digits, IPv6 groups, IPvFuture versions. */
const HEX = new Uint8Array(256)

function buildByteClasses(): void {
  for (let c = 0x30; c <= 0x39; c++) REG_NAME[c] = HEX[c] = 1 // 0-9
  for (let c = 0x41; c <= 0x5a; c++) REG_NAME[c] = 1 // A-Z
  for (let c = 0x61; c <= 0x7a; c++) REG_NAME[c] = 1 // a-z
  for (let c = 0x41; c <= 0x46; c++) HEX[c] = HEX[c + 0x20] = 1 // A-F, a-f
  const regName = "-._~!$&'()*+,;="
  for (let i = 0; i < regName.length; i++) REG_NAME[regName.charCodeAt(i)] = 1
  IP_FUTURE.set(REG_NAME)
  IP_FUTURE[0x3a] = 1 // ':'
}
buildByteClasses()

/**
 * `uri-host [":" port]` (RFC 9112 3.2 via RFC 3986 3.2.2-3.2.3): an IP-literal in brackets or a
 * reg-name (IPv4 addresses are reg-names by shape), then an optional port of digits. The host
 * must not be empty: an http(s) URI without one is invalid (RFC 9110 4.2.1), and zgate writes
 * it into the uri. Userinfo (`user@`) is refused with it (RFC 9110 4.2.4).
 */
export function isHostValue(buf: Uint8Array, s: number, e: number): boolean {
  let i = s
  if (i < e && buf[i] === 0x5b) {
    // '[': IP-literal
    i = ipLiteralEnd(buf, i + 1, e)
    if (i < 0) return false
  } else {
    while (i < e) {
      const c = buf[i]
      if (REG_NAME[c] === 1) i++
      else if (c === 0x25 && i + 2 < e && HEX[buf[i + 1]] === 1 && HEX[buf[i + 2]] === 1) {
        i += 3 // '%' HEXDIG HEXDIG
      } else break
    }
    if (i === s) return false
  }
  if (i === e) return true
  if (buf[i] !== 0x3a) return false // ':'
  for (i++; i < e; i++) {
    const d = buf[i] - 0x30 // '0'
    if (d < 0 || d > 9) return false
  }
  return true
}

/**
 * Offset past the `]` of an IP-literal whose content starts at i, or -1. IPv6 addresses are
 * checked for their characters (hex digits, `:` and `.` of an embedded IPv4, at least one `:`)
 * but not their group structure: enough to keep the value a host, not a path.
 */
function ipLiteralEnd(buf: Uint8Array, i: number, e: number): number {
  const start = i
  if (i < e && (buf[i] | 0x20) === 0x76) {
    // 'v': IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )
    i++
    const hexStart = i
    while (i < e && HEX[buf[i]] === 1) i++
    if (i === hexStart || i === e || buf[i] !== 0x2e) return -1 // '.'
    i++
    const restStart = i
    while (i < e && IP_FUTURE[buf[i]] === 1) i++
    if (i === restStart) return -1
  } else {
    let colons = 0
    for (; i < e; i++) {
      const c = buf[i]
      if (c === 0x3a) colons++ // ':'
      else if (HEX[c] !== 1 && c !== 0x2e) break // '.'
    }
    if (colons === 0 || i === start) return -1
  }
  if (i === e || buf[i] !== 0x5d) return -1 // ']'
  return i + 1
}
