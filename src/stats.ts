// Counters for `--stats` (Prometheus text format, stats-server.ts) and the periodic debug-level
// summary line. Every counter is a plain number field (or a slot of a typed array made once),
// incremented on a code path that exists anyway: counting allocates nothing and calls nothing.
//
// One instance per worker: the module is loaded once per JS thread or process, so `stats`
// belongs to the worker that increments it; stats-collector.ts sums the workers' values.

import { RESP_COUNT, errorStatus } from './http/errors.ts'
import { INVALID_REASONS } from './http/response-check.ts'
import { log, logEnabled, DEBUG } from './log.ts'

/** Why a packet from a handler was dropped (label `reason` of zgate_handler_packets_dropped_total). */
export const DROP_NOT_FOR_US = 0
export const DROP_PARSE = 1
export const DROP_UNKNOWN_ID = 2
export const DROP_NO_DELIMITER = 3
/** Over the receive limit (INBOUND_MESSAGE_SIZE_MAX_BYTES, or too many frames): never parsed. */
export const DROP_TOO_LARGE = 4
const DROP_REASONS = ['not-for-us', 'parse-error', 'unknown-id', 'no-delimiter', 'too-large']

export const MODE_LABELS = ['stream', 'req']

export class Stats {
  /** Open client connections per listener mode (MODE_STREAM, MODE_REQ): a gauge. */
  readonly connectionsOpen = new Float64Array(2)
  connectionsAccepted = 0
  requestsStream = 0
  requestsReq = 0
  requestsWebsocket = 0
  bytesIn = 0
  bytesOut = 0
  handlerPacketsIn = 0
  handlerPacketsOut = 0
  readonly handlerPacketsDropped = new Float64Array(DROP_REASONS.length)
  /** Handler responses zgate refused to write as they were, by INVALID_* reason (response-check.ts). */
  readonly handlerResponsesInvalid = new Float64Array(INVALID_REASONS.length)
  /** Responses zgate wrote on its own, by E.RESP_* index (errors.ts). */
  readonly clientErrors = new Float64Array(RESP_COUNT)
  wsMessagesIn = 0
  wsMessagesOut = 0
  /** TLS handshakes that failed (no certificate for the name, a client's alert, bad bytes). */
  tlsHandshakeFailures = 0
  /** Gauge, seconds: worst lateness of the housekeeping tick lately (time/loop-lag.ts). */
  eventLoopLag = 0
}

/** Gauges that combine across workers as the worst one, not the sum. */
const MAX_GAUGES = new Set(['eventLoopLag'])

export const stats = new Stats()

/** Adds every counter of `from` (a Stats, or its structured clone from a worker) into `into`. */
export function addStats(into: Stats, from: Stats): void {
  const dst = into as unknown as Record<string, number | Float64Array>
  const src = from as unknown as Record<string, number | Float64Array>
  for (const k of Object.keys(dst)) {
    const v = dst[k]
    const w = src[k]
    if (typeof v === 'number') {
      const x = typeof w === 'number' ? w : 0
      dst[k] = MAX_GAUGES.has(k) ? Math.max(v, x) : v + x
    } else if (w instanceof Float64Array) for (let i = 0; i < v.length && i < w.length; i++) v[i] += w[i]
  }
}

/** Prometheus text exposition format 0.0.4 of `s` (built per scrape, off the hot path). */
export function prometheusText(s: Stats): string {
  const out: string[] = []
  const metric = (name: string, type: string, help: string, samples: Array<[string, number]>): void => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`)
    for (const [labels, v] of samples) out.push(`${name}${labels} ${v}`)
  }
  metric('zgate_connections_open', 'gauge', 'Open client connections by listener mode.',
    MODE_LABELS.map((m, i) => [`{mode="${m}"}`, s.connectionsOpen[i]]))
  metric('zgate_connections_accepted_total', 'counter', 'Client connections accepted.', [['', s.connectionsAccepted]])
  metric('zgate_requests_total', 'counter', 'Requests handed to handlers, by kind.', [
    ['{kind="stream"}', s.requestsStream],
    ['{kind="req"}', s.requestsReq],
    ['{kind="websocket"}', s.requestsWebsocket],
  ])
  metric('zgate_client_bytes_in_total', 'counter', 'Bytes read from clients.', [['', s.bytesIn]])
  metric('zgate_client_bytes_out_total', 'counter', 'Bytes written (or queued) to clients.', [['', s.bytesOut]])
  metric('zgate_handler_packets_in_total', 'counter', 'ZHTTP packets received from handlers.', [['', s.handlerPacketsIn]])
  metric('zgate_handler_packets_out_total', 'counter', 'ZHTTP packets queued to handlers.', [['', s.handlerPacketsOut]])
  metric('zgate_handler_packets_dropped_total', 'counter', 'Handler packets dropped, by reason.',
    DROP_REASONS.map((r, i) => [`{reason="${r}"}`, s.handlerPacketsDropped[i]]))
  metric('zgate_handler_responses_invalid_total', 'counter', 'Handler responses refused (502 or close), by reason.',
    INVALID_REASONS.map((r, i) => [`{reason="${r}"}`, s.handlerResponsesInvalid[i]]))
  const byStatus = new Map<number, number>()
  for (let i = 0; i < RESP_COUNT; i++) byStatus.set(errorStatus(i), (byStatus.get(errorStatus(i)) ?? 0) + s.clientErrors[i])
  metric('zgate_client_errors_total', 'counter', 'Error responses zgate itself wrote, by status.',
    [...byStatus].sort((a, b) => a[0] - b[0]).map(([code, v]) => [`{status="${code}"}`, v]))
  metric('zgate_websocket_messages_in_total', 'counter', 'WebSocket messages from clients.', [['', s.wsMessagesIn]])
  metric('zgate_websocket_messages_out_total', 'counter', 'WebSocket messages to clients.', [['', s.wsMessagesOut]])
  metric('zgate_tls_handshake_failures_total', 'counter', 'TLS handshakes that failed.', [['', s.tlsHandshakeFailures]])
  metric('zgate_event_loop_lag_seconds', 'gauge', 'Worst lateness of the 100 ms housekeeping tick over the last 10-20 s (0 with no connection open).',
    [['', s.eventLoopLag]])
  return `${out.join('\n')}\n`
}

/** The one-line summary logged at debug level. */
export function summaryLine(s: Stats): string {
  let dropped = 0
  for (let i = 0; i < s.handlerPacketsDropped.length; i++) dropped += s.handlerPacketsDropped[i]
  let invalid = 0
  for (let i = 0; i < s.handlerResponsesInvalid.length; i++) invalid += s.handlerResponsesInvalid[i]
  let errors = 0
  for (let i = 0; i < s.clientErrors.length; i++) errors += s.clientErrors[i]
  return (
    `stats: conns open stream=${s.connectionsOpen[0]} req=${s.connectionsOpen[1]} accepted=${s.connectionsAccepted} ` +
    `requests stream=${s.requestsStream} req=${s.requestsReq} ws=${s.requestsWebsocket} ` +
    `bytes in=${s.bytesIn} out=${s.bytesOut} packets in=${s.handlerPacketsIn} out=${s.handlerPacketsOut} ` +
    `dropped=${dropped} invalid-responses=${invalid} client-errors=${errors} ws-msgs in=${s.wsMessagesIn} out=${s.wsMessagesOut} ` +
    `tls-failures=${s.tlsHandshakeFailures}`
  )
}

/**
 * Logs summaryLine of `collect()` (every worker's counters) every `intervalMs` at debug level,
 * only when it differs from the last one logged; nothing runs below debug level. Returns the
 * timer (cleared at shutdown), or null.
 */
export function startSummaryLog(intervalMs: number, collect: () => Promise<Stats>): ReturnType<typeof setInterval> | null {
  if (!logEnabled(DEBUG)) return null
  let last = summaryLine(new Stats())
  return setInterval(() => {
    void collect().then((s) => {
      const line = summaryLine(s)
      if (line === last) return
      last = line
      log(DEBUG, 'zgate::stats', line)
    })
  }, intervalMs)
}
