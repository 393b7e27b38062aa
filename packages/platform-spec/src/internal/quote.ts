/** Longest part of a value an error message repeats, in characters. */
export const QUOTE_MAX_CHARS = 60;

/** A URL's user info (`user:token@`) replaced, so an error never repeats a credential. */
const redactUserInfo = (s: string): string => s.replace(/^([a-z][a-z0-9+.-]{0,31}:\/\/)[^/\s@]*@/i, '$1***@');

/**
 * Characters that would corrupt or disguise a terminal line: C0 and C1
 * controls, DEL, line and paragraph separators, bidirectional overrides and
 * zero-width characters.
 */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/;
const SHORT_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '"': '\\"', '\\': '\\\\' };

function escapeChar(ch: string, quoted: boolean): string {
  if (quoted && Object.hasOwn(SHORT_ESCAPES, ch)) return SHORT_ESCAPES[ch];
  if (UNPRINTABLE.test(ch)) return `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
  return ch;
}

function render(s: string, quoted: boolean, max: number): string {
  let out = '';
  let i = 0;
  // Builds at most `max` characters of output, so an 8 MB value costs what a short one does.
  while (i < s.length && out.length < max) {
    const cp = s.codePointAt(i) as number;
    const ch = String.fromCodePoint(cp);
    out += escapeChar(ch, quoted);
    i += ch.length;
  }
  const rest = i < s.length ? `… (${s.length} characters)` : '';
  return quoted ? `"${out}${rest ? '…' : ''}"${rest.slice(1)}` : `${out}${rest}`;
}

/**
 * A config value as an error message repeats it: a string in double quotes,
 * cut to {@link QUOTE_MAX_CHARS} characters with its full length
 * (`"aaaa…" (8388608 characters)`), control and bidirectional characters
 * escaped, and credentials in a URL replaced by `***`; a number, boolean or
 * null as written; a list or mapping by its kind.
 */
export function quote(value: unknown, max = QUOTE_MAX_CHARS): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return render(redactUserInfo(value), true, max);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint' || value === null) return String(value);
  if (Array.isArray(value)) return 'a list';
  return 'a mapping';
}

/**
 * Text from outside (a file name, a YAML parser's message) made safe to print
 * on one line: control characters escaped and cut to `max` characters, without
 * quotes.
 */
export function printable(text: string, max = 200): string {
  return render(text, false, max);
}
