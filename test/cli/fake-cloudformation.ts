/**
 * A stand-in for CloudFormation's DescribeStacks on loopback, for the CLI's `--stage` lookups. It speaks
 * the awsQuery protocol the real `@aws-sdk/client-cloudformation` uses (form-encoded POST, XML answers,
 * `ValidationError` for a stack that does not exist), so the CLI reaches it through
 * `AWS_ENDPOINT_URL_CLOUDFORMATION` with no test-only code path.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeCloudFormation {
  readonly url: string;
  /** Stack name → outputs. */
  readonly stacks: Map<string, Record<string, string>>;
  readonly calls: string[];
  close(): Promise<void>;
}

const xml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const NS = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';

export const startFakeCloudFormation = async (): Promise<FakeCloudFormation> => {
  const stacks = new Map<string, Record<string, string>>();
  const calls: string[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString('utf8');
    });
    request.on('end', () => {
      const form = new URLSearchParams(body);
      const action = form.get('Action') ?? '';
      const stackName = form.get('StackName') ?? '';
      calls.push(`${action} ${stackName}`);
      const outputs = stacks.get(stackName);
      response.setHeader('content-type', 'text/xml');
      if (action !== 'DescribeStacks' || outputs === undefined) {
        response.statusCode = 400;
        response.end(
          `<ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>ValidationError</Code>` +
            `<Message>Stack with id ${xml(stackName)} does not exist</Message></Error>` +
            '<RequestId>fake</RequestId></ErrorResponse>',
        );
        return;
      }
      const members = Object.entries(outputs)
        .map(
          ([key, value]) =>
            `<member><OutputKey>${xml(key)}</OutputKey><OutputValue>${xml(value)}</OutputValue></member>`,
        )
        .join('');
      response.end(
        `<DescribeStacksResponse xmlns="${NS}"><DescribeStacksResult><Stacks><member>` +
          `<StackName>${xml(stackName)}</StackName>` +
          `<StackId>arn:aws:cloudformation:us-east-1:123456789012:stack/${xml(stackName)}/fake</StackId>` +
          '<CreationTime>2026-11-29T00:00:00.000Z</CreationTime><StackStatus>UPDATE_COMPLETE</StackStatus>' +
          `<Outputs>${members}</Outputs></member></Stacks></DescribeStacksResult>` +
          '<ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata></DescribeStacksResponse>',
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stacks,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
};
