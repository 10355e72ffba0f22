// The "careful reference" of issue 6 for create.action: what a minimal server that keeps the same
// promise (every answered account fsync-durable) reaches on this machine, measured like nimbase.
// node:http, the CheckSum checked per request (crypto.hash, constant-time compare), the form parsed
// with nimbase's parser, and group commit on the event loop: the creates of one turn share ONE
// `INSERT … ON CONFLICT DO NOTHING RETURNING` transaction, each answered after its COMMIT.
// No framework, no validation beyond the accid, no profile fields, no cache, no worker thread.
// Environment: REF_DB (file), REF_SYNC (FULL, the default, or NORMAL), REF_SEAL=1 (seal each token
// with AES-256-GCM, as nimbase must: "login tokens are encrypted at rest"). The App secret is
// "baseline", like the baseline's. Prints `listening <port>` when ready.
import { createCipheriv, hash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import Database from 'better-sqlite3';
import { parseForm } from '../dist/api/form.js';

const SECRET = 'baseline';
const sync = process.env.REF_SYNC === 'NORMAL' ? 'NORMAL' : 'FULL';
const db = new Database(process.env.REF_DB ?? ':memory:');
db.pragma('journal_mode = WAL');
db.pragma(`synchronous = ${sync}`);
db.exec(`CREATE TABLE IF NOT EXISTS accounts (app_key TEXT NOT NULL, accid TEXT NOT NULL,
  token BLOB NOT NULL, name TEXT, created_at INTEGER NOT NULL, PRIMARY KEY (app_key, accid)) STRICT, WITHOUT ROWID`);
const insert =
  db.prepare(`INSERT INTO accounts (app_key, accid, token, name, created_at) VALUES (?, ?, ?, ?, ?)
  ON CONFLICT DO NOTHING RETURNING accid`);

const key = randomBytes(32);
const seal =
  process.env.REF_SEAL === '1'
    ? (token, owner) => {
        const iv = randomBytes(12);
        const c = createCipheriv('aes-256-gcm', key, iv);
        c.setAAD(Buffer.from(owner));
        const body = Buffer.concat([c.update(token, 'utf8'), c.final()]);
        return Buffer.concat([iv, c.getAuthTag(), body]);
      }
    : (token) => Buffer.from(token);

let queue = [];
const group = db.transaction((items) =>
  items.map(
    (x) =>
      insert.get(x.appKey, x.accid, seal(x.token, `${x.appKey}:${x.accid}`), x.name, Date.now()) !==
      undefined,
  ),
);
function flush() {
  const items = queue;
  queue = [];
  const created = group.immediate(items);
  for (let i = 0; i < items.length; i++) {
    const x = items[i];
    answer(
      x.res,
      created[i]
        ? JSON.stringify({ code: 200, info: { token: x.token, accid: x.accid, name: x.name } })
        : '{"code":414,"desc":"already register"}',
    );
  }
}
function answer(res, body) {
  res.writeHead(200, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}
const SIGNATURE_ERROR = '{"code":403,"desc":"checksum error"}';
const PARAM_ERROR = '{"code":414,"desc":"accid is missing"}';

const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk) => {
    body += chunk;
  });
  req.on('end', () => {
    const h = req.headers;
    const expected = Buffer.from(hash('sha1', `${SECRET}${h.nonce}${h.curtime}`));
    const given = Buffer.from(String(h.checksum ?? '').toLowerCase());
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      return answer(res, SIGNATURE_ERROR);
    const form = parseForm(body);
    if (!form.accid) return answer(res, PARAM_ERROR);
    if (queue.length === 0) setImmediate(flush);
    queue.push({
      appKey: String(h.appkey),
      accid: form.accid.toLowerCase(),
      name: form.name ?? '',
      token: randomBytes(16).toString('hex'),
      res,
    });
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
