// The cluster schema (src/cluster/schema.ts) on the real server: many hosts
// migrating at once create it exactly once, a second run does nothing, and a
// schema newer than the code is refused. Each test uses a schema of its own.
import assert from "node:assert/strict";
import { test } from "node:test";
import { connectDatabase } from "../runtimes/shared/database_client.ts";
import { CLUSTER_MIGRATIONS, type ClusterMigration, migrateClusterSchema } from "../src/cluster/schema.ts";
import type { DatabaseClient } from "../src/worker/port.ts";
import { REAL_URL } from "./helpers/clusters.ts";

const skip = REAL_URL ? false : "no real server: npm test starts one and sets BGWORKER_TEST_POSTGRES_URL";
const freshSchema = () => `bgw_test_${Math.random().toString(36).slice(2, 10)}`;
const connect = (name: string) => connectDatabase(REAL_URL!, { applicationName: name });

async function dropSchema(admin: DatabaseClient, schema: string) {
  await admin.query(`drop schema if exists "${schema}" cascade`);
}

test(
  "cluster schema: ten hosts migrating a new database at once create the schema once, and all end at the latest version",
  {
    skip,
  },
  async () => {
    const schema = freshSchema();
    const clients = await Promise.all(Array.from({ length: 10 }, (_, i) => connect(`migrate ${i}`)));
    try {
      const results = await Promise.all(clients.map((c) => migrateClusterSchema(c, schema)));
      const latest = CLUSTER_MIGRATIONS.at(-1)!.version;
      assert.equal(results.filter((r) => r.from === 0).length, 1, "exactly one host created it");
      assert.ok(results.every((r) => r.to === latest && (r.from === 0 || r.from === latest)), JSON.stringify(results));
      const versions = await clients[0]!.query(`select version, name from "${schema}".migrations order by version`);
      assert.deepEqual(versions.map((v) => v.version), CLUSTER_MIGRATIONS.map((m) => m.version));
      const tables = await clients[0]!.query(
        "select table_name from information_schema.tables where table_schema = $1 order by table_name",
        [schema],
      );
      assert.deepEqual(tables.map((t) => t.table_name), ["clusters", "hosts", "migrations", "workers"]);
      // Again, once it exists: nothing to do.
      assert.deepEqual(await migrateClusterSchema(clients[1]!, schema), { from: latest, to: latest });
    } finally {
      await dropSchema(clients[0]!, schema);
      await Promise.all(clients.map((c) => c.close()));
    }
  },
);

test("cluster schema: a later version is applied over an earlier one, and a schema newer than the code is refused", {
  skip,
}, async () => {
  const schema = freshSchema();
  const client = await connect("migrate versions");
  try {
    const latest = CLUSTER_MIGRATIONS.length;
    assert.deepEqual(await migrateClusterSchema(client, schema, CLUSTER_MIGRATIONS.slice(0, 1)), { from: 0, to: 1 });
    assert.deepEqual(await migrateClusterSchema(client, schema), { from: 1, to: latest });
    const next: ClusterMigration = {
      version: latest + 1,
      name: "labels",
      statements: (s) => [`alter table ${s}.hosts add column labels text`],
    };
    assert.deepEqual(await migrateClusterSchema(client, schema, [...CLUSTER_MIGRATIONS, next]), {
      from: latest,
      to: latest + 1,
    });
    const [column] = await client.query(
      "select data_type from information_schema.columns where table_schema = $1 and table_name = 'hosts' and column_name = 'labels'",
      [schema],
    );
    assert.equal(column?.data_type, "text");
    await assert.rejects(migrateClusterSchema(client, schema), (error: unknown) => {
      assert.ok(error instanceof RangeError);
      assert.match(
        error.message,
        new RegExp(`is at version ${latest + 1}, newer than this bgworker knows \\(${latest}\\): upgrade this host`),
      );
      return true;
    });
  } finally {
    await dropSchema(client, schema);
    await client.close();
  }
});

test("cluster schema: a failed migration leaves nothing behind (DDL is transactional)", { skip }, async () => {
  const schema = freshSchema();
  const client = await connect("migrate failure");
  try {
    const broken: ClusterMigration = {
      version: CLUSTER_MIGRATIONS.length + 1,
      name: "broken",
      statements: () => ["select no_such_function()"],
    };
    await assert.rejects(migrateClusterSchema(client, schema, [...CLUSTER_MIGRATIONS, broken]), /no_such_function/);
    const [row] = await client.query("select count(*)::int as n from pg_namespace where nspname = $1", [schema]);
    assert.equal(row?.n, 0);
  } finally {
    await dropSchema(client, schema);
    await client.close();
  }
});

test("cluster schema: migrations out of order are refused before any statement is sent", async () => {
  const client: DatabaseClient = {
    query: () => Promise.reject(new Error("no statement expected")),
    begin: () => Promise.reject(new Error("no transaction expected")),
    close: () => Promise.resolve(),
  };
  const next = CLUSTER_MIGRATIONS.length + 1;
  const gap: ClusterMigration = { version: next + 1, name: "gap", statements: () => [] };
  await assert.rejects(migrateClusterSchema(client, "s", [...CLUSTER_MIGRATIONS, gap]), {
    name: "RangeError",
    message: `cluster migration "gap" has version ${next + 1}; expected ${next}`,
  });
});
