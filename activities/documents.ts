// Reading a corpus: Markdown and text files are one document each (title from the first
// heading or the file name); JSON-lines files hold one document per line ({id, text, ...}),
// its id scoped to the file. The same formats are read from a local directory or an S3 prefix
// (S3 semantics: `s3://b/docs` takes `docs-old/` too; files are named from the prefix's folder).
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ApplicationFailure } from '@temporalio/common';
import { readdir, readFile } from 'node:fs/promises';
import { basename, extname, join, relative } from 'node:path';
import { parseS3Uri, prefixFolder } from '../common/s3-uri.js';
import { callAws } from './aws-errors.js';
import { objectsUnder } from './s3.js';

export interface Document {
  /**
   * Stable and unique within the source: the file's path relative to the source, and for a
   * JSON line `<file>#<its id>` (`<file>#<line number>` without one), so equal ids in two
   * files stay two documents.
   */
  id: string;
  text: string;
  source: string;
  title?: string;
  author?: string;
  url?: string;
  metadata: Record<string, unknown>;
}

export type SourceSpec = { directory: string } | { s3Uri: string };

const SUPPORTED = new Set(['.md', '.markdown', '.txt', '.jsonl']);

/** The files of a source, sorted, so batches are the same on every run. */
export async function listSourceFiles(s3: S3Client, source: SourceSpec): Promise<string[]> {
  if ('directory' in source) {
    let entries;
    try {
      entries = await readdir(source.directory, { recursive: true, withFileTypes: true });
    } catch (err) {
      throw ApplicationFailure.nonRetryable(`source.directory: cannot read ${source.directory}: ${(err as Error).message}`, 'InvalidSource');
    }
    return entries
      .filter((e) => e.isFile() && SUPPORTED.has(extname(e.name).toLowerCase()))
      .map((e) => relative(source.directory, join(e.parentPath, e.name)))
      .sort();
  }
  const folder = prefixFolder(parseS3Uri(source.s3Uri).key);
  const keys: string[] = [];
  for await (const { key } of objectsUnder(s3, source.s3Uri)) {
    if (SUPPORTED.has(extname(key).toLowerCase())) keys.push(key.slice(folder.length));
  }
  return keys.sort();
}

async function readSourceFile(s3: S3Client, source: SourceSpec, file: string): Promise<string> {
  if ('directory' in source) return readFile(join(source.directory, file), 'utf8');
  const { bucket, key: prefix } = parseS3Uri(source.s3Uri);
  const key = prefixFolder(prefix) + file;
  const out = await callAws(`GetObject s3://${bucket}/${key}`, () => s3.send(new GetObjectCommand({ Bucket: bucket, Key: key })));
  return out.Body!.transformToString('utf8');
}

const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);

/**
 * Parses one file into documents; a malformed JSON line, or an id a line of the same file
 * already used, is reported with its line number.
 */
export function parseDocuments(file: string, content: string): Document[] {
  if (extname(file).toLowerCase() !== '.jsonl') {
    const heading = /^#\s+(.+)$/m.exec(content)?.[1]?.trim();
    return [{ id: file, text: content, source: file, title: heading ?? basename(file, extname(file)), metadata: {} }];
  }
  const docs: Document[] = [];
  const lineOfId = new Map<string, number>();
  content.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let row: Record<string, unknown>;
    try {
      row = JSON.parse(line);
    } catch {
      throw ApplicationFailure.nonRetryable(`${file}:${i + 1}: not valid JSON`, 'InvalidDocument');
    }
    const text = str(row.text);
    if (!text) throw ApplicationFailure.nonRetryable(`${file}:${i + 1}: "text" must be a non-empty string`, 'InvalidDocument');
    const { id, text: _t, title, author, url, source, ...metadata } = row;
    const docId = `${file}#${str(id) ?? (typeof id === 'number' ? String(id) : i + 1)}`;
    const earlier = lineOfId.get(docId);
    if (earlier !== undefined) {
      throw ApplicationFailure.nonRetryable(`${file}:${i + 1}: document id ${docId} is already used on line ${earlier}`, 'InvalidDocument');
    }
    lineOfId.set(docId, i + 1);
    docs.push({
      id: docId,
      text,
      source: str(source) ?? file,
      title: str(title),
      author: str(author),
      url: str(url),
      metadata,
    });
  });
  return docs;
}

export async function readDocuments(s3: S3Client, source: SourceSpec, files: string[]): Promise<Document[]> {
  const docs: Document[] = [];
  for (const file of files) docs.push(...parseDocuments(file, await readSourceFile(s3, source, file)));
  return docs;
}
