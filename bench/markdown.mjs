// Print bench/results/latest.json as the README's Performance table:
//   node bench/markdown.mjs
import { readFileSync } from "node:fs";
import { figures } from "./figures.mjs";

const results = JSON.parse(readFileSync(new URL("./results/latest.json", import.meta.url), "utf8"));
const runtimes = Object.entries(results.runtimes);
const columns = runtimes.map(([, r]) =>
  `${r.runtime.replace(/^node/, "Node ")} ${r.version}`.replace("deno", "Deno").replace("bun", "Bun")
);
const tables = runtimes.map(([, r]) => figures(r, r.peers));
const names = [...new Set(tables.flatMap((rows) => rows.map((row) => row.figure)))];
const cell = (row) =>
  !row
    ? ""
    : [row.median, row["vs floor"] && `(${row["vs floor"]})`, row.met && (row.met === "met" ? "✓" : "✗")].filter(
      Boolean,
    ).join(" ");
const targetOf = (name) =>
  tables.flatMap((rows) => rows).find((row) => row.figure === name && row.target)?.target ?? "";
console.log(`| figure | ${columns.join(" | ")} | target |`);
console.log(`|---|${columns.map(() => "---").join("|")}|---|`);
for (const name of names) {
  console.log(
    `| ${name} | ${tables.map((rows) => cell(rows.find((row) => row.figure === name))).join(" | ")} | ${
      targetOf(name)
    } |`,
  );
}
console.log(
  `\n${results.machine.cpus} × ${results.machine.cpu}, ${results.machine.memoryGiB} GiB; ${
    results.date.slice(0, 10)
  }; medians of ${runtimes[0][1].repetitions} runs after ${runtimes[0][1].warmUp} warm-up runs; N = ${
    runtimes.map(([, r]) => r.many).join("/")
  }${throughputNote(runtimes[0][1].startThroughput)}${clusterNote(runtimes.find(([, r]) => r.cluster)?.[1].cluster)}.`,
);

/** The start throughput figures (j.) are medians of rounds, not of single runs: say how many, of how many starts. */
function throughputNote(t) {
  return t
    ? `; j.: medians of ${t.rounds} rounds, each of ${t.sequence} starts one at a time and a burst of ${t.burst}`
    : "";
}

/** The cluster figures (k.) have counts of their own: placements timed, and host kills (seconds each). */
function clusterNote(c) {
  return c ? `; k.: medians of ${c.placements} placements and of ${c.failovers} host kills` : "";
}
