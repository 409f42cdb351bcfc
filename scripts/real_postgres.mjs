// A real PostgreSQL server for the database tests "by URL" and the
// benchmark: started the same way as the embedded default (the library's
// runtimes/shared/embedded/postgres_server.ts, loaded through tsx), but
// separately, as a server the postmasters under test are given by URL.
import { tsImport } from "tsx/esm/api";

/**
 * Start a throwaway server; resolves with its superuser's URL (loopback
 * TCP with the password of this start, as a server given by URL usually
 * is), its version and a stop function that removes it.
 */
export async function startRealPostgres() {
  const { startPostgresServer } = await tsImport("../runtimes/shared/embedded/postgres_server.ts", import.meta.url);
  const { postgresBinaries } = await tsImport("../runtimes/shared/embedded/postgres_binaries.ts", import.meta.url);
  const server = await startPostgresServer({});
  return {
    url: server.tcpUrl,
    version: `PostgreSQL ${postgresBinaries().version}, running as ${server.account} account`,
    stop: () => server.stop(),
  };
}
