// zgate/handler: write ZHTTP handlers (behind zgate or Condure) in TypeScript, in Bun or Node.
// See docs/handler.md.

export { createHandler, Handler } from './handler.ts'
export type { HandlerOptions, HandlerStats } from './handler.ts'
export type { TuningOptions } from './options.ts'
export { Request } from './request.ts'
export type { HandoffState, Peer } from './head.ts'
export { ResponseStream, reasonPhrase } from './response.ts'
export type { BodyInit } from './response.ts'
export { RequestHeaders } from './headers.ts'
export { WebSocket } from './websocket.ts'
export type { AcceptOptions, CloseInfo, WebSocketMessage } from './websocket.ts'
export { BodyTooLargeError, HandlerError, HandlerStateError, SessionClosedError } from './errors.ts'
export { SessionEndReason } from './session.ts'
export type { GatewaySpec } from './spec.ts'
export type { HeaderInit } from './wire-out.ts'
export type { LogFn } from './log.ts'
