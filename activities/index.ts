// The worker's composition root: every activity, built from injected clients so tests can
// pass clients pointed at their own local cloud (or fakes, in workflow unit tests).
import { createAsyncInferenceActivities } from './async-inference.js';
import type { AwsClients } from './aws-clients.js';
import { createAutoscalingActivities } from './autoscaling.js';
import { createBatchFanOutActivities } from './batch-fan-out.js';
import { createEndpointActivityActivities } from './endpoint-activity.js';
import { createIamActivities } from './iam.js';
import { createInferenceComponentActivities } from './inference-components.js';
import { createRolloutActivities } from './rollout.js';
import { createRuntimeActivities } from './runtime.js';
import { createS3Activities } from './s3.js';
import { createSageMakerActivities } from './sagemaker.js';
import { createTransformActivities } from './transform.js';
import { createWorkflowRunActivities } from './workflow-runs.js';

export function createActivities(clients: AwsClients, env: NodeJS.ProcessEnv = process.env) {
  return {
    ...createIamActivities(clients),
    ...createSageMakerActivities({ sagemaker: clients.sagemaker, secretsManager: clients.secretsManager, env }),
    ...createInferenceComponentActivities(clients),
    ...createAutoscalingActivities(clients),
    ...createRuntimeActivities(clients),
    ...createS3Activities(clients),
    ...createTransformActivities(clients),
    ...createBatchFanOutActivities(clients),
    ...createAsyncInferenceActivities(clients),
    ...createWorkflowRunActivities(),
    ...createEndpointActivityActivities(clients),
    ...createRolloutActivities(clients),
  };
}

export type Activities = ReturnType<typeof createActivities>;
