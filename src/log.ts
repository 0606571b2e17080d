// Log lines in Condure's format (zhttp.md 7.4), on stdout:
//   [LEVEL] YYYY-MM-DD HH:MM:SS.mmm [target] message
// Levels: 0 error, 1 warn, 2 info, 3 debug, >= 4 trace. Filtering happens before any string
// is built, so disabled levels cost one comparison at the call site (`if (log.on(DEBUG))`).

import { writeSync } from 'node:fs'

export const ERROR = 0
export const WARN = 1
export const INFO = 2
export const DEBUG = 3
export const TRACE = 4

const LEVEL_NAMES = ['ERR', 'WARN', 'INFO', 'DEBUG', 'TRACE']

let maxLevel = 2

export function setLogLevel(level: number): void {
  maxLevel = level
}

export function logEnabled(level: number): boolean {
  return level <= maxLevel
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0')
}

/** Local time as Condure prints it: `2026-01-01 00:00:00.000`. */
export function timestamp(d: Date): string {
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1, 2)}-${pad(d.getDate(), 2)} ` +
    `${pad(d.getHours(), 2)}:${pad(d.getMinutes(), 2)}:${pad(d.getSeconds(), 2)}.` +
    pad(d.getMilliseconds(), 3)
  )
}

export function formatLine(level: number, target: string, msg: string, d: Date): string {
  const name = LEVEL_NAMES[level < LEVEL_NAMES.length ? level : LEVEL_NAMES.length - 1]
  return `[${name}] ${timestamp(d)} [${target}] ${msg}\n`
}

export function log(level: number, target: string, msg: string): void {
  if (level > maxLevel) return
  // Synchronous so that lines logged right before exit (`stopped`) are never lost.
  writeSync(1, formatLine(level, target, msg, new Date()))
}
