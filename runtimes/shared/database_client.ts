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
  target: { database?: string; user?: string; applicationName?: string },
): Promise<DatabaseClient> {
  const postgres = ((await import("postgres")) as unknown as { default: Postgres }).default;
  const socket = unixSocketTarget(url);
  const sql = postgres(socket?.url ?? url, {
    max: 1,
    ...(socket ? { host: socket.directory, port: socket.port } : {}),
    ...(target.applicationName === undefined ? {} : { connection: { application_name: target.applicationName } }),
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

/**
 * A URL naming a Unix socket directory as libpq does (`?host=/dir&port=N`,
 * the embedded server's form): the same URL without those two parameters,
 * which the `postgres` package would send to the server as settings, and
 * the directory and port to give it instead. Null for any other URL.
 *
 * @example
 * ```ts
 * import { unixSocketTarget } from "./database_client.ts";
 * unixSocketTarget("postgres://postgres@/app?host=%2Ftmp%2Fpg&port=5432");
 * // { url: "postgres://postgres@localhost/app", directory: "/tmp/pg", port: 5432 }
 * ```
 */
export function unixSocketTarget(url: string): { url: string; directory: string; port: number } | null {
  const match = /^([a-z]+:\/\/[^/?#]*)([^?#]*)\?([^#]*)$/i.exec(url);
  if (!match) return null;
  const [, authority, path, query] = match as unknown as [string, string, string, string];
  const params = new URLSearchParams(query);
  const directory = params.get("host");
  if (!directory?.startsWith("/")) return null;
  const port = Number(params.get("port") ?? 5432);
  params.delete("host");
  params.delete("port");
  const rest = params.toString();
  // An empty host after the user is no URL to the parser; the host given beside it wins anyway.
  const withHost = authority.endsWith("@") || authority.endsWith("//") ? `${authority}localhost` : authority;
  return { url: `${withHost}${path}${rest ? `?${rest}` : ""}`, directory, port };
}

function wrap(sql: Sql, closable: boolean): DatabaseClient {
  return {
    query: (text, params = []) => sql.unsafe(text, [...params]).then((rows) => [...rows]),
    begin: (body) => sql.begin((transaction) => body(wrap(transaction, false))),
    close: () => closable ? sql.end({ timeout: 5 }) : Promise.resolve(),
  };
}
