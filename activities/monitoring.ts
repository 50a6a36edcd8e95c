// Prompt monitoring: one durable record per RAG query (query, final prompt, answer, sources,
// per-step latency, token counts, endpoint), appended as a JSON line. Append-only JSON lines
// survive crashes (a torn last line is skipped on read) and need no database server.
//
// appendMonitoringRecord is the one writer: the rag worker's recordMonitoring activity (answers
// the ragQuery workflow generated) and the RAG service's /rag/stream (answers it streamed) both
// call it. Each record is one O_APPEND write, which a local file system lands whole at the end
// of the file, so the two processes' lines do not interleave.
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { projectRoot } from '../common/project-paths.js';
import type { RagQueryResult } from '../common/rag-result.js';
import { ragServiceConfig } from '../common/config.js';

export interface MonitoringRecord extends RagQueryResult {
  at: string;
  /** Who produced the answer: the ragQuery workflow, or the streaming HTTP service. */
  via: 'workflow' | 'stream';
  workflowId?: string;
}

/** LLMOPS_MONITORING_FILE, else .monitoring/prompts.jsonl in the project; read at each use. */
const defaultMonitoringFile = () => ragServiceConfig.read().LLMOPS_MONITORING_FILE ?? join(projectRoot, '.monitoring', 'prompts.jsonl');

export async function appendMonitoringRecord(record: MonitoringRecord, file = defaultMonitoringFile()): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await appendFile(file, `${JSON.stringify(record)}\n`, 'utf8');
}

/** Newest last; `limit` keeps the newest N. */
export async function readMonitoringRecords({ file = defaultMonitoringFile(), limit }: { file?: string; limit?: number } = {}): Promise<MonitoringRecord[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const records: MonitoringRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      records.push(JSON.parse(line) as MonitoringRecord);
    } catch {
      // A crash mid-append leaves a partial last line; everything before it is intact.
    }
  }
  return limit === undefined ? records : records.slice(-limit);
}
