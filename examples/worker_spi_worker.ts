/**
 * PostgreSQL's src/test/modules/worker_spi, ported: each worker connects to
 * a database, makes `schemaN.counted` if it is missing, and on every wake
 * (its naptime, or SIGHUP) moves the `delta` rows into the `total` row.
 *
 * - Static workers: list this module in `sharedPreloadLibraries`; its
 *   `_PG_init` registers `total_workers` of them, connecting to `database`
 *   as `role` (null: the superuser).
 * - Dynamic workers: `workerSpiLaunch(index, dboid?, roleoid?, flags?)`, once
 *   `createExtension(pm)` (or `_PG_init`) named the postmaster.
 *
 * The settings, worker_spi's GUCs, live in a JSON file, postgresql.conf's
 * stand-in: `setWorkerSpiConfigFile(path)` names it before the postmaster
 * starts, and a worker rereads it on SIGHUP. `bgw_extra` carries what
 * worker_spi puts there (database OID, role OID, flags) and then the file's
 * path.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import {
  type BackgroundWorker,
  BGW_NEVER_RESTART,
  BGWH_POSTMASTER_DIED,
  BGWH_STOPPED,
  BGWORKER_BACKEND_DATABASE_CONNECTION,
  BGWORKER_BYPASS_ALLOWCONN,
  BGWORKER_BYPASS_ROLELOGINCHECK,
  BGWORKER_INTERRUPTIBLE,
  BGWORKER_SHMEM_ACCESS,
  BgWorkerStart_RecoveryFinished,
  type Postmaster,
} from "../mod.ts";
import {
  backgroundWorkerInitializeConnection,
  backgroundWorkerInitializeConnectionByOid,
  backgroundWorkerUnblockSignals,
  type Datum,
  elog,
  myBgworkerEntry,
  myLatch,
  pqsignal,
  resetLatch,
  setLatch,
  waitEventExtensionNew,
  waitLatch,
  WL_EXIT_ON_PM_DEATH,
  WL_LATCH_SET,
  WL_TIMEOUT,
} from "../worker.ts";

/**
 * worker_spi's GUCs, as the settings file holds them; every field may be omitted.
 *
 * @example
 * ```ts
 * const settings: WorkerSpiSettings = { naptime: 10, total_workers: 3, database: "mydb", role: null };
 * ```
 */
export interface WorkerSpiSettings {
  /** worker_spi.naptime: seconds between rounds (default 10); reread on SIGHUP. */
  naptime?: number;
  /** worker_spi.total_workers: static workers `_PG_init` registers (default 2, at most 100). */
  total_workers?: number;
  /** worker_spi.database: where static workers connect (default "postgres"). */
  database?: string;
  /** worker_spi.role: whom static workers connect as (default null: the superuser). */
  role?: string | null;
}

const DEFAULTS: Required<WorkerSpiSettings> = { naptime: 10, total_workers: 2, database: "postgres", role: null };
/** Bytes of `bgw_extra` before the settings file's path: database OID, role OID, flags. */
const OIDS_AND_FLAGS = 12;
const LIBRARY = import.meta.url;
const FLAG_NAMES = { ALLOWCONN: BGWORKER_BYPASS_ALLOWCONN, ROLELOGINCHECK: BGWORKER_BYPASS_ROLELOGINCHECK } as const;

/** worker_spi's flag names, as `worker_spi_launch` takes them. */
export type WorkerSpiFlag = keyof typeof FLAG_NAMES;

let configFile = "";
let postmaster: Postmaster | null = null;

/**
 * Name the settings file (postgresql.conf's stand-in) before the postmaster
 * starts; without one, worker_spi's defaults hold.
 *
 * @example
 * ```ts
 * writeFileSync("worker_spi.json", JSON.stringify({ database: "mydb", total_workers: 3 }));
 * setWorkerSpiConfigFile("worker_spi.json");
 * ```
 */
export function setWorkerSpiConfigFile(path: string): void {
  configFile = path;
}

/**
 * Read the settings: in the postmaster from the file named by
 * `setWorkerSpiConfigFile`, in a worker from the path in its `bgw_extra`.
 *
 * @example
 * ```ts
 * const { naptime } = readWorkerSpiSettings();
 * ```
 */
export function readWorkerSpiSettings(path = configFile): Required<WorkerSpiSettings> {
  if (path === "") return { ...DEFAULTS };
  return { ...DEFAULTS, ...(JSON.parse(readFileSync(path, "utf8")) as WorkerSpiSettings) };
}

/**
 * `shared_preload_libraries = 'worker_spi'`: register `total_workers`
 * static workers, and make `workerSpiLaunch` use this postmaster.
 *
 * @example
 * ```ts
 * const pm = new Postmaster({ sharedPreloadLibraries: [new URL("./worker_spi_worker.ts", import.meta.url).href] });
 * await pm.start(); // calls _PG_init(pm)
 * ```
 */
export function _PG_init(pm: Postmaster): void {
  postmaster = pm;
  const { total_workers } = readWorkerSpiSettings();
  if (!Number.isInteger(total_workers) || total_workers < 1 || total_workers > 100) {
    throw new RangeError(`worker_spi.total_workers must be an integer from 1 to 100; got ${total_workers}`);
  }
  for (let index = 1; index <= total_workers; index++) {
    pm.registerBackgroundWorker(workerSpiWorker(`worker_spi worker ${index}`, "worker_spi", index, 0, 0, 0));
  }
}

/**
 * `CREATE EXTENSION worker_spi`: make `workerSpiLaunch` register its
 * workers with this postmaster, without preloading the module.
 *
 * @example
 * ```ts
 * createExtension(pm);
 * const pid = await workerSpiLaunch(4);
 * ```
 */
export function createExtension(pm: Postmaster): void {
  postmaster = pm;
}

/**
 * `worker_spi_launch(index, dboid, roleoid, flags, interruptible)`: register
 * a dynamic worker counting into `schema<index>.counted`, wait for its
 * start, and return its pid, or null when no slot is free. Without a
 * database OID it connects where the settings say. An interruptible worker
 * (`BGWORKER_INTERRUPTIBLE`) gives way to `DROP DATABASE` and the like.
 *
 * @example
 * ```ts
 * const pid = await workerSpiLaunch(13, mydbOid, nologroleOid, ["ROLELOGINCHECK"]);
 * ```
 */
export async function workerSpiLaunch(
  index: number,
  dboid: number | null = null,
  roleoid: number | null = null,
  flags: readonly WorkerSpiFlag[] = [],
  interruptible = false,
): Promise<number | null> {
  if (!postmaster) {
    throw new Error("worker_spi is not installed: call createExtension(pm) or preload it with sharedPreloadLibraries");
  }
  let bits = 0;
  for (const flag of flags) {
    if (!(flag in FLAG_NAMES)) throw new TypeError(`incorrect flag value found in array: ${JSON.stringify(flag)}`);
    bits |= FLAG_NAMES[flag];
  }
  const handle = postmaster.registerDynamicBackgroundWorker({
    ...workerSpiWorker(
      `worker_spi dynamic worker ${index}`,
      "worker_spi dynamic",
      index,
      dboid ?? 0,
      roleoid ?? 0,
      bits,
      interruptible,
    ),
    // So that the launch can wait for the start.
    bgw_notify_pid: postmaster.pid,
  });
  if (!handle) return null;
  const { status, pid } = await postmaster.waitForBackgroundWorkerStartup(handle);
  if (status === BGWH_STOPPED) {
    throw new Error("could not start background process (more details may be available in the server log)");
  }
  if (status === BGWH_POSTMASTER_DIED) throw new Error("cannot start background processes without postmaster");
  return pid;
}

function workerSpiWorker(
  name: string,
  type: string,
  index: number,
  dboid: number,
  roleoid: number,
  flags: number,
  interruptible = false,
): BackgroundWorker {
  const path = new TextEncoder().encode(configFile);
  const extra = new Uint8Array(OIDS_AND_FLAGS + path.length);
  const view = new DataView(extra.buffer);
  view.setUint32(0, dboid, true);
  view.setUint32(4, roleoid, true);
  view.setUint32(8, flags, true);
  extra.set(path, OIDS_AND_FLAGS);
  return {
    bgw_name: name,
    bgw_type: type,
    bgw_flags: BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION |
      (interruptible ? BGWORKER_INTERRUPTIBLE : 0),
    bgw_start_time: BgWorkerStart_RecoveryFinished,
    bgw_restart_time: BGW_NEVER_RESTART,
    bgw_library_name: LIBRARY,
    bgw_function_name: "worker_spi_main",
    bgw_main_arg: index,
    bgw_extra: extra,
  };
}

/**
 * worker_spi_main: connect, make the table, then nap on the latch and count
 * on every wake until SIGTERM (the default handler) or the postmaster's death.
 *
 * @example
 * ```ts
 * // Started by the postmaster: bgw_function_name "worker_spi_main", bgw_main_arg the index.
 * ```
 */
export async function worker_spi_main(mainArg: Datum): Promise<void> {
  const index = Number(mainArg);
  const entry = myBgworkerEntry!;
  const view = new DataView(entry.bgw_extra.buffer, entry.bgw_extra.byteOffset, entry.bgw_extra.byteLength);
  const [dboid, roleoid, flags] = [view.getUint32(0, true), view.getUint32(4, true), view.getUint32(8, true)];
  const path = entry.bgw_extra.subarray(OIDS_AND_FLAGS);
  // Up to the first NUL: bgw_extra is a fixed 128 bytes in PostgreSQL, and may come zero-padded.
  const settingsPath = new TextDecoder().decode(
    path.subarray(0, path.indexOf(0) === -1 ? path.length : path.indexOf(0)),
  );
  const schema = `schema${index}`;

  let reloadPending = false;
  // Set before unblocking, so that a SIGHUP that came early is not lost.
  pqsignal("SIGHUP", () => {
    reloadPending = true;
    setLatch(myLatch);
  });
  backgroundWorkerUnblockSignals();

  let settings = readWorkerSpiSettings(settingsPath);
  const db = dboid !== 0
    ? await backgroundWorkerInitializeConnectionByOid(dboid, roleoid === 0 ? null : roleoid, flags)
    : await backgroundWorkerInitializeConnection(settings.database, settings.role, flags);

  // initialize_worker_spi: the schema and its table, unless an earlier worker made them.
  await db.transaction(async (tx) => {
    const [{ count }] =
      (await tx.query<{ count: number }>("select count(*)::int as count from pg_namespace where nspname = $1", [
        schema,
      ])) as [{ count: number }];
    if (count === 0) {
      await tx.query(
        `create schema "${schema}" ` +
          `create table "counted" (type text check (type in ('total', 'delta')), value integer) ` +
          `create unique index "counted_unique_total" on "counted" (type) where type = 'total'`,
      );
    }
  });
  // worker_spi logs this just before making the table; here it comes once the table exists, so that it can be waited for.
  await elog("LOG", `${entry.bgw_name} initialized with ${schema}.counted`);

  // worker_spi's custom wait event: pm.backgroundWorkers() shows it while the worker naps.
  const waitEvent = waitEventExtensionNew("WorkerSpiMain");
  const countQuery = `with deleted as (delete from "${schema}"."counted" where type = 'delta' returning value), ` +
    `total as (select coalesce(sum(value), 0) as sum from deleted) ` +
    `update "${schema}"."counted" set value = "counted".value + total.sum from total where type = 'total' returning "counted".value`;
  for (;;) {
    await waitLatch(myLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, settings.naptime * 1000, waitEvent);
    resetLatch(myLatch);
    if (reloadPending) {
      reloadPending = false;
      settings = readWorkerSpiSettings(settingsPath);
    }
    const rows = await db.transaction((tx) => tx.query<{ value: number | null }>(countQuery));
    if (rows.length > 0 && rows[0]!.value !== null) {
      await elog("LOG", `${entry.bgw_name}: count in ${schema}.counted is now ${rows[0]!.value}`);
    }
  }
}
