/**
 * A bare-bones link client speaking the binary framing (or raw socket.io text) straight over `ws`,
 * to test what the official SDK never sends: hostile frames, floods, commands before login.
 */
import WebSocket from 'ws';
import { decodeBinaryBody, decodeHeader, encodeBinaryRequest } from '../../src/gateway/framing/binary.js';
import { Gateway } from '../../src/gateway/hub.js';
import type { FieldType } from '../../src/gateway/packet.js';
import type { TestServer } from './server.js';

const table = new Gateway({} as never).table;

export interface RawPacket {
  sid: number;
  cid: number;
  ser: number;
  code: number;
  body: unknown[];
}

export interface RawClient {
  ws: WebSocket;
  packets: RawPacket[];
  texts: string[];
  closed: Promise<{ code: number; reason: string }>;
  request(sid: number, cid: number, ser: number, params: unknown[]): void;
  waitPacket(pred: (p: RawPacket) => boolean, what: string, ms?: number): Promise<RawPacket>;
  close(): void;
}

export async function rawConnect(s: TestServer, path: '/websocket' | 'socket.io'): Promise<RawClient> {
  const base = s.url.replace(/^http/, 'ws');
  let url = `${base}/websocket`;
  if (path === 'socket.io') {
    const text = await (await s.fetch(`/socket.io/1/?t=${Date.now()}`)).text();
    url = `${base}/socket.io/1/websocket/${text.split(':')[0]}`;
  }
  const ws = new WebSocket(url);
  const packets: RawPacket[] = [];
  const texts: string[] = [];
  const waiters = new Set<() => void>();
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  ws.on('error', () => {});
  ws.on('message', (data, isBinary) => {
    if (!isBinary) texts.push(data.toString());
    else {
      const bytes = new Uint8Array(data as Buffer);
      const h = decodeHeader(bytes);
      const types = (h.code ?? 200) === 200 ? (table.resultOf(h.sid, h.cid, h.ser === 0) ?? []) : [];
      packets.push({
        sid: h.sid,
        cid: h.cid,
        ser: h.ser,
        code: h.code ?? 200,
        body: decodeBinaryBody(bytes, types),
      });
    }
    for (const w of [...waiters]) w();
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return {
    ws,
    packets,
    texts,
    closed,
    request(sid, cid, ser, params) {
      const types = (table.layoutOf(sid, cid)?.params ?? []) as FieldType[];
      ws.send(encodeBinaryRequest({ sid, cid, ser, params }, types));
    },
    waitPacket(pred, what, ms = 5000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const p = packets.find(pred);
          if (!p) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(p);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(packets)}`));
        }, ms);
        waiters.add(check);
        check();
      });
    },
    close() {
      ws.terminate();
    },
  };
}

/** The 2_3 login Property a browser would send (vectors §E B1). */
export function loginProps(
  appKey: string,
  account: string,
  token: string,
  clientType = 16,
): Record<string, string> {
  return {
    '3': String(clientType),
    '4': 'test',
    '8': '1',
    '9': '1',
    '13': `dev-${account}-${Math.random().toString(16).slice(2)}`,
    '18': appKey,
    '19': account,
    '26': Math.random().toString(16).slice(2),
    '1000': token,
  };
}
