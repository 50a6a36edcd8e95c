// Parsing untrusted input against a zod schema, for workflows, activities, the CLI and the RAG
// service alike: every problem comes back as `field: rule`, before anything has happened.
// Workflow-safe.
import { ApplicationFailure } from '@temporalio/common';
import type { z } from 'zod';

/** Thrown for bad input; the message lists every problem as `field: rule`. */
export class InvalidInputError extends Error {
  constructor(
    readonly workflowType: string,
    readonly problems: string[],
  ) {
    super(`Invalid ${workflowType} input: ${problems.join('; ')}`);
    this.name = 'InvalidInputError';
  }
}

export function parseInput<S extends z.ZodType>(schema: S, workflowType: string, raw: unknown): z.output<S> {
  // zod says "expected string, received undefined" for a missing field; "is required" reads faster.
  const result = schema.safeParse(raw, { error: (issue) => (issue.input === undefined ? 'is required' : undefined) });
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const field = issue.path.length ? issue.path.join('.') : '(input)';
    return `${field}: ${issue.message}`;
  });
  throw new InvalidInputError(workflowType, problems);
}

/**
 * parseInput for a workflow or an activity: bad input fails the run (or the attempt) as an
 * InvalidInput ApplicationFailure that no retry repeats, its details listing the problems.
 */
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
