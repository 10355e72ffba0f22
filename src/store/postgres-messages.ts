/**
 * The MessageStore port on PostgreSQL, kept apart from the account adapter so the PostgreSQL store
 * delegates to it (`insertMessage = (m, o) => this.#messages.insertMessage(m, o)` …) and adds
 * POSTGRES_MESSAGES_MIGRATION to its list. Every write is one statement (autocommit), so it is
 * atomic and safe across nodes without read-then-write: a message and its offline entries go in
 * together or not at all.
 *
 * Writes are grouped like the account inserts (postgres-batches.ts): the messages stored during one
 * event-loop turn go as ONE statement (one transaction, one WAL flush, one round trip), and so do
 * the offline acks. One message statement runs at a time and its rows are inserted in call order,
 * so messages are stored (and numbered) in the order they were sent, as on SQLite: a sender's next
 * message may be queued before this one is stored. (Rows in call order, not key order: two nodes
 * inserting the same two idClients of one sender in opposite orders could deadlock; PostgreSQL
 * breaks it and the group runs once more.)
 */
import type pg from 'pg';
import {
  type MessageRecord,
  type MessageStore,
  messageInsertValues,
  type NewMessage,
  wellFormed,
} from './port.js';
import { runGroup, type Settle, TurnBatcher } from './postgres-batches.js';

/** Messages (acks) of one statement at most; more wait for the next. */
const MAX_GROUP = 1000;

/** Version 10 mirrors migrations/sqlite.ts (gateway range 10–19). */
export const POSTGRES_MESSAGES_MIGRATION = {
  version: 10,
  name: 'messages and offline queue',
  sql: `
    CREATE TABLE messages (
      id BIGSERIAL PRIMARY KEY,
      app_key TEXT NOT NULL,
      scene SMALLINT NOT NULL,
      from_accid TEXT NOT NULL,
      to_id TEXT NOT NULL,
      id_client TEXT NOT NULL,
      time BIGINT NOT NULL,
      fields TEXT NOT NULL,
      UNIQUE (app_key, from_accid, id_client)
    );
    CREATE TABLE offline_messages (
      app_key TEXT NOT NULL,
      accid TEXT NOT NULL,
      message_id BIGINT NOT NULL REFERENCES messages(id),
      PRIMARY KEY (app_key, accid, message_id)
    );
  `,
} as const;

/** The statements (exported for the tests that check their plans). */
export const MESSAGE_SQL = {
  // The group as one JSON array of [app_key, scene, from, to, id_client, time, fields, [offline…]],
  // inserted in array order (ids ascend with it). A message whose idClient the sender used before
  // (here or in an earlier row of the same group) is not inserted and not returned.
  insertMessages: `WITH input AS (
      SELECT x.r, x.ord FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS x(r, ord)
    ), m AS (
      INSERT INTO messages (app_key, scene, from_accid, to_id, id_client, time, fields)
      SELECT r->>0, (r->>1)::smallint, r->>2, r->>3, r->>4, (r->>5)::bigint, r->>6 FROM input ORDER BY ord
      ON CONFLICT (app_key, from_accid, id_client) DO NOTHING
      RETURNING id, app_key, from_accid, id_client
    ), o AS (
      INSERT INTO offline_messages (app_key, accid, message_id)
      SELECT m.app_key, a.accid, m.id
      FROM m JOIN input i ON i.r->>0 = m.app_key AND i.r->>2 = m.from_accid AND i.r->>4 = m.id_client
      CROSS JOIN LATERAL jsonb_array_elements_text(i.r->7) AS a(accid)
      ON CONFLICT DO NOTHING
    )
    SELECT id, app_key, from_accid, id_client FROM m`,
  // The acks of a group as three parallel JSON arrays (app key, accid, message id: one entry per
  // offline entry). ROWS FROM gives PostgreSQL a small row estimate, so it looks each entry up by
  // the primary key; nested set-returning functions (an array per ack) made it estimate 10,000
  // rows and hash the whole offline table on every ack instead (16 ms at 50,000 entries).
  ackOffline: `DELETE FROM offline_messages o
    USING ROWS FROM (json_array_elements_text($1::json), json_array_elements_text($2::json),
      json_array_elements_text($3::json)) AS d(app_key, accid, message_id)
    WHERE o.app_key = d.app_key AND o.accid = d.accid AND o.message_id = d.message_id::bigint
    RETURNING o.app_key, o.accid, o.message_id`,
  getMessageByClientId: 'SELECT * FROM messages WHERE app_key = $1 AND from_accid = $2 AND id_client = $3',
  listOffline: `SELECT m.* FROM offline_messages o JOIN messages m ON m.id = o.message_id
    WHERE o.app_key = $1 AND o.accid = $2 ORDER BY o.message_id LIMIT $3`,
} as const;

interface PendingMessage {
  message: NewMessage;
  offlineFor: readonly string[];
  resolve: (r: { message: MessageRecord; inserted: boolean }) => void;
  reject: (err: unknown) => void;
}

interface PendingAck {
  appKey: string;
  accid: string;
  ids: readonly number[];
  resolve: (removed: number) => void;
  reject: (err: unknown) => void;
}

const key3 = (a: string, b: string, c: string | number) => `${a}\u0000${b}\u0000${c}`;

type Row = Record<string, unknown>;

export class PostgresMessages implements MessageStore {
  // A failed statement: runGroup (postgres-batches.ts) retries, splits or fails the group.
  readonly #inserts = new TurnBatcher<PendingMessage>(
    (g) => runGroup(g, (once) => this.#insert(once)),
    1,
    MAX_GROUP,
  );
  readonly #acks = new TurnBatcher<PendingAck>((g) => runGroup(g, (once) => this.#ack(once)), 1, MAX_GROUP);
  readonly #lookups = new Set<Promise<void>>();

  constructor(private readonly pool: pg.Pool) {}

  #query(name: keyof typeof MESSAGE_SQL, values: unknown[]): Promise<pg.QueryResult<Row>> {
    return this.pool.query<Row>({ name: `msg_${name}`, text: MESSAGE_SQL[name], values });
  }

  insertMessage(
    message: NewMessage,
    offlineFor: readonly string[],
  ): Promise<{ message: MessageRecord; inserted: boolean }> {
    return new Promise((resolve, reject) => this.#inserts.add({ message, offlineFor, resolve, reject }));
  }

  /** The statement (sent before any `await`), its answers given back as a Settle (see TurnBatcher). */
  async #insert(group: PendingMessage[]): Promise<Settle> {
    // Each (app, sender, idClient) once per statement: a later one in the group is a resend of the
    // first, answered with the stored message afterwards (its recipients must not be added to it).
    const keys = group.map(({ message: m }) =>
      key3(wellFormed(m.appKey), wellFormed(m.from), wellFormed(m.idClient)),
    );
    const seen = new Set<string>();
    const rows: unknown[][] = [];
    group.forEach(({ message, offlineFor }, i) => {
      if (seen.has(keys[i]!)) return;
      seen.add(keys[i]!);
      const v: unknown[] = messageInsertValues(message);
      // Strings as PostgreSQL stores them (fields is JSON text already: escapes, no lone surrogates).
      for (const at of [0, 2, 3, 4]) v[at] = wellFormed(v[at] as string);
      v.push(offlineFor.map(wellFormed));
      rows.push(v);
    });
    const result = await this.#query('insertMessages', [JSON.stringify(rows)]);
    return () => {
      const inserted = new Map<string, number>();
      for (const r of result.rows)
        inserted.set(key3(r.app_key as string, r.from_accid as string, r.id_client as string), Number(r.id));
      group.forEach((p, i) => {
        const id = inserted.get(keys[i]!);
        if (id !== undefined) {
          inserted.delete(keys[i]!);
          p.resolve({ message: { ...p.message, id }, inserted: true });
        } else this.#lookUp(p);
      });
    };
  }

  /** A resend's answer: the stored message, read after the statement (tracked for drain()). */
  #lookUp(p: PendingMessage): void {
    const lookup = this.#existing(p.message).then(p.resolve, p.reject);
    this.#lookups.add(lookup);
    void lookup.finally(() => this.#lookups.delete(lookup));
  }

  /** The message stored earlier under m's idClient (a resend). */
  async #existing(m: NewMessage): Promise<{ message: MessageRecord; inserted: boolean }> {
    const existing = await this.#query('getMessageByClientId', [m.appKey, m.from, m.idClient]);
    const row = existing.rows[0];
    if (!row) throw new Error(`message ${m.idClient} was neither stored nor found`);
    return { message: messageFromRow(row), inserted: false };
  }

  async listOffline(appKey: string, accid: string, limit: number): Promise<MessageRecord[]> {
    return (await this.#query('listOffline', [appKey, accid, limit])).rows.map(messageFromRow);
  }

  ackOffline(appKey: string, accid: string, ids: readonly number[]): Promise<number> {
    if (ids.length === 0) return Promise.resolve(0);
    return new Promise((resolve, reject) => this.#acks.add({ appKey, accid, ids, resolve, reject }));
  }

  async #ack(group: PendingAck[]): Promise<Settle> {
    const appKeys: string[] = [];
    const accids: string[] = [];
    const ids: string[] = [];
    for (const a of group) {
      const appKey = wellFormed(a.appKey);
      const accid = wellFormed(a.accid);
      for (const id of a.ids) {
        appKeys.push(appKey);
        accids.push(accid);
        ids.push(String(id));
      }
    }
    const result = await this.#query('ackOffline', [
      JSON.stringify(appKeys),
      JSON.stringify(accids),
      JSON.stringify(ids),
    ]);
    return () => {
      const removed = new Set(
        result.rows.map((r) => key3(r.app_key as string, r.accid as string, r.message_id as string)),
      );
      for (const a of group) {
        // Each removed entry counts once, for the first ack that named it.
        let n = 0;
        for (const id of a.ids) if (removed.delete(key3(wellFormed(a.appKey), wellFormed(a.accid), id))) n++;
        a.resolve(n);
      }
    };
  }

  /** Sends what is queued and waits until no statement is running (closing). */
  async drain(): Promise<void> {
    await Promise.all([this.#inserts.drain(), this.#acks.drain()]);
    await Promise.all(this.#lookups);
  }
}

function messageFromRow(r: Row): MessageRecord {
  return {
    id: Number(r.id),
    appKey: r.app_key as string,
    scene: Number(r.scene),
    from: r.from_accid as string,
    to: r.to_id as string,
    idClient: r.id_client as string,
    time: Number(r.time),
    fields: JSON.parse(r.fields as string) as Record<string, string>,
  };
}
