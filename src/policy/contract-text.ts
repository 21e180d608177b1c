/**
 * Text from the operator's configuration or from AWS (alarm names and reasons, window names) goes into the
 * Reason and RequestedBy of the requests the functions derive, which follow the API pattern: line breaks
 * and other control characters become spaces, lone surrogates U+FFFD, U+FFFE/U+FFFF spaces, and the text
 * is cut to `max` code points. A derived request must never be refused by the contract.
 */
export const contractText = (text: string, max: number): string =>
  [
    ...text
      // biome-ignore lint/suspicious/noControlCharactersInRegex: replacing control characters is the point.
      .replace(/[\u0000-\u0008\u000A-\u001F\uFFFE\uFFFF]/g, ' ')
      .toWellFormed(),
  ]
    .slice(0, max)
    .join('');
