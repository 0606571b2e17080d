// The reference tnetstring codec for every test: slow and obviously correct, written from the
// grammar in zhttp.md 2.3 independently of src/zhttp/tnetstring.ts, so a bug there cannot hide
// itself in the tests. Plain JavaScript so that the Node handler peers (zhttp-peer.mjs,
// zhttp-req-peer.mjs) load it as they are; TypeScript sees it through tnetstring-codec.d.mts
// and tnetstring-reference.ts (which adds the shorthand tests write packets in).
//
// Two layers:
// - `Ref`, a tagged union that can express every tnetstring: refEncode and refDecode. Regular
//   expressions over latin1 text, nothing clever: bytes map 1:1 onto latin1 characters, so
//   string indexes are offsets.
// - The peers' JSON mapping (see the header of zhttp-peer.mjs): encode() turns a JSON value
//   into a Ref and encodes that; decodePayload() decodes a Ref and turns it into JSON.

/** The reference decoder rejected its input (the message names the rule). */
export class RefError extends Error {}

const utf8 = new TextEncoder()
const utf8Strict = new TextDecoder('utf-8', { fatal: true })
/** String.fromCharCode takes its bytes as arguments; this many at a time stay well in range. */
const LATIN1_CHUNK_BYTES = 8192
/** The longest length prefix the grammar allows (zhttp.md 2.3), and the ':' after it. */
const LENGTH_PREFIX_MAX_BYTES = 10

/** Bytes as latin1 text (one character per byte). */
export function latin1(b) {
  let s = ''
  for (let i = 0; i < b.length; i += LATIN1_CHUNK_BYTES) {
    s += String.fromCharCode(...b.subarray(i, Math.min(i + LATIN1_CHUNK_BYTES, b.length)))
  }
  return s
}

/** Latin1 text as bytes (each character's low byte). */
export const bytesOf = (s) => Uint8Array.from(s, (c) => c.charCodeAt(0))
/** A UTF-8 string value. */
export const str = (s) => ({ k: 'str', b: utf8.encode(s) })
export const int = (n) => ({ k: 'int', n: BigInt(n) })

export function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

/** Recursive reference decoder of the value at b[pos], bounded by `end`. Throws RefError. */
export function refDecode(b, pos, end) {
  const m = /^(\d{1,9}):/.exec(latin1(b.subarray(pos, Math.min(end, pos + LENGTH_PREFIX_MAX_BYTES))))
  if (m === null) throw new RefError('length')
  const len = Number(m[1])
  const dataStart = pos + m[0].length
  const dataEnd = dataStart + len
  if (dataEnd >= end) throw new RefError('past end')
  const data = b.subarray(dataStart, dataEnd)
  const next = dataEnd + 1
  switch (String.fromCharCode(b[dataEnd])) {
    case ',':
      return { v: { k: 'str', b: data.slice() }, next }
    case '#':
      if (!/^-?\d+$/.test(latin1(data))) throw new RefError('int')
      return { v: { k: 'int', n: BigInt(latin1(data)) }, next }
    case '^':
      if (!/^[0-9+\-.eE]+$/.test(latin1(data))) throw new RefError('float')
      return { v: { k: 'float', s: latin1(data) }, next }
    case '!': {
      const body = latin1(data)
      if (body !== 'true' && body !== 'false') throw new RefError('bool')
      return { v: { k: 'bool', v: body === 'true' }, next }
    }
    case '~':
      if (len !== 0) throw new RefError('null')
      return { v: { k: 'null' }, next }
    case ']': {
      const items = []
      for (let p = dataStart; p < dataEnd; ) {
        const r = refDecode(b, p, dataEnd)
        items.push(r.v)
        p = r.next
      }
      return { v: { k: 'list', items }, next }
    }
    case '}': {
      const flat = []
      for (let p = dataStart; p < dataEnd; ) {
        const r = refDecode(b, p, dataEnd)
        flat.push(r.v)
        p = r.next
      }
      if (flat.length % 2 !== 0) throw new RefError('odd map')
      const pairs = []
      for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i], flat[i + 1]])
      return { v: { k: 'map', pairs }, next }
    }
  }
  throw new RefError('type')
}

function frame(data, type) {
  const head = bytesOf(`${data.length}:`)
  const out = new Uint8Array(head.length + data.length + 1)
  out.set(head, 0)
  out.set(data, head.length)
  out[out.length - 1] = type.charCodeAt(0)
  return out
}

/**
 * Reference encoder, as zhttp.md 2.3 describes it: lengths from the encoded children. Besides
 * the Ref kinds it takes `{ k: 'raw', b }`, bytes written as they are, for tests that send
 * malformed or hand-built elements on purpose.
 */
export function refEncode(v) {
  switch (v.k) {
    case 'str':
      return frame(v.b, ',')
    case 'int':
      return frame(bytesOf(v.n.toString()), '#')
    case 'float':
      return frame(bytesOf(v.s), '^')
    case 'bool':
      return frame(bytesOf(v.v ? 'true' : 'false'), '!')
    case 'null':
      return frame(new Uint8Array(0), '~')
    case 'list':
      return frame(concat(v.items.map(refEncode)), ']')
    case 'map':
      return frame(concat(v.pairs.flatMap(([a, b]) => [refEncode(a), refEncode(b)])), '}')
    case 'raw':
      return v.b.slice()
  }
  throw new Error(`refEncode: unknown kind ${v.k}`)
}

// --- the peers' JSON mapping ---

export function isPlainObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

function onlyKey(v, key) {
  if (!isPlainObject(v)) return false
  const keys = Object.keys(v)
  return keys.length === 1 && keys[0] === key
}

const base64 = (s) => new Uint8Array(Buffer.from(String(s), 'base64'))

/** The Ref a JSON value stands for (the mapping in the header of zhttp-peer.mjs). */
function jsonToRef(v) {
  if (typeof v === 'string') return str(v)
  if (typeof v === 'boolean') return { k: 'bool', v }
  if (v === null) return { k: 'null' }
  if (typeof v === 'number') return Number.isInteger(v) ? int(v) : { k: 'float', s: String(v) }
  if (Array.isArray(v)) return { k: 'list', items: v.map(jsonToRef) }
  if (isPlainObject(v)) {
    if (onlyKey(v, '$b64')) return { k: 'str', b: base64(v.$b64) }
    if (onlyKey(v, '$float')) return { k: 'float', s: String(v.$float) }
    if (onlyKey(v, '$int')) return int(String(v.$int))
    if (onlyKey(v, '$raw')) return { k: 'raw', b: base64(v.$raw) }
    if (onlyKey(v, '$map')) {
      const pairs = v.$map.map((pair) => {
        if (!Array.isArray(pair) || pair.length !== 2) throw new Error('$map entries must be [key, value]')
        return [jsonToRef(pair[0]), jsonToRef(pair[1])]
      })
      return { k: 'map', pairs }
    }
    return { k: 'map', pairs: Object.entries(v).map(([k, x]) => [str(k), jsonToRef(x)]) }
  }
  throw new Error(`cannot encode ${typeof v}`)
}

/** Encodes a JSON value (see the header of zhttp-peer.mjs) to tnetstring bytes. */
export function encode(v) {
  return Buffer.from(refEncode(jsonToRef(v)))
}

/** A byte string as JSON: the text when it is UTF-8, else {"$b64"}. */
export function bytesToJson(b) {
  try {
    return utf8Strict.decode(b)
  } catch {
    return { $b64: Buffer.from(b).toString('base64') }
  }
}

/** A decoded Ref as JSON; throws where the mapping has no form for it. */
function refToJson(r) {
  switch (r.k) {
    case 'str':
      return bytesToJson(r.b)
    case 'int': {
      const safe = r.n <= BigInt(Number.MAX_SAFE_INTEGER) && r.n >= BigInt(Number.MIN_SAFE_INTEGER)
      return safe ? Number(r.n) : { $int: r.n.toString() }
    }
    case 'float': {
      const f = Number(r.s)
      if (Number.isNaN(f)) throw new Error(`bad float ${JSON.stringify(r.s)}`)
      return { $float: f }
    }
    case 'bool':
      return r.v
    case 'null':
      return null
    case 'list':
      return r.items.map(refToJson)
    case 'map': {
      const out = Object.create(null)
      for (const [k, x] of r.pairs) {
        const key = k.k === 'str' ? bytesToJson(k.b) : null
        if (typeof key !== 'string') throw new Error('map key must be a utf-8 string')
        out[key] = refToJson(x)
      }
      return out
    }
  }
  throw new Error(`unknown kind ${r.k}`)
}

/** Decodes a "T<tnetstring>" payload. Returns { packet, error?, trailing? }. */
export function decodePayload(payload) {
  if (payload.length === 0 || payload[0] !== 0x54) return { packet: null, error: 'payload does not start with T' }
  try {
    const r = refDecode(payload, 1, payload.length)
    const value = refToJson(r.v)
    if (!isPlainObject(value)) return { packet: value, error: 'top-level value is not a map' }
    const out = { packet: value }
    if (r.next < payload.length) out.trailing = payload.length - r.next
    return out
  } catch (e) {
    const why = e instanceof RefError ? `malformed tnetstring (${e.message})` : e instanceof Error ? e.message : String(e)
    return { packet: null, error: why }
  }
}
