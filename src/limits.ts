// Every fixed limit of zgate, with its unit in the name. Configurable values have their
// defaults here too (Condure 1.9.1's defaults, zhttp.md section 6 and 7.1); config.ts reads
// the command line and falls back to these.

// --- request head (zhttp.md 4.2, RFC 9112 section 2-5) ---
/** Request headers accepted per request; the 65th is refused (431). */
export const REQUEST_HEADERS_MAX = 64
/** `scheme://host` + request-target as sent in the packet `uri`; longer is refused (414). */
export const URI_SIZE_MAX_BYTES = 4096
/** A chunk-size line (hex digits plus chunk extensions); longer is a framing error. */
export const CHUNK_LINE_SIZE_MAX_BYTES = 1024
/** Chunked trailer section, consumed and dropped; larger is a framing error. */
export const CHUNK_TRAILER_SIZE_MAX_BYTES = 8192

// --- ZHTTP packets (zhttp.md 3.1, 3.4, 4.6) ---
/** Ids in one multi-id handler packet; more and the packet is dropped. */
export const PACKET_IDS_MAX = 128
/** Headers in one handler response packet; more and the packet is dropped. */
export const PACKET_HEADERS_MAX = 64
/** A handler's `from` (its ROUTER identity); longer closes the session. */
export const HANDLER_ADDRESS_MAX_BYTES = 64
/** Ids per batched keep-alive or cancel packet condure-style (zhttp.md 4.8, 4.12). */
export const BATCH_IDS_MAX = 128
/** Non-empty envelope frames a req-mode reply may carry before its delimiter; more and it is
 * dropped (zhttp.md 1.4, Condure 1.10.1; 1.9.1 has no limit). */
export const REPLY_ENVELOPE_FRAMES_MAX = 8
/** Response body chunk size on the wire when chunked encoding is used (zhttp.md 4.7). */
export const RESPONSE_CHUNK_SIZE_MAX_BYTES = 0xffff

// --- WebSocket (RFC 6455, zhttp.md 5) ---
/** Control frame payload (RFC 6455 5.5); a longer control frame is a protocol error. */
export const WS_CONTROL_PAYLOAD_MAX_BYTES = 125
/** Sec-WebSocket-Key value accepted (zhttp.md 5.1); a longer key refuses the upgrade. */
export const WS_KEY_SIZE_MAX_BYTES = 220

// --- timers (zhttp.md 4.8) ---
/** Session timer: no packet from the handler for this long closes the session. */
export const SESSION_TIMEOUT_MS = 60_000
/** Every session with a known handler address gets a keep-alive once per this period. */
export const KEEP_ALIVE_INTERVAL_MS = 45_000
/** The housekeeping tick: timers resolution and keep-alive slice cadence. */
export const TICK_MS = 100
/** After zgate ends a connection, how long the client may take to close its side. */
export const CLOSE_LINGER_MS = 5_000
/** Time given to shutdown cancels and in-flight writes after SIGTERM before exiting. */
export const SHUTDOWN_GRACE_MS = 1_500
/** --shutdown-timeout default: in-flight responses may finish for this long after SIGTERM. */
export const DEFAULT_SHUTDOWN_TIMEOUT_S = 5
/** Debug-level stats summary period (logged only when a counter changed). */
export const STATS_SUMMARY_INTERVAL_MS = 10_000

// --- ZeroMQ (zhttp.md 1.3) ---
/** High-water mark: 5 % of total maxconn, at least 1 (Condure 1.9.1 uses it on every socket). */
export const HWM_PERCENT_OF_MAXCONN = 5
/** Batched send outbox: at least this big, and at least 4 packets of the largest size. */
export const OUTBOX_SIZE_MIN_BYTES = 1 << 20
/** Receive scratch for one inbound multipart message; larger messages are dropped. */
export const INBOUND_MESSAGE_SIZE_MAX_BYTES = 4 << 20
/** Retry period for sends that met EAGAIN on a full peer queue (Condure: 50 ms). */
export const SEND_RETRY_MS = 50

// --- CLI defaults (Condure 1.9.1, zhttp.md 7.1) ---
export const DEFAULT_LOG_LEVEL = 2
export const DEFAULT_INSTANCE_ID = 'condure'
export const DEFAULT_WORKERS = 2
/** Event loops without --workers: one (Condure's 2 is slower here on 2 cores; bench/README.md). */
export const DEFAULT_WORKER_LOOPS = 1
export const DEFAULT_REQ_MAXCONN = 100
export const DEFAULT_STREAM_MAXCONN = 10_000
export const DEFAULT_BUFFER_SIZE_BYTES = 8192
export const DEFAULT_BODY_BUFFER_SIZE_BYTES = 100_000
export const DEFAULT_MESSAGES_MAX = 100
export const DEFAULT_REQ_TIMEOUT_S = 30
export const DEFAULT_STREAM_TIMEOUT_S = 1800
export const DEFAULT_LISTEN = '0.0.0.0:8000,stream'
export const DEFAULT_ZCLIENT_SPEC = 'ipc://client'
export const WORKERS_MAX = 1024
export const TOTAL_MAXCONN_MAX = 10_000_000
