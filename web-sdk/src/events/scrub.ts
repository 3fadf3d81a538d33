/**
 * Size limits and URL scrubbing for events (errors and vitals). Pure functions: the unit tests
 * hold them to tables, and they run only when an event is emitted, never on the app's hot path.
 */

/** `exception.message` is cut to this many characters. */
export const MAX_MESSAGE_CHARS = 1_024;
/** `exception.stacktrace` is cut to this many characters (about 50 Chromium frames). */
export const MAX_STACK_CHARS = 8_192;
/** Any other string attribute (selectors, URLs, user attributes) is cut to this many characters. */
export const MAX_ATTRIBUTE_CHARS = 512;

const ELLIPSIS = '…';

/** `text` cut to at most `max` characters, marked with an ellipsis when cut. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  // Never split a surrogate pair: a lone half is invalid UTF-8 on the wire.
  let end = max - 1;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  return text.slice(0, end) + ELLIPSIS;
}

/**
 * An absolute URL's query and fragment. It stops before `:line:col` (a stack frame), a closing
 * parenthesis or whitespace, so `at f (https://x/app.js?v=3:10:5)` keeps its position.
 */
const URL_QUERY = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s?#()]*)[?#][^\s()]*?(?=(?::\d+){1,2}(?:[\s()]|$)|[\s()]|$)/gi;

/**
 * Removes query strings and fragments from every absolute URL in `text`: they carry tokens,
 * e-mail addresses and search terms more often than anything a developer needs to debug.
 */
export function stripUrlQueries(text: string): string {
  // Fast path: most messages hold no URL at all.
  if (!text.includes('://')) return text;
  return text.replace(URL_QUERY, '$1');
}
