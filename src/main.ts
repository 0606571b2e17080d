#!/usr/bin/env bun
// zgate command line: `zgate serve [Condure 1.9.1 flags]`, `zgate --help`, `zgate --version`.
// citty provides the command structure and top-level help; `serve` parses its own flags with
// config.ts so that Condure's exact forms and error sentences are kept (zhttp.md 7.1, 7.5).

import { parseServeArgs, ConfigError, OPTION_HELP } from './config.ts'
import { log, ERROR } from './log.ts'
import { startupErrorText } from './startup-errors.ts'
import pkg from '../package.json' with { type: 'json' }

/**
 * No ANSI colours unless both output streams are terminals and NO_COLOR is unset or empty
 * (no-color.org). citty reads only NO_COLOR=1, once, when it loads: so set that first and
 * load citty after.
 */
function plainOutput(): boolean {
  const noColor = process.env.NO_COLOR
  if (noColor !== undefined && noColor !== '') return true
  return !process.stdout.isTTY || !process.stderr.isTTY || process.env.TERM === 'dumb'
}
if (plainOutput()) process.env.NO_COLOR = '1'
const { defineCommand, runMain } = await import('citty')

function serveUsage(): string {
  const lines = ['Usage: zgate serve [OPTIONS]', '', 'Options:']
  for (const [flag, text] of OPTION_HELP) lines.push(`  ${flag.padEnd(38)} ${text}`)
  lines.push(`  ${'-h, --help'.padEnd(38)} Print help`)
  lines.push(`  ${'-V, --version'.padEnd(38)} Print version`)
  return lines.join('\n')
}

/**
 * A usage error as Condure's parser prints it (stderr, exit 2): the sentence, the option a
 * typo most resembles, the usage line, and where to look next.
 */
function usageErrorText(err: ConfigError): string {
  const parts = [`error: ${err.message}`, '']
  if (err.suggestion !== '') parts.push(`\tDid you mean '${err.suggestion}'?`, '')
  const shown = OPTION_HELP.find(([f]) => f === err.suggestion || f.startsWith(`${err.suggestion} `))
  const usage = err.suggestion === '' ? '[OPTIONS]' : (shown?.[0] ?? err.suggestion)
  parts.push('USAGE:', `    zgate serve ${usage}`, '', 'For more information try --help')
  return parts.join('\n')
}

/**
 * `zgate X.Y.Z`, then the libzmq this process loads (`libzmq 4.3.5 (/path)`); exit 1 with one
 * line on stderr when none loads, so the check also tells whether `serve` could start.
 */
async function printVersion(): Promise<void> {
  console.log(`zgate ${pkg.version}`)
  const { loadZmq } = await import('./zmq/ffi.ts')
  try {
    const zmq = loadZmq()
    console.log(`libzmq ${zmq.version} (${zmq.path})`)
  } catch (err) {
    process.stderr.write(`error: ${startupErrorText(err)}\n`)
    process.exit(1)
  }
}

const serveCommand = defineCommand({
  meta: {
    name: 'serve',
    description: 'Run the gateway (accepts the flags of Condure 1.9.1; see `zgate serve --help`)',
  },
  async run({ rawArgs }) {
    if (rawArgs.includes('--version') || rawArgs.includes('-V')) {
      await printVersion()
      return
    }
    let cfg
    try {
      cfg = parseServeArgs(rawArgs)
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err
      if (err.exitCode === 2) {
        process.stderr.write(`${usageErrorText(err)}\n`)
      } else {
        log(ERROR, 'zgate', err.message)
      }
      process.exit(err.exitCode)
    }
    if (cfg.sizes) {
      const { printSizes } = await import('./sizes.ts')
      printSizes(cfg)
      return
    }
    const { serve } = await import('./app.ts')
    serve(cfg)
  },
})

const main = defineCommand({
  meta: {
    name: 'zgate',
    version: pkg.version,
    description: 'HTTP/1.1 and WebSocket connection manager speaking ZHTTP over ZeroMQ',
  },
  subCommands: { serve: serveCommand },
})

// Version and serve's help are answered here: citty would print a bare version number and a
// usage line without serve's options, and Condure users expect `-V` and the option list.
const argv = process.argv.slice(2)
const wantsHelp = argv.includes('--help') || argv.includes('-h')
if (argv.length === 1 && (argv[0] === '-V' || argv[0] === '--version')) {
  await printVersion()
} else if (argv[0] === 'serve' && wantsHelp) {
  console.log(serveUsage())
} else {
  runMain(main)
}
