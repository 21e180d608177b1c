/**
 * Name patterns as IAM reads them in resource ARNs: `*` matches any run of characters, `?` exactly one,
 * everything else itself. Using IAM's semantics lets the code's allow-list and the generated policy agree.
 */
export const isGlob = (pattern: string): boolean => /[*?]/.test(pattern);

/**
 * Matches without regular expressions, in time proportional to pattern × name at worst: a pattern with
 * many `*` against a long near-miss name cannot backtrack exponentially. Compares code points.
 * @example matchesGlob('daily_*_mv', 'daily_sales_mv') // true
 */
export const matchesGlob = (pattern: string, name: string): boolean => {
  const p = [...pattern];
  const n = [...name];
  let pi = 0;
  let ni = 0;
  // Where the last `*` was, and the name position it currently stands for the end of.
  let star = -1;
  let resume = 0;
  while (ni < n.length) {
    if (pi < p.length && (p[pi] === '?' || (p[pi] !== '*' && p[pi] === n[ni]))) {
      pi++;
      ni++;
    } else if (pi < p.length && p[pi] === '*') {
      star = pi++;
      resume = ni;
    } else if (star >= 0) {
      pi = star + 1;
      ni = ++resume;
    } else {
      return false;
    }
  }
  while (pi < p.length && p[pi] === '*') pi++;
  return pi === p.length;
};
