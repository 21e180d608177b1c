/**
 * EventBridge Scheduler's schedule expressions and time zones, checked part by part, so that a mistake in a
 * maintenance window is reported at package time with the part that is wrong rather than by CloudFormation
 * halfway through a deployment. The rules are those of the Scheduler and EventBridge cron reference:
 * https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html and
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cron-expressions.html
 *
 *   cron(minutes hours day-of-month month day-of-week year)   e.g. cron(0 2 ? * SAT *)
 *   rate(value unit)                                          e.g. rate(1 hour), rate(15 minutes)
 *   at(yyyy-mm-ddThh:mm:ss)                                   e.g. at(2026-12-31T18:00:00)
 */

/** Which rule of the expression syntax a problem breaks. */
export type ScheduleRule = 'schedule-expression' | 'cron-expression' | 'rate-expression' | 'at-expression';

export interface ScheduleProblem {
  readonly rule: ScheduleRule | 'time-zone';
  /** Names the part of the expression that is wrong, e.g. `minutes field "75": 75 is out of range 0-59`. */
  readonly message: string;
}

/** The outer shape every expression has; what is inside the parentheses is checked by kind. */
export const SCHEDULE_EXPRESSION_SHAPE = /^(cron|rate|at)\((.+)\)$/;

interface CronField {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  /** Upper-case names standing for min, min + 1, … (JAN-DEC, SUN-SAT). */
  readonly names?: readonly string[];
  readonly question?: boolean;
  readonly increments?: boolean;
  /** `L` (last day), and for day-of-month `W` (nearest weekday), for day-of-week `#` (nth weekday). */
  readonly special?: 'day-of-month' | 'day-of-week';
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

/** The six fields, in order, with the values and wildcards the reference allows in each. */
const CRON_FIELDS: readonly CronField[] = [
  { name: 'minutes', min: 0, max: 59, increments: true },
  { name: 'hours', min: 0, max: 23, increments: true },
  { name: 'day-of-month', min: 1, max: 31, question: true, increments: true, special: 'day-of-month' },
  { name: 'month', min: 1, max: 12, names: MONTHS, increments: true },
  // The reference lists no `/` for day-of-week.
  { name: 'day-of-week', min: 1, max: 7, names: WEEKDAYS, question: true, special: 'day-of-week' },
  { name: 'year', min: 1970, max: 2199, increments: true },
];

const rangeText = (field: CronField): string =>
  `${field.min}-${field.max}${field.names ? ` or ${field.names[0]}-${field.names.at(-1)}` : ''}`;

/** A single value of a field (a number or a name), or why it is not one. */
const fieldValue = (field: CronField, text: string): { value: number } | { problem: string } => {
  if (/^\d+$/.test(text)) {
    const value = Number(text);
    return value >= field.min && value <= field.max
      ? { value }
      : { problem: `${value} is out of range ${field.min}-${field.max}` };
  }
  const index = field.names?.indexOf(text.toUpperCase()) ?? -1;
  if (index >= 0) return { value: field.min + index };
  return { problem: `"${text}" is not a value of this field (${rangeText(field)})` };
};

/** One comma-separated item: `*`, a value, a range, any of those with an increment, or a special form. */
const itemProblem = (field: CronField, item: string): string | undefined => {
  if (item === '') return 'has an empty entry in its list';
  const upper = item.toUpperCase();
  if (field.special === 'day-of-month') {
    if (upper === 'L' || upper === 'LW') return undefined;
    const weekday = /^(\d+)W$/.exec(upper);
    if (weekday?.[1] !== undefined) {
      const day = fieldValue(field, weekday[1]);
      return 'problem' in day ? day.problem : undefined;
    }
  }
  if (field.special === 'day-of-week') {
    const last = /^([^-/*,]+)?L$/.exec(upper);
    if (last) {
      if (last[1] === undefined) return undefined;
      const day = fieldValue(field, last[1]);
      return 'problem' in day ? day.problem : undefined;
    }
  }
  const [range = '', increment, ...more] = item.split('/');
  if (more.length > 0) return 'has more than one "/"';
  if (increment !== undefined) {
    if (!field.increments) return 'does not take increments ("/")';
    if (!/^\d+$/.test(increment) || Number(increment) < 1 || Number(increment) > field.max) {
      return `increment "${increment}" must be a whole number from 1 to ${field.max}`;
    }
  }
  if (range === '*') return undefined;
  const bounds = range.split('-');
  if (bounds.length > 2 || bounds.includes('')) return `is not a value or a range (${rangeText(field)})`;
  for (const bound of bounds) {
    const value = fieldValue(field, bound);
    if ('problem' in value) return value.problem;
  }
  return undefined;
};

const fieldProblem = (field: CronField, text: string): string | undefined => {
  if (text === '?') {
    return field.question ? undefined : 'does not take "?" (only day-of-month and day-of-week do)';
  }
  if (text.includes('?')) return '"?" must stand alone';
  if (text.includes('#')) {
    if (field.special !== 'day-of-week') return 'does not take "#" (only day-of-week does)';
    const nth = /^([^#,]+)#(\d+)$/.exec(text);
    if (!nth?.[1] || !nth[2]) return '"#" takes one weekday and its instance (no list), e.g. 3#2 or TUE#2';
    const day = fieldValue(field, nth[1]);
    if ('problem' in day) return day.problem;
    const instance = Number(nth[2]);
    return instance >= 1 && instance <= 5
      ? undefined
      : 'the instance after "#" must be 1-5 (the nth such weekday of the month)';
  }
  const items = text.split(',');
  for (const item of items) {
    const problem = itemProblem(field, item);
    // In a list, say which entry is wrong; a lone entry is the field the message already quotes.
    if (problem) return items.length > 1 && item !== '' ? `"${item}": ${problem}` : problem;
  }
  return undefined;
};

const cronProblems = (inner: string): ScheduleProblem[] => {
  const fields = inner.trim().split(/\s+/);
  if (fields.length !== CRON_FIELDS.length) {
    return [
      {
        rule: 'cron-expression',
        message:
          `cron(...) takes 6 fields (minutes hours day-of-month month day-of-week year), got ${fields.length}` +
          (fields.length === 5 ? ': a crontab line lacks the year, e.g. cron(0 2 ? * SAT *)' : ''),
      },
    ];
  }
  const problems: ScheduleProblem[] = [];
  CRON_FIELDS.forEach((field, index) => {
    const text = fields[index] ?? '';
    const problem = fieldProblem(field, text);
    if (problem)
      problems.push({ rule: 'cron-expression', message: `${field.name} field "${text}": ${problem}` });
  });
  const [dayOfMonth, dayOfWeek] = [fields[2], fields[4]];
  if ((dayOfMonth === '?') === (dayOfWeek === '?')) {
    problems.push({
      rule: 'cron-expression',
      message:
        dayOfMonth === '?'
          ? 'day-of-month and day-of-week are both "?": one of them must name the days (or be "*")'
          : `day-of-month "${dayOfMonth}" and day-of-week "${dayOfWeek}": exactly one of them must be "?", ` +
            `e.g. cron(0 2 ? * ${dayOfWeek} *) or cron(0 2 ${dayOfMonth} * ? *)`,
    });
  }
  return problems;
};

const RATE_UNITS = new Set(['minute', 'hour', 'day']);

const rateProblems = (inner: string): ScheduleProblem[] => {
  const problem = (message: string): ScheduleProblem[] => [{ rule: 'rate-expression', message }];
  const parts = inner.trim().split(/\s+/);
  if (parts.length !== 2) return problem('rate(...) takes a value and a unit, e.g. rate(15 minutes)');
  const [valueText = '', unit = ''] = parts;
  if (!/^\d+$/.test(valueText) || Number(valueText) < 1) {
    return problem(`rate value "${valueText}" must be a whole number of at least 1`);
  }
  const value = Number(valueText);
  const singular = unit.endsWith('s') ? unit.slice(0, -1) : unit;
  if (!RATE_UNITS.has(singular)) {
    return problem(`rate unit "${unit}" must be minute(s), hour(s) or day(s)`);
  }
  if (value === 1 && unit !== singular) return problem(`a rate of 1 takes the singular: rate(1 ${singular})`);
  if (value > 1 && unit === singular) {
    return problem(`a rate above 1 takes the plural: rate(${value} ${singular}s)`);
  }
  return [];
};

const daysIn = (year: number, month: number): number => new Date(Date.UTC(year, month, 0)).getUTCDate();

const atProblems = (inner: string): ScheduleProblem[] => {
  const parts = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/.exec(inner);
  if (!parts) {
    return [
      {
        rule: 'at-expression',
        message: `at(${inner}) must be a local date and time yyyy-mm-ddThh:mm:ss, e.g. at(2026-12-31T18:00:00)`,
      },
    ];
  }
  const [year, month, day, hour, minute, second] = parts.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const wrong: string[] = [];
  if (month < 1 || month > 12) wrong.push(`month ${parts[2]} is not 01-12`);
  const lastDay = month >= 1 && month <= 12 ? daysIn(year, month) : 31;
  if (day < 1 || day > lastDay) {
    wrong.push(
      `day ${parts[3]} is not 01-${lastDay}${month >= 1 && month <= 12 ? ` (${parts[1]}-${parts[2]})` : ''}`,
    );
  }
  if (hour > 23) wrong.push(`hour ${parts[4]} is not 00-23`);
  if (minute > 59) wrong.push(`minute ${parts[5]} is not 00-59`);
  if (second > 59) wrong.push(`second ${parts[6]} is not 00-59`);
  return wrong.map((message) => ({ rule: 'at-expression', message: `at(${inner}): ${message}` }));
};

/**
 * Every problem of a Scheduler expression, each naming the part that is wrong; `[]` for a valid one.
 * @example checkScheduleExpression('cron(75 2 ? * SAT *)')
 *   // [{ rule: 'cron-expression', message: 'minutes field "75": 75 is out of range 0-59' }]
 */
export const checkScheduleExpression = (expression: string): ScheduleProblem[] => {
  const shape = SCHEDULE_EXPRESSION_SHAPE.exec(expression);
  const [kind, inner = ''] = shape ? shape.slice(1) : [];
  if (kind === 'cron') return cronProblems(inner);
  if (kind === 'rate') return rateProblems(inner);
  if (kind === 'at') return atProblems(inner);
  return [{ rule: 'schedule-expression', message: 'must be cron(...), rate(...) or at(...)' }];
};

/** Optimal string alignment distance: edits, with a swap of two neighbours counting as one. */
const editDistance = (a: string, b: string): number => {
  const rows = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number): number => rows[i]?.[j] ?? Number.POSITIVE_INFINITY;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, at(i - 2, j - 2) + 1);
      const row = rows[i];
      if (row) row[j] = best;
    }
  }
  return at(a.length, b.length);
};

/**
 * The candidate closest to `name` (ignoring case), if it is close enough to be what was meant: a typo, a
 * swapped pair of letters, a missing or extra letter. Used for field names and time zones.
 * @example closestName('tabels', ['database', 'tables']) // 'tables'
 */
export const closestName = (name: string, candidates: Iterable<string>): string | undefined => {
  const wanted = name.toLowerCase();
  const allowed = Math.max(1, Math.min(3, Math.floor(wanted.length / 3)));
  let best: { name: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(wanted, candidate.toLowerCase());
    if (distance <= allowed && (!best || distance < best.distance)) best = { name: candidate, distance };
  }
  return best?.name;
};

let zoneNames: readonly string[] | undefined;
/** The IANA zones the runtime knows, canonical names only (aliases such as `US/Pacific` are not listed). */
const ianaZones = (): readonly string[] => {
  zoneNames ??= [...Intl.supportedValuesOf('timeZone'), 'UTC'];
  return zoneNames;
};

/** What an IANA name looks like: segments that start with a capital (`Etc/GMT+5`, `EST5EDT`, `UTC`). */
const IANA_NAME = /^[A-Z][A-Za-z0-9_+-]*(\/[A-Z][A-Za-z0-9_+-]*)*$/;

/** The runtime's time zone database decides whether a name it does not list (an alias) exists. */
const runtimeKnows = (zone: string): boolean => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
};

/**
 * Whether `zone` is an IANA time zone name, as Scheduler's `ScheduleExpressionTimezone` takes it: canonical
 * names, the aliases the time zone database keeps (`US/Pacific`, `Etc/GMT+5`), spelled with their capitals.
 * Offsets (`+01:00`) are refused: they are not zone names.
 * @example checkTimeZone('Europe/Berln')
 *   // { rule: 'time-zone', message: '"Europe/Berln" is not an IANA time zone (did you mean "Europe/Berlin"?)' }
 */
export const checkTimeZone = (zone: string): ScheduleProblem | undefined => {
  const zones = ianaZones();
  if (zones.includes(zone)) return undefined;
  if (IANA_NAME.test(zone) && runtimeKnows(zone)) return undefined;
  const sameLetters = zones.find((name) => name.toLowerCase() === zone.toLowerCase());
  const suggestion = sameLetters ?? closestName(zone, zones);
  return {
    rule: 'time-zone',
    message: `"${zone}" is not an IANA time zone${
      suggestion ? ` (did you mean "${suggestion}"?)` : ', e.g. "Europe/Berlin" or "UTC"'
    }`,
  };
};
