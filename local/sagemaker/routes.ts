// Operation name (from `X-Amz-Target: SageMaker.<Op>`) → handler, and the request/response
// plumbing around a handler. New resources (inference components, transform jobs, async
// inference) add a module of handlers and a line per operation here.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Operation, OperationContext } from './context.js';
import { createEndpointConfig, deleteEndpointConfig, describeEndpointConfig, listEndpointConfigs } from './endpoint-configs.js';
import { updateEndpointWeightsAndCapacities } from './endpoint-capacity.js';
import { createEndpoint, deleteEndpoint, describeEndpoint, listEndpoints, updateEndpoint } from './endpoints.js';
import {
  createInferenceComponent,
  deleteInferenceComponent,
  describeInferenceComponent,
  listInferenceComponents,
  updateInferenceComponent,
  updateInferenceComponentRuntimeConfig,
} from './inference-components.js';
import { createModel, deleteModel, describeModel, listModels } from './models.js';
import { AwsServiceError, readJsonBody, sendError, sendResult } from './protocol.js';
import { addTags, deleteTags, listTags } from './tags.js';
import { createTransformJob, describeTransformJob, listTransformJobs, stopTransformJob } from './transform-jobs.js';

// Each handler is typed by its own SDK shapes where it is defined; the table only dispatches.
const operations: Record<string, Operation<any, unknown>> = {
  CreateModel: createModel,
  DescribeModel: describeModel,
  DeleteModel: deleteModel,
  ListModels: listModels,
  CreateEndpointConfig: createEndpointConfig,
  DescribeEndpointConfig: describeEndpointConfig,
  DeleteEndpointConfig: deleteEndpointConfig,
  ListEndpointConfigs: listEndpointConfigs,
  CreateEndpoint: createEndpoint,
  DescribeEndpoint: describeEndpoint,
  UpdateEndpoint: updateEndpoint,
  DeleteEndpoint: deleteEndpoint,
  ListEndpoints: listEndpoints,
  CreateInferenceComponent: createInferenceComponent,
  DescribeInferenceComponent: describeInferenceComponent,
  ListInferenceComponents: listInferenceComponents,
  UpdateInferenceComponent: updateInferenceComponent,
  UpdateInferenceComponentRuntimeConfig: updateInferenceComponentRuntimeConfig,
  DeleteInferenceComponent: deleteInferenceComponent,
  UpdateEndpointWeightsAndCapacities: updateEndpointWeightsAndCapacities,
  CreateTransformJob: createTransformJob,
  DescribeTransformJob: describeTransformJob,
  StopTransformJob: stopTransformJob,
  ListTransformJobs: listTransformJobs,
  AddTags: addTags,
  ListTags: listTags,
  DeleteTags: deleteTags,
};

export async function handleSageMakerOperation(operation: string, req: IncomingMessage, res: ServerResponse, ctx: OperationContext): Promise<void> {
  try {
    const handler = Object.hasOwn(operations, operation) ? operations[operation] : undefined;
    if (!handler) {
      throw new AwsServiceError('UnknownOperationException', `The local cloud does not implement SageMaker.${operation}.`);
    }
    const input = await readJsonBody(req);
    const output = await handler(input, ctx);
    ctx.log.debug({ operation }, 'sagemaker operation');
    sendResult(res, output);
  } catch (err) {
    if (err instanceof AwsServiceError) {
      // The code only: AWS's messages quote the request (a container environment, i.e. a token),
      // and the caller has the message already.
      ctx.log.info({ operation, code: err.code }, 'sagemaker operation rejected');
      sendError(res, err);
      return;
    }
    ctx.log.error({ err, operation }, 'sagemaker operation crashed');
    sendError(res, new AwsServiceError('InternalFailure', `Internal error in the local cloud: ${(err as Error).message}`, 500));
  }
}
