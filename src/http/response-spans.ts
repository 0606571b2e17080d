// What http/ and ws/ read of a handler's response (zhttp.md 3.4, 4.7, 5.3): its fields as
// spans [start, end) into one buffer, -1 for an absent one. These are the narrow inputs of
// response-head.ts, response-check.ts and ws/handshake.ts; zhttp/packet.ts's HandlerPacket
// has the same fields and is passed as is, so neither http/ nor ws/ depends on zhttp/.

/** Status line and headers. */
export interface ResponseHeadSpans {
  readonly buf: Uint8Array
  /** -1 when absent (written as status 0, zhttp.md 3.4). */
  readonly code: number
  readonly reasonStart: number
  readonly reasonEnd: number
  readonly headerCount: number
  readonly headerNameStart: Int32Array
  readonly headerNameEnd: Int32Array
  readonly headerValueStart: Int32Array
  readonly headerValueEnd: Int32Array
}

/** A head with its body: a whole response, such as a WebSocket rejection (zhttp.md 5.3). */
export interface ResponseSpans extends ResponseHeadSpans {
  readonly bodyStart: number
  readonly bodyEnd: number
}

/** The first packet of a response: whether more body follows decides its framing (4.7). */
export interface ResponseStartSpans extends ResponseSpans {
  readonly more: boolean
}
