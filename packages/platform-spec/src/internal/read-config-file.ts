import { closeSync, constants, fstatSync, lstatSync, openSync, readlinkSync, readSync, statSync, type Stats } from 'node:fs';
import { printable } from './quote';

/**
 * Largest config file read, in bytes.
 *
 * A platform config is a few KiB (the example is 1 KiB). The bound keeps the
 * YAML parser, which needs about a second for 50 000 values, well under a
 * second on any input.
 */
export const MAX_CONFIG_BYTES = 64 * 1024;

/** Why a config file cannot be read: one sentence naming the path, what is wrong and the fix. */
export class ConfigFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigFileError';
  }
}

const FIX = 'pass the config file itself with --config';

const kib = (bytes: number) => (bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : `${Math.ceil(bytes / 1024)} KiB`);

/** What a path that is no regular file is, in words, and the fix for it. */
function notAFile(shown: string, st: Stats): string {
  if (st.isDirectory()) return `${shown} is a directory, not a file; pass the config file inside it, e.g. --config ${shown}/platform.yaml`;
  const kind = st.isFIFO()
    ? 'a named pipe (FIFO)'
    : st.isCharacterDevice()
      ? 'a character device (such as /dev/zero or a terminal)'
      : st.isBlockDevice()
        ? 'a block device'
        : st.isSocket()
          ? 'a socket'
          : 'not a regular file';
  return `${shown} is ${kind}, not a regular file; a config is read whole from a file of at most ${kib(MAX_CONFIG_BYTES)}, never from a stream: write it to a file and ${FIX}`;
}

const tooLarge = (shown: string, size: string) =>
  `${shown} is ${size}; a config is at most ${kib(MAX_CONFIG_BYTES)} (the example is about 1 KiB): check that --config names the platform config`;

function errnoMessage(shown: string, e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return `cannot read ${shown} (${err.code ?? printable(err.message)}); pass an existing file with --config`;
}

/** Line (1-based) of the first byte sequence that is not UTF-8; LF never occurs inside a UTF-8 sequence. */
function firstInvalidLine(bytes: Uint8Array): number {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let line = 1;
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === 0x0a) {
      try {
        decoder.decode(bytes.subarray(start, i));
      } catch {
        return line;
      }
      line++;
      start = i + 1;
    }
  }
  return line;
}

/**
 * Reads a config file as UTF-8 text, refusing anything that is not a small
 * regular text file before reading an unbounded byte.
 *
 * Refused: a missing path, a dangling symbolic link, a directory, a FIFO,
 * device or socket (`/dev/zero`, `/dev/stdin` never end), a file larger than
 * {@link MAX_CONFIG_BYTES} (checked before and while reading), bytes that are
 * not UTF-8, and control characters other than tab, LF and CR. A UTF-8 byte
 * order mark is dropped.
 *
 * @throws ConfigFileError naming the path, what is wrong and the fix.
 */
export function readConfigFile(file: string): string {
  const shown = printable(file, 300);
  let link: Stats;
  try {
    link = lstatSync(file);
  } catch (e) {
    throw new ConfigFileError(errnoMessage(shown, e));
  }
  let st = link;
  if (link.isSymbolicLink()) {
    try {
      st = statSync(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new ConfigFileError(errnoMessage(shown, e));
      let target = '?';
      try {
        target = printable(readlinkSync(file), 300);
      } catch {
        // The link vanished meanwhile; say what is known.
      }
      throw new ConfigFileError(`${shown} is a symbolic link to ${target}, which does not exist (a dangling link); point the link at the config or ${FIX}`);
    }
  }
  if (!st.isFile()) throw new ConfigFileError(notAFile(shown, st));
  if (st.size > MAX_CONFIG_BYTES) throw new ConfigFileError(tooLarge(shown, kib(st.size)));

  // O_NONBLOCK: should the path turn into a FIFO between stat and open, open
  // returns at once instead of waiting for a writer; fstat then refuses it.
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    throw new ConfigFileError(errnoMessage(shown, e));
  }
  const buffer = Buffer.alloc(MAX_CONFIG_BYTES + 1);
  let length = 0;
  try {
    const opened = fstatSync(fd);
    if (!opened.isFile()) throw new ConfigFileError(notAFile(shown, opened));
    // Read one byte past the limit: a file that grew since fstat is refused, not cut.
    for (let n = -1; n !== 0 && length <= MAX_CONFIG_BYTES; length += n) {
      n = readSync(fd, buffer, length, buffer.length - length, null);
    }
  } catch (e) {
    if (e instanceof ConfigFileError) throw e;
    throw new ConfigFileError(errnoMessage(shown, e));
  } finally {
    closeSync(fd);
  }
  if (length > MAX_CONFIG_BYTES) throw new ConfigFileError(tooLarge(shown, `larger than ${kib(MAX_CONFIG_BYTES)}`));
  return decode(shown, buffer.subarray(0, length));
}

/** UTF-8 bytes to text: a BOM dropped, invalid bytes and control characters refused with their line. */
function decode(shown: string, bytes: Uint8Array): string {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    throw new ConfigFileError(`${shown} is UTF-16 text; a config is UTF-8: save it as UTF-8 (without a byte order mark)`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ConfigFileError(
      `${shown} is not UTF-8 text (line ${firstInvalidLine(bytes)} holds bytes that are no UTF-8 character); save it as UTF-8, or check that --config names the platform config and not a binary file`,
    );
  }
  // YAML allows tab, LF and CR among the C0 controls, and no DEL.
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  const control = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.exec(text);
  if (control) {
    const before = text.slice(0, control.index);
    const line = before.split('\n').length;
    const column = control.index - before.lastIndexOf('\n');
    const code = `U+${control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
    throw new ConfigFileError(
      `${shown} holds the control character ${code} at line ${line}, column ${column}; a config is plain text: remove it`,
    );
  }
  return text;
}
