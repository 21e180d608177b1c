import type { Context } from 'aws-lambda';

/**
 * The account the function runs in, from its own ARN (`arn:aws:lambda:<region>:<account>:function:<name>`).
 * It is the default CatalogId; the `account` field of an incoming event names the publisher, not us.
 */
export const accountIdOf = (context: Pick<Context, 'invokedFunctionArn'>): string => {
  const account = context.invokedFunctionArn.split(':')[4];
  if (account === undefined || !/^\d{12}$/.test(account)) {
    throw new Error(`cannot read the account ID from the function ARN "${context.invokedFunctionArn}"`);
  }
  return account;
};
