/**
 * Workers' PostgreSQL connections, through the `postgres` package, which
 * runs on Node, Deno and Bun alike. Loaded only by workers that connect.
 *
 * @module
 */

import type { DatabaseClient } from "../../src/worker/port.ts";

type Sql = {
  unsafe(query: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  begin<T>(body: (transaction: Sql) => Promise<T>): Promise<T>;
  end(options?: { timeout?: number }): Promise<void>;
};
type Postgres = (url: string, options: Record<string, unknown>) => Sql;

/**
 * Open one connection.
 *
 * @example
 * ```ts
 * import { connectDatabase } from "./database_client.ts";
 * const client = await connectDatabase("postgres://postgres@127.0.0.1:5432/postgres", { database: "app" });
 * console.log(await client.query("select current_database()"));
 * ```
 */
export async function connectDatabase(
  url: string,
  target: { database?: string; user?: string },
): Promise<DatabaseClient> {
  const postgres = ((await import("postgres")) as unknown as { default: Postgres }).default;
  const sql = postgres(url, {
    max: 1,
    ...(target.database === undefined ? {} : { database: target.database }),
    ...(target.user === undefined ? {} : { username: target.user }),
    // Unnamed statements: the embedded cluster serves every connection from one session, where named ones would collide.
    prepare: false,
    onnotice: () => {},
  });
  // Connect now, so that a refused connection fails the call that asked for it.
  await sql.unsafe("select 1");
  return wrap(sql, true);
}

function wrap(sql: Sql, closable: boolean): DatabaseClient {
  return {
    query: (text, params = []) => sql.unsafe(text, [...params]).then((rows) => [...rows]),
    begin: (body) => sql.begin((transaction) => body(wrap(transaction, false))),
    close: () => closable ? sql.end({ timeout: 5 }) : Promise.resolve(),
  };
}
