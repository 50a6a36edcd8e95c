// The one writer of bench figures: each bench hands its table to publishBench, which prints it
// and writes it as JSON (bench/results/<name>.json, for comparing runs by script) and as a
// Markdown section of docs/benchmarks.md (for people), both stamped with the machine's core count, CPU model, Node
// version and date. A bench's section is replaced on each run; the other benches' are kept.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../common/project-paths.js';
import { formatTable } from './stats.js';

export interface BenchTable {
  /** Section heading in docs/benchmarks.md. */
  title: string;
  /** What was measured and how, in a sentence or two (shown above the table). */
  method: string;
  columns: string[];
  rows: Array<Array<string | number>>;
  /** Raw figures for the JSON file (not shown in Markdown). */
  figures?: Record<string, unknown>;
}

function machine() {
  const cpu = cpus();
  return { cores: cpu.length, cpu: cpu[0]?.model ?? 'unknown', node: process.version, platform: `${process.platform}-${process.arch}` };
}

function writeBenchReport(name: string, table: BenchTable, root: string = projectRoot): void {
  const env = machine();
  const at = new Date().toISOString();
  mkdirSync(join(root, 'bench', 'results'), { recursive: true });
  writeFileSync(join(root, 'bench', 'results', `${name}.json`), `${JSON.stringify({ name, at, machine: env, ...table }, null, 2)}\n`);

  const file = join(root, 'docs', 'benchmarks.md');
  let doc: string;
  try {
    doc = readFileSync(file, 'utf8');
  } catch {
    doc = '# Benchmarks\n\nWritten by `npm run bench` (bench/report.ts): one section per bench, replaced on each run; the JSON is in bench/results/.\n';
  }
  const begin = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const section = [
    begin,
    `## ${table.title}`,
    '',
    `${at.slice(0, 16).replace('T', ' ')} UTC · ${env.cores} cores (${env.cpu}) · Node ${env.node} · ${env.platform}`,
    '',
    table.method,
    '',
    `| ${table.columns.join(' | ')} |`,
    `|${table.columns.map(() => '---').join('|')}|`,
    ...table.rows.map((r) => `| ${r.join(' | ')} |`),
    end,
  ].join('\n');
  const from = doc.indexOf(begin);
  const to = doc.indexOf(end);
  doc = from >= 0 && to > from ? doc.slice(0, from) + section + doc.slice(to + end.length) : `${doc.trimEnd()}\n\n${section}\n`;
  writeFileSync(file, doc);
}

/** Prints a bench's table, then writes it as JSON and as its section of docs/benchmarks.md. */
export function publishBench(name: string, table: BenchTable, root: string = projectRoot): void {
  console.log(`\n${table.title}\n${table.method}\n`);
  console.log(
    formatTable(
      table.columns,
      table.rows.map((r) => r.map(String)),
    ),
  );
  writeBenchReport(name, table, root);
}
