/** What every part of `npm run bench` shares: a row of its table and the median. */

/** One row of the table: our figure beside the peer's, measured in the same run. */
export interface BenchRow {
  metric: string;
  ours: string;
  peer: string;
  ratio: string;
  goal: string;
  note: string;
}

export function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
