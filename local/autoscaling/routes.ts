// Application Auto Scaling requests (`X-Amz-Target: AnyScaleFrontendService.<Op>`, JSON 1.1):
// those whose ServiceNamespace is `sagemaker` are served here, every other namespace (and the
// tagging operations, which name an ARN instead) still goes to moto. Every operation but
// tagging requires ServiceNamespace, so Describe* calls route cleanly by it too.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PassThrough } from 'node:stream';
import { BodyTooLargeError, controlPlaneTooLargeMessage, MAX_CONTROL_PLANE_BODY_BYTES, readBoundedBody } from '../request-guard.js';
import { AwsServiceError, sendError, sendResult } from '../sagemaker/protocol.js';
import {
  type AutoScalingContext,
  type AutoScalingOperation,
  deleteScalingPolicy,
  deregisterScalableTarget,
  describeScalableTargets,
  describeScalingActivities,
  describeScalingPolicies,
  putScalingPolicy,
  registerScalableTarget,
} from './operations.js';

const TARGET_PREFIX = 'AnyScaleFrontendService.';

const operations: Record<string, AutoScalingOperation<any, unknown>> = {
  RegisterScalableTarget: registerScalableTarget,
  DescribeScalableTargets: describeScalableTargets,
  DeregisterScalableTarget: deregisterScalableTarget,
  PutScalingPolicy: putScalingPolicy,
  DescribeScalingPolicies: describeScalingPolicies,
  DeleteScalingPolicy: deleteScalingPolicy,
  DescribeScalingActivities: describeScalingActivities,
};

/** The operation name when the request is Application Auto Scaling's. */
export function autoScalingOperation(req: IncomingMessage): string | undefined {
  const target = req.headers['x-amz-target'];
  const value = Array.isArray(target) ? target[0] : target;
  return value?.startsWith(TARGET_PREFIX) ? value.slice(TARGET_PREFIX.length) : undefined;
}

/** The request again, its body already read, for a handler that reads it as a stream (moto's forwarder). */
function replay(req: IncomingMessage, body: Buffer): IncomingMessage {
  const copy = Object.assign(new PassThrough(), { method: req.method, url: req.url, headers: req.headers });
  copy.end(body);
  return copy as unknown as IncomingMessage;
}

export async function handleAutoScalingRequest(
  operation: string,
  req: IncomingMessage,
  res: ServerResponse,
  ctx: AutoScalingContext,
  forwardToMoto: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<void> {
  let body: Buffer;
  try {
    body = await readBoundedBody(req, MAX_CONTROL_PLANE_BODY_BYTES);
  } catch (err) {
    if (!(err instanceof BodyTooLargeError)) throw err;
    sendError(res, new AwsServiceError('RequestEntityTooLarge', controlPlaneTooLargeMessage(err.limit), 413));
    return;
  }
  let input: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8') || '{}');
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) input = parsed as Record<string, unknown>;
  } catch {
    input = undefined;
  }
  if (input?.ServiceNamespace !== 'sagemaker') {
    forwardToMoto(replay(req, body), res);
    return;
  }
  try {
    const handler = Object.hasOwn(operations, operation) ? operations[operation] : undefined;
    if (!handler) {
      throw new AwsServiceError(
        'UnknownOperationException',
        `The local cloud does not implement AnyScaleFrontendService.${operation} for the sagemaker namespace.`,
      );
    }
    sendResult(res, await handler(input, ctx));
    ctx.log.debug({ operation }, 'application auto scaling operation');
  } catch (err) {
    if (err instanceof AwsServiceError) {
      ctx.log.info({ operation, code: err.code }, 'application auto scaling operation rejected');
      sendError(res, err);
      return;
    }
    ctx.log.error({ err, operation }, 'application auto scaling operation crashed');
    sendError(res, new AwsServiceError('InternalServiceException', `Internal error in the local cloud: ${(err as Error).message}`, 500));
  }
}
