// HTTP/1.x response parsing for the e2e harness: split a response into status line, headers
// and body, decode chunked bodies, and find where one response ends in a byte stream.

export interface HttpResponse {
  version: string
  status: number
  reason: string
  statusLine: string
  /** Header fields in order, name case preserved. */
  headers: [string, string][]
  /** Raw bytes after the head (still chunk-encoded if chunked). */
  rawBody: Uint8Array
  /** De-chunked body when Transfer-Encoding is chunked and complete, else rawBody. */
  body: Uint8Array
  chunked: boolean
  /** The whole response as received. */
  raw: Uint8Array
  header(name: string): string | undefined
  headerAll(name: string): string[]
  bodyText(): string
}

const CRLFCRLF = Buffer.from('\r\n\r\n')
/** responseLength(): the response is delimited by the connection closing. */
export const UNTIL_CLOSE = -2

/** Splits status line, headers and body. Throws if the head is incomplete. */
export function parseHttpResponse(bytes: Uint8Array): HttpResponse {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const end = b.indexOf(CRLFCRLF)
  if (end < 0) throw new Error(`incomplete response head: ${JSON.stringify(b.toString('latin1').slice(0, 500))}`)
  const lines = b.toString('latin1', 0, end).split('\r\n')
  const statusLine = lines[0]!
  const m = /^(HTTP\/\d\.\d) (\d{1,3}) ?(.*)$/.exec(statusLine)
  if (!m) throw new Error(`bad status line: ${JSON.stringify(statusLine)}`)
  const headers: [string, string][] = lines.slice(1).map((l) => {
    const i = l.indexOf(':')
    if (i < 0) throw new Error(`bad header line: ${JSON.stringify(l)}`)
    return [l.slice(0, i), l.slice(i + 1).trim()]
  })
  const find = (name: string) => headers.filter(([k]) => k.toLowerCase() === name.toLowerCase()).map(([, v]) => v)
  const rawBody = bytes.slice(end + 4)
  const chunked = find('transfer-encoding').some((v) => /(^|,)\s*chunked\s*$/i.test(v))
  const dc = chunked ? dechunk(rawBody) : null
  const body = dc ? dc.body : rawBody
  return {
    version: m[1]!,
    status: Number(m[2]),
    reason: m[3]!,
    statusLine,
    headers,
    rawBody,
    body,
    chunked,
    raw: bytes.slice(),
    header: (name) => find(name)[0],
    headerAll: find,
    bodyText: () => new TextDecoder().decode(body),
  }
}

export interface Dechunked {
  body: Uint8Array
  /** Sizes of the data chunks, in order (the final 0 excluded). */
  chunkSizes: number[]
  trailers: [string, string][]
  /** Bytes of `bytes` that the chunked encoding used. */
  consumed: number
}

/** Decodes a chunked body; null if incomplete. Throws on malformed framing. */
export function dechunk(bytes: Uint8Array): Dechunked | null {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const parts: Uint8Array[] = []
  const chunkSizes: number[] = []
  let pos = 0
  for (;;) {
    const eol = b.indexOf('\r\n', pos)
    if (eol < 0) return null
    const sizeText = b.toString('latin1', pos, eol).split(';')[0]!.trim()
    if (!/^[0-9a-fA-F]+$/.test(sizeText)) {
      throw new Error(`bad chunk size line ${JSON.stringify(b.toString('latin1', pos, eol))}`)
    }
    const size = parseInt(sizeText, 16)
    pos = eol + 2
    if (size === 0) break
    if (pos + size + 2 > b.length) return null
    if (b[pos + size] !== 13 || b[pos + size + 1] !== 10) throw new Error(`chunk of ${size} bytes not followed by CRLF`)
    parts.push(bytes.subarray(pos, pos + size))
    chunkSizes.push(size)
    pos += size + 2
  }
  const trailers: [string, string][] = []
  for (;;) {
    const eol = b.indexOf('\r\n', pos)
    if (eol < 0) return null
    const line = b.toString('latin1', pos, eol)
    pos = eol + 2
    if (line === '') break
    const i = line.indexOf(':')
    trailers.push([line.slice(0, i), line.slice(i + 1).trim()])
  }
  return { body: new Uint8Array(Buffer.concat(parts)), chunkSizes, trailers, consumed: pos }
}

/**
 * Byte length of the first complete response in `bytes`; -1 if more bytes are needed;
 * UNTIL_CLOSE if the head is complete and the body runs until the connection closes.
 * `head`: the request was HEAD (no body whatever the headers say).
 */
export function responseLength(bytes: Uint8Array, opts: { head?: boolean } = {}): number {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const end = b.indexOf(CRLFCRLF)
  if (end < 0) return -1
  const headLen = end + 4
  const r = parseHttpResponse(bytes.subarray(0, headLen))
  if (opts.head || (r.status >= 100 && r.status < 200) || r.status === 204 || r.status === 304) return headLen
  if (r.chunked) {
    const d = dechunk(bytes.subarray(headLen))
    return d ? headLen + d.consumed : -1
  }
  const cl = r.header('content-length')
  if (cl !== undefined) {
    const n = Number(cl)
    return b.length >= headLen + n ? headLen + n : -1
  }
  return UNTIL_CLOSE
}
