// The worker's composition root: every activity, built from injected clients so tests can
// pass clients pointed at their own local cloud (or fakes, in workflow unit tests).
import { createAsyncInferenceActivities } from './async-inference';
import type { AwsClients } from './aws-clients';
import { createAutoscalingActivities } from './autoscaling';
import { createEndpointActivityActivities } from './endpoint-activity';
import { createIamActivities } from './iam';
import { createInferenceComponentActivities } from './inference-components';
import { createRuntimeActivities } from './runtime';
import { createS3Activities } from './s3';
import { createSageMakerActivities } from './sagemaker';
import { createTransformActivities } from './transform';
import { createWorkflowRunActivities } from './workflow-runs';

export function createActivities(clients: AwsClients, env: NodeJS.ProcessEnv = process.env) {
  return {
    ...createIamActivities(clients),
    ...createSageMakerActivities({ sagemaker: clients.sagemaker, secretsManager: clients.secretsManager, env }),
    ...createInferenceComponentActivities(clients),
    ...createAutoscalingActivities(clients),
    ...createRuntimeActivities(clients),
    ...createS3Activities(clients),
    ...createTransformActivities(clients),
    ...createAsyncInferenceActivities(clients),
    ...createWorkflowRunActivities(),
    ...createEndpointActivityActivities(clients),
  };
}

export type Activities = ReturnType<typeof createActivities>;
