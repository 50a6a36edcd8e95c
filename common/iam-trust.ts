// Reading an IAM trust policy: shared by the activity that reuses an execution role and by
// the local cloud, which refuses roles SageMaker could not assume, as AWS does.
export const SAGEMAKER_PRINCIPAL = 'sagemaker.amazonaws.com';

interface PolicyStatement {
  Effect?: string;
  Action?: string | string[];
  Principal?: string | { Service?: string | string[]; AWS?: string | string[] };
}

const asList = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** True when the role's trust policy lets SageMaker assume it (an Allow of sts:AssumeRole). */
export function trustsSageMaker(policyDocument: string | undefined): boolean {
  if (!policyDocument) return false;
  // IAM returns the trust policy URL-encoded; moto follows AWS here.
  const text = policyDocument.trimStart().startsWith('{') ? policyDocument : decodeURIComponent(policyDocument);
  let statements: PolicyStatement[];
  try {
    const parsed = JSON.parse(text) as { Statement?: PolicyStatement | PolicyStatement[] };
    statements = Array.isArray(parsed.Statement) ? parsed.Statement : parsed.Statement ? [parsed.Statement] : [];
  } catch {
    return false;
  }
  return statements.some((s) => {
    if (s.Effect !== 'Allow') return false;
    if (!asList(s.Action).some((a) => ['sts:AssumeRole', 'sts:*', '*'].includes(a))) return false;
    if (s.Principal === '*') return true;
    if (typeof s.Principal !== 'object') return false;
    return asList(s.Principal.Service).includes(SAGEMAKER_PRINCIPAL) || asList(s.Principal.AWS).includes('*');
  });
}
