// SageMaker Runtime's errors as the restJson1 protocol carries them: the shape name in the
// `x-amzn-errortype` header, the members (`Message`, and ModelError's extras) in a JSON body,
// and AWS's own wording, so SDK clients raise the same exception classes with the same text.
import type { ServerResponse } from 'node:http';
import { sendJson } from '../model-server/http-io.js';

export type RuntimeErrorCode = 'ValidationError' | 'ModelError' | 'ServiceUnavailable' | 'InternalFailure' | 'UnknownOperationException';

export class RuntimeError extends Error {
  constructor(
    readonly status: number,
    readonly code: RuntimeErrorCode,
    message: string,
    /** Members of the error shape besides Message. */
    readonly members: Record<string, string | number> = {},
  ) {
    super(message);
    this.name = code;
  }
}

export function sendRuntimeError(res: ServerResponse, err: RuntimeError): void {
  sendJson(res, err.status, { Message: err.message, ...err.members }, { 'x-amzn-errortype': err.code });
}

/** Where a container's logs are, as AWS names them: per endpoint, in CloudWatch. */
export interface EndpointLogs {
  endpointName: string;
  region: string;
  accountId: string;
}

// SageMaker calls the single container of a model-based endpoint "primary".
export const CONTAINER_NAME = 'primary';

export function seeLogs({ endpointName, region, accountId }: EndpointLogs): string {
  return `See https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#logEventViewer:group=/aws/sagemaker/Endpoints/${endpointName} in account ${accountId} for more information.`;
}

function logGroupArn({ endpointName, region, accountId }: EndpointLogs): string {
  return `arn:aws:logs:${region}:${accountId}:log-group:/aws/sagemaker/Endpoints/${endpointName}`;
}

/**
 * The container answered with a non-2xx status, or not at all (status 0, as AWS reports a
 * container timeout). 4xx is a client error from the model, anything else a server error.
 */
export function modelError(logs: EndpointLogs, originalStatus: number, originalMessage: string): RuntimeError {
  const kind = originalStatus >= 400 && originalStatus < 500 ? 'client' : 'server';
  return new RuntimeError(
    424,
    'ModelError',
    `Received ${kind} error (${originalStatus}) from ${CONTAINER_NAME} with message "${originalMessage}". ${seeLogs(logs)}`,
    {
      OriginalStatusCode: originalStatus,
      OriginalMessage: originalMessage,
      LogStreamArn: logGroupArn(logs),
      ErrorCode: kind === 'client' ? 'CLIENT_ERROR_FROM_MODEL' : 'SERVER_ERROR_FROM_MODEL',
    },
  );
}

export const INVOCATION_TIMEOUT_MESSAGE = `Your invocation timed out while waiting for a response from container ${CONTAINER_NAME}. Review the latency metrics for each container in Amazon CloudWatch, resolve the issue, and try again.`;

export function validationError(message: string): RuntimeError {
  return new RuntimeError(400, 'ValidationError', message);
}
