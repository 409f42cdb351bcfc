/** A `postgres` package client for the tests' own queries, on any cluster URL the postmaster gives (Unix sockets included). */
import postgres from "postgres";
import { unixSocketTarget } from "../../runtimes/shared/database_client.ts";

/** One connection to `url`, with unnamed statements and notices dropped. */
export function connectSql(url: string): postgres.Sql {
  const socket = unixSocketTarget(url);
  return postgres(socket?.url ?? url, {
    max: 1,
    prepare: false,
    onnotice: () => {},
    ...(socket ? { host: socket.directory, port: socket.port } : {}),
  });
}
