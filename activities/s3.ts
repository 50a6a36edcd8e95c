// S3 reads the batch workflows need: counting records under a prefix (for progress and the
// result, an activity), and reading an object that may not exist yet (a plain function, for
// the async inference poll).
import { GetObjectCommand, HeadObjectCommand, paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';
import { parseS3Uri } from '../common/s3-uri';
import { awsPages, callAws, classifyAwsError, isNotFound } from './aws-errors';

export interface RecordCount {
  objects: number;
  records: number;
  bytes: number;
}

/** The keys under an S3 prefix (every page of ListObjectsV2), as bucket, key and size. */
export async function* objectsUnder(s3: S3Client, uri: string): AsyncGenerator<{ bucket: string; key: string; size: number }> {
  const { bucket, key: prefix } = parseS3Uri(uri);
  for await (const page of awsPages(`ListObjectsV2 ${uri}`, paginateListObjectsV2({ client: s3 }, { Bucket: bucket, Prefix: prefix }))) {
    for (const o of page.Contents ?? []) if (o.Key) yield { bucket, key: o.Key, size: o.Size ?? 0 };
  }
}

/** The object's text (at most `maxBytes`), or undefined when it does not exist yet. */
export async function readS3Object(s3: S3Client, { s3Uri, maxBytes = 256 * 1024 }: { s3Uri: string; maxBytes?: number }): Promise<{ body: string; truncated: boolean } | undefined> {
  const { bucket, key } = parseS3Uri(s3Uri);
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  } catch (err) {
    if (isNotFound(err)) return undefined;
    return classifyAwsError(err, `HeadObject ${s3Uri}`);
  }
  const out = await callAws(`GetObject ${s3Uri}`, () => s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=0-${maxBytes}` })));
  const text = (await out.Body?.transformToString('utf8')) ?? '';
  return { body: text.slice(0, maxBytes), truncated: text.length > maxBytes };
}

export function createS3Activities({ s3 }: { s3: S3Client }) {
  return {
    /**
     * Objects and records under a prefix. With `Line` splitting a record is a non-empty line,
     * as Batch Transform counts them; objects are streamed, never held whole in memory.
     */
    async countS3Records({ s3Uri, splitType = 'Line', suffix = '' }: { s3Uri: string; splitType?: 'Line' | 'None'; suffix?: string }): Promise<RecordCount> {
      const count: RecordCount = { objects: 0, records: 0, bytes: 0 };
      for await (const object of objectsUnder(s3, s3Uri)) {
        if (object.key.endsWith('/') || !object.key.endsWith(suffix)) continue;
        count.objects++;
        count.bytes += object.size;
        if (splitType === 'None') {
          count.records++;
          continue;
        }
        const body = (await callAws(`GetObject s3://${object.bucket}/${object.key}`, () => s3.send(new GetObjectCommand({ Bucket: object.bucket, Key: object.key })))).Body;
        let lineHasContent = false;
        for await (const chunk of body as AsyncIterable<Uint8Array>) {
          for (const byte of chunk) {
            if (byte === 0x0a) {
              if (lineHasContent) count.records++;
              lineHasContent = false;
            } else if (byte !== 0x0d && byte !== 0x20 && byte !== 0x09) {
              lineHasContent = true;
            }
          }
        }
        if (lineHasContent) count.records++;
      }
      return count;
    },
  };
}
