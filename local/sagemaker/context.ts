// What every control-plane operation gets besides its input: the state, the endpoint
// lifecycle (model processes), the IAM check, and the region of the request.
import type { Logger } from 'pino';
import type { EndpointLifecycle } from './endpoint-lifecycle.js';
import type { Wire } from './protocol.js';
import type { RoleVerifier } from './roles.js';
import type { SageMakerStore } from './store.js';

export interface OperationContext {
  /** From the request's SigV4 credential scope: the region ARNs of new resources name. */
  region: string;
  store: SageMakerStore;
  endpoints: EndpointLifecycle;
  verifyRole: RoleVerifier;
  log: Logger;
}

/** An operation typed by the SDK's own input and output shapes. */
export type Operation<Input, Output> = (input: Wire<Input>, ctx: OperationContext) => Output | Promise<Output>;
