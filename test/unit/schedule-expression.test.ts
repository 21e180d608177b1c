import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkScheduleExpression, checkTimeZone, closestName } from '../../src/policy/schedule-expression.ts';

describe('checkScheduleExpression: what Scheduler accepts', () => {
  it.each([
    // The examples of the EventBridge cron reference, and the forms of every wildcard it lists.
    'cron(0 10 * * ? *)',
    'cron(15 12 * * ? *)',
    'cron(0 18 ? * MON-FRI *)',
    'cron(0 8 1 * ? *)',
    'cron(0/15 * * * ? *)',
    'cron(0/10 * ? * MON-FRI *)',
    'cron(0/5 8-17 ? * MON-FRI *)',
    'cron(0 9 ? * 2#1 *)',
    'cron(0 2 ? * SAT *)',
    'cron(0 3 * * ? *)',
    'cron(0 3 L * ? *)',
    'cron(0 3 15W * ? *)',
    'cron(0 3 LW * ? *)',
    'cron(0 3 ? * 6L *)',
    'cron(0 3 ? * L *)',
    'cron(0 3 ? * TUE#2 *)',
    'cron(0 0 1 JAN,jul ? 2026-2030)',
    'cron(*/30 0-23/2 1-15/7 */3 ? 1970-2199/5)',
    'cron(5,10,15 1,2 ? * SUN,SAT 2027)',
    'rate(1 minute)',
    'rate(5 minutes)',
    'rate(1 hour)',
    'rate(12 hours)',
    'rate(1 day)',
    'rate(7 days)',
    'at(2026-12-31T18:00:00)',
    'at(2028-02-29T23:59:59)',
  ])('accepts %s', (expression) => {
    expect(checkScheduleExpression(expression)).toEqual([]);
  });
});

describe('checkScheduleExpression: every refusal names the part that is wrong', () => {
  it.each([
    [
      'cron(0 2 * * SAT)',
      'cron-expression',
      'cron(...) takes 6 fields (minutes hours day-of-month month day-of-week year), got 5: a crontab line lacks the year, e.g. cron(0 2 ? * SAT *)',
    ],
    ['cron(0 2 ? * SAT * *)', 'cron-expression', 'cron(...) takes 6 fields'],
    ['cron(75 2 ? * SAT *)', 'cron-expression', 'minutes field "75": 75 is out of range 0-59'],
    ['cron(0 24 ? * SAT *)', 'cron-expression', 'hours field "24": 24 is out of range 0-23'],
    ['cron(0 2 32 * ? *)', 'cron-expression', 'day-of-month field "32": 32 is out of range 1-31'],
    ['cron(0 2 0 * ? *)', 'cron-expression', 'day-of-month field "0": 0 is out of range 1-31'],
    ['cron(0 2 ? 13 SAT *)', 'cron-expression', 'month field "13": 13 is out of range 1-12'],
    ['cron(0 2 ? FOO SAT *)', 'cron-expression', 'month field "FOO": "FOO" is not a value of this field'],
    ['cron(0 2 ? * 8 *)', 'cron-expression', 'day-of-week field "8": 8 is out of range 1-7'],
    ['cron(0 2 ? * SAX *)', 'cron-expression', '"SAX" is not a value of this field (1-7 or SUN-SAT)'],
    ['cron(0 2 ? * SAT 1969)', 'cron-expression', 'year field "1969": 1969 is out of range 1970-2199'],
    ['cron(0 2 ? * SAT,9 *)', 'cron-expression', 'day-of-week field "SAT,9": "9": 9 is out of range 1-7'],
    ['cron(0/0 2 ? * SAT *)', 'cron-expression', 'increment "0" must be a whole number from 1 to 59'],
    ['cron(0/75 2 ? * SAT *)', 'cron-expression', 'increment "75" must be a whole number from 1 to 59'],
    ['cron(0 2 ? * SAT/2 *)', 'cron-expression', 'day-of-week field "SAT/2": does not take increments ("/")'],
    ['cron(0 2 ? ? SAT *)', 'cron-expression', 'month field "?": does not take "?"'],
    ['cron(0 2 ? * 3#6 *)', 'cron-expression', 'the instance after "#" must be 1-5'],
    ['cron(0 2 ? * 3#1,6#3 *)', 'cron-expression', '"#" takes one weekday and its instance (no list)'],
    ['cron(0 2 15# * ? *)', 'cron-expression', 'day-of-month field "15#": does not take "#"'],
    ['cron(0 2 1-5-9 * ? *)', 'cron-expression', 'day-of-month field "1-5-9": is not a value or a range'],
    ['cron(0 2 1,,5 * ? *)', 'cron-expression', 'day-of-month field "1,,5": has an empty entry in its list'],
    [
      'cron(0 2 * * SAT *)',
      'cron-expression',
      'day-of-month "*" and day-of-week "SAT": exactly one of them must be "?"',
    ],
    ['cron(0 2 ? * ? *)', 'cron-expression', 'day-of-month and day-of-week are both "?"'],
    ['rate(0 minutes)', 'rate-expression', 'rate value "0" must be a whole number of at least 1'],
    ['rate(-5 minutes)', 'rate-expression', 'rate value "-5" must be a whole number of at least 1'],
    ['rate(1.5 hours)', 'rate-expression', 'rate value "1.5" must be a whole number of at least 1'],
    ['rate(1 minutes)', 'rate-expression', 'a rate of 1 takes the singular: rate(1 minute)'],
    ['rate(5 minute)', 'rate-expression', 'a rate above 1 takes the plural: rate(5 minutes)'],
    ['rate(2 weeks)', 'rate-expression', 'rate unit "weeks" must be minute(s), hour(s) or day(s)'],
    ['rate(5)', 'rate-expression', 'rate(...) takes a value and a unit, e.g. rate(15 minutes)'],
    ['at(2026-12-31 18:00:00)', 'at-expression', 'must be a local date and time yyyy-mm-ddThh:mm:ss'],
    ['at(2026-12-31T18:00:00Z)', 'at-expression', 'must be a local date and time yyyy-mm-ddThh:mm:ss'],
    ['at(2027-02-29T00:00:00)', 'at-expression', 'at(2027-02-29T00:00:00): day 29 is not 01-28 (2027-02)'],
    ['at(2026-04-31T00:00:00)', 'at-expression', 'day 31 is not 01-30 (2026-04)'],
    ['at(2026-12-31T23:60:00)', 'at-expression', 'minute 60 is not 00-59'],
    ['at(2026-12-31T23:00:60)', 'at-expression', 'second 60 is not 00-59'],
    ['every night', 'schedule-expression', 'must be cron(...), rate(...) or at(...)'],
  ])('refuses %s (%s): %s', (expression, rule, message) => {
    const problems = checkScheduleExpression(expression);

    expect(problems.length).toBeGreaterThan(0);
    expect(problems.every((problem) => problem.rule === rule)).toBe(true);
    expect(problems.map((problem) => problem.message).join('\n')).toContain(message);
  });

  it('names each wrong part of a date-time once: at(2026-13-45T99:00:00)', () => {
    expect(checkScheduleExpression('at(2026-13-45T99:00:00)')).toEqual([
      { rule: 'at-expression', message: 'at(2026-13-45T99:00:00): month 13 is not 01-12' },
      { rule: 'at-expression', message: 'at(2026-13-45T99:00:00): day 45 is not 01-31' },
      { rule: 'at-expression', message: 'at(2026-13-45T99:00:00): hour 99 is not 00-23' },
    ]);
  });

  it('names every wrong field of a cron expression, one problem each', () => {
    const problems = checkScheduleExpression('cron(60 24 ? 13 SAT 1900)');

    expect(problems.map((problem) => problem.message.split(' field')[0])).toEqual([
      'minutes',
      'hours',
      'month',
      'year',
    ]);
  });

  it('accepts every minute and hour value, and refuses the first one past the range', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 23 }), (minute, hour) => {
        expect(checkScheduleExpression(`cron(${minute} ${hour} ? * MON *)`)).toEqual([]);
      }),
    );
    expect(checkScheduleExpression('cron(60 0 ? * MON *)')).toHaveLength(1);
    expect(checkScheduleExpression('cron(0 24 ? * MON *)')).toHaveLength(1);
  });

  it('accepts at() exactly for the real calendar dates', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('1970-01-01'), max: new Date('2199-12-31'), noInvalidDate: true }),
        (date) => {
          const local = date.toISOString().slice(0, 19);
          expect(checkScheduleExpression(`at(${local})`)).toEqual([]);
        },
      ),
    );
  });
});

describe('checkTimeZone', () => {
  it.each([
    'Europe/Berlin',
    'UTC',
    'Etc/UTC',
    'Etc/GMT+5',
    'US/Pacific',
    'America/Argentina/Buenos_Aires',
    'EST5EDT',
  ])('accepts %s', (zone) => {
    expect(checkTimeZone(zone)).toBeUndefined();
  });

  it('accepts every zone the runtime lists', () => {
    for (const zone of Intl.supportedValuesOf('timeZone')) expect(checkTimeZone(zone)).toBeUndefined();
  });

  it.each([
    ['Europe/Berln', '"Europe/Berln" is not an IANA time zone (did you mean "Europe/Berlin"?)'],
    ['europe/berlin', '"europe/berlin" is not an IANA time zone (did you mean "Europe/Berlin"?)'],
    ['utc', '"utc" is not an IANA time zone (did you mean "UTC"?)'],
    ['+01:00', '"+01:00" is not an IANA time zone, e.g. "Europe/Berlin" or "UTC"'],
    ['Mars/Olympus_Mons', '"Mars/Olympus_Mons" is not an IANA time zone, e.g. "Europe/Berlin" or "UTC"'],
  ])('refuses %s, suggesting the zone meant', (zone, message) => {
    expect(checkTimeZone(zone)).toEqual({ rule: 'time-zone', message });
  });
});

describe('closestName', () => {
  it.each([
    ['tabels', ['database', 'tables'], 'tables'],
    ['table', ['database', 'tables'], 'tables'],
    ['dryrun', ['allow', 'dryRun', 'glue'], 'dryRun'],
    ['requestPerSecond', ['requestsPerSecond'], 'requestsPerSecond'],
    ['colour', ['database', 'tables'], undefined],
    ['x', ['database', 'tables'], undefined],
  ])('%s among %j: %s', (name, candidates, expected) => {
    expect(closestName(name, candidates)).toBe(expected);
  });
});
