// Every figure of a benchmark result, with its floor, ratio and target:
// shared by the console tables of run.mjs and the README table of markdown.mjs.

export const ms = (value) => `${value.toFixed(value < 1 ? 3 : value < 10 ? 2 : 1)} ms`;
export const ratio = (value, floor) => `${(value / floor).toFixed(2)}×`;
const perSecond = (value) => `${(value / 1e6).toFixed(1)} M/s`;
const ns = (value) => `${value.toFixed(1)} ns`;
const verdict = (ok) => (ok ? "met" : "NOT met");

/** The rows of one runtime's result (and, on Node, its peers). */
export function figures(r, peers) {
  const nodeOrBun = r.runtime.startsWith("node") || r.runtime === "bun";
  const rows = [
    ["raw fork → first message (floor)", ms(r.floorForkFirstMessage), "", "", ""],
    [
      "a. registration → BGWH_STARTED, cold",
      ms(r.cold.started),
      ratio(r.cold.started, r.floorForkFirstMessage),
      "≤ 1.10× floor",
      verdict(r.cold.started <= 1.1 * r.floorForkFirstMessage),
    ],
    [
      "a. registration → main running, cold",
      ms(r.cold.running),
      ratio(r.cold.running, r.floorForkFirstMessage),
      "",
      "",
    ],
    [
      "a. registration → BGWH_STARTED, spares",
      ms(r.spares.started),
      ratio(r.spares.started, r.floorForkFirstMessage),
      nodeOrBun ? "≤ 0.26 ms" : "",
      nodeOrBun ? verdict(r.spares.started <= 0.26) : "",
    ],
    [
      "a. registration → main running, spares",
      ms(r.spares.running),
      `+${ms(r.spares.running - r.spares.started)}`,
      "≤ STARTED + 2 ms",
      verdict(r.spares.running - r.spares.started <= 2),
    ],
    ["raw SIGTERM → exit event (floor)", ms(r.floorSigtermToExit), "", "", ""],
    [
      "b. terminate → BGWH_STOPPED",
      ms(r.cold.terminated),
      ratio(r.cold.terminated, r.floorSigtermToExit),
      "≤ 1.10× floor",
      verdict(r.cold.terminated <= 1.1 * r.floorSigtermToExit),
    ],
    ["raw exit(1) → exit event (floor)", ms(r.floorExitToEvent), "", "", ""],
    [
      "c. worker exit(1) → postmaster's exit",
      ms(r.exitDetection),
      `+${ms(r.exitDetection - r.floorExitToEvent)}`,
      "≤ floor + 1 ms",
      verdict(r.exitDetection - r.floorExitToEvent <= 1),
    ],
    [
      "d. postmaster SIGKILL → last of 8 workers gone",
      ms(r.postmasterKill),
      "",
      "< 50 ms",
      verdict(r.postmasterKill < 50),
    ],
    [
      "d. postmaster SIGKILL → last of 8 gone, one never yielding",
      r.postmasterKillBusy === undefined ? "—" : ms(r.postmasterKillBusy),
      "",
      "< 1 s",
      r.postmasterKillBusy === undefined ? "" : verdict(r.postmasterKillBusy < 1000),
    ],
    [
      "e. start N workers at once",
      ms(r.manyAtOnce.start),
      `${ms(r.manyAtOnce.start / r.many)} each, N = ${r.many}`,
      "",
      "",
    ],
    ["e. stop N workers at once", ms(r.manyAtOnce.stop), `${ms(r.manyAtOnce.stop / r.many)} each`, "", ""],
    [
      "e. postmaster memory per running worker",
      `${r.manyAtOnce.kbPerWorker.toFixed(1)} KB`,
      "",
      "≤ 100 KB",
      verdict(r.manyAtOnce.kbPerWorker <= 100),
    ],
    [
      "f. postmaster CPU, 100 idle workers",
      `${r.idleCpuPercent.toFixed(2)} %`,
      "",
      "< 1 %",
      verdict(r.idleCpuPercent < 1),
    ],
  ];
  const shm = r.sharedMemory;
  if (shm) {
    rows.push(
      ["Atomics.add on a private SharedArrayBuffer (floor)", perSecond(shm.floorRate), "", "", ""],
      [
        "g. Atomics.add on shared memory, one worker",
        perSecond(shm.rateAlone),
        ratio(shm.rateAlone, shm.floorRate),
        "",
        "",
      ],
      [
        "g. Atomics.add on shared memory, per worker, two on one word",
        perSecond(shm.ratePerProcessOfTwo),
        ratio(shm.ratePerProcessOfTwo, shm.floorRate),
        "",
        "",
      ],
      ["compare-exchange + store on a private word (floor)", ns(shm.floorPairNs), "", "", ""],
      [
        "g. LWLock acquire + release, uncontended, in a worker",
        ns(shm.pairNs),
        ratio(shm.pairNs, shm.floorPairNs),
        "",
        "",
      ],
      [
        "g. LWLock acquire + release, uncontended, in the postmaster",
        ns(shm.postmasterPairNs),
        ratio(shm.postmasterPairNs, shm.floorPairNs),
        "",
        "",
      ],
    );
  }
  for (const [cluster, db] of Object.entries(r.database ?? {})) {
    const tps = (value) => `${Math.round(value)} tx/s`;
    rows.push(
      [
        `h. query round trip, ${cluster}: client in the postmaster's process (floor)`,
        ms(db.floorRoundTripMs),
        "",
        "",
        "",
      ],
      [
        `h. query round trip, ${cluster}: from a worker`,
        ms(db.roundTripMs),
        ratio(db.roundTripMs, db.floorRoundTripMs),
        "",
        "",
      ],
      [`h. transactions, ${cluster}: client in the postmaster's process (floor)`, tps(db.floorTps), "", "", ""],
      [`h. transactions, ${cluster}: one worker`, tps(db.tps1), ratio(db.tps1, db.floorTps), "", ""],
      [`h. transactions, ${cluster}: four workers, in all`, tps(db.tps4), ratio(db.tps4, db.floorTps), "", ""],
      [
        `h. transactions, ${cluster}: four workers vs one`,
        ratio(db.tps4, db.tps1),
        "",
        "≥ 1.5×",
        verdict(db.tps4 >= 1.5 * db.tps1),
      ],
    );
  }
  if (peers) {
    rows.push(
      [
        "peer: cluster.fork → first message",
        ms(peers.clusterForkFirstMessage),
        ratio(peers.clusterForkFirstMessage, r.floorForkFirstMessage),
        "",
        "",
      ],
      [
        "peer: PM2 start, wait_ready",
        ms(peers.pm2StartWaitReady),
        ratio(peers.pm2StartWaitReady, r.floorForkFirstMessage),
        "",
        "",
      ],
    );
  }
  return rows.map(([figure, median, vsFloor, target, met]) => ({ figure, median, "vs floor": vsFloor, target, met }));
}
