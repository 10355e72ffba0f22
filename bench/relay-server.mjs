// The ceiling of the client-gateway benchmark: a bare `ws` relay. A client connects to `/?id=<n>`;
// every text message is a JSON object `{"to":<id>,"seq":<n>,…}`: the relay parses it, forwards the
// frame unchanged to the connection registered as `to` and answers the sender `{"ack":<seq>}`.
// No login, no store, no framing beyond JSON. Prints `listening <port>` when ready.
//
// With RELAY_DB=<file> it is issue 6's durable reference instead: every message is appended to a
// SQLite table (WAL, synchronous=FULL) first, the messages of one event-loop turn in ONE
// transaction, and forwarded and acknowledged only after its COMMIT.
import Database from 'better-sqlite3';
import { WebSocketServer } from 'ws';

const peers = new Map();
const deliver = (ws, m, data) => {
  peers.get(String(m.to))?.send(data, { binary: false });
  ws.send(`{"ack":${m.seq}}`);
};
let accept = deliver;
if (process.env.RELAY_DB) {
  const db = new Database(process.env.RELAY_DB);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(`CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY AUTOINCREMENT, to_id TEXT NOT NULL,
    body TEXT NOT NULL) STRICT`);
  const append = db.prepare('INSERT INTO messages (to_id, body) VALUES (?, ?)');
  const group = db.transaction((items) => {
    for (const x of items) append.run(String(x.m.to), x.data.toString());
  });
  let queue = [];
  const flush = () => {
    const items = queue;
    queue = [];
    group.immediate(items);
    for (const x of items) deliver(x.ws, x.m, x.data);
  };
  accept = (ws, m, data) => {
    if (queue.length === 0) setImmediate(flush);
    queue.push({ ws, m, data });
  };
}

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
    accept(ws, m, data);
  });
});
wss.on('listening', () => process.stdout.write(`listening ${wss.address().port}\n`));
process.on('SIGTERM', () => wss.close(() => process.exit(0)));
