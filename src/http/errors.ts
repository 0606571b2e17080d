// Responses zgate writes on its own, prebuilt once as bytes (uWS-style: a small integer picks
// one). Condure closes silently in these cases (zhttp.md 4.13); zgate tells the client why,
// then closes. Handlers never see these requests, so towards handlers nothing changes.

export const RESP_BAD_REQUEST = 0
export const RESP_URI_TOO_LONG = 1
export const RESP_HEADERS_TOO_LARGE = 2
export const RESP_VERSION_NOT_SUPPORTED = 3
export const RESP_NOT_IMPLEMENTED = 4
export const RESP_SERVICE_UNAVAILABLE = 5
export const RESP_GATEWAY_TIMEOUT = 6
export const RESP_REQUEST_TIMEOUT = 7
export const RESP_CONTENT_TOO_LARGE = 8
export const RESP_BAD_GATEWAY = 9
export const RESP_NOT_SERVED = 10
/** How many RESP_* kinds exist (for per-kind counters, stats.ts). */
export const RESP_COUNT = 11

const TABLE: Array<[number, string, string]> = [
  [400, 'Bad Request', 'The request could not be parsed.'],
  [414, 'URI Too Long', 'The request target is too long.'],
  [431, 'Request Header Fields Too Large', 'The request head is too large.'],
  [505, 'HTTP Version Not Supported', 'Only HTTP/1.0 and HTTP/1.1 are supported.'],
  [501, 'Not Implemented', 'Only the chunked transfer coding is supported.'],
  [503, 'Service Unavailable', 'The gateway is at its connection limit or has no handler.'],
  [504, 'Gateway Timeout', 'The handler did not answer in time.'],
  [408, 'Request Timeout', 'The request was not received in time.'],
  [413, 'Content Too Large', 'The request body is too large.'],
  [502, 'Bad Gateway', 'The handler sent an invalid response.'],
  [501, 'Not Implemented', 'CONNECT and OPTIONS * are not served by this gateway.'],
]

function build(code: number, reason: string, text: string, http10: boolean): Uint8Array {
  const body = `${text}\n`
  const head =
    `HTTP/1.${http10 ? 0 : 1} ${code} ${reason}\r\n` +
    'Content-Type: text/plain\r\n' +
    `Content-Length: ${body.length}\r\n` +
    'Connection: close\r\n\r\n'
  return new TextEncoder().encode(head + body)
}

const RESPONSES_11 = TABLE.map(([c, r, t]) => build(c, r, t, false))
const RESPONSES_10 = TABLE.map(([c, r, t]) => build(c, r, t, true))

/** The prebuilt bytes for `which`, with the status line of the client's HTTP version. */
export function errorResponse(which: number, http10: boolean): Uint8Array {
  return http10 ? RESPONSES_10[which] : RESPONSES_11[which]
}

export function errorStatus(which: number): number {
  return TABLE[which][0]
}
