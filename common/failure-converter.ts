// Loaded by workers through `dataConverter.failureConverterPath` (workflow code runs in a
// sandbox and can only take a converter by module path). With `encodeCommonAttributes`, a
// failure's message and stack trace travel as a payload, so the payload codec encrypts them like
// every input and result; without it, error text would sit in history in clear.
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
