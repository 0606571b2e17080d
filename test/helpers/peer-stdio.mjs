// The stdio side shared by the Node handler peers (zhttp-peer.mjs, zhttp-req-peer.mjs): one
// JSON event per stdout line, one JSON command per stdin line, run strictly in arrival order.
// A command carrying "tag" is acknowledged ({"ev":"ack","tag"}) once carried out, or answered
// with {"ev":"error","tag","message"}; {"cmd":"quit"}, a closed stdin, SIGTERM and SIGINT all
// end the peer through its shutdown function.

import { createInterface } from 'node:readline'

export function emit(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`)
}

// Serializes sends on one socket: zeromq.js allows one pending send per socket.
export function sendQueue(sock) {
  let chain = Promise.resolve()
  const send = (frames) => {
    const p = chain.then(() => sock.send(frames))
    chain = p.catch(() => {})
    return p
  }
  return { send, idle: () => chain }
}

/**
 * Reads commands from stdin: `run(cmd)` carries out every command but quit (it throws for an
 * unknown one); `shutdown(code)` ends the peer.
 */
export function serveCommands(run, shutdown) {
  const handle = async (line) => {
    if (line.trim() === '') return
    let cmd
    try {
      cmd = JSON.parse(line)
    } catch {
      emit({ ev: 'error', message: `bad command line: ${line.slice(0, 200)}` })
      return
    }
    const tag = cmd.tag
    try {
      if (cmd.cmd === 'quit') {
        await shutdown(0)
        return
      }
      await run(cmd)
      if (tag !== undefined) emit({ ev: 'ack', tag })
    } catch (e) {
      emit({ ev: 'error', tag, message: e instanceof Error ? e.message : String(e) })
    }
  }
  let chain = Promise.resolve()
  const rl = createInterface({ input: process.stdin })
  rl.on('line', (line) => {
    chain = chain.then(() => handle(line))
  })
  // The test process went away (or closed our stdin): never outlive it.
  rl.on('close', () => {
    chain.then(() => shutdown(0))
  })
  process.on('SIGTERM', () => shutdown(0))
  process.on('SIGINT', () => shutdown(0))
}
