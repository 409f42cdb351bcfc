// Every figure of a benchmark result, with its floor, ratio and target:
// shared by the console tables of run.mjs and the README table of markdown.mjs.

export const ms = (value) => `${value.toFixed(value < 1 ? 3 : value < 10 ? 2 : 1)} ms`;
export const ratio = (value, floor) => `${(value / floor).toFixed(2)}×`;
const perSecond = (value) => `${(value / 1e6).toFixed(1)} M/s`;
const ns = (value) => `${value.toFixed(1)} ns`;
const verdict = (ok) => (ok ? "met" : "NOT met");

/**
 * The rows of one runtime's result (and, on Node, its peers). The targets
 * are issue 17's where it sets one (STARTED with spares ≤ 0.15 ms, main ≤
 * STARTED + 0.5 ms for a listed library, terminate ≤ 1.15×, the memory
 * case), the first benchmark issue's elsewhere.
 */
export function figures(r, peers) {
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
      "≤ 0.15 ms",
      verdict(r.spares.started <= 0.15),
    ],
    [
      "a. registration → main running, spares",
      ms(r.spares.running),
      `+${ms(r.spares.running - r.spares.started)}`,
      "≤ STARTED + 2 ms",
      verdict(r.spares.running - r.spares.started <= 2),
    ],
    // Its own run, whose spares import the worker's library ahead (spareWorkerLibraries): against its own STARTED.
    ...(r.sparesListed
      ? [[
        "a. registration → main running, spares, library listed",
        ms(r.sparesListed.running),
        `+${ms(r.sparesListed.running - r.sparesListed.started)}`,
        "≤ STARTED + 0.5 ms",
        verdict(r.sparesListed.running - r.sparesListed.started <= 0.5),
      ]]
      : []),
    ["raw SIGTERM → exit event (floor)", ms(r.floorSigtermToExit), "", "", ""],
    [
      "b. terminate → BGWH_STOPPED",
      ms(r.cold.terminated),
      ratio(r.cold.terminated, r.floorSigtermToExit),
      "≤ 1.15× floor",
      verdict(r.cold.terminated <= 1.15 * r.floorSigtermToExit),
    ],
    // Side by side, each against the floor measured in the same repetitions (suite.mjs, terminateRoutes).
    ...(r.terminateRoutes ? terminateRouteRows(r.terminateRoutes) : []),
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
  if (r.memoryCase) rows.push(...memoryRows(r.memoryCase));
  if (r.startThroughput) rows.push(...throughputRows(r.startThroughput));
  if (r.cluster) rows.push(...clusterRows(r.cluster));
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

/**
 * i. (issue 17, point 4) The memory case, from bench/memory_case.mjs: the
 * same starts in an empty postmaster process and with 1 GiB of Buffers
 * held. The raw spawn() with the gigabyte is the floor of bgworker's with it.
 */
function memoryRows(m) {
  const { empty: e, held: h } = m;
  const gib = `${(m.heldBytes / 2 ** 30).toFixed(0)} GiB of Buffers`;
  const vsEmpty = (value, emptyValue) => `${ratio(value, emptyValue)} empty`;
  return [
    ["raw spawn() call blocks the loop, empty process (floor)", ms(e.rawCall), "", "", ""],
    [`raw spawn() call blocks the loop, ${gib} (floor)`, ms(h.rawCall), vsEmpty(h.rawCall, e.rawCall), "", ""],
    ["i. registration call (cold start) blocks the loop, empty process", ms(e.call), ratio(e.call, e.rawCall), "", ""],
    [
      `i. registration call (cold start) blocks the loop, ${gib}`,
      ms(h.call),
      ratio(h.call, h.rawCall),
      "≤ 3 ms",
      verdict(h.call <= 3),
    ],
    // Any part of the spawn left for a later turn of the loop shows here, beyond the call.
    [
      `i. longest loop stall, registration → main running, ${gib}`,
      ms(h.stall),
      ratio(h.stall, h.rawStall),
      "",
      "",
    ],
    ["raw fork → first message, empty process (floor)", ms(e.rawFirstMessage), "", "", ""],
    [
      `raw fork → first message, ${gib} (floor)`,
      ms(h.rawFirstMessage),
      vsEmpty(h.rawFirstMessage, e.rawFirstMessage),
      "",
      "",
    ],
    [
      "i. registration → main running, cold, empty process",
      ms(e.running),
      ratio(e.running, e.rawFirstMessage),
      "",
      "",
    ],
    [
      `i. registration → main running, cold, ${gib}`,
      ms(h.running),
      vsEmpty(h.running, e.running),
      "≤ 1.20× empty",
      verdict(h.running <= 1.2 * e.running),
    ],
  ];
}

/**
 * b., by the way SIGTERM reaches the worker: the kernel's default action
 * (with how many of its rounds the SIGTERM landed before main let signals
 * through, delivered after the postmaster's announcement) and the runtime's
 * listener.
 */
function terminateRouteRows(t) {
  const row = (way, value, note = "") => [
    `b. terminate → BGWH_STOPPED, ${way}`,
    ms(value),
    `${ratio(value, t.floor)} of ${ms(t.floor)}${note}`,
    "",
    "",
  ];
  return [
    row("kernel's action", t.kernel, `; ${t.recovered}/${t.rounds} after the announcement`),
    row("listener (BGWORKER_KERNEL_SIGTERM=0)", t.listener),
  ];
}

/**
 * j. (issue 17, point 6) Start throughput, from bench/start_throughput.mjs:
 * starts per second and the postmaster's CPU per start, its own and its
 * helper processes' (a spawner, the group reaper), against the raw child's
 * forks per second and the parent's CPU per fork.
 */
function throughputRows(t) {
  // Older results have no helpers' CPU: none was measured, rather than none spent.
  const cpuOf = (v) => v.cpuMsPerStart + (v.helpersCpuMsPerStart ?? 0);
  const cell = (v) =>
    `${v.perSecond.toFixed(1)}/s; CPU ${ms(v.cpuMsPerStart)}${
      v.helpersCpuMsPerStart >= 0.0005 ? ` + ${ms(v.helpersCpuMsPerStart)} in helpers` : ""
    } each`;
  const vs = (v, floor) => `${ratio(v.perSecond, floor.perSecond)}; CPU ${ratio(cpuOf(v), cpuOf(floor))}`;
  const modes = [
    ["one at a time", t.rawSequence, t.coldSequence, t.sparesSequence],
    [`bursts of ${t.burst}`, t.rawBurst, t.coldBurst, t.sparesBurst],
  ];
  return modes.flatMap(([mode, raw, cold, spares]) => [
    [`raw forks per second, ${mode} (floor)`, cell(raw), "", "", ""],
    [`j. starts per second, ${mode}, cold`, cell(cold), vs(cold, raw), "", ""],
    [`j. starts per second, ${mode}, ${t.spares} spares`, cell(spares), vs(spares, raw), "", ""],
  ]);
}

/**
 * k. (issue 18) Hosts of one cluster through a real server, from
 * bench/cluster.mjs; measured, no target. The placement against a round
 * trip to the same server; the cluster's registration → BGWH_STARTED
 * against the local registration's of the same postmaster (both cold);
 * the failover against the lease and restart time it must wait out.
 */
function clusterRows(c) {
  const signed = (value) => `${value < 0 ? "−" : "+"}${ms(Math.abs(value))}`;
  const vsLocal = (value) => `${ratio(value, c.localStartedMs)}, ${signed(value - c.localStartedMs)}`;
  const waitedOut = c.leaseMs + 1000 * c.restartTimeS;
  const lease = `lease ${c.leaseMs / 1000} s, restart ${c.restartTimeS} s`;
  return [
    ["query round trip to the cluster's database (floor)", ms(c.roundTripMs), "", "", ""],
    [
      "k. cluster registration call: placement on another host",
      ms(c.placementMs),
      ratio(c.placementMs, c.roundTripMs),
      "",
      "",
    ],
    ["local registration → BGWH_STARTED, cold, same postmaster (floor)", ms(c.localStartedMs), "", "", ""],
    [
      "k. cluster registration → BGWH_STARTED in the database, cold, on this host",
      ms(c.clusterReportedStartedMs),
      vsLocal(c.clusterReportedStartedMs),
      "",
      "",
    ],
    [
      "k. cluster registration → waitForClusterWorkerStartup resolves, cold, on this host",
      ms(c.clusterWaitStartupMs),
      vsLocal(c.clusterWaitStartupMs),
      "",
      "",
    ],
    [
      `k. host kill -9 → worker BGWH_STARTED on another host (${lease})`,
      ms(c.failoverMs),
      `lease + restart ${signed(c.failoverMs - waitedOut)}`,
      "",
      "",
    ],
    [
      "k. failover: started past the dead host's lease end + restart time",
      ms(c.failoverPastLeaseMs),
      "",
      "",
      "",
    ],
  ];
}
