/** The two clusters every database test runs on: the embedded default, and the real server `npm test` starts and gives by URL. */
import process from "node:process";

/** The server `npm test` starts (scripts/real_postgres.mjs); run alone, the by-URL tests say so and skip. */
export const REAL_URL = process.env.BGWORKER_TEST_POSTGRES_URL;

/** Each cluster: its name in test titles, the postmaster's option for it, and the test options (a skip with its reason). */
export const CLUSTERS = [
  { name: "embedded", option: {}, run: {} },
  {
    name: "real server",
    option: REAL_URL ? { database: { url: REAL_URL } } : {},
    run: { skip: REAL_URL ? false : "no real server: npm test starts one and sets BGWORKER_TEST_POSTGRES_URL" },
  },
] as const;
