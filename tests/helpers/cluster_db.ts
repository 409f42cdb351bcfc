/** A fresh cluster on the real server for the cluster store's tests, one connection per simulated host, removed after the test. */
import type { TestContext } from "node:test";
import { connectDatabase } from "../../runtimes/shared/database_client.ts";
import { type ClusterStore, clusterStore, migrateClusterSchema } from "../../src/cluster/mod.ts";
import type { BackgroundWorkerEntry } from "../../src/worker_spec.ts";
import { validateBackgroundWorker } from "../../src/worker_validation.ts";
import type { DatabaseClient } from "../../src/worker/port.ts";
import { REAL_URL } from "./clusters.ts";

/** The reason the cluster tests skip without the real server `npm test` starts. */
export const SKIP_WITHOUT_SERVER = REAL_URL
  ? false
  : "no real server: npm test starts one and sets BGWORKER_TEST_POSTGRES_URL";

/** A cluster named `<prefix>-<random>`, migrated, with one connection (and store) per name in `hosts`; index 0 is also the admin's. */
export async function freshCluster(
  t: TestContext,
  prefix: string,
  hosts: readonly string[],
): Promise<{ name: string; clients: DatabaseClient[]; stores: ClusterStore[]; admin: DatabaseClient }> {
  const clients = await Promise.all(
    hosts.map((host) => connectDatabase(REAL_URL!, { applicationName: `cluster ${prefix} ${host}` })),
  );
  const name = `${prefix}-${Math.random().toString(36).slice(2, 10)}`;
  t.after(async () => {
    try {
      await clients[0]!.query("delete from bgworker_cluster.clusters where name = $1", [name]);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });
  await migrateClusterSchema(clients[0]!);
  return { name, clients, stores: clients.map((c) => clusterStore(c, name)), admin: clients[0]! };
}

/** A dynamic worker's entry, as a registration would have checked it. */
export function clusterEntry(
  name: string,
  restartTime: number,
  extra: { bgw_main_arg?: bigint; bgw_extra?: Uint8Array } = {},
): BackgroundWorkerEntry {
  return validateBackgroundWorker({
    bgw_name: name,
    bgw_flags: 0,
    bgw_start_time: 2,
    bgw_restart_time: restartTime,
    bgw_library_name: "./w.ts",
    bgw_function_name: "main",
    ...extra,
  }, { dynamic: true });
}
