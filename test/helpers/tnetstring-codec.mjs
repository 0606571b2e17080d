// tnetstring codec for the Node handler peers (zhttp-peer.mjs, zhttp-req-peer.mjs), written
// from zhttp.md 2.3 independently of src/zhttp/tnetstring.ts, so a bug there cannot hide
// itself in the tests. JSON mapping: see the header of zhttp-peer.mjs.

const utf8Strict = new TextDecoder('utf-8', { fatal: true })
const LEN_DIGITS_MAX = 10

export function isPlainObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

function onlyKey(v, key) {
  if (!isPlainObject(v)) return false
  const keys = Object.keys(v)
  return keys.length === 1 && keys[0] === key
}

function frame(data, type) {
  return Buffer.concat([Buffer.from(`${data.length}:`, 'latin1'), data, Buffer.from(type, 'latin1')])
}

// Encodes a JSON value (see the header) to tnetstring bytes.
export function encode(v) {
  if (typeof v === 'string') return frame(Buffer.from(v, 'utf8'), ',')
  if (typeof v === 'boolean') return frame(Buffer.from(v ? 'true' : 'false', 'latin1'), '!')
  if (v === null) return Buffer.from('0:~', 'latin1')
  if (typeof v === 'number') {
    if (Number.isInteger(v)) return frame(Buffer.from(BigInt(v).toString(), 'latin1'), '#')
    return frame(Buffer.from(String(v), 'latin1'), '^')
  }
  if (Array.isArray(v)) return frame(Buffer.concat(v.map(encode)), ']')
  if (isPlainObject(v)) {
    if (onlyKey(v, '$b64')) return frame(Buffer.from(String(v.$b64), 'base64'), ',')
    if (onlyKey(v, '$float')) return frame(Buffer.from(String(v.$float), 'latin1'), '^')
    if (onlyKey(v, '$int')) return frame(Buffer.from(String(v.$int), 'latin1'), '#')
    if (onlyKey(v, '$raw')) return Buffer.from(String(v.$raw), 'base64')
    if (onlyKey(v, '$map')) {
      const parts = []
      for (const pair of v.$map) {
        if (!Array.isArray(pair) || pair.length !== 2) throw new Error('$map entries must be [key, value]')
        parts.push(encode(pair[0]), encode(pair[1]))
      }
      return frame(Buffer.concat(parts), '}')
    }
    const parts = []
    for (const [k, val] of Object.entries(v)) parts.push(encode(k), encode(val))
    return frame(Buffer.concat(parts), '}')
  }
  throw new Error(`cannot encode ${typeof v}`)
}

export function bytesToJson(b) {
  try {
    return utf8Strict.decode(b)
  } catch {
    return { $b64: Buffer.from(b).toString('base64') }
  }
}

// Decodes one tnetstring at buf[pos]; returns { value, end }. Throws on malformed input.
export function decodeAt(buf, pos) {
  let i = pos
  while (i < buf.length && buf[i] >= 0x30 && buf[i] <= 0x39) i++
  if (i === pos) throw new Error(`offset ${pos}: expected length digits`)
  if (i - pos > LEN_DIGITS_MAX) throw new Error(`offset ${pos}: length too long`)
  if (i >= buf.length || buf[i] !== 0x3a) throw new Error(`offset ${pos}: expected ':' after length`)
  const len = Number(buf.toString('latin1', pos, i))
  const start = i + 1
  const end = start + len
  if (end >= buf.length) throw new Error(`offset ${pos}: length ${len} runs past the buffer`)
  const data = buf.subarray(start, end)
  const type = String.fromCharCode(buf[end])
  const text = () => data.toString('latin1')
  let value
  switch (type) {
    case ',':
      value = bytesToJson(data)
      break
    case '#': {
      if (!/^-?[0-9]+$/.test(text())) throw new Error(`offset ${pos}: bad integer ${JSON.stringify(text())}`)
      const n = BigInt(text())
      const safe = n <= BigInt(Number.MAX_SAFE_INTEGER) && n >= BigInt(Number.MIN_SAFE_INTEGER)
      value = safe ? Number(n) : { $int: text() }
      break
    }
    case '^': {
      const f = Number(text())
      if (text() === '' || Number.isNaN(f)) throw new Error(`offset ${pos}: bad float ${JSON.stringify(text())}`)
      value = { $float: f }
      break
    }
    case '!':
      if (text() === 'true') value = true
      else if (text() === 'false') value = false
      else throw new Error(`offset ${pos}: bad boolean ${JSON.stringify(text())}`)
      break
    case '~':
      if (len !== 0) throw new Error(`offset ${pos}: null with non-empty data`)
      value = null
      break
    case ']': {
      value = []
      let p = start
      while (p < end) {
        const r = decodeAt(buf.subarray(0, end + 1), p)
        if (r.end > end) throw new Error(`offset ${p}: list element overruns its list`)
        value.push(r.value)
        p = r.end
      }
      break
    }
    case '}': {
      value = Object.create(null)
      let p = start
      while (p < end) {
        const k = decodeAt(buf.subarray(0, end + 1), p)
        if (typeof k.value !== 'string') throw new Error(`offset ${p}: map key must be a utf-8 string`)
        if (k.end >= end) throw new Error(`offset ${p}: map key without value`)
        const v = decodeAt(buf.subarray(0, end + 1), k.end)
        if (v.end > end) throw new Error(`offset ${k.end}: map value overruns its map`)
        value[k.value] = v.value
        p = v.end
      }
      break
    }
    default:
      throw new Error(`offset ${end}: unknown type byte 0x${buf[end].toString(16)}`)
  }
  return { value, end: end + 1 }
}

// Decodes a "T<tnetstring>" payload. Returns { packet, error?, trailing? }.
export function decodePayload(payload) {
  if (payload.length === 0 || payload[0] !== 0x54) return { packet: null, error: 'payload does not start with T' }
  try {
    const r = decodeAt(payload, 1)
    if (!isPlainObject(r.value)) return { packet: r.value, error: 'top-level value is not a map' }
    const out = { packet: r.value }
    if (r.end < payload.length) out.trailing = payload.length - r.end
    return out
  } catch (e) {
    return { packet: null, error: e instanceof Error ? e.message : String(e) }
  }
}
