// Checks a handler's response head before any of it reaches a client. The handler is trusted,
// but it may reflect a value it got from someone else: a CR or LF there would let that
// someone write headers or a whole second response (response splitting), and a status the
// client does not expect (an interim 1xx as the only answer, a code of four digits) desyncs
// it. Condure writes all of these as given; zgate refuses them (502, or a close once bytes
// were written) and counts each in zgate_handler_responses_invalid_total{reason}.
//
// Rules, from the grammar the client parses (RFC 9112 4, RFC 9110 5.1, 5.5, 15):
// - status: three digits, and final (200-999): ZHTTP has no interim responses, so a 1xx
//   head would leave the client waiting for a final one that never comes (the next response
//   on the connection would be taken for it). 101 only where the caller switches protocols.
// - reason: HTAB, SP, VCHAR or obs-text; no other control byte (RFC 9112 4 reason-phrase).
// - header name: a token, at least one tchar (RFC 9110 5.1).
// - header value: no CTL but HTAB (RFC 9110 5.5: CR, LF and NUL are invalid and dangerous;
//   the other controls are not field-vchar either).
// Content-Length against the body sent is checked while writing (response-writer.ts).

import type { ResponseHeadSpans } from './response-spans.ts'

export const INVALID_NONE = -1
export const INVALID_STATUS = 0
export const INVALID_REASON = 1
export const INVALID_HEADER_NAME = 2
export const INVALID_HEADER_VALUE = 3
/** A handler Content-Length that is not a decimal number, or two that disagree. */
export const INVALID_CONTENT_LENGTH = 4
/** More body than the handler's Content-Length. */
export const INVALID_BODY_OVER_LENGTH = 5
/** The response ended before the handler's Content-Length was reached. */
export const INVALID_BODY_UNDER_LENGTH = 6
/** Label values of zgate_handler_responses_invalid_total, by INVALID_* index. */
export const INVALID_REASONS = [
  'status',
  'reason',
  'header-name',
  'header-value',
  'content-length',
  'body-over-length',
  'body-under-length',
]

/** Lowest final status code (RFC 9110 15: 1xx are interim). */
export const FINAL_STATUS_MIN = 200
/** Highest three-digit status code (RFC 9112 4: status-code = 3DIGIT). */
export const STATUS_MAX = 999
const SWITCHING_PROTOCOLS = 101

/** tchar (RFC 9110 5.6.2): 1 for bytes allowed in a header name. */
const TCHAR = new Uint8Array(256)
/** 1 for bytes allowed in a field value or reason phrase: HTAB, SP, VCHAR, obs-text. */
const TEXT = new Uint8Array(256)
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1
for (const ch of "!#$%&'*+-.^_`|~") TCHAR[ch.charCodeAt(0)] = 1
TEXT[0x09] = 1
for (let c = 0x20; c <= 0x7e; c++) TEXT[c] = 1
for (let c = 0x80; c <= 0xff; c++) TEXT[c] = 1

function allIn(table: Uint8Array, buf: Uint8Array, s: number, e: number): boolean {
  for (let i = s; i < e; i++) if (table[buf[i]] === 0) return false
  return true
}

/**
 * Checks code, reason and headers of the response head `p`; returns INVALID_NONE or the
 * first INVALID_* reason found. `switching`: the answer to a WebSocket upgrade, where 101 is
 * the accept. Allocates nothing.
 */
export function checkResponseHead(p: ResponseHeadSpans, switching: boolean): number {
  const code = p.code
  if (!(switching && code === SWITCHING_PROTOCOLS) && (code < FINAL_STATUS_MIN || code > STATUS_MAX)) {
    return INVALID_STATUS
  }
  const buf = p.buf
  if (p.reasonStart >= 0 && !allIn(TEXT, buf, p.reasonStart, p.reasonEnd)) return INVALID_REASON
  for (let i = 0; i < p.headerCount; i++) {
    const ns = p.headerNameStart[i]
    const ne = p.headerNameEnd[i]
    if (ne === ns || !allIn(TCHAR, buf, ns, ne)) return INVALID_HEADER_NAME
    if (!allIn(TEXT, buf, p.headerValueStart[i], p.headerValueEnd[i])) return INVALID_HEADER_VALUE
  }
  return INVALID_NONE
}
