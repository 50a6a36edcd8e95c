// An AWS service error written in the wire shape of the service the request was for, so each
// SDK parses its code (and retries it, or not) exactly as it would AWS's:
//   JSON 1.0/1.1 and REST-JSON (SageMaker, Runtime, Auto Scaling, Secrets Manager, CloudWatch's
//     JSON protocols): `{"__type", "message"}` plus `x-amzn-ErrorType`
//   Query (IAM, STS, CloudWatch's form requests): `<ErrorResponse><Error><Type><Code><Message>`
//   S3's REST-XML: `<Error><Code><Message><RequestId>`
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServiceName } from './request-identity.js';

export interface WireError {
  code: string;
  message: string;
  status: number;
}

const xmlEscape = (text: string) => text.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);

type Shape = 'json' | 'query' | 's3';

function shapeOf(req: IncomingMessage, service: ServiceName | undefined): Shape {
  if (service === 's3') return 's3';
  if (service === 'iam' || service === 'sts') return 'query';
  if (req.headers['x-amz-target'] || service !== undefined) {
    return String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded') ? 'query' : 'json';
  }
  // Unsigned and unknown: an S3-style path is the likeliest (presigned URLs carry no header).
  return 's3';
}

export function sendWireError(req: IncomingMessage, res: ServerResponse, service: ServiceName | undefined, err: WireError): void {
  const requestId = randomUUID();
  const shape = shapeOf(req, service);
  let body: string;
  const headers: Record<string, string> = { 'x-amzn-RequestId': requestId };
  if (shape === 'json') {
    body = JSON.stringify({ __type: err.code, message: err.message });
    headers['Content-Type'] = service === 'sagemaker-runtime' ? 'application/json' : 'application/x-amz-json-1.1';
    headers['x-amzn-ErrorType'] = err.code;
  } else if (shape === 'query') {
    const type = err.status >= 500 ? 'Receiver' : 'Sender';
    body =
      `<ErrorResponse><Error><Type>${type}</Type><Code>${xmlEscape(err.code)}</Code><Message>${xmlEscape(err.message)}</Message></Error>` +
      `<RequestId>${requestId}</RequestId></ErrorResponse>`;
    headers['Content-Type'] = 'text/xml';
  } else {
    body =
      `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${xmlEscape(err.code)}</Code><Message>${xmlEscape(err.message)}</Message>` +
      `<RequestId>${requestId}</RequestId></Error>`;
    headers['Content-Type'] = 'application/xml';
    headers['x-amz-request-id'] = requestId;
  }
  headers['Content-Length'] = String(Buffer.byteLength(body));
  res.writeHead(err.status, headers).end(body);
}
