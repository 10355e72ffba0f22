/**
 * Requests that never reach a route: Node's HTTP parser rejects malformed framing, oversized headers
 * and requests not received within `requestTimeout` (slow-loris) before Fastify sees them. The answer
 * keeps the HTTP status Node would use (the request is not a server-API call) but carries a CommsEase
 * v1 body, so a client that parses JSON still finds `code` and `desc`; then the connection closes.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';

function answerFor(code: string | undefined): [status: number, body: string] {
  switch (code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      // 408 is CommsEase's own "client request timeout" code (spec/error-codes.md).
      return [408, JSON.stringify({ desc: 'request timeout', code: 408 })];
    case 'HPE_HEADER_OVERFLOW':
      return [431, JSON.stringify({ desc: 'request headers too large', code: 414 })];
    default:
      return [400, JSON.stringify({ desc: 'bad http request', code: 414 })];
  }
}

export function clientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
  // A reset connection has nobody left to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, body] = answerFor(err.code);
  // As Node's own handler: never write into the middle of a response already under way on this
  // socket (a pipelined request before the bad bytes); just close.
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && !inFlight?.headersSent)
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Content-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`,
    );
  socket.destroy();
}
