/**
 * The MessageStore port on PostgreSQL, kept apart from the account adapter so the PostgreSQL store
 * delegates to it (`insertMessage = (m, o) => this.#messages.insertMessage(m, o)` …) and adds
 * POSTGRES_MESSAGES_MIGRATION to its list. Every write is one statement (autocommit), so it is
 * atomic and safe across nodes without read-then-write: the message and its offline entries go in
 * together or not at all.
 */
import type pg from 'pg';
import { type MessageRecord, type MessageStore, messageInsertValues, type NewMessage } from './port.js';

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

const SQL = {
  insertMessage: `WITH m AS (
      INSERT INTO messages (app_key, scene, from_accid, to_id, id_client, time, fields)
      VALUES ($1, $2, $3, $4, $5, $6, $7)
      ON CONFLICT (app_key, from_accid, id_client) DO NOTHING
      RETURNING id
    ), o AS (
      INSERT INTO offline_messages (app_key, accid, message_id)
      SELECT $1, a, m.id FROM m, unnest($8::text[]) AS a
      ON CONFLICT DO NOTHING
    )
    SELECT id FROM m`,
  getMessageByClientId: 'SELECT * FROM messages WHERE app_key = $1 AND from_accid = $2 AND id_client = $3',
  listOffline: `SELECT m.* FROM offline_messages o JOIN messages m ON m.id = o.message_id
    WHERE o.app_key = $1 AND o.accid = $2 ORDER BY o.message_id LIMIT $3`,
  ackOffline:
    'DELETE FROM offline_messages WHERE app_key = $1 AND accid = $2 AND message_id = ANY($3::bigint[])',
} as const;

type Row = Record<string, unknown>;

export class PostgresMessages implements MessageStore {
  constructor(private readonly pool: pg.Pool) {}

  #query(name: keyof typeof SQL, values: unknown[]): Promise<pg.QueryResult<Row>> {
    return this.pool.query<Row>({ name: `msg_${name}`, text: SQL[name], values });
  }

  async insertMessage(
    m: NewMessage,
    offlineFor: readonly string[],
  ): Promise<{ message: MessageRecord; inserted: boolean }> {
    const r = await this.#query('insertMessage', [...messageInsertValues(m), [...offlineFor]]);
    if (r.rows[0]) return { message: { ...m, id: Number(r.rows[0].id) }, inserted: true };
    const existing = await this.#query('getMessageByClientId', [m.appKey, m.from, m.idClient]);
    return { message: messageFromRow(existing.rows[0]!), inserted: false };
  }

  async listOffline(appKey: string, accid: string, limit: number): Promise<MessageRecord[]> {
    return (await this.#query('listOffline', [appKey, accid, limit])).rows.map(messageFromRow);
  }

  async ackOffline(appKey: string, accid: string, ids: readonly number[]): Promise<number> {
    if (ids.length === 0) return 0;
    return (await this.#query('ackOffline', [appKey, accid, ids.map(String)])).rowCount ?? 0;
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
