#!/usr/bin/env bun
// `bun run build`: dist/zgate, one self-contained executable (`bun build --compile`).
//
// It carries, besides the Bun runtime and the bundled sources:
// - the worker entry (src/app.ts WORKER_ENTRY) as a second entry point, so `--workers N` works;
// - the shim library (`bun run build:native`, run first) and the libzmq builds of the `zeromq`
//   package for glibc, as assets named `<stem>-<sha256 prefix>.so`. At start the binary copies
//   them once into the per-user cache and dlopens them there (src/zmq/embedded.ts): it needs no
//   node_modules, no system libzmq, no compiler and no libc headers.
//
// Options: --outfile PATH (default dist/zgate).

import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { WORKER_ENTRY } from '../src/app.ts'
import { zeromqAddonBase, sortAddonDirs } from '../src/zmq/locate.ts'
import { contentHash } from '../src/zmq/shim-build.ts'

const ROOT = join(import.meta.dir, '..')
/**
 * The folder embedded with --asset; its files keep their names inside the binary. Under dist/,
 * not native/, so a package that ships native/ does not ship these copies of libzmq.
 */
const STAGE_DIR = join(ROOT, 'dist', 'embed')
/** libzmq builds taken from the zeromq package: the glibc ones (Bun's Linux runtime is glibc). */
const LIBZMQ_DIR_PATTERN = /^(glibc|libc)-/

function die(message: string): never {
  process.stderr.write(`build: ${message}\n`)
  process.exit(1)
}

function run(args: string[]): string {
  const r = Bun.spawnSync(args, { cwd: ROOT, stdout: 'pipe', stderr: 'inherit' })
  if (r.exitCode !== 0) die(`${args.join(' ')} exited with ${r.exitCode}`)
  return r.stdout.toString().trim()
}

/** The newest GLIBC_2.N symbol version a library asks for, as N (0 when it names none). */
function glibcNeeded(path: string): number {
  let newest = 0
  for (const m of readFileSync(path).toString('latin1').matchAll(/GLIBC_2\.(\d+)/g)) newest = Math.max(newest, Number(m[1]))
  return newest
}

const outIndex = process.argv.indexOf('--outfile')
const outfile = outIndex > 0 ? resolve(process.argv[outIndex + 1]!) : join(ROOT, 'dist', 'zgate')

// 1. The shim, built (or found up to date) by build:native.
const shim = join(ROOT, run([process.execPath, 'scripts/build-native.ts']))

// 2. Stage what the binary embeds, each under a name that holds its content hash.
rmSync(STAGE_DIR, { recursive: true, force: true })
mkdirSync(STAGE_DIR, { recursive: true })
const stage = (from: string, stem: string): void => {
  copyFileSync(from, join(STAGE_DIR, `${stem}-${contentHash(readFileSync(from))}.so`))
}
stage(shim, 'zgate-shim')
const base = zeromqAddonBase()
if (base === null) die('the zeromq package is not installed (run `bun install`)')
const dirs = existsSync(base) ? sortAddonDirs(readdirSync(base)).filter((d) => LIBZMQ_DIR_PATTERN.test(d)) : []
if (dirs.length === 0) die(`no glibc libzmq build in ${base}`)
// All are libzmq 4.3.5 built by different toolchains: the one needing the oldest glibc goes
// first, so it loads at the first dlopen on most machines (a failed dlopen costs ~5 ms). The
// order number carries that order through the name sort (embedded.ts).
const byNeed = dirs
  .map((d, i) => ({ d, i, need: glibcNeeded(join(base, d, 'addon.node')) }))
  .sort((a, b) => a.need - b.need || a.i - b.i)
byNeed.forEach((x, i) => stage(join(base, x.d, 'addon.node'), `libzmq-${String(i).padStart(2, '0')}-${x.d}`))

// 3. Compile. Both entry points live in src/, so src/ is the root inside the binary and the
// worker's URL resolves there as it does from source.
const worker = join('src', WORKER_ENTRY)
if (!existsSync(join(ROOT, worker))) die(`the worker entry ${worker} does not exist`)
mkdirSync(join(outfile, '..'), { recursive: true })
run([
  process.execPath,
  'build',
  '--compile',
  // Bytecode instead of source: JavaScriptCore skips parsing at start (~40 ms less CPU).
  '--bytecode',
  '--format=esm',
  // Like condure, the binary reads no .env or bunfig.toml from the folder it is started in (a
  // .env there could set ZGATE_LIBZMQ); it is also a little less to do at start.
  '--no-compile-autoload-dotenv',
  '--no-compile-autoload-bunfig',
  'src/main.ts',
  worker,
  '--asset',
  relative(ROOT, STAGE_DIR),
  '--outfile',
  outfile,
])
const mb = (statSync(outfile).size / 1048576).toFixed(1)
const order = byNeed.map((x) => `${x.d} (glibc 2.${x.need})`).join(', ')
console.log(`${relative(process.cwd(), outfile) || outfile} (${mb} MB; libzmq builds, in the order tried: ${order})`)
