// S3 URIs: the one rule inputs are checked against, the one parser the activities and clients
// use to split a URI into bucket and key, and S3's prefix semantics (a prefix is the start of a
// key, not a folder: `s3://b/data` takes `data-out/x` too). Workflow-safe: no I/O.
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';

/** `s3://<bucket>[/<key>]`, the bucket named as S3 allows (3-63 lowercase letters, digits, dots, hyphens). */
const S3_URI = /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/;

/** An input field holding an S3 URI; `what` says what it points at, in the error message. */
export const s3UriSchema = (form: 'bucket/prefix' | 'bucket/key', what?: string) =>
  z.string().regex(S3_URI, `must be an s3://${form} URI${what ? ` (${what})` : ''}`);

/** Bucket and key (the key may be empty) of `s3://bucket/key`; anything else fails, non-retryably. */
export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const location = splitS3Uri(uri);
  if (!location) throw ApplicationFailure.nonRetryable(`Not an S3 URI: ${uri}`, 'InvalidS3Uri');
  return location;
}

function splitS3Uri(uri: string): { bucket: string; key: string } | undefined {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  return match ? { bucket: match[1], key: match[2] } : undefined;
}

/**
 * A key prefix up to and including its last `/` ('' when it has none). Keys under a prefix are
 * named relative to this, as Batch Transform names its outputs, so a prefix that ends mid-name
 * (`in/part-`, or `docs` without the `/`) keeps whole names: `in/part-1.jsonl` → `part-1.jsonl`,
 * `docs-old/a.md` under `docs` → `docs-old/a.md`.
 */
export function prefixFolder(prefix: string): string {
  return prefix.slice(0, prefix.lastIndexOf('/') + 1);
}

/**
 * Where Batch Transform writes the output of one input object: `<S3OutputPath>/<the key
 * relative to the input prefix's folder>.out` (one `/` between them).
 */
export function transformOutputUri(inputS3Uri: string, inputKey: string, outputS3Uri: string): string {
  const relative = inputKey.slice(prefixFolder(parseS3Uri(inputS3Uri).key).length);
  return `${outputS3Uri.replace(/\/+$/, '')}/${relative}.out`;
}

/**
 * Whether some key can lie under both prefixes: same bucket, and one key prefix starts with the
 * other, exactly as S3 matches `Prefix`. An output URI is a folder (outputs go below it after a
 * `/`), so `s3://b/data` and `s3://b/data-out` overlap: the input prefix `data` takes
 * `data-out/x.out`.
 */
export function s3PrefixesOverlap(inputS3Uri: string, outputFolderS3Uri: string): boolean {
  // Input checks call this even when a URI failed its own rule; that is reported there.
  const input = splitS3Uri(inputS3Uri);
  const output = splitS3Uri(outputFolderS3Uri);
  if (!input || !output || input.bucket !== output.bucket) return false;
  const outputPrefix = output.key.replace(/\/*$/, output.key ? '/' : '');
  return outputPrefix.startsWith(input.key) || input.key.startsWith(outputPrefix);
}
