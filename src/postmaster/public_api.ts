/**
 * Everything the supervisor API exports besides `Postmaster`, which each
 * runtime entry point defines with its own adapter.
 *
 * @module
 */

export * from "../constants.ts";
export { BackgroundWorkerError, type BackgroundWorkerErrorCode, type BackgroundWorkerErrorOptions } from "../errors.ts";
export type { BackgroundWorker, BackgroundWorkerEntry, Datum } from "../worker_spec.ts";
export type { BackgroundWorkerHandle, WorkerStatus } from "../handle.ts";
export { LOG_LEVELS, type LogLevel } from "../log_level.ts";
export type {
  Logger,
  PostmasterEvents,
  PostmasterOptions,
  ShutdownMode,
  WorkerNotification,
  WorkerSummary,
} from "./postmaster.ts";
export type {
  ControlPeer,
  ControlServer,
  ControlService,
  EmbeddedDatabase,
  RuntimeAdapter,
  ShutdownSignal,
  SpawnOptions,
  TimerId,
  WorkerProcess,
  WorkerProcessEvents,
} from "../adapter.ts";
export type { StartMessage, WorkerDatabase, WorkerSharedMemory } from "../protocol.ts";
export type { SegmentLocation } from "../shmem/attachment.ts";
export type { SharedMemoryMapper } from "../shmem/mapper.ts";
export { Postmaster as CorePostmaster } from "./postmaster.ts";
export { SharedMemoryApi } from "./shared_memory_api.ts";
export type { ControlLogLine, ControlReply, ControlRequest } from "../control_protocol.ts";
export type { CorePostmasterOptions, LogContext, PostmasterConstructor, WorkerIdentity } from "./options.ts";
export type { ShmemStruct } from "../shmem/attachment.ts";
export type { LWLock, LWLockMode } from "../shmem/lwlock.ts";
export { SharedMemoryError } from "../shmem/mapper.ts";
export type { DatabaseClusterOption } from "./database_cluster.ts";
export type { WorkerEvent, WorkerEventBase } from "./events.ts";
export type { ExitRecord, WorkerState } from "./slot_table.ts";
export type { RestartPolicy, WorkerOptions } from "../worker_options.ts";
export type { EmbeddedDatabaseOptions } from "../adapter.ts";
export { ClusterApi } from "./cluster_api.ts";
export type { ClusterOption } from "./cluster_option.ts";
export type { ClusterWorkerHandle, ClusterWorkerRow, ClusterWorkerStatus, HostInfo } from "../cluster/mod.ts";
export type { PostmasterDatabaseClient } from "../adapter.ts";
export type { WorkerClusterPlacement } from "../protocol.ts";
