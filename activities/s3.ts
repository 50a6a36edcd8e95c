// S3 reads the batch workflows need: counting records under a prefix (for progress and the
// result), and checking for / reading the objects async inference writes.
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { ApplicationFailure } from '@temporalio/common';
import { aws, classifyAwsError } from './aws-errors';

export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!match) throw ApplicationFailure.nonRetryable(`Not an S3 URI: ${uri}`, 'InvalidS3Uri');
  return { bucket: match[1], key: match[2] };
}

export interface RecordCount {
  objects: number;
  records: number;
  bytes: number;
}

const isMissing = (err: unknown) => ['NotFound', 'NoSuchKey', 'NoSuchBucket'].includes((err as Error).name);

export function createS3Activities({ s3 }: { s3: S3Client }) {
  async function* objectsUnder(uri: string, suffix = '') {
    const { bucket, key: prefix } = parseS3Uri(uri);
    let token: string | undefined;
    do {
      const page = await aws(`ListObjectsV2 ${uri}`, () => s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token })));
      for (const o of page.Contents ?? []) if (o.Key && !o.Key.endsWith('/') && o.Key.endsWith(suffix)) yield { bucket, key: o.Key, size: o.Size ?? 0 };
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  return {
    /**
     * Objects and records under a prefix. With `Line` splitting a record is a non-empty line,
     * as Batch Transform counts them; objects are streamed, never held whole in memory.
     */
    async countS3Records({ s3Uri, splitType = 'Line', suffix }: { s3Uri: string; splitType?: 'Line' | 'None'; suffix?: string }): Promise<RecordCount> {
      const count: RecordCount = { objects: 0, records: 0, bytes: 0 };
      for await (const object of objectsUnder(s3Uri, suffix)) {
        count.objects++;
        count.bytes += object.size;
        if (splitType === 'None') {
          count.records++;
          continue;
        }
        const body = (await aws(`GetObject s3://${object.bucket}/${object.key}`, () => s3.send(new GetObjectCommand({ Bucket: object.bucket, Key: object.key })))).Body;
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

    /** The object's text (at most `maxBytes`), or undefined when it does not exist yet. */
    async readS3Object({ s3Uri, maxBytes = 256 * 1024 }: { s3Uri: string; maxBytes?: number }): Promise<{ body: string; truncated: boolean } | undefined> {
      const { bucket, key } = parseS3Uri(s3Uri);
      try {
        await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      } catch (err) {
        if (isMissing(err)) return undefined;
        return classifyAwsError(err, `HeadObject ${s3Uri}`);
      }
      const out = await aws(`GetObject ${s3Uri}`, () => s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=0-${maxBytes}` })));
      const text = (await out.Body?.transformToString('utf8')) ?? '';
      return { body: text.slice(0, maxBytes), truncated: text.length > maxBytes };
    },
  };
}
