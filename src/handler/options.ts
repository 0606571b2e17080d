// Handler options, their defaults and the limits they default to (units in the names).

/** Default whole-body limit of text()/json()/bytes(). */
export const BODY_LIMIT_DEFAULT_BYTES = 1 << 20
/** Request-body credits kept outstanding per request while the application reads. */
export const BODY_WINDOW_DEFAULT_BYTES = 64 << 10
/** A held session that sent nothing for this long gets a keep-alive: well within the
 * gateway's 60 s session timeout (zhttp.md 4.8), even if a tick runs late. */
export const KEEP_ALIVE_INTERVAL_DEFAULT_MS = 20_000
/** No packet from a session's gateway for this long ends the session: gateways send
 * keep-alives every 45 s (zhttp.md 4.8), so a live one always speaks sooner. */
export const GATEWAY_SILENCE_DEFAULT_MS = 60_000
/** WebSocket ping period (the Transceiver's default). */
export const PING_INTERVAL_DEFAULT_MS = 30_000
/** A ping unanswered for this long closes the WebSocket. */
export const PONG_TIMEOUT_DEFAULT_MS = 10_000
/** After our close frame, the client has this long to answer before we cancel. */
export const CLOSE_TIMEOUT_DEFAULT_MS = 5_000
/** Client → handler message credits granted on accept (zhttp.md 5.3). */
export const WS_CREDITS_DEFAULT_BYTES = 64 << 10
/** Largest reassembled WebSocket message; larger ones close the socket with 1009. */
export const WS_MESSAGE_LIMIT_DEFAULT_BYTES = 1 << 20
/** Body bytes per packet we send at most, whatever the credits. */
export const PACKET_BODY_MAX_BYTES = 64 << 10
/** How long close() lets unsent packets linger. */
export const CLOSE_LINGER_DEFAULT_MS = 500
/** Requests the async iterator holds for an application that is not reading; beyond it the
 * handler answers 503 itself. */
export const PENDING_REQUESTS_MAX = 10_000
/** Packets held for a gateway whose subscription has not arrived yet (start-up race). */
export const HELD_PACKETS_MAX = 10_000
/** Longest `from` a gateway accepts (zhttp.md 4.6). */
export const FROM_MAX_BYTES = 64
/** Bounds of the housekeeping tick (keep-alives, pings, silence). */
export const TICK_MIN_MS = 10
export const TICK_MAX_MS = 1_000

/** The tunables of createHandler() (see HandlerOptions in handler.ts for the rest). */
export interface TuningOptions {
  /** Whole-body limit of text()/json()/bytes() (default 1 MiB). */
  bodyLimitBytes?: number
  /** Request-body credits kept outstanding while the application reads (default 64 KiB). */
  bodyWindowBytes?: number
  /** Keep-alive period for held streams (default 20 s; must stay under the gateway's 60 s). */
  keepAliveIntervalMs?: number
  /** A session whose gateway sends nothing for this long is aborted (default 60 s). */
  gatewaySilenceMs?: number
  /** WebSocket ping period (default 30 s). */
  pingIntervalMs?: number
  /** Close a WebSocket whose pong is this late (default 10 s). */
  pongTimeoutMs?: number
  /** How long close() may let unsent packets linger (default 500 ms). */
  lingerMs?: number
}

/** Options with defaults applied. */
export interface ResolvedOptions {
  bodyLimitBytes: number
  bodyWindowBytes: number
  keepAliveIntervalMs: number
  gatewaySilenceMs: number
  pingIntervalMs: number
  pongTimeoutMs: number
  lingerMs: number
}

export function resolveOptions(o: TuningOptions): ResolvedOptions {
  return {
    bodyLimitBytes: o.bodyLimitBytes ?? BODY_LIMIT_DEFAULT_BYTES,
    bodyWindowBytes: o.bodyWindowBytes ?? BODY_WINDOW_DEFAULT_BYTES,
    keepAliveIntervalMs: o.keepAliveIntervalMs ?? KEEP_ALIVE_INTERVAL_DEFAULT_MS,
    gatewaySilenceMs: o.gatewaySilenceMs ?? GATEWAY_SILENCE_DEFAULT_MS,
    pingIntervalMs: o.pingIntervalMs ?? PING_INTERVAL_DEFAULT_MS,
    pongTimeoutMs: o.pongTimeoutMs ?? PONG_TIMEOUT_DEFAULT_MS,
    lingerMs: o.lingerMs ?? CLOSE_LINGER_DEFAULT_MS,
  }
}

/** The housekeeping tick: a quarter of the shortest period, within [TICK_MIN_MS, TICK_MAX_MS]. */
export function tickMs(o: ResolvedOptions): number {
  const shortest = Math.min(o.keepAliveIntervalMs, o.gatewaySilenceMs, o.pingIntervalMs, o.pongTimeoutMs)
  return Math.max(TICK_MIN_MS, Math.min(TICK_MAX_MS, Math.floor(shortest / 4)))
}
