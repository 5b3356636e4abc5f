import type { Readable, Writable } from 'node:stream';
import {
  decryptionKeys,
  encryptionKeys,
  type DecryptionKeys,
  type EncryptionKeys,
  type KeySources,
} from '../archive/encryption.js';
import { Output, type OutputFormat } from '../report/output.js';
import type { ArchiveFolder, ArchiveLocation } from '../storage/location.js';
import { resolveFolder, resolveLocation } from '../storage/resolve.js';
import type { S3Settings } from '../storage/s3-url.js';
import type { DecryptArgs, EncryptArgs, S3Args } from './options.js';
import type { ProgressChoice } from '../report/progress.js';

/** What the process gives a command: streams, environment, a terminal to ask on (or not). */
export interface CliIo {
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean };
  stdin?: Readable & { isTTY?: boolean; setRawMode?: (raw: boolean) => void };
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
}

/** Per-run state handed to command handlers (no globals: tests run the CLI in-process). */
export class CliContext {
  exitCode = 0;
  constructor(readonly io: CliIo) {}

  output(format: OutputFormat, quiet: boolean, verbose: number, progress?: ProgressChoice): Output {
    return new Output(this.io.stdout, this.io.stderr, format, quiet, verbose, progress);
  }

  /** Key sources: env, and a prompt only when stdin is a terminal. */
  keySources(): KeySources {
    const stdin = this.io.stdin;
    return {
      env: this.io.env,
      prompt: stdin?.isTTY ? (q) => promptHidden(stdin, this.io.stderr, q) : undefined,
    };
  }

  /** The keys that open an archive: --identity, --passphrase-file, else env or a prompt. */
  decryptionKeys(args: DecryptArgs): DecryptionKeys {
    return decryptionKeys(
      { identity: args.identity, passphraseFile: args['passphrase-file'] },
      this.keySources(),
    );
  }

  /** The keys a backup is encrypted to; undefined with --no-encrypt. */
  encryptionKeys(args: EncryptArgs): Promise<EncryptionKeys | undefined> {
    return encryptionKeys(
      {
        recipient: args.recipient,
        recipientsFile: args['recipients-file'],
        passphraseFile: args['passphrase-file'],
        noEncrypt: !args.encrypt,
      },
      this.keySources(),
    );
  }

  /** How s3:// locations are reached: the flags, this run's environment, notices as warnings. */
  s3Settings(args: S3Args, output: Output): S3Settings {
    return {
      endpoint: args['s3-endpoint'],
      pathStyle: args['s3-path-style'],
      env: this.io.env,
      notice: (m) => output.warn(m),
    };
  }

  /** An archive location as the user wrote it: a path or s3://BUCKET/KEY. */
  location(text: string, args: S3Args, output: Output): ArchiveLocation {
    return resolveLocation(text, this.s3Settings(args, output));
  }

  /** A folder of archives: a directory or s3://BUCKET/PREFIX/. */
  folder(text: string, args: S3Args, output: Output): ArchiveFolder {
    return resolveFolder(text, this.s3Settings(args, output));
  }

  /** Asks a yes/no question on the terminal; false when there is none. */
  async confirm(question: string): Promise<boolean> {
    const stdin = this.io.stdin;
    if (!stdin?.isTTY) return false;
    const answer = await promptLine(stdin, this.io.stderr, question, false);
    return /^y(es)?$/i.test(answer.trim());
  }
}

function promptHidden(
  stdin: NonNullable<CliIo['stdin']>,
  stderr: Writable,
  question: string,
): Promise<string> {
  return promptLine(stdin, stderr, question, true);
}

/** Reads one line from the terminal, echoing nothing when `hidden` (passphrases). */
function promptLine(
  stdin: NonNullable<CliIo['stdin']>,
  stderr: Writable,
  question: string,
  hidden: boolean,
): Promise<string> {
  return new Promise((resolve, reject) => {
    stderr.write(question);
    let line = '';
    const raw = hidden && typeof stdin.setRawMode === 'function';
    if (raw) stdin.setRawMode!(true);
    const done = (value: string | Error) => {
      stdin.off('data', onData);
      if (raw) stdin.setRawMode!(false);
      stdin.pause();
      stderr.write('\n');
      if (value instanceof Error) reject(value);
      else resolve(value);
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done(line);
        if (ch === '\u0003') return done(new Error('interrupted'));
        if (ch === '\u007f' || ch === '\b') line = line.slice(0, -1);
        else line += ch;
      }
    };
    stdin.on('data', onData);
    stdin.resume();
  });
}
