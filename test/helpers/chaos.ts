// Generators for test/e2e/chaos.test.ts: a seeded PRNG, packets JSON cannot express (raw
// frames, floats, duplicate or non-string keys, from the reference encoder), handler packets that
// must be dropped or ignored, mutations of valid packets and requests, random client cases,
// and a checker for what a client received. Pure functions: no sockets, no processes.

import { parseHttpResponse, responseLength, sleep, UNTIL_CLOSE } from './harness.ts'
import type { HttpResponse, RawConn } from './harness.ts'
import { refDechunk } from './http-reference.ts'
import { rng } from './rng.ts'
import { bytesOf as lat, concat as cat, Flt, Pairs, Raw, tn } from './tnetstring-reference.ts'
import type { Val as V } from './tnetstring-reference.ts'

// ---------------------------------------------------------------------------------------
// seeded randomness

/** rng() (rng.ts) with the draws the chaos cases use. */
export class Rng {
  /** Uniform in [0, 1). */
  readonly next: () => number
  constructor(seed: number) {
    this.next = rng(seed)
  }
  int(n: number): number {
    return Math.floor(this.next() * n)
  }
  chance(p: number): boolean {
    return this.next() < p
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!
  }
  bytes(n: number): number[] {
    return Array.from({ length: n }, () => this.int(256))
  }
}

export function shuffle<T>(rng: Rng, xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = rng.int(i + 1)
    ;[xs[i], xs[j]] = [xs[j]!, xs[i]!]
  }
  return xs
}

// ---------------------------------------------------------------------------------------
// packets through the reference encoder (tnetstring-reference.ts), which can also write what
// the peer's JSON cannot: spliced raw frames, floats, duplicate or non-string map keys

const flt = (text: string): Flt => new Flt(text)

/** `[[[...[]...]]]`, `depth` lists deep, built in linear time. */
export function nested(depth: number): Raw {
  const prefixes: string[] = []
  let len = 3 // `0:]`
  for (let i = 0; i < depth; i++) {
    const p = `${len}:`
    prefixes.push(p)
    len += p.length + 1
  }
  return new Raw(lat(`${prefixes.reverse().join('')}0:]${']'.repeat(depth)}`))
}

/** A SUB message for the gateway: `condure T<payload>`. */
export const onWire = (payload: Uint8Array): Uint8Array => cat([lat('condure '), payload])
const T = (v: V): Uint8Array => cat([lat('T'), tn(v)])
const has = (hay: Uint8Array, needle: string): boolean => Buffer.from(hay).includes(needle)

// ---------------------------------------------------------------------------------------
// handler-side chaos

/**
 * Packets for session `id` at its next `seq` that must be dropped whole (checklist 12-15). Each
 * kind was checked by hand to be dropped by Condure 1.9.1 too; kinds Condure 1.9.1 accepts in a
 * response packet (wrong types of request-only fields such as `peer-port`, an id-list element
 * without `id`) are left out.
 */
export function mustDrop(from: string, id: string, seq: number): Uint8Array[] {
  const base: Record<string, V> = { from, id, seq, code: 500, reason: 'Bad', body: 'must not be written' }
  const out: Uint8Array[] = []
  const withField = (k: string, v: V | undefined, extra: Record<string, V | undefined> = {}) =>
    out.push(T({ ...base, [k]: v, ...extra }))
  // 13: a wrong tnetstring type for each field Condure reads in a response packet.
  const wrong: [string, V][] = [
    ['from', 5], ['from', null], ['id', 5], ['id', true], ['id', {}], ['seq', '0'], ['seq', true],
    ['type', 5], ['code', '200'], ['code', []], ['reason', 5], ['headers', 'x'], ['headers', {}],
    ['content-type', 5], ['body', 5], ['body', []], ['credits', '5'], ['more', 1], ['more', 'true'],
    ['ext', 'x'], ['ext', []],
  ]
  for (const [k, v] of wrong) withField(k, v)
  // floats where integers belong, negative and out-of-range integers
  for (const [k, text] of [['seq', '0.0'], ['code', '200.0'], ['credits', '1.5'], ['more', '1.0']] as const) {
    withField(k, flt(text))
  }
  for (const k of ['seq', 'code', 'credits']) withField(k, -1)
  withField('seq', 99999999999999999999n)
  // 15: 129 ids (the session's among them) and broken id lists
  const fakes = Array.from({ length: 128 }, (_, i) => ({ id: `9-9-${i.toString(16)}`, seq: 0 }))
  withField('id', [{ id, seq }, ...fakes], { seq: undefined })
  withField('id', [{ id, seq: String(seq) }], { seq: undefined })
  withField('id', [{ id, seq: -1 }], { seq: undefined })
  withField('id', [{ id, seq }, 'x'], { seq: undefined })
  withField('id', [{ id: 7, seq }], { seq: undefined })
  // 14: 65 headers; malformed header entries; deeply nested lists
  withField('headers', Array.from({ length: 65 }, (_, i) => [`X-H${i}`, 'v']))
  for (const h of [[['X-A']], ['X-A'], [[5, 'v']], [['X-A', 5]], [[lat('\xff\xfe'), 'v']]] as V[]) withField('headers', h)
  withField('headers', nested(500))
  withField('headers', nested(20_000))
  withField('id', nested(1000), { seq: undefined })
  // structure: map keys, top-level type, prefix, lengths, truncation
  out.push(T(new Pairs([...(Object.entries(base) as [V, V][]), [5, 'x']])))
  out.push(T(new Pairs([...(Object.entries(base) as [V, V][]), [lat('\xc3\x28'), 'x']])))
  out.push(T([base]), T('x'), lat(''), lat('T'), lat(JSON.stringify(base)))
  const good = T(base)
  out.push(good.subarray(1), cat([lat('X'), good.subarray(1)]), cat([lat('T+'), good.subarray(1)]))
  out.push(cat([lat('T '), good.subarray(1)]), cat([good.subarray(0, good.length - 1), lat('x')]))
  out.push(cat([lat('T999999999:'), good.subarray(good.indexOf(0x3a) + 1)]))
  const fields = cat([tn('from'), tn(from), tn('id'), tn(id), tn('seq'), tn(seq), tn('code'), tn(500)])
  for (const tail of ['4:body,999999999:abc,', '4:body,', '4:more,4:TRUE!']) {
    const inner = cat([fields, lat(tail)])
    out.push(cat([lat(`T${inner.length}:`), inner, lat('}')]))
  }
  for (const cut of [2, 5, 10, good.length >> 1, good.length - 2, good.length - 1]) out.push(good.subarray(0, cut))
  return out
}

/** Valid packets for ids that are not session `id` (unknown, stale, other forms): ignored (54). */
export function otherIds(from: string, id: string, seq: number): Uint8Array[] {
  // zgate's ids end in a per-process nonce `-X` (src/zhttp/session-id.ts): kept on the variants,
  // so that each differs from the session's id only where it means to.
  const [w, k, n, nonce] = id.split('-') as [string, string, string, string | undefined]
  const x = nonce === undefined ? '' : `-${nonce}`
  const ids = [
    '0-99999999-1', '9-0-0', '0-0-ffffffffffffff', '0-0-fffffffffffffffffffffffff', '', '-', '--', '0--',
    `${w}-${k}-${x}`, `${w}-${k}${x}`, `-${k}-${n}${x}`, `${w}-0${k}-${n}${x}`, `0${w}-${k}-${n}${x}`, `${w}-${k}-0${n}${x}`,
    `+${w}-${k}-${n}${x}`, ` ${id}`, `${id} `, `${id}\0`, `${id}-0`, `${id}0`, `${w}-${Number(k) + 100_000_000}-${n}${x}`,
    `${w}-4294967296-${n}${x}`, `${w}-${k}-1${'0'.repeat(13)}${x}`, `${w}_${k}_${n}${x}`, 'x'.repeat(10_000),
    `${w}-${k}-${n.toUpperCase()}X${x}`, `${w}-${k}-${n}`, `${w}-${k}-${n}-00000000`,
  ]
  if (/[a-f]/.test(n)) ids.push(`${w}-${k}-${n.toUpperCase()}${x}`)
  return ids.map((x) => T({ from, id: x, seq, code: 500, reason: 'Bad', body: 'wrong session' }))
}

/** Valid packets for the decoy session, the raw material of mutations. */
export function decoyTemplates(from: string, id: string): Uint8Array[] {
  const b = { from, id, seq: 0 }
  return [
    T({ ...b, code: 200, reason: 'OK', headers: [['Content-Type', 'text/plain'], ['X-A', 'b']], body: 'hello', more: true }),
    T({ ...b, code: 200, reason: 'OK', body: 'complete' }),
    T({ ...b, type: 'credit', credits: 1000 }),
    T({ ...b, type: 'keep-alive' }),
    T({ ...b, type: 'handoff-start' }),
    T({ ...b, seq: 1, body: 'chunk', more: true }),
    T({ from, id: [{ id, seq: 0 }, { id: '9-9-9', seq: 3 }], code: 204 }),
    T({ ...b, type: 'error', condition: 'bad-request' }),
    T({ ...b, type: 'cancel' }),
    T({ ...b, type: 'close', code: 1000, body: 'bye' }),
    T({ ...b, code: 200, headers: [['Content-Length', 'abc']], body: 'x' }),
    T({ ...b, code: 101, reason: 'Switching Protocols', headers: [['Upgrade', 'websocket']] }),
    T({ ...b, code: 200, body: 'z'.repeat(8193) }),
    T({ ...b, from: 'f'.repeat(65), code: 200 }),
    // An address nobody has: later credits and cancels meet EHOSTUNREACH on the ROUTER.
    T({ ...b, from: lat('\x00nobody\xff'), type: 'credit', credits: 5 }),
    T({ ...b, code: 200, 'user-data': nested(3000), body: 'deep' }),
    T({ ...b, type: 'keep-alive', ext: { multi: true, x: nested(20_000) } }),
  ]
}

const TNET_BYTES = lat(':,#!^~]}0123456789-')

/** 1-4 random edits: bit flips, inserts, deletes, truncation, duplication, numbers, type bytes. */
function mutate(rng: Rng, src: Uint8Array): Uint8Array {
  let b = Array.from(src)
  const ops = 1 + rng.int(4)
  for (let k = 0; k < ops; k++) {
    const at = rng.int(b.length + 1)
    switch (rng.int(8)) {
      case 0:
        if (at < b.length) b[at] = b[at]! ^ (1 << rng.int(8))
        break
      case 1:
        if (at < b.length) b[at] = rng.int(256)
        break
      case 2:
        b.splice(at, 0, ...Array.from({ length: 1 + rng.int(3) }, () => rng.pick(Array.from(TNET_BYTES))))
        break
      case 3:
        b.splice(at, 1 + rng.int(8))
        break
      case 4:
        b = b.slice(0, at)
        break
      case 5:
        b.splice(at, 0, ...b.slice(rng.int(b.length + 1), rng.int(b.length + 1)))
        break
      case 6: {
        // Replace the digit run nearest `at` (a length or an integer) with an extreme one.
        let s = at
        while (s < b.length && (b[s]! < 0x30 || b[s]! > 0x39)) s++
        let e = s
        while (e < b.length && b[e]! >= 0x30 && b[e]! <= 0x39) e++
        const big = rng.pick(['999999999', '0', '00', '-1', '18446744073709551616', '4294967296', ''])
        b.splice(s, e - s, ...Array.from(lat(big)))
        break
      }
      default: {
        const types = b.flatMap((c, i) => (',#!^~]}'.includes(String.fromCharCode(c)) ? [i] : []))
        if (types.length > 0) b[rng.pick(types)] = rng.pick(Array.from(lat(',#!^~]}x')))
      }
    }
  }
  return new Uint8Array(b)
}

/** One chaos message: random bytes (often behind a plausible prefix) or a mutated decoy packet. */
export function chaosFrame(rng: Rng, templates: Uint8Array[], avoid: string[]): Uint8Array {
  for (;;) {
    let f: Uint8Array
    if (rng.chance(0.4)) {
      const prefix = rng.pick(['', 'condure ', 'condure T', 'condure T9', 'condure', 'condure  ', 'other T', 'condure\0T'])
      const junk = rng.chance(0.5)
        ? rng.bytes(rng.int(400))
        : Array.from({ length: rng.int(60) }, () => rng.pick(['0:', '1:', '5:', ',', '#', '}', ']', '!', '999999999:', 'x']))
            .join('')
            .split('')
            .map((c) => c.charCodeAt(0))
      f = cat([lat(prefix), new Uint8Array(junk)])
    } else {
      f = onWire(mutate(rng, rng.pick(templates)))
    }
    if (!avoid.some((id) => has(f, id))) return f
  }
}

// ---------------------------------------------------------------------------------------
// client-side chaos

const HEAD_CHUNKED = (i: number) => `POST /c${i} HTTP/1.1\r\nHost: chaos\r\nTransfer-Encoding: chunked\r\n\r\n`
const HEAD_LENGTH = (i: number, n: number | string) => `POST /c${i} HTTP/1.1\r\nHost: chaos\r\nContent-Length: ${n}\r\n\r\n`
const BAD_CHUNKED = [
  'zz\r\nabc\r\n0\r\n\r\n', `${'f'.repeat(20)}\r\n${'a'.repeat(100)}`, '-1\r\n\r\n', '5\r\nabc\r\n0\r\n\r\n',
  '3\r\nabcXY0\r\n\r\n', `3;${'x'.repeat(2000)}\r\nabc\r\n0\r\n\r\n`, `3\r\nabc\r\n0\r\nX-T: ${'v'.repeat(9000)}\r\n\r\n`,
  '3\r\nabc\r\n0\r\nbad trailer\r\n\r\n', '0x3\r\nabc\r\n0\r\n\r\n', ' 3\r\nabc\r\n0\r\n\r\n', '3 \r\nabc\r\n0\r\n\r\n',
  '3\nabc\n0\n\n', '3\rabc\r0\r\r', '\r\n\r\n', '3\r\na\0c\r\n0\r\n\r\n', '0\r\n\r\n', `${'1\r\na\r\n'.repeat(500)}0\r\n\r\n`,
  `8000\r\n${'a'.repeat(0x8000)}\r\n0\r\n\r\n`, '3\r\nabc\r\n', '3\r\nabc\r\n0\r\n\r\nGARBAGE',
  '3\r\nabc\r\n0\r\n\r\nGET /x HTTP/1.1\r\nHost: chaos\r\n\r\n', '3\r\nabc\r\n0\r\n\r\n\0\0\0', '00000003\r\nabc\r\n0\r\n\r\n',
]

function validRequest(rng: Rng, i: number): string {
  const body = 'b'.repeat(rng.int(40))
  return rng.pick([
    `GET /c${i}?q=${i} HTTP/1.1\r\nHost: chaos\r\nUser-Agent: chaos\r\nAccept: */*\r\n\r\n`,
    `${HEAD_LENGTH(i, body.length)}${body}`,
    `${HEAD_CHUNKED(i)}${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
    `GET /c${i} HTTP/1.0\r\nHost: chaos\r\nConnection: keep-alive\r\n\r\n`,
    `PUT /c${i} HTTP/1.1\r\nHost: chaos\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello`,
    `GET /c${i} HTTP/1.1\r\nHost: chaos\r\n\r\nGET /c${i}b HTTP/1.1\r\nHost: chaos\r\nConnection: close\r\n\r\n`,
  ])
}

/** Client edits: byte flips, control bytes, deletes, truncation, LF-only lines, huge runs. */
function mutateRequest(rng: Rng, s: string): string {
  const ops = 1 + rng.int(4)
  for (let k = 0; k < ops; k++) {
    const at = rng.int(s.length + 1)
    switch (rng.int(7)) {
      case 0:
        s = s.slice(0, at) + String.fromCharCode(rng.int(256)) + s.slice(at + 1)
        break
      case 1:
        s = s.slice(0, at) + rng.pick(['\r', '\n', '\0', ':', ' ', '\t', '\x7f', '\xff', '\r\n', '\r\n\r\n']) + s.slice(at)
        break
      case 2:
        s = s.slice(0, at) + s.slice(at + 1 + rng.int(6))
        break
      case 3:
        s = s.slice(0, at)
        break
      case 4:
        s = s.replaceAll('\r\n', '\n')
        break
      case 5:
        s = s.slice(0, at) + rng.pick(['A', ' ', ':', '0']).repeat(rng.pick([100, 5000, 9000])) + s.slice(at)
        break
      default:
        s = s.slice(0, at) + Array.from({ length: rng.pick([10, 65, 300]) }, (_, j) => `X-${j}: v\r\n`).join('') + s.slice(at)
    }
  }
  return s
}

export interface ClientCase {
  i: number
  kind: string
  bytes: string
  pieces: string[]
  delays: number[]
  ending: 'wait' | 'end' | 'close' | 'reset'
  /** close/reset happen before this piece is written (pieces.length: after all). */
  abortAt: number
  /** body cases: the body the handler must receive if it receives a complete one (null: none). */
  body?: string | null
  /** pipelined valid requests: a waiting client must get exactly this many 200s. */
  responses?: number
}

export function makeClientCase(seed: number, i: number): ClientCase {
  const rng = new Rng(seed * 7919 + i)
  let kind: string
  let bytes: string
  let body: string | null | undefined
  let responses: number | undefined
  const r = rng.next()
  if (r < 0.12) {
    kind = 'random'
    const junk = String.fromCharCode(...rng.bytes(1 + rng.int(3000)))
    bytes = rng.chance(0.5) ? `GET /c${i} HTTP/1.1\r\n${junk}` : junk
  } else if (r < 0.45) {
    kind = 'mutated'
    bytes = mutateRequest(rng, validRequest(rng, i))
  } else if (r < 0.55) {
    kind = 'limits'
    bytes = rng.pick([
      `GET /c${i} HTTP/1.1\r\nHost: chaos\r\nX-Big: ${'v'.repeat(9000)}\r\n\r\n`,
      `GET /c${i} HTTP/1.1\r\nHost: chaos\r\n${'X-H: v\r\n'.repeat(rng.pick([65, 1000]))}\r\n`,
      `GET /${'u'.repeat(5000)} HTTP/1.1\r\nHost: chaos\r\n\r\n`,
      `${'\r\n'.repeat(200)}GET /c${i} HTTP/1.1\r\nHost: chaos\r\n\r\n`,
      `GET /c${i} HTTP/1.1\r\nHost: chaos\r\nX-Fold: a\r\n b\r\n\r\n`,
      `GET /c${i} HTTP/1.1\r\nHost: chaos\r\nNoColon\r\n\r\n`,
      `GET /c${i} HTTP/9.9\r\nHost: chaos\r\n\r\n`,
      `${HEAD_LENGTH(i, rng.pick(['-1', '1e3', '99999999999999999999', '5, 6', '']))}hello`,
      `POST /c${i} HTTP/1.1\r\nHost: chaos\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
      `GET /c${i} HTTP/1.1\r\nHost: chaos\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: x\r\n\r\n`,
      `GET /c${i} HTTP/1.1\r\nHost: chaos\r\n\r\n${'x'.repeat(50_000)}`,
    ])
  } else if (r < 0.72) {
    kind = 'chunked-body'
    const chunked = rng.chance(0.6) ? rng.pick(BAD_CHUNKED) : mutateRequest(rng, '5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n')
    const ref = refDechunk(chunked)
    body = ref.code === 0 ? ref.data : null
    bytes = HEAD_CHUNKED(i) + chunked
  } else if (r < 0.85) {
    kind = 'length-body'
    const n = 1 + rng.int(20_000)
    const sent = 'L'.repeat(Math.max(0, n + rng.pick([-100, -1, 0, 0, 0, 1, 50]))) + (rng.chance(0.3) ? 'GARBAGE\r\n\r\n' : '')
    body = sent.length >= n ? sent.slice(0, n) : null
    bytes = HEAD_LENGTH(i, n) + sent
  } else {
    kind = 'pipeline'
    responses = 2 + rng.int(20)
    bytes = Array.from({ length: responses }, (_, k) =>
      rng.chance(0.3) ? `${HEAD_LENGTH(i, 3)}abc` : `GET /c${i}/${k} HTTP/1.1\r\nHost: chaos\r\n\r\n`,
    ).join('')
  }
  // Random split points (sometimes a trickle of many), small random pauses, a random way to end.
  const cuts = Array.from({ length: rng.chance(0.1) ? 10 + rng.int(30) : rng.int(6) }, () => rng.int(bytes.length + 1))
  cuts.sort((a, b) => a - b)
  const pieces: string[] = []
  let last = 0
  for (const c of [...cuts, bytes.length]) {
    pieces.push(bytes.slice(last, c))
    last = c
  }
  const delays = pieces.map(() => rng.pick([0, 0, 1, 5, 20]))
  const ending = rng.pick(['wait', 'wait', 'wait', 'end', 'end', 'close', 'reset', 'reset'] as const)
  const abortAt = rng.int(pieces.length + 1)
  return { i, kind, bytes, pieces, delays, ending, abortAt, body, responses }
}

/**
 * Plays client case `c` on `conn`: its pieces with their delays, then its ending. False when
 * the case closed or reset the connection itself (nothing more to check on it).
 */
export async function playClientCase(conn: RawConn, c: ClientCase): Promise<boolean> {
  for (let k = 0; k <= c.pieces.length; k++) {
    if (k === c.abortAt && (c.ending === 'close' || c.ending === 'reset')) {
      if (c.ending === 'close') conn.close()
      else conn.reset()
      return false
    }
    if (k === c.pieces.length) break
    conn.write(c.pieces[k]!)
    if (c.delays[k]! > 0) await sleep(c.delays[k]!)
  }
  if (c.ending === 'end') conn.end()
  return true
}

/** What the responder learnt about one session. */
export interface Seen {
  id: string
  port: number
  chunks: Uint8Array[]
  done: boolean
  seq: number
}

const ALLOWED_STATUS = new Set([100, 200, 400, 408, 413, 414, 431, 501, 503, 504, 505])

/** Splits what a client received into responses; describes anything that is not right. */
export function checkReceived(bytes: Uint8Array, port: number): { problems: string[]; oks: number } {
  const problems: string[] = []
  let oks = 0
  let pos = 0
  let ended = false
  while (pos < bytes.length) {
    if (ended) return { problems: [...problems, `bytes after a closing error response at ${pos}`], oks }
    let r: HttpResponse
    try {
      const n = responseLength(bytes.subarray(pos))
      if (n === -1) return { problems: [...problems, `incomplete response at byte ${pos}`], oks }
      const end = n === UNTIL_CLOSE ? bytes.length : pos + n
      r = parseHttpResponse(bytes.subarray(pos, end))
      pos = end
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e)
      return { problems: [...problems, `unparseable response at byte ${pos}: ${why}`], oks }
    }
    if (!ALLOWED_STATUS.has(r.status)) problems.push(`unexpected status line ${JSON.stringify(r.statusLine)}`)
    if (r.status === 200) oks++
    if (r.status === 200 && r.bodyText() !== `port=${port}`) problems.push(`someone else's response: ${r.bodyText()}`)
    if (r.status >= 400) {
      ended = true
      if (r.header('connection') !== 'close') problems.push(`error ${r.status} without Connection: close`)
    }
  }
  return { problems, oks }
}

export const show = (s: string) => JSON.stringify(s.length > 200 ? `${s.slice(0, 200)}...(${s.length} bytes)` : s)

// ---------------------------------------------------------------------------------------
