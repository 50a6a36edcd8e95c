// The S3 the local cloud's own features read and write (transform job inputs and outputs, async
// inference payloads and results). S3 lives in moto, but these calls go through the local
// cloud's own URL like any client's: moto keeps state in memory only, and only requests that
// pass through the local cloud are journalled (local/moto.ts), so outputs written here survive a
// restart like objects a client put.
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { gunzipSync } from 'node:zlib';

/** The access key the local cloud's own S3 calls sign with, by which faults.ts tells them from clients'. */
export const LOCAL_CLOUD_ACCESS_KEY_ID = 'local-cloud';

export function localS3Client(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: LOCAL_CLOUD_ACCESS_KEY_ID, secretAccessKey: 'local-cloud' },
    maxAttempts: 2,
  });
}

export interface S3Location {
  bucket: string;
  key: string;
}

/** `s3://bucket/key` → bucket and key (key may be empty); undefined for anything else. */
export function parseS3Uri(uri: string): S3Location | undefined {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/s.exec(uri);
  return match ? { bucket: match[1], key: match[2] } : undefined;
}

export function s3Uri({ bucket, key }: S3Location): string {
  return `s3://${bucket}/${key}`;
}

/** Appends path segments to an S3 URI with exactly one `/` between them. */
export function joinS3Uri(base: string, ...parts: string[]): string {
  let uri = base;
  for (const part of parts) {
    if (!part) continue;
    uri = `${uri.replace(/\/+$/, '')}/${part.replace(/^\/+/, '')}`;
  }
  return uri;
}

export interface S3ObjectSummary {
  key: string;
  size: number;
}

/** Every object under a prefix, in key order, paging through ListObjectsV2. Folder markers (`.../`) are skipped. */
export async function listObjects(s3: S3Client, { bucket, key: prefix }: S3Location, limit = Infinity): Promise<S3ObjectSummary[]> {
  const objects: S3ObjectSummary[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token, MaxKeys: Math.min(1000, limit) }));
    for (const o of page.Contents ?? []) {
      if (o.Key === undefined || (o.Key.endsWith('/') && !o.Size)) continue;
      objects.push({ key: o.Key, size: o.Size ?? 0 });
      if (objects.length >= limit) return objects;
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return objects;
}

export async function getObject(s3: S3Client, { bucket, key }: S3Location, signal?: AbortSignal): Promise<Buffer> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
  return Buffer.from(await out.Body!.transformToByteArray());
}

export function maybeGunzip(bytes: Buffer, compression: string | undefined): Buffer {
  return compression === 'Gzip' ? gunzipSync(bytes) : bytes;
}

export async function putObject(s3: S3Client, { bucket, key }: S3Location, body: Buffer | string, contentType?: string, signal?: AbortSignal): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }), { abortSignal: signal });
}

export async function deleteObject(s3: S3Client, { bucket, key }: S3Location): Promise<void> {
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
}

/** S3's error names for "the bucket or the key is not there". */
export function isS3NotFound(err: unknown): boolean {
  return ['NoSuchBucket', 'NoSuchKey', 'NotFound'].includes((err as Error)?.name);
}

export function describeS3Error(err: unknown): string {
  const e = err as { name?: string; message?: string };
  return e?.name && e.message ? `${e.name}: ${e.message}` : String(err);
}
