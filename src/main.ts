#!/usr/bin/env bun
// zgate command line: `zgate serve [Condure 1.9.1 flags]`, `zgate --help`, `zgate --version`.
// citty provides the command structure, help and version; `serve` parses its own flags with
// config.ts so that Condure's exact forms and error sentences are kept (zhttp.md 7.1, 7.5).

import { defineCommand, runMain } from 'citty'
import { parseServeArgs, ConfigError, OPTION_HELP } from './config.ts'
import { log, ERROR } from './log.ts'
import pkg from '../package.json' with { type: 'json' }

function serveUsage(): string {
  const lines = ['Usage: zgate serve [OPTIONS]', '', 'Options:']
  for (const [flag, text] of OPTION_HELP) lines.push(`  ${flag.padEnd(38)} ${text}`)
  lines.push(`  ${'-h, --help'.padEnd(38)} Print help`)
  lines.push(`  ${'-V, --version'.padEnd(38)} Print version`)
  return lines.join('\n')
}

const serveCommand = defineCommand({
  meta: {
    name: 'serve',
    description: 'Run the gateway (accepts the flags of Condure 1.9.1; see `zgate serve --help`)',
  },
  async run({ rawArgs }) {
    if (rawArgs.includes('--version') || rawArgs.includes('-V')) {
      console.log(`zgate ${pkg.version}`)
      return
    }
    let cfg
    try {
      cfg = parseServeArgs(rawArgs)
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err
      if (err.exitCode === 2) {
        process.stderr.write(`error: ${err.message}\n\n${serveUsage()}\n`)
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
  console.log(`zgate ${pkg.version}`)
} else if (argv[0] === 'serve' && wantsHelp) {
  console.log(serveUsage())
} else {
  runMain(main)
}
