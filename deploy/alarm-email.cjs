'use strict';
/**
 * Variable resolver for serverless.yml: the optional e-mail subscription to the alarm topic.
 *
 *   resources:
 *     - Resources: ...
 *     - ${file(./deploy/alarm-email.cjs):resources}
 *
 * With the stage param `alarmEmail` set, it adds an `AWS::SNS::Subscription` (the address must confirm
 * it); empty, it adds nothing. Deciding at package time keeps the template free of a condition whose
 * value is fixed anyway.
 */

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/u;

/** @returns {object} a fragment for the `resources` array: `{}` or `{ Resources: { AlarmEmailSubscription } }` */
function alarmEmailResources(alarmEmail) {
  const email = alarmEmail == null ? '' : String(alarmEmail).trim();
  if (email === '') return {};
  if (!EMAIL.test(email)) throw new Error(`param alarmEmail is not an e-mail address: "${email}"`);
  return {
    Resources: {
      AlarmEmailSubscription: {
        Type: 'AWS::SNS::Subscription',
        Properties: {
          TopicArn: { Ref: 'AlarmTopic' },
          Protocol: 'email',
          Endpoint: email,
        },
      },
    },
  };
}

module.exports = {
  alarmEmailResources,
  /** Serverless variable source: `${file(./deploy/alarm-email.cjs):resources}`. */
  resources: async ({ resolveVariable }) => alarmEmailResources(await resolveVariable('param:alarmEmail')),
};
