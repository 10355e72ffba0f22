// The ceiling of the client-gateway benchmark: a bare `ws` relay. A client connects to `/?id=<n>`;
// every text message is a JSON object `{"to":<id>,"seq":<n>,…}`: the relay parses it, forwards the
// frame unchanged to the connection registered as `to` and answers the sender `{"ack":<seq>}`.
// No login, no store, no framing beyond JSON. Prints `listening <port>` when ready.
import { WebSocketServer } from 'ws';

const peers = new Map();
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
wss.on('connection', (ws, req) => {
  const id = new URL(req.url, 'http://x').searchParams.get('id');
  peers.set(id, ws);
  ws.on('close', () => peers.get(id) === ws && peers.delete(id));
  ws.on('error', () => {});
  ws.on('message', (data) => {
    let m;
    try {
      m = JSON.parse(data.toString());
    } catch {
      return;
    }
    peers.get(String(m.to))?.send(data, { binary: false });
    ws.send(`{"ack":${m.seq}}`);
  });
});
wss.on('listening', () => process.stdout.write(`listening ${wss.address().port}\n`));
process.on('SIGTERM', () => wss.close(() => process.exit(0)));
