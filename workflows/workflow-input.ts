// Input handling shared by the workflows: validation that fails the run before any activity,
// and the EndpointName search attribute that lets the Web UI filter runs by endpoint.
import { ApplicationFailure, upsertSearchAttributes } from '@temporalio/workflow';
import type { z } from 'zod';
import { InvalidInputError, parseInput } from '../common/input-parsing.js';
import { ENDPOINT_NAME_ATTRIBUTE } from '../common/resource-names.js';

export function validateInput<S extends z.ZodType>(schema: S, workflowType: string, raw: unknown): z.output<S> {
  try {
    return parseInput(schema, workflowType, raw);
  } catch (err) {
    if (err instanceof InvalidInputError) {
      throw ApplicationFailure.create({ message: err.message, type: 'InvalidInput', nonRetryable: true, details: [{ problems: err.problems }] });
    }
    throw err;
  }
}

export function tagWithEndpointName(endpointName: string): void {
  upsertSearchAttributes([{ key: ENDPOINT_NAME_ATTRIBUTE, value: endpointName }]);
}
