// InvokeEndpointWithResponseStream's body: AWS event-stream frames. A PayloadPart's `Bytes`
// member is the event payload itself (raw container bytes, no JSON around them); errors after
// the 200 has been sent travel as exception frames named after the error shape.
import { EventStreamCodec, type MessageHeaders } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';

const codec = new EventStreamCodec(toUtf8, fromUtf8);

export const EVENT_STREAM_CONTENT_TYPE = 'application/vnd.amazon.eventstream';

function header(value: string) {
  return { type: 'string' as const, value };
}

export function payloadPartFrame(bytes: Uint8Array): Uint8Array {
  const headers: MessageHeaders = {
    ':event-type': header('PayloadPart'),
    ':message-type': header('event'),
    ':content-type': header('application/octet-stream'),
  };
  return codec.encode({ headers, body: bytes });
}

export type StreamErrorShape =
  | { type: 'ModelStreamError'; Message: string; ErrorCode: 'StreamBroken' | 'ModelInvocationTimeExceeded' }
  | { type: 'InternalStreamFailure'; Message: string };

export function exceptionFrame({ type, ...members }: StreamErrorShape): Uint8Array {
  const headers: MessageHeaders = {
    ':exception-type': header(type),
    ':message-type': header('exception'),
    ':content-type': header('application/json'),
  };
  return codec.encode({ headers, body: fromUtf8(JSON.stringify(members)) });
}
