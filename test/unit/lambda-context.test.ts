import { describe, expect, it } from 'vitest';
import { accountIdOf } from '../../src/runtime/lambda-context.ts';

describe('accountIdOf', () => {
  it("reads the function's own account from its ARN", () => {
    const context = {
      invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:glue-mv-stop-dev-stopFromQueue',
    };

    const account = accountIdOf(context);

    expect(account).toBe('123456789012');
  });

  it('reads it from a qualified (alias or version) ARN too', () => {
    const context = { invokedFunctionArn: 'arn:aws:lambda:eu-west-1:210987654321:function:stop:live' };

    const account = accountIdOf(context);

    expect(account).toBe('210987654321');
  });

  it.each([
    '',
    'not-an-arn',
    'arn:aws:lambda:us-east-1::function:x',
    'arn:aws:lambda:us-east-1:12345:function:x',
  ])('refuses an ARN without a 12-digit account (%j), quoting it', (invokedFunctionArn) => {
    const read = () => accountIdOf({ invokedFunctionArn });

    expect(read).toThrow(`cannot read the account ID from the function ARN "${invokedFunctionArn}"`);
  });
});
