/**
 * The postmaster's `cluster` option: postmasters on many hosts that give
 * the same database URL and cluster name share their cluster workers (see
 * src/cluster/mod.ts for the model). Checked as strictly as the other
 * options: an unknown field, a wrong type or a value out of range is an
 * error that names the field.
 *
 * @module
 */

import { redactUrl } from "./database_cluster.ts";

/**
 * The `cluster` option.
 *
 * @example
 * ```ts
 * import type { ClusterOption } from "bgworker";
 * const cluster: ClusterOption = { url: "postgres://app:secret@db:5432/app", name: "payments", leaseMs: 10_000 };
 * ```
 */
export interface ClusterOption {
  /** The database every host of the cluster reaches (`postgres://` or `postgresql://`); its state lives in schema `bgworker_cluster`. */
  url: string;
  /** The cluster's name: hosts with the same `url` and `name` form one cluster; default `"default"`. */
  name?: string;
  /** This host's id, unique in the cluster; default `<host name>-<pid>`. A host that joins again under its id replaces its old self. */
  hostId?: string;
  /** The host's lease, in milliseconds (1000 to 3,600,000); default 10,000. A host that cannot renew it stops its cluster workers first. */
  leaseMs?: number;
  /** Cap on the cluster workers of the whole cluster (each host's own is its `maxWorkerProcesses`); none by default. */
  maxWorkers?: number;
}

/**
 * The `cluster` option after its checks, defaults filled in (the host id
 * stays null until `start()` knows the pid and host name).
 *
 * @example
 * ```ts
 * import { checkClusterOption, type CheckedClusterOption } from "./cluster_option.ts";
 * const checked: CheckedClusterOption | null = checkClusterOption({ url: "postgres://db/app" });
 * checked?.leaseMs; // 10000
 * ```
 */
export interface CheckedClusterOption {
  readonly url: string;
  readonly name: string;
  readonly hostId: string | null;
  readonly leaseMs: number;
  readonly maxWorkers: number | null;
}

const FIELDS = ["url", "name", "hostId", "leaseMs", "maxWorkers"];
const POSTGRES_URL = /^postgres(?:ql)?:\/\/[^\s]+$/;
/** Below a second, a renewal's round trip and a stop's grace leave too little of the lease to be worth it. */
const MIN_LEASE_MS = 1000;
const MAX_LEASE_MS = 3_600_000;

/**
 * Check the `cluster` option; null when it is not given. Throws a
 * TypeError (or RangeError) that names the field.
 *
 * @example
 * ```ts
 * import { checkClusterOption } from "./cluster_option.ts";
 * checkClusterOption({ url: "postgres://db/app", leaseMs: 10 }); // throws: cluster.leaseMs must be …
 * ```
 */
export function checkClusterOption(value: unknown): CheckedClusterOption | null {
  if (value === undefined) return null;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError("cluster must be an object { url, name?, hostId?, leaseMs?, maxWorkers? }");
  }
  const given = value as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!FIELDS.includes(key)) {
      throw new TypeError(`unknown field cluster.${key.slice(0, 80)}; known: ${FIELDS.join(", ")}`);
    }
  }
  const { url, name, hostId, leaseMs, maxWorkers } = given;
  if (typeof url !== "string" || !POSTGRES_URL.test(url)) {
    throw new TypeError(`cluster.url must be a postgres:// or postgresql:// URL; got ${redactUrl(String(url))}`);
  }
  return Object.freeze({
    url,
    name: textField("name", name) ?? "default",
    hostId: textField("hostId", hostId),
    leaseMs: integerField("leaseMs", leaseMs, MIN_LEASE_MS, MAX_LEASE_MS) ?? 10_000,
    maxWorkers: integerField("maxWorkers", maxWorkers, 0, 2 ** 31 - 1),
  });
}

function textField(field: string, value: unknown): string | null {
  if (value === undefined) return null;
  if (typeof value !== "string" || value === "" || value.length > 200) {
    throw new TypeError(`cluster.${field} must be a non-empty string of at most 200 characters`);
  }
  return value;
}

function integerField(field: string, value: unknown, min: number, max: number): number | null {
  if (value === undefined) return null;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    const kind = typeof value === "number" ? RangeError : TypeError;
    throw new kind(`cluster.${field} must be an integer from ${min} to ${max}; got ${String(value).slice(0, 80)}`);
  }
  return value;
}
