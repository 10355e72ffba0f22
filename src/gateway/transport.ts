/**
 * The link transports on the HTTP server that serves the server API: the LBS document, the
 * socket.io 0.9 handshake + JSON WebSocket (`/socket.io/1/websocket/<sid>`) and the binary
 * WebSocket (`/websocket`) — spec/client-protocol.md §2, §4, §5. Each only decodes, hands the
 * request to the gateway and encodes what comes back.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import { decodeBinaryRequest, encodeBinary } from './framing/binary.js';
import {
  CONNECT_FRAME,
  decodeJsonRequest,
  encodeJson,
  HEARTBEAT_FRAME,
  parseSocketIoFrame,
} from './framing/json.js';
import type { Gateway } from './hub.js';
import { GATEWAY_LIMITS } from './limits.js';
import { FrameError, type Outgoing } from './packet.js';
import type { Link, Session } from './session.js';

export interface TransportOptions {
  /** `host:port` handed out by the LBS; default: the Host header of the LBS request. */
  publicLink?: string | undefined;
}

const SOCKET_IO_PATH = /^\/socket\.io\/1\/websocket\/([A-Za-z0-9_-]{1,64})\/?$/;
const BINARY_PATH = /^\/websocket\/?$/;

/** Registers the HTTP routes and the WebSocket upgrade on `app`'s server. */
export function attachTransports(app: FastifyInstance, gateway: Gateway, o: TransportOptions = {}): void {
  const handshakes = new Map<string, number>();
  const wss = new WebSocketServer({ noServer: true, maxPayload: GATEWAY_LIMITS.maxFrameBytes });

  // GET /lbs/webconf.jsp — §2. `common` must be an object; never set msg.stat.enable.
  app.get('/lbs/webconf.jsp', async (req, reply) => {
    const link = o.publicLink ?? req.headers.host ?? '127.0.0.1';
    reply.header('Access-Control-Allow-Origin', '*');
    return { common: { link: [link], 'link.default': [link], 'mix.link': [link] } };
  });

  // GET /socket.io/1/?t=… — §4.1: "<sid>:<heartbeat s>:<close s>:websocket". Credentialed XHR from
  // browsers needs the Origin echoed, not `*`.
  app.get('/socket.io/1/', async (req, reply) => {
    const origin = req.headers.origin;
    if (origin) {
      reply.header('Access-Control-Allow-Origin', origin);
      reply.header('Access-Control-Allow-Credentials', 'true');
    }
    const now = Date.now();
    if (handshakes.size >= GATEWAY_LIMITS.maxPendingHandshakes) {
      for (const [id, at] of handshakes) if (now - at > GATEWAY_LIMITS.handshakeTtlMs) handshakes.delete(id);
      if (handshakes.size >= GATEWAY_LIMITS.maxPendingHandshakes) return reply.code(503).send('busy');
    }
    const sid = randomBytes(12).toString('hex');
    handshakes.set(sid, now);
    reply.type('text/plain');
    return `${sid}:60:60:websocket`;
  });

  app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Node detaches its own error listener before 'upgrade': a reset on a refused socket must not
    // become an uncaught 'error' event (ws adds its own once it takes the socket). A plain function,
    // not a closure: this listener lives as long as the socket and would keep `req` alive.
    socket.on('error', destroySocket);
    const path = (req.url ?? '').split('?')[0] ?? '';
    const io = SOCKET_IO_PATH.exec(path);
    let framing: Link['framing'];
    if (io) {
      const at = handshakes.get(io[1]!);
      handshakes.delete(io[1]!);
      if (at === undefined || Date.now() - at > GATEWAY_LIMITS.handshakeTtlMs) return refuse(socket, 403);
      framing = 'json';
    } else if (BINARY_PATH.test(path)) framing = 'binary';
    else return refuse(socket, 404);
    wss.handleUpgrade(req, socket, head, (ws) => serve(gateway, ws, req, framing));
  });

  // preClose, not onClose: the HTTP server's close waits for upgraded sockets, so end them first.
  app.addHook('preClose', async () => {
    await gateway.stop();
    for (const ws of wss.clients) ws.terminate();
    wss.close();
  });
}

function destroySocket(this: Duplex): void {
  this.destroy();
}

function refuse(socket: Duplex, status: number): void {
  socket.end(`HTTP/1.1 ${status} ${status === 403 ? 'Forbidden' : 'Not Found'}\r\nConnection: close\r\n\r\n`);
  // A peer that never closes its side must not hold the socket open.
  setTimeout(() => socket.destroy(), 1000).unref();
}

/**
 * The frames a connection is sent during one event-loop turn, written at the end of the turn as
 * one WebSocket byte string in one socket write: the replies and pushes a group commit releases
 * together leave in one syscall per socket, without a frame header buffer, a stream chunk and a
 * writev entry per frame. Server frames are unmasked and uncompressed (the server never negotiates
 * permessage-deflate), so the bytes are built here; `ws` keeps writing its own control frames
 * (pong, close) directly, and `flush` runs before this side closes, so a reply precedes the close.
 */
class Outbox {
  #frames: Uint8Array[] | undefined;

  constructor(
    private readonly ws: WebSocket,
    private readonly socket: Duplex,
    /** WebSocket opcode of every frame: 0x2 binary, 0x1 text. */
    private readonly opcode: number,
  ) {}

  add(payload: Uint8Array): void {
    if (this.#frames !== undefined) {
      this.#frames.push(payload);
      return;
    }
    this.#frames = [payload];
    if (pending.push(this) === 1) setImmediate(flushPending);
  }

  flush(): void {
    const frames = this.#frames;
    if (frames === undefined) return;
    this.#frames = undefined;
    // A link closed meanwhile (its close frame is out) gets nothing after it.
    if (this.ws.readyState !== this.ws.OPEN || this.socket.destroyed) return;
    this.socket.write(webSocketFrames(this.opcode, frames));
  }
}

/** Outboxes with frames queued during this turn. */
let pending: Outbox[] = [];
const flushPending = () => {
  const boxes = pending;
  pending = [];
  for (let i = 0; i < boxes.length; i++) boxes[i]!.flush();
};

/** Final, unmasked WebSocket frames (RFC 6455 §5.2) around each payload, in one buffer. */
export function webSocketFrames(opcode: number, payloads: readonly Uint8Array[]): Buffer {
  let total = 0;
  for (let i = 0; i < payloads.length; i++) {
    const n = payloads[i]!.length;
    total += n + (n < 126 ? 2 : n < 65536 ? 4 : 10);
  }
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (let i = 0; i < payloads.length; i++) {
    const p = payloads[i]!;
    const n = p.length;
    out[at++] = 0x80 | opcode;
    if (n < 126) out[at++] = n;
    else if (n < 65536) {
      out[at++] = 126;
      out.writeUInt16BE(n, at);
      at += 2;
    } else {
      out[at++] = 127;
      out.writeUInt32BE(Math.floor(n / 0x100000000), at);
      out.writeUInt32BE(n >>> 0, at + 4);
      at += 8;
    }
    out.set(p, at);
    at += n;
  }
  return out;
}

function serve(gateway: Gateway, ws: WebSocket, req: IncomingMessage, framing: Link['framing']): void {
  const table = gateway.table;
  const socket = req.socket;
  const out = new Outbox(ws, socket, framing === 'json' ? 0x1 : 0x2);
  const link: Link = {
    framing,
    remoteAddress: (socket.remoteAddress ?? '').replace(/^::ffff:/, ''),
    remotePort: socket.remotePort ?? 0,
    send(p: Outgoing) {
      if (ws.readyState !== ws.OPEN) return;
      if (framing === 'json') out.add(Buffer.from(encodeJson(p), 'utf8'));
      else out.add(encodeBinary(p, table.resultOf(p.sid, p.cid, p.ser === 0)));
    },
    close(code, reason) {
      out.flush();
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(code, reason.slice(0, 120));
    },
  };
  const session: Session = gateway.open(link);
  const fail = (err: unknown) => {
    const reason = err instanceof FrameError ? err.message : 'bad frame';
    session.close(framing === 'json' ? 1007 : 1002, reason);
  };
  let liveness: NodeJS.Timeout | undefined;
  if (framing === 'json') {
    ws.send(CONNECT_FRAME); // §4.1: without `1::` the SDK never logs in
    liveness = setInterval(
      () => ws.readyState === ws.OPEN && ws.send(HEARTBEAT_FRAME),
      GATEWAY_LIMITS.socketIoHeartbeatMs,
    );
    liveness.unref();
  }
  ws.on('message', (data: RawData, isBinary: boolean) => {
    try {
      if (framing === 'binary') {
        if (!isBinary) throw new FrameError('text frame on the binary transport');
        gateway.receive(session, decodeBinaryRequest(toBytes(data), table.layoutOf));
        return;
      }
      if (isBinary) throw new FrameError('binary frame on the JSON transport');
      const frame = parseSocketIoFrame(data.toString());
      if (frame.kind === 'message') {
        const req = decodeJsonRequest(frame.data, table.layoutOf);
        gateway.receive(session, req, req.noReply);
      } else if (frame.kind === 'disconnect') session.close(1000, 'client disconnect');
      else if (!session.takePacket(gateway.packetRate)) session.close(1008, 'too many packets');
    } catch (err) {
      fail(err);
    }
  });
  ws.on('close', () => {
    if (liveness) clearInterval(liveness);
    session.close(1000, 'closed');
  });
  ws.on('error', () => session.close(1011, 'socket error'));
}

function toBytes(data: RawData): Uint8Array {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return new Uint8Array(data);
}
