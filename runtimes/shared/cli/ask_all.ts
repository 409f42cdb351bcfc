/**
 * Ask every postmaster a command that can talk to many should ask (the one
 * given, or every live one found), all at once: each answer or each
 * failure, in the order of the sockets. Stale sockets are noted on stderr.
 *
 * @module
 */

import type { ControlRequest } from "../../../src/control_protocol.ts";
import type { Target } from "./args.ts";
import { type ReplyObject, requestOnce } from "./client.ts";
import { skippedNote, type SocketRef, socketsToAsk } from "./discovery.ts";
import { CliError } from "./errors.ts";
import type { CliIo } from "./io.ts";

/**
 * One postmaster's answer, or why there is none.
 *
 * @example
 * ```ts
 * import type { Answer } from "./ask_all.ts";
 * const failed = (answers: Answer[]) => answers.filter((a) => a.error !== null);
 * ```
 */
export type Answer =
  | { socket: SocketRef; reply: ReplyObject; error: null }
  | { socket: SocketRef; reply: null; error: CliError };

/**
 * Send `request` to every socket to ask; a failure other than a
 * {@link CliError} is a bug and is thrown.
 *
 * @example
 * ```ts
 * import { askAll } from "./ask_all.ts";
 * import { processIo } from "./io.ts";
 * const answers = await askAll({ target: null, timeoutMs: 5000 }, processIo(), { op: "ps" });
 * ```
 */
export async function askAll(
  invocation: { target: Target; timeoutMs: number },
  io: CliIo,
  request: ControlRequest,
): Promise<Answer[]> {
  const { sockets, skipped } = socketsToAsk(invocation.target, io.directory);
  for (const socket of skipped) io.err(skippedNote(socket) + "\n");
  return await Promise.all(sockets.map(async (socket): Promise<Answer> => {
    try {
      return { socket, reply: await requestOnce(socket.path, request, invocation.timeoutMs), error: null };
    } catch (error) {
      if (!(error instanceof CliError)) throw error;
      return { socket, reply: null, error };
    }
  }));
}
