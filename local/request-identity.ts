// What an incoming request is, as far as the local cloud can tell before reading its body:
// the SigV4 credential scope (region, signing service), the AWS service it is for, and the
// operation it names when the operation travels outside the body. Every service shares the
// local cloud's one URL, so routing, fault injection and error shapes all start from here.
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

/** The services the local cloud answers for, by the names AWS's SDKs give their clients. */
export const SERVICES = ['sagemaker', 'sagemaker-runtime', 's3', 'iam', 'sts', 'application-autoscaling', 'cloudwatch', 'secretsmanager'] as const;
export type ServiceName = (typeof SERVICES)[number];

/** SigV4's credential scope: `Credential=AKID/20240101/us-east-1/sagemaker/aws4_request`. */
export function credentialScope(req: IncomingMessage): { accessKeyId?: string; region?: string; service?: string } {
  const match = /Credential=([^/,\s]+)\/\d{8}\/([^/]+)\/([^/]+)\//.exec(req.headers.authorization ?? '');
  return { accessKeyId: match?.[1], region: match?.[2], service: match?.[3] };
}

/**
 * SageMaker Runtime's paths. The signing service tells them apart from an S3 path-style
 * request to a bucket that happens to be called "endpoints"; unsigned requests (curl) count
 * as runtime calls.
 */
export function isRuntimeRequest(req: IncomingMessage): boolean {
  if (!req.url?.startsWith('/endpoints/')) return false;
  const { service } = credentialScope(req);
  return service === undefined || service === 'sagemaker';
}

/** The service a request is for; undefined for an unsigned request that is not a runtime call. */
export function serviceOf(req: IncomingMessage): ServiceName | undefined {
  if (isRuntimeRequest(req)) return 'sagemaker-runtime';
  const signed = credentialScope(req).service;
  // CloudWatch signs as "monitoring", its endpoint prefix.
  const name = signed === 'monitoring' ? 'cloudwatch' : signed;
  return (SERVICES as readonly string[]).includes(name ?? '') ? (name as ServiceName) : undefined;
}

/**
 * The operation a request names in its headers, path or query string (JSON 1.0/1.1 target,
 * Smithy RPC v2 path, Query `?Action=`), or in `body` for a form-encoded Query request once the
 * body has been read. Undefined for REST protocols (S3, SageMaker Runtime), where the method
 * and path decide.
 */
export function operationName(path: string, headers: IncomingHttpHeaders, body?: Buffer): string | undefined {
  const target = headers['x-amz-target'];
  if (typeof target === 'string') return target.slice(target.lastIndexOf('.') + 1);
  const rpcV2 = /\/service\/[^/]+\/operation\/([^/?]+)/.exec(path);
  if (rpcV2) return rpcV2[1];
  const query = new URLSearchParams(path.split('?')[1] ?? '').get('Action');
  if (query) return query;
  if (body && String(headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
    return new URLSearchParams(body.toString('utf8')).get('Action') ?? undefined;
  }
  return undefined;
}
