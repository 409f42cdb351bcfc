/** Disagreements between package.json's and deno.json's export maps; empty when they agree. */
export function exportMapProblems(root: string): string[];
