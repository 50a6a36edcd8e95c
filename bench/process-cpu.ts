import { readFileSync } from 'node:fs';
// CPU time another process has used, for benches that weigh what a model process or the
// Temporal dev server spends, whatever else the machine runs. Linux only (/proc).

// /proc/<pid>/stat counts CPU time in clock ticks; Linux reports them at 100 per second.
const CLOCK_TICKS_PER_SECOND = 100;

/** User + system CPU seconds the process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}
