// The ceiling of the client-gateway benchmark: a bare `ws` relay. A client connects to `/?id=<n>`;
// every text message is a JSON object `{"to":<id>,"seq":<n>,…}`: the relay parses it, forwards the
// frame unchanged to the connection registered as `to` and answers the sender `{"ack":<seq>}`.
// No login, no store, no framing beyond JSON. Prints `listening <port>` when ready.
//
// With RELAY_DB=<file> it is issue 6's durable reference instead: every message is appended to a
// SQLite table (WAL, synchronous=FULL) first, the messages of one event-loop turn in ONE
// transaction, and forwarded and acknowledged only after its COMMIT.
//
// RELAY_SCHEMA=idempotent adds what nimbase's store did per message beyond the append until SQLite
// schema 12 (and its PostgreSQL store still does): the message's `idClient` under UNIQUE (from_id,
// id_client), so that a resend is stored once however old its first copy, and an offline entry
// for the recipient. (nimbase's SQLite store now finds resends in a window of recent messages.) The bench's relay clients send no idClient: then the relay draws
// a random 32-hex one per frame (as the SDK's), which pays for the index and its check without ever
// finding a resend. Everything else stays the relay's: no protocol, no accounts, one thread, and no
// acks from the receivers (nimbase's bench receivers ack every 250 ms, which deletes offline rows).
import Database from 'better-sqlite3';
import { WebSocketServer } from 'ws';
import { randomHex32 } from './random-ids.mjs';

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
  let store;
  if (process.env.RELAY_SCHEMA === 'idempotent') {
    db.exec(`CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY AUTOINCREMENT, from_id TEXT NOT NULL,
      to_id TEXT NOT NULL, id_client TEXT NOT NULL, body TEXT NOT NULL, UNIQUE (from_id, id_client)) STRICT;
      CREATE TABLE IF NOT EXISTS offline (accid TEXT NOT NULL, message_id INTEGER NOT NULL,
      PRIMARY KEY (accid, message_id)) STRICT, WITHOUT ROWID`);
    const insert = db.prepare(
      'INSERT INTO messages (from_id, to_id, id_client, body) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
    );
    const offline = db.prepare('INSERT INTO offline (accid, message_id) VALUES (?, ?)');
    store = (x) => {
      const to = String(x.m.to);
      const id = typeof x.m.idClient === 'string' ? x.m.idClient : randomHex32();
      const r = insert.run(x.ws.relayId, to, id, x.data.toString());
      if (r.changes === 1) offline.run(to, r.lastInsertRowid);
    };
  } else {
    db.exec(`CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY AUTOINCREMENT, to_id TEXT NOT NULL,
      body TEXT NOT NULL) STRICT`);
    const append = db.prepare('INSERT INTO messages (to_id, body) VALUES (?, ?)');
    store = (x) => append.run(String(x.m.to), x.data.toString());
  }
  const group = db.transaction((items) => {
    for (const x of items) store(x);
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
  ws.relayId = String(id);
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
