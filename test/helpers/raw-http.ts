/**
 * HTTP/1.1 over a bare socket, for hostile-input tests: any header bytes, repeated headers, lying
 * lengths, trickled requests — things fetch refuses to send.
 */
import { connect, type Socket } from 'node:net';

export interface RawResponse {
  /** 0 when the server closed the connection without answering. */
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Serialises a request; `headers` as [name, value] pairs so names may repeat. */
export function rawRequest(o: {
  method?: string;
  path: string;
  headers: readonly (readonly [string, string])[];
  body?: Buffer | string;
  /** Add `Content-Length` for the body (default true). */
  contentLength?: boolean;
}): Buffer {
  const body = o.body === undefined ? Buffer.alloc(0) : Buffer.from(o.body);
  const lines = [`${o.method ?? 'POST'} ${o.path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close'];
  for (const [k, v] of o.headers) lines.push(`${k}: ${v}`);
  if (o.contentLength ?? true) lines.push(`Content-Length: ${body.length}`);
  // Header values go out as latin1 bytes, so a test can send any byte 0x00–0xFF.
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
}

export function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });
}

/** Collects everything the server sends until it closes; rejects after `timeoutMs`. */
export function readToClose(s: Socket, timeoutMs = 10_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no close within ${timeoutMs} ms`));
    }, timeoutMs);
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', () => {}); // a reset counts as a close
    s.on('close', () => {
      clearTimeout(timer);
      resolve(parseResponse(Buffer.concat(chunks).toString('utf8')));
    });
  });
}

export function parseResponse(text: string): RawResponse {
  const end = text.indexOf('\r\n\r\n');
  if (!text.startsWith('HTTP/1.1 ') || end === -1) return { status: 0, headers: {}, body: text };
  const [statusLine, ...headerLines] = text.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of headerLines) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  let body = text.slice(end + 4);
  if (headers['transfer-encoding'] === 'chunked') body = dechunk(body);
  // Only the first answer: bytes after it belong to a second (pipelined or garbage) request.
  else if (headers['content-length'] !== undefined)
    body = Buffer.from(body).subarray(0, Number(headers['content-length'])).toString('utf8');
  return { status: Number(statusLine!.split(' ')[1]), headers, body };
}

function dechunk(s: string): string {
  let out = '';
  let i = 0;
  for (;;) {
    const eol = s.indexOf('\r\n', i);
    if (eol === -1) return out;
    const size = Number.parseInt(s.slice(i, eol), 16);
    if (!(size > 0)) return out;
    out += s.slice(eol + 2, eol + 2 + size);
    i = eol + 2 + size + 2;
  }
}

/** Sends one request on a fresh connection and reads the answer. */
export async function send(port: number, request: Buffer, timeoutMs?: number): Promise<RawResponse> {
  const s = await openSocket(port);
  const done = readToClose(s, timeoutMs);
  s.end(request);
  return done;
}
