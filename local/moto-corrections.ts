// Where moto's answers differ from AWS's in ways our callers depend on, the local cloud
// corrects them on the way back. Each correction names the AWS behaviour it restores.
const AUTOSCALING_TARGET = /^AnyScaleFrontendService\./;

/**
 * Application Auto Scaling answers ObjectNotFoundException for a missing scalable target or
 * policy (DeregisterScalableTarget, DeleteScalingPolicy); moto says ValidationException.
 * Returns the corrected body, or undefined when no correction applies.
 */
export function correctMotoError(amzTarget: string | undefined, status: number, body: string): string | undefined {
  if (status < 400 || !amzTarget || !AUTOSCALING_TARGET.test(amzTarget)) return undefined;
  let parsed: { __type?: string; message?: string; Message?: string };
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  const message = parsed.message ?? parsed.Message ?? '';
  if (parsed.__type?.endsWith('ValidationException') && /^No (scalable target|scaling policy) found/i.test(message)) {
    return JSON.stringify({ __type: 'ObjectNotFoundException', message });
  }
  return undefined;
}
