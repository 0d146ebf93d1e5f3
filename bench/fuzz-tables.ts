// The fuzz campaign's tables: outcomes per scenario and the goals, built as cases finish or
// from --log files (a campaign run in parts), with the limits the cases actually ran under.
import { readFileSync } from 'node:fs';
import { caseLimits, hangLimits, kinds, type Outcome, type Result } from './fuzz-case.js';

export interface Row {
  name: string;
  counts: Record<string, number>;
  peakKb: number;
  slowest: number;
  bad: string[];
  accepted: string[];
}

export type Limits = typeof caseLimits;

/** One logged case: its scenario, its number, the limits it ran under, and its result. */
export type LogLine = Result & { scenario: string; k: number; limits?: Limits };

export interface Tables {
  rows: Map<string, Row>;
  peak: { kb: number; what: string };
  /** The hang and memory limits of the cases, in words, each once. */
  hangLimits: Set<string>;
  memoryLimitsMb: Set<number>;
}

export const emptyTables = (): Tables => ({
  rows: new Map(),
  peak: { kb: 0, what: '' },
  hangLimits: new Set(),
  memoryLimitsMb: new Set(),
});

/** The log line of a case run now, under the current limits. */
export const logLine = (scenario: string, k: number, r: Result): LogLine => ({
  scenario,
  k,
  limits: { ...caseLimits },
  ...r,
});

export function addCase(t: Tables, c: LogLine): Row {
  let row = t.rows.get(c.scenario);
  if (!row) {
    row = { name: c.scenario, counts: {}, peakKb: 0, slowest: 0, bad: [], accepted: [] };
    t.rows.set(c.scenario, row);
  }
  row.counts[c.outcome] = (row.counts[c.outcome] ?? 0) + 1;
  row.peakKb = Math.max(row.peakKb, c.rssKb);
  row.slowest = Math.max(row.slowest, c.seconds);
  if (c.rssKb >= t.peak.kb) Object.assign(t.peak, { kb: c.rssKb, what: `${c.scenario}, case ${c.k}` });
  if (c.outcome === 'accepted') row.accepted.push(c.detail);
  else if (c.outcome !== 'clean refusal') row.bad.push(`${c.outcome}, case ${c.k}: ${c.detail}`);
  // Logs written before the limits were logged cannot say which ones their cases ran under.
  t.hangLimits.add(c.limits ? hangLimits(c.limits) : 'a limit not in the log');
  if (c.limits) t.memoryLimitsMb.add(c.limits.memoryBytes / 2 ** 20);
  return row;
}

/** Tables rebuilt from --log files, scenarios in the order they first appear. */
export function tablesFromLogs(files: string[]): Tables {
  const t = emptyTables();
  for (const f of files)
    for (const line of readFileSync(f, 'utf8').split('\n').filter(Boolean)) addCase(t, JSON.parse(line) as LogLine);
  return t;
}

export function printTables(t: Tables, list: boolean): void {
  process.stdout.write(`${resultTables(t).join('\n')}\n\n`);
  for (const r of t.rows.values())
    for (const b of list ? r.bad : r.bad.slice(0, 5)) process.stdout.write(`  ${r.name}: ${b}\n`);
  if (list)
    for (const r of t.rows.values()) for (const a of r.accepted) process.stdout.write(`  accepted, ${r.name}: ${a}\n`);
}

/** The outcomes per scenario, then the goals beside what this campaign measured. */
export function resultTables(t: Tables): string[] {
  const mb = (kb: number) => `${(kb / 1024).toFixed(0)} MB`;
  const out = [
    `| input | cases | ${kinds.join(' | ')} | peak memory | slowest |`,
    `| --- | --- | ${kinds.map(() => '---').join(' | ')} | --- | --- |`,
  ];
  const total: Record<string, number> = {};
  let slowest = 0;
  for (const r of t.rows.values()) {
    const n = Object.values(r.counts).reduce((a, b) => a + b, 0);
    for (const [k, v] of Object.entries(r.counts)) total[k] = (total[k] ?? 0) + v;
    slowest = Math.max(slowest, r.slowest);
    out.push(
      `| ${r.name} | ${n} | ${kinds.map((k) => r.counts[k] ?? 0).join(' | ')} | ${mb(r.peakKb)} | ${r.slowest.toFixed(0)} s |`,
    );
  }
  const n = Object.values(total).reduce((a, b) => a + b, 0);
  out.push(
    `| **all** | ${n} | ${kinds.map((k) => total[k] ?? 0).join(' | ')} | ${mb(t.peak.kb)} | ${slowest.toFixed(0)} s |`,
  );
  const c = (k: Outcome) => total[k] ?? 0;
  const limitsMb = [...t.memoryLimitsMb].join(' / ') || '(a limit not in the log)';
  const bad = c('bad message');
  out.push(
    '',
    '| what | goal | measured |',
    '| --- | --- | --- |',
    `| cases (clean refusals, valid input accepted) | ≥ 2,000 | ${n} (${c('clean refusal')}, ${c('accepted')}) |`,
    `| stack traces | 0 | ${c('stack trace')} |`,
    `| crashes (signal, exit > 2) | 0 | ${c('crash')} |`,
    `| hangs (${[...t.hangLimits].join('; ') || hangLimits()}: process group killed) | 0 | ${c('hang')} |`,
    `| bad input accepted (exit 0) | 0 | ${c('bad input accepted')} |`,
    `| debris (temporary files, locks, processes left) | 0 | ${c('debris')} |`,
    `| peak memory for any input of ≤ 10 MB | ≤ 1 GB | ${mb(t.peak.kb)} (${t.peak.what}); ${c('over 1 GB')} case(s) over ${limitsMb} MB |`,
    `| messages that do not name the culprit or print undefined/NaN | ≤ 1% | ${bad} (${((100 * bad) / Math.max(1, n)).toFixed(2)}%) |`,
  );
  return out;
}
