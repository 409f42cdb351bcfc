// Shared by the benchmark scripts: a wall clock every runtime shares across
// processes, repetitions with a warm-up, and medians.
//
// performance.timeOrigin + performance.now() is comparable between processes
// on Node, Deno and Bun; process.hrtime is not (Deno and Bun count from each
// process's own start).

/** Milliseconds on the wall clock, with sub-millisecond precision. */
export const now = () => performance.timeOrigin + performance.now();

/** Repetitions measured for every figure, after the warm-up. */
export const REPETITIONS = Number(process.env.BENCH_REPETITIONS ?? 20);
export const WARM_UP = 3;

/**
 * Run `once` WARM_UP + REPETITIONS times and keep the last REPETITIONS
 * results. `once` returns one sample, or an object of named samples.
 */
export async function repeat(once) {
  const samples = [];
  for (let i = 0; i < WARM_UP + REPETITIONS; i++) {
    const sample = await once(i);
    if (i >= WARM_UP) samples.push(sample);
  }
  return samples;
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** The median of each named series of a list of samples. */
export function medians(samples) {
  const out = {};
  for (const key of Object.keys(samples[0] ?? {})) out[key] = median(samples.map((s) => s[key]));
  return out;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Print progress on stderr; stdout carries the result. */
export const progress = (line) => process.stderr.write(`  ${line}\n`);
