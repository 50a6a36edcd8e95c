// Input validation that fails the way AWS's front end does: every constraint violation in the
// request is collected and reported in one ValidationException, in Coral's wording
// ("1 validation error detected: Value 'a_b' at 'endpointName' failed to satisfy constraint:
// Member must satisfy regular expression pattern: ..."). Paths use AWS's lowerCamel member
// names and `list.N.member` indexing, so messages match what callers see from the real service.
// Constraints come from botocore's service model (data/sagemaker/2017-07-24/service-2.json).
import { AwsServiceError, validationError } from './protocol.js';

/** EndpointName, EndpointConfigName, VariantName, ContainerHostname. */
export const RESOURCE_NAME_PATTERN = '^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}';
/** ModelName: the same language, written differently in the model; AWS reports this text. */
export const MODEL_NAME_PATTERN = '^[a-zA-Z0-9]([\\-a-zA-Z0-9]*[a-zA-Z0-9])?';
export const ROLE_ARN_PATTERN = '^arn:aws[a-z\\-]*:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+';
export const SAGEMAKER_ARN_PATTERN = '^arn:aws[a-z-]*:sagemaker:[a-z0-9-]*:[0-9]{12}:.+';
export const NAME_CONTAINS_PATTERN = '[a-zA-Z0-9-]+';

const fullMatch = (pattern: string) => new RegExp(`^(?:${pattern.replace(/^\^/, '')})$`, 'u');

export class InputChecks {
  private readonly problems: string[] = [];

  private fail(value: unknown, path: string, constraint: string): void {
    const shown = value === undefined || value === null ? 'null' : `'${String(value)}'`;
    this.problems.push(`Value ${shown} at '${path}' failed to satisfy constraint: ${constraint}`);
  }

  /** Present and of JSON type string; returns whether further checks make sense. */
  requiredString(value: unknown, path: string): value is string {
    if (value === undefined || value === null) {
      this.fail(value, path, 'Member must not be null');
      return false;
    }
    return this.isString(value, path);
  }

  optionalString(value: unknown, path: string): value is string {
    return value !== undefined && value !== null && this.isString(value, path);
  }

  private isString(value: unknown, path: string): value is string {
    if (typeof value === 'string') return true;
    // The SDKs never send this; a hand-written request might. AWS rejects it at deserialization.
    throw new AwsServiceError('SerializationException', `Expected a string at '${path}'.`);
  }

  required(value: unknown, path: string): boolean {
    if (value !== undefined && value !== null) return true;
    this.fail(value, path, 'Member must not be null');
    return false;
  }

  pattern(value: string, path: string, pattern: string): void {
    if (!fullMatch(pattern).test(value)) {
      this.fail(value, path, `Member must satisfy regular expression pattern: ${pattern}`);
    }
  }

  /** For patterns JavaScript cannot run as written (Java's \p{Print}, \A, \z): `regex` is the equivalent, `pattern` what AWS reports. */
  matches(value: string, path: string, regex: RegExp, pattern: string): void {
    if (!regex.test(value)) this.fail(value, path, `Member must satisfy regular expression pattern: ${pattern}`);
  }

  maxLength(value: string | readonly unknown[], path: string, max: number): void {
    if (value.length > max) this.fail(this.show(value), path, `Member must have length less than or equal to ${max}`);
  }

  minLength(value: string | readonly unknown[], path: string, min: number): void {
    if (value.length < min) this.fail(this.show(value), path, `Member must have length greater than or equal to ${min}`);
  }

  /** A resource name: length 1..63 and the name pattern. */
  name(value: unknown, path: string, pattern = RESOURCE_NAME_PATTERN): value is string {
    if (!this.requiredString(value, path)) return false;
    const before = this.problems.length;
    this.maxLength(value, path, 63);
    this.pattern(value, path, pattern);
    return this.problems.length === before;
  }

  integerAtLeast(value: unknown, path: string, min: number, max?: number): void {
    if (value === undefined || value === null) return;
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      throw new AwsServiceError('SerializationException', `Expected an integer at '${path}'.`);
    }
    if (value < min) this.fail(value, path, `Member must have value greater than or equal to ${min}`);
    if (max !== undefined && value > max) this.fail(value, path, `Member must have value less than or equal to ${max}`);
  }

  numberAtLeast(value: unknown, path: string, min: number): void {
    if (value === undefined || value === null) return;
    if (typeof value !== 'number') throw new AwsServiceError('SerializationException', `Expected a number at '${path}'.`);
    if (value < min) this.fail(value, path, `Member must have value greater than or equal to ${min}`);
  }

  oneOf(value: unknown, path: string, allowed: readonly string[]): void {
    if (value === undefined || value === null) return;
    if (!this.isString(value, path)) return;
    if (!allowed.includes(value)) this.fail(value, path, `Member must satisfy enum value set: [${allowed.join(', ')}]`);
  }

  list(value: unknown, path: string, { required = false, min = 0, max = Infinity } = {}): value is unknown[] {
    if (value === undefined || value === null) {
      if (required) this.fail(value, path, 'Member must not be null');
      return false;
    }
    if (!Array.isArray(value)) throw new AwsServiceError('SerializationException', `Expected a list at '${path}'.`);
    if (value.length < min) this.fail(this.show(value), path, `Member must have length greater than or equal to ${min}`);
    if (value.length > max) this.fail(this.show(value), path, `Member must have length less than or equal to ${max}`);
    return true;
  }

  /** Tags as AWS validates them on every create call that takes Tags, and on AddTags. */
  tags(value: unknown, path: string): void {
    if (!this.list(value, path, { max: 50 })) return;
    value.forEach((tag, i) => {
      const at = `${path}.${i + 1}.member`;
      const { Key, Value } = (tag ?? {}) as { Key?: unknown; Value?: unknown };
      if (this.requiredString(Key, `${at}.key`)) {
        this.minLength(Key, `${at}.key`, 1);
        this.maxLength(Key, `${at}.key`, 128);
        this.pattern(Key, `${at}.key`, '^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$');
      }
      if (this.requiredString(Value, `${at}.value`)) {
        this.maxLength(Value, `${at}.value`, 256);
        this.pattern(Value, `${at}.value`, '^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$');
      }
    });
  }

  private show(value: string | readonly unknown[]): unknown {
    return typeof value === 'string' ? value : `[${value.length} items]`;
  }

  /** Throws one ValidationException listing every problem found so far. */
  done(): void {
    const n = this.problems.length;
    if (n === 0) return;
    throw validationError(`${n} validation error${n === 1 ? '' : 's'} detected: ${this.problems.join('; ')}`);
  }
}
