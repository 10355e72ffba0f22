/**
 * Client-gateway load: lean link clients speaking the binary framing over `ws` (the same codec as
 * test/helpers/raw-client.ts, without keeping every packet), the bare `ws` relay they are compared
 * with, and the measurements: delivered messages/s with send→receive latency, logins/s, memory per
 * idle session. Everything stays on 127.0.0.1 and every phase is bounded in time.
 */
import WebSocket from 'ws';
import { decodeBinaryBody, decodeHeader, encodeBinaryRequest } from '../../src/gateway/framing/binary.js';
import { Gateway } from '../../src/gateway/hub.js';
import type { FieldType } from '../../src/gateway/packet.js';

const table = new Gateway({} as never).table;

export interface Packet {
  sid: number;
  cid: number;
  ser: number;
  code: number;
  body: unknown[];
}

/** ~100 bytes of text, so a message is comparable with the relay's ~100-byte JSON frame. */
const PAD = 'x'.repeat(64);

export class LinkClient {
  private nextSer = 1;
  private readonly replies = new Map<number, (p: Packet) => void>();
  onPush: (p: Packet) => void = () => {};
  private constructor(readonly ws: WebSocket) {
    ws.on('error', () => {});
    ws.on('message', (data: Buffer) => {
      const bytes = new Uint8Array(data);
      const h = decodeHeader(bytes);
      const code = h.code ?? 200;
      const types = code === 200 ? (table.resultOf(h.sid, h.cid, h.ser === 0) ?? []) : [];
      const p = { sid: h.sid, cid: h.cid, ser: h.ser, code, body: decodeBinaryBody(bytes, types) };
      const waiter = h.ser === 0 ? undefined : this.replies.get(h.ser);
      if (waiter) {
        this.replies.delete(h.ser);
        waiter(p);
      } else this.onPush(p);
    });
  }

  static connect(port: number): Promise<LinkClient> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/websocket`);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new LinkClient(ws)));
      ws.once('error', reject);
    });
  }

  /** Sends a request and resolves with its reply (ser wraps at 16 bits, as on the wire). */
  call(sid: number, cid: number, params: unknown[]): Promise<Packet> {
    const ser = this.nextSer;
    this.nextSer = (this.nextSer % 65535) + 1;
    this.send(sid, cid, ser, params);
    return new Promise((resolve) => this.replies.set(ser, resolve));
  }

  send(sid: number, cid: number, ser: number, params: unknown[]) {
    const types = (table.layoutOf(sid, cid)?.params ?? []) as FieldType[];
    this.ws.send(encodeBinaryRequest({ sid, cid, ser, params }, types));
  }

  async login(appKey: string, accid: string, token: string): Promise<void> {
    const r = await this.call(2, 3, [
      {
        '3': '16',
        '4': 'bench',
        '8': '1',
        '9': '1',
        '13': `bench-${accid}`,
        '18': appKey,
        '19': accid,
        '26': Math.random().toString(16).slice(2),
        '1000': token,
      },
    ]);
    if (r.code !== 200) throw new Error(`login of ${accid} answered ${r.code}`);
  }

  close() {
    this.ws.terminate();
  }
}

export interface FlowResult {
  pairs: number;
  window: number;
  seconds: number;
  sent: number;
  delivered: number;
  perSecond: number;
  latencyMs: { p50: number; p99: number; max: number };
  errors: number;
  /** Messages per second the senders were allowed to offer (the gateway's rate limit), if paced. */
  offeredCap?: number;
  /** Fixed-rate runs: the messages per second offered, whatever the answers. */
  offered?: number;
}

function quantile(sorted: Float64Array, q: number) {
  return sorted.length === 0
    ? Number.NaN
    : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function summarise(
  pairs: number,
  window: number,
  seconds: number,
  sent: number,
  lat: number[],
  errors: number,
): FlowResult {
  const sorted = Float64Array.from(lat).sort();
  return {
    pairs,
    window,
    seconds,
    sent,
    delivered: lat.length,
    perSecond: lat.length / seconds,
    latencyMs: { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: quantile(sorted, 1) },
    errors,
  };
}

/**
 * The relay baseline: `pairs` sender/receiver connections; each sender keeps `window` messages in
 * flight (a new one per ack). Latency is send → the receiver's frame, on one clock.
 */
export async function relayFlow(port: number, pairs: number, window: number, seconds: number) {
  const socks: WebSocket[] = [];
  const lat: number[] = [];
  let sent = 0;
  let measuring = true;
  try {
    for (let i = 0; i < pairs; i++) {
      const rx = await openRelay(port, `r${i}`);
      const tx = await openRelay(port, `s${i}`);
      socks.push(rx, tx);
      rx.on('message', (d) => {
        const m = JSON.parse(d.toString()) as { t: number };
        if (measuring) lat.push(performance.now() - m.t);
      });
      let seq = 0;
      const fire = () => {
        if (!measuring) return;
        sent++;
        tx.send(JSON.stringify({ to: `r${i}`, seq: seq++, t: performance.now(), text: PAD }));
      };
      tx.on('message', fire);
      for (let w = 0; w < window; w++) fire();
    }
    const t0 = performance.now();
    lat.length = 0;
    sent = 0;
    await new Promise((r) => setTimeout(r, seconds * 1000));
    measuring = false;
    return summarise(pairs, window, (performance.now() - t0) / 1000, sent, lat, 0);
  } finally {
    measuring = false;
    for (const s of socks) s.terminate();
  }
}

/**
 * The relay at a fixed offered rate (open loop), as nimbaseFixedRate: `rate` messages per second
 * spread round-robin over `pairs` senders, whatever the acks. Its latency is the floor that the load
 * generator, the kernel and `ws` put under nimbase's figure at the same rate.
 */
export async function relayFixedRate(
  port: number,
  pairs: number,
  rate: number,
  seconds: number,
  warmupSeconds: number,
) {
  const socks: WebSocket[] = [];
  const lat: number[] = [];
  let sent = 0;
  let measuring = false;
  try {
    const senders: WebSocket[] = [];
    for (let i = 0; i < pairs; i++) {
      const rx = await openRelay(port, `fr${i}`);
      const tx = await openRelay(port, `fs${i}`);
      socks.push(rx, tx);
      senders.push(tx);
      rx.on('message', (d) => {
        const m = JSON.parse(d.toString()) as { t: number };
        if (measuring) lat.push(performance.now() - m.t);
      });
    }
    const elapsed = await openLoop(
      rate,
      seconds,
      warmupSeconds,
      (n) => {
        const i = n % pairs;
        if (measuring) sent++;
        senders[i]!.send(JSON.stringify({ to: `fr${i}`, seq: n, t: performance.now(), text: PAD }));
      },
      (on) => {
        measuring = on;
        if (on) lat.length = 0;
      },
    );
    await new Promise((r) => setTimeout(r, 200));
    return { ...summarise(pairs, 0, elapsed, sent, lat, 0), offered: rate };
  } finally {
    for (const s of socks) s.terminate();
  }
}

const openRelay = (port: number, id: string) =>
  new Promise<WebSocket>((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/?id=${id}`);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });

/**
 * The open-loop pump of both fixed-rate flows: calls `send(n)` for the n-th message on schedule
 * (checked every millisecond), switches measuring on after the warm-up and off after `seconds`;
 * resolves with the measured seconds.
 */
async function openLoop(
  rate: number,
  seconds: number,
  warmupSeconds: number,
  send: (n: number) => void,
  measure: (on: boolean) => void,
): Promise<number> {
  let running = true;
  let n = 0;
  const start = performance.now();
  const pump = new Promise<void>((resolve) => {
    const tick = () => {
      if (!running) return resolve();
      const due = Math.floor(((performance.now() - start) / 1000) * rate);
      for (; n < due; n++) send(n);
      setTimeout(tick, 1);
    };
    tick();
  });
  await new Promise((r) => setTimeout(r, warmupSeconds * 1000));
  measure(true);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  measure(false);
  const elapsed = (performance.now() - t0) / 1000;
  running = false;
  await pump;
  return elapsed;
}

/**
 * Receivers count 7_2 latency and acknowledge with 4_5 every 250 ms, as the SDK does; each on its
 * own phase, as independent clients would (started together, 100 receivers would ack in the same
 * millisecond four times a second).
 */
function receive(receivers: { client: LinkClient }[], lat: number[], measuring: () => boolean) {
  const ackTimers: NodeJS.Timeout[] = [];
  for (const { client } of receivers) {
    let pending: number[] = [];
    client.onPush = (p) => {
      if (p.sid !== 7 || p.cid !== 2) return;
      const m = p.body[0] as Record<string, string>;
      if (measuring()) lat.push(performance.now() - Number(m['9']!.split(' ')[0]));
      pending.push(Number(m['12']));
    };
    const ack = () => {
      if (pending.length === 0) return;
      client.send(4, 5, 0, [7, 2, pending]);
      pending = [];
    };
    ackTimers.push(setTimeout(() => ackTimers.push(setInterval(ack, 250)), Math.random() * 250));
  }
  return () => {
    for (const t of ackTimers) clearTimeout(t);
  };
}

/** Each flow's idClients are new: a resend of a stored idClient is answered but not delivered again. */
let flowRuns = 0;

const textMessage = (to: string, idClient: string) => ({
  '0': '0',
  '1': to,
  '8': '0',
  '9': `${performance.now()} ${PAD}`,
  '11': idClient,
});

/** `count` idle connections to the relay (memory per idle connection, the relay's side). */
export async function relayIdle(port: number, count: number): Promise<WebSocket[]> {
  const socks: WebSocket[] = [];
  for (let i = 0; i < count; i += 32) {
    const batch = Array.from({ length: Math.min(32, count - i) }, (_, k) => openRelay(port, `idle${i + k}`));
    socks.push(...(await Promise.all(batch)));
  }
  return socks;
}

/**
 * nimbase P2P text messages end to end, at saturation: `senders[i]` sends 7_1 to `receivers[i]`'s
 * account, keeping up to `window` unanswered sends, paced at 90 % of `packetRate` (the server's
 * `--gateway-packet-rate`: a faster client is closed with 1008); the receiver gets 7_2 and
 * acknowledges with 4_5. Latency is send → 7_2 at the receiver.
 */
export async function nimbaseFlow(
  senders: LinkClient[],
  receivers: { client: LinkClient; accid: string }[],
  window: number,
  seconds: number,
  packetRate: number,
) {
  // 90 % of the sustained rate, leaving room for the receivers' acks and heartbeats.
  const perSender = packetRate * 0.9;
  const lat: number[] = [];
  let sent = 0;
  let errors = 0;
  let measuring = true;
  const run = ++flowRuns;
  const stopReceiving = receive(receivers, lat, () => measuring);
  const loops = senders.map(async (tx, i) => {
    const to = receivers[i]!.accid;
    let n = 0;
    const start = performance.now();
    const lane = async () => {
      while (measuring) {
        // Pace: the k-th send of this sender not before k / perSender seconds (no use of the burst).
        const due = start + (n / perSender) * 1000;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        if (!measuring) return;
        n++;
        sent++;
        const r = await tx.call(7, 1, [textMessage(to, `b${run}-${i}-${n}`)]);
        if (r.code !== 200) errors++;
      }
    };
    await Promise.all(Array.from({ length: window }, lane));
  });
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  measuring = false;
  const elapsed = (performance.now() - t0) / 1000;
  await Promise.race([Promise.all(loops), new Promise((r) => setTimeout(r, 5000))]);
  stopReceiving();
  const result = summarise(senders.length, window, elapsed, sent, lat, errors);
  return { ...result, offeredCap: perSender * senders.length };
}

/**
 * The same flow at a fixed offered rate (open loop): `rate` messages per second in total, spread
 * round-robin over the senders, sent on schedule whatever the answers, so latency is not hidden by
 * a sender waiting for its own replies. Reports latency send → 7_2 at that load.
 */
export async function nimbaseFixedRate(
  senders: LinkClient[],
  receivers: { client: LinkClient; accid: string }[],
  rate: number,
  seconds: number,
  warmupSeconds: number,
) {
  const lat: number[] = [];
  let sent = 0;
  let errors = 0;
  let measuring = false;
  const stopReceiving = receive(receivers, lat, () => measuring);
  const run = ++flowRuns;
  const elapsed = await openLoop(
    rate,
    seconds,
    warmupSeconds,
    (n) => {
      const i = n % senders.length;
      if (measuring) sent++;
      senders[i]!.call(7, 1, [textMessage(receivers[i]!.accid, `f${run}-${i}-${n}`)]).then((r) => {
        if (r.code !== 200) errors++;
      });
    },
    (on) => {
      measuring = on;
      if (on) lat.length = 0;
    },
  );
  await new Promise((r) => setTimeout(r, 200));
  stopReceiving();
  return { ...summarise(senders.length, 0, elapsed, sent, lat, errors), offered: rate };
}

/** Logs `accids` in with `concurrency` parallel logins; returns the clients (in `accids` order) and logins/s. */
export async function loginMany(port: number, appKey: string, accids: string[], concurrency: number) {
  const clients: LinkClient[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < accids.length) {
        const index = next++;
        const accid = accids[index]!;
        const c = await LinkClient.connect(port);
        clients[index] = c;
        await c.login(appKey, accid, `tok-${accid}`);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  return { clients, seconds, perSecond: accids.length / seconds };
}
