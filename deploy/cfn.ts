/**
 * CloudFormation JSON as the deploy/ modules build it: a few types and the intrinsic functions they use.
 * No AWS credentials are needed at package time: account, region and partition stay `${AWS::…}`
 * references for CloudFormation to fill in.
 */

export type Json = null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json };
export type JsonObject = { readonly [key: string]: Json };

export interface Resource {
  readonly Type: string;
  readonly Metadata?: JsonObject;
  readonly Properties: JsonObject;
}

export type Resources = Record<string, Resource>;

/** An element of serverless.yml's `resources` array: `{}` when there is nothing to add. */
export type ResourcesFragment = { readonly Resources: Resources } | Record<string, never>;

export const fragment = (resources: Resources): ResourcesFragment =>
  Object.keys(resources).length === 0 ? {} : { Resources: resources };

export const ref = (logicalId: string): JsonObject => ({ Ref: logicalId });
export const getAtt = (logicalId: string, attribute: string): JsonObject => ({
  'Fn::GetAtt': [logicalId, attribute],
});
export const sub = (text: string): JsonObject => ({ 'Fn::Sub': text });

/** `${AWS::AccountId}` and friends, for `Fn::Sub` text. */
export const ACCOUNT = `\${AWS::AccountId}`;
export const PARTITION = `\${AWS::Partition}`;
export const REGION = `\${AWS::Region}`;

export interface Statement {
  readonly Sid?: string;
  readonly Effect: 'Allow';
  readonly Principal?: JsonObject;
  readonly Action: string | readonly string[];
  /** Absent in trust policies only. */
  readonly Resource?: Json;
  readonly Condition?: JsonObject;
}

export const policyDocument = (statements: readonly Statement[]): JsonObject => ({
  Version: '2012-10-17',
  Statement: statements as unknown as Json,
});

/** One action as a string, several as a list (as IAM and the hand-written template had them). */
export const actions = (list: readonly string[]): string | readonly string[] =>
  list.length === 1 ? (list[0] as string) : list;

/** A trust policy that lets `service` assume the role, under `condition` if given. */
export const assumedBy = (service: string, condition?: JsonObject): JsonObject =>
  policyDocument([
    {
      Effect: 'Allow',
      Principal: { Service: service },
      Action: 'sts:AssumeRole',
      ...(condition ? { Condition: condition } : {}),
    },
  ]);

/** Text that `Fn::Sub` must keep as it is: `${` would start a reference, `${!` is its escape. */
export const subLiteral = (text: string): string => text.replaceAll('${', '${!');
