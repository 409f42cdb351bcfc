/**
 * The PostgreSQL cluster that workers registered with
 * `BGWORKER_BACKEND_DATABASE_CONNECTION` connect to: a real server given by
 * URL, or the embedded default (a PostgreSQL 18 server the postmaster's
 * process runs, started only when the first such worker is about to start).
 *
 * @module
 */

import type { EmbeddedDatabase, EmbeddedDatabaseOptions } from "../adapter.ts";
import { errorText } from "../errors.ts";
import type { LogLevel } from "../log_level.ts";
import type { WorkerDatabase } from "../protocol.ts";

/**
 * The postmaster's `database` option.
 *
 * @example
 * ```ts
 * import type { DatabaseClusterOption } from "./database_cluster.ts";
 * const real: DatabaseClusterOption = { url: "postgres://app:secret@127.0.0.1:5432/app" };
 * const embedded: DatabaseClusterOption = { embedded: { dataDir: "./pgdata" } };
 * ```
 */
export type DatabaseClusterOption = { url: string } | { embedded: EmbeddedDatabaseOptions };

/**
 * What the cluster needs from the postmaster.
 *
 * @example
 * ```ts
 * import type { DatabaseClusterHost } from "./database_cluster.ts";
 * import { startEmbeddedDatabase } from "../../runtimes/shared/embedded/embedded_database.ts";
 * const host: DatabaseClusterHost = { startEmbedded: startEmbeddedDatabase, log: console.log };
 * ```
 */
export interface DatabaseClusterHost {
  /** The runtime's embedded cluster; absent when the runtime adapter has none. */
  startEmbedded?: (options: EmbeddedDatabaseOptions) => Promise<EmbeddedDatabase>;
  log(level: LogLevel, message: string): void;
}

const POSTGRES_URL = /^postgres(?:ql)?:\/\/[^\s]+$/;

/**
 * Check the `database` option; throws a TypeError naming the field.
 *
 * @example
 * ```ts
 * import { validateDatabaseOption } from "./database_cluster.ts";
 * validateDatabaseOption({ url: "mysql://x" }); // throws: database.url must be a postgres:// URL
 * ```
 */
export function validateDatabaseOption(option: unknown): DatabaseClusterOption {
  if (option === undefined) return { embedded: {} };
  const record = option as Record<string, unknown> | null;
  if (typeof record !== "object" || record === null) {
    throw new TypeError("database must be { url } or { embedded: { dataDir? } }");
  }
  if ("url" in record) {
    if (typeof record.url !== "string" || !POSTGRES_URL.test(record.url)) {
      throw new TypeError(
        `database.url must be a postgres:// or postgresql:// URL; got ${redactUrl(String(record.url))}`,
      );
    }
    return { url: record.url };
  }
  const embedded = record.embedded as Record<string, unknown> | undefined;
  if (typeof embedded !== "object" || embedded === null) {
    throw new TypeError("database must be { url } or { embedded: { dataDir? } }");
  }
  if (embedded.dataDir !== undefined && (typeof embedded.dataDir !== "string" || embedded.dataDir === "")) {
    throw new TypeError("database.embedded.dataDir must be a non-empty path");
  }
  return { embedded: embedded.dataDir === undefined ? {} : { dataDir: embedded.dataDir } };
}

/**
 * A URL fit for a log line: its password replaced by `***`.
 *
 * @example
 * ```ts
 * import { redactUrl } from "./database_cluster.ts";
 * redactUrl("postgres://app:secret@db/app"); // "postgres://app:***@db/app"
 * ```
 */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:/@]*):[^@]*@/i, "$1:***@");
}

/**
 * The cluster, from its lazy start to its stop.
 *
 * @example
 * ```ts
 * import { DatabaseCluster, type DatabaseClusterHost } from "./database_cluster.ts";
 * declare const host: DatabaseClusterHost;
 * const cluster = new DatabaseCluster({ embedded: {} }, host);
 * await cluster.ensureStarted();
 * cluster.forWorker(); // { url: "postgres://postgres@/postgres?host=…&port=5432", embedded: true }
 * ```
 */
export class DatabaseCluster {
  readonly #option: DatabaseClusterOption;
  readonly #host: DatabaseClusterHost;
  #starting: Promise<void> | null = null;
  #embedded: EmbeddedDatabase | null = null;
  #where: WorkerDatabase | null = null;
  /** What `urlFor` hands out: the URL given, or the embedded server's loopback URL (any client library takes it). */
  #publicUrl: string | null = null;

  /**
   * @param option the validated `database` option
   * @param host the runtime's embedded cluster and the postmaster's logger
   */
  constructor(option: DatabaseClusterOption, host: DatabaseClusterHost) {
    this.#option = option;
    this.#host = host;
    if ("url" in option) {
      this.#where = { url: option.url, embedded: false };
      this.#publicUrl = option.url;
    }
  }

  /** Whether workers can be told where to connect (or why they cannot) right now. */
  get ready(): boolean {
    return this.#where !== null;
  }

  /** Start the embedded cluster once; never rejects: a failure is what workers are told. */
  ensureStarted(): Promise<void> {
    if (this.#where) return Promise.resolve();
    return this.#starting ??= this.#startEmbedded();
  }

  /** What a worker with the connection flag is given at start: by value, like every start parameter. */
  forWorker(): WorkerDatabase {
    return this.#where ?? { unavailable: "the database cluster has not started" };
  }

  /** Where to connect to database `dbname` (the URL's own when null). */
  async urlFor(dbname: string | null): Promise<string> {
    await this.ensureStarted();
    const where = this.#where!;
    if ("unavailable" in where) throw new Error(where.unavailable);
    const url = this.#publicUrl ?? where.url;
    return dbname === null ? url : withDatabase(url, dbname);
  }

  /** Stop the embedded cluster, if it runs (a real server is not ours to stop). */
  async stop(): Promise<void> {
    if (this.#starting) await this.#starting;
    const embedded = this.#embedded;
    this.#embedded = null;
    this.#where = { unavailable: "the postmaster has stopped" };
    if (!embedded) return;
    try {
      await embedded.stop();
      this.#host.log("LOG", "embedded database stopped");
    } catch (error) {
      this.#host.log("WARNING", `could not stop the embedded database: ${errorText(error)}`);
    }
  }

  /** Whether stop() has anything to wait for. */
  get running(): boolean {
    return this.#starting !== null;
  }

  async #startEmbedded(): Promise<void> {
    const options = "embedded" in this.#option ? this.#option.embedded : {};
    try {
      if (!this.#host.startEmbedded) {
        throw new Error("this runtime adapter has no embedded database; give the postmaster a PostgreSQL URL");
      }
      this.#host.log(
        "LOG",
        `starting the embedded database${options.dataDir ? ` in "${options.dataDir}"` : " in a temporary directory"}`,
      );
      const started = Date.now();
      this.#embedded = await this.#host.startEmbedded(options);
      this.#where = { url: this.#embedded.url, embedded: true };
      this.#publicUrl = this.#embedded.tcpUrl;
      this.#host.log(
        "LOG",
        `embedded database is ready at ${
          redactUrl(this.#embedded.url)
        } (running as ${this.#embedded.account} account, started in ${Date.now() - started} ms)`,
      );
    } catch (error) {
      this.#where = { unavailable: `could not start the embedded database: ${errorText(error)}` };
      this.#host.log("LOG", this.#where.unavailable);
    }
  }
}

/**
 * A connection URL naming another database.
 *
 * @example
 * ```ts
 * import { withDatabase } from "./database_cluster.ts";
 * withDatabase("postgres://app@db:5432/app?sslmode=require", "mydb"); // "postgres://app@db:5432/mydb?sslmode=require"
 * ```
 */
export function withDatabase(url: string, dbname: string): string {
  const [, server, rest] = /^(postgres(?:ql)?:\/\/[^/?#]*)(?:\/[^?#]*)?(.*)$/i.exec(url)!;
  return `${server}/${encodeURIComponent(dbname)}${rest}`;
}
