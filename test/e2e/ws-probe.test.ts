import { afterAll, expect, test } from 'bun:test'
import { deflateRawSync, inflateRawSync } from 'node:zlib'
import { cleanup, gatewayTargets, sleep, rawHttp } from '../helpers/harness.ts'
import { startWsEnv, upgrade, readMessage } from '../helpers/ws-session.ts'
import { upgradeRequest } from '../helpers/ws-raw.ts'
import { buildFrames, OP_TEXT, OP_CONT, RSV1, concat, text } from '../helpers/ws-frame.ts'
afterAll(cleanup)
const t = gatewayTargets().find((x) => x.name === 'condure')!
const TAIL = new Uint8Array([0, 0, 0xff, 0xff])
const comp = (s: string) => { const b = new Uint8Array(deflateRawSync(Buffer.from(s), { finishFlush: 2 })); return b.subarray(0, b.length - 4) }
test('probe deflate', async () => {
  for (const args of [] as string[][]) {
    const env = await startWsEnv(t, args)
    for (const ext of ['permessage-deflate; =', 'permessage-deflate;;', ';', 'permessage-deflate; a=', 'permessage-deflate; a="x', ',', 'permessage-deflate, ', 'permessage-deflate; server_max_window_bits', 'permessage-deflate; client_max_window_bits=7', 'permessage-deflate; client_max_window_bits=8', 'permessage-deflate; server_max_window_bits=15; client_max_window_bits', 'permessage-deflate; server_no_context_takeover; server_no_context_takeover', 'x-webkit-deflate-frame, permessage-deflate; server_no_context_takeover', 'permessage-deflate; client_max_window_bits="10"', 'PerMessage-Deflate']) {
      const path = `/p${Math.random()}`
      const conn = await rawHttp(env.port, upgradeRequest({ path, headers: [`Sec-WebSocket-Extensions: ${ext}`] }))
      const first = await env.peer.next({ $sock: 'pull', uri: `ws://h${path}` }, 500).catch(() => null)
      if (first) await env.peer.send({ from: env.peer.from, id: first.packet.id!, seq: 0, code: 101, reason: 'SP' })
      const r = first ? await conn.readResponse().catch(() => null) : null
      console.log(`${args} [${ext}] packet=${!!first} credits=${first?.packet.credits} ext=${r?.header('Sec-WebSocket-Extensions')} closed=${conn.isClosed}`)
      conn.close()
    }
    await env.stop()
  }
  const env = await startWsEnv(t, ['--compression'])
  const dump = (hs: any) => env.peer.queued().filter((p) => p.packet.id === hs.id && p.packet.type !== 'credit').map((p) => JSON.stringify(p.packet).replace(/"from":"condure","id":"[^"]*",/, '').replace(/,"ext":\{"multi":true\}/, '').slice(0, 150)).join(' | ')
  const H = { headers: ['Sec-WebSocket-Extensions: permessage-deflate'] }
  const fr = (fs: any[]) => fs.map((f) => `${f.opcode}/${f.rsv}/${f.fin}/${Buffer.from(f.payload).toString('hex')}`)
  {
    const { ws, hs } = await upgrade(env, H)
    const c = comp('hello hello hello single')
    ws.sendBytes(buildFrames([{ opcode: OP_TEXT, payload: c, rsv: RSV1 }, { opcode: OP_TEXT, payload: 'plain' }]))
    await sleep(300)
    console.log('single client:', dump(hs), ws.conn.isClosed)
    ws.close()
  }
  {
    const { ws, hs } = await upgrade(env, H)
    const c = comp('hello hello hello fragmented')
    ws.sendBytes(buildFrames([{ opcode: OP_TEXT, payload: c.subarray(0, 5), rsv: RSV1, fin: false }, { opcode: OP_CONT, payload: c.subarray(5) }]))
    await sleep(300)
    console.log('frag client:', dump(hs), ws.conn.isClosed)
    ws.close()
  }
  {
    const { ws, hs } = await upgrade(env, H)
    await hs.send({ body: 'part one ', more: true })
    await hs.send({ body: 'part two ', more: true })
    await hs.send({ body: 'end' })
    await sleep(1500)
    const fs = ws.frames()
    console.log('frag server frames', fr(fs), ws.conn.isClosed, dump(hs))
    try { console.log('inflate all:', inflateRawSync(Buffer.from(concat([...fs.map((f) => f.payload), TAIL])), { finishFlush: 2 }).toString()) } catch (e) { console.log('inflate err', String(e)) }
    ws.close()
  }
  {
    const { ws, hs } = await upgrade(env, H)
    await hs.send({ body: 'abcabcabc' })
    await hs.send({ body: 'abcabcabc' })
    await hs.send({ type: 'ping', body: 'pp' })
    await sleep(300)
    const fs = ws.frames()
    console.log('two msgs', fr(fs))
    try { console.log('inflate all:', inflateRawSync(Buffer.from(concat([fs[0].payload, TAIL, fs[1].payload, TAIL])), { finishFlush: 2 }).toString()) } catch (e) { console.log('inflate err', String(e)) }
    ws.close()
  }
  expect(1).toBe(1)
  await env.stop()
}, 60000)
