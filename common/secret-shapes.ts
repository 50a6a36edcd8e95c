// What a secret looks like, for the checks that cannot know the value: container environment
// keys that name a secret, and values shaped like a credential. Input validation refuses them
// in a model's environment; the worker's scrubbing removes token shapes from what it emits.
// Workflow-safe: no I/O.

/** Keys that name a secret: HF_TOKEN, HUGGING_FACE_HUB_TOKEN, *_TOKEN, *SECRET*, *PASSWORD*. */
export const SECRET_KEY = /^(HF_TOKEN|HUGGING_FACE_HUB_TOKEN|AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN)$|_TOKEN$|SECRET|PASSWORD/i;

/** A Hugging Face user access token. */
export const HF_TOKEN_SHAPE = /hf_[A-Za-z0-9]{30,}/;
/** An AWS access key id (long-term AKIA, temporary ASIA). */
export const AWS_ACCESS_KEY_ID_SHAPE = /\b(AKIA|ASIA)[A-Z0-9]{16}\b/;
/**
 * An AWS secret access key: 40 base64 characters standing alone, mixing upper and lower case
 * with digits or symbols, so that a 40-character hex git revision does not count.
 */
export const AWS_SECRET_KEY_SHAPE =
  /(?<![A-Za-z0-9/+=])(?=[A-Za-z0-9/+]*[A-Z])(?=[A-Za-z0-9/+]*[a-z])(?=[A-Za-z0-9/+]*[0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/;

export const SECRET_VALUE_SHAPES = [HF_TOKEN_SHAPE, AWS_ACCESS_KEY_ID_SHAPE, AWS_SECRET_KEY_SHAPE];
