/**
 * The optional e-mail subscription to the alarm topic. With the stage param `alarmEmail` set, an
 * `AWS::SNS::Subscription` (the address must confirm it); empty, nothing. Deciding at package time keeps
 * the template free of a condition whose value is fixed anyway.
 */
import { fragment, type ResourcesFragment, ref } from './cfn.ts';

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/u;

/** A fragment for serverless.yml's `resources` array: `{}` or `{ Resources: { AlarmEmailSubscription } }`. */
export const alarmEmailResources = (alarmEmail: unknown): ResourcesFragment => {
  const email = alarmEmail == null ? '' : String(alarmEmail).trim();
  if (email === '') return {};
  if (!EMAIL.test(email)) throw new Error(`param alarmEmail is not an e-mail address: "${email}"`);
  return fragment({
    AlarmEmailSubscription: {
      Type: 'AWS::SNS::Subscription',
      Properties: { TopicArn: ref('AlarmTopic'), Protocol: 'email', Endpoint: email },
    },
  });
};
