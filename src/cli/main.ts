import yargs from 'yargs';
import { ArchiveError } from '../archive/errors.js';
import { ExitCode, OperationError, UserError, errorMessage } from '../errors.js';
import { backupCommand } from './commands/backup.js';
import { compareCommand } from './commands/compare.js';
import { drillCommand } from './commands/drill.js';
import { completionCommand } from './commands/completion.js';
import { inspectCommand } from './commands/inspect.js';
import { keygenCommand } from './commands/keygen.js';
import { listCommand } from './commands/list.js';
import { pruneCommand } from './commands/prune.js';
import { restoreCommand } from './commands/restore.js';
import { scheduleCommand } from './commands/schedule.js';
import { verifyCommand } from './commands/verify.js';
import { versionCommand } from './commands/version.js';
import { CliContext, type CliIo } from './context.js';
import { outputOptions } from './options.js';

const EPILOGUE = `Exit codes: 0 success; 1 failure or partial failure; 2 usage or user error (bad flags, bad input, refused preflight).
Keys: ENTANDO_BACKUP_PASSPHRASE, ENTANDO_BACKUP_RECIPIENTS, ENTANDO_BACKUP_IDENTITY may replace the key flags.`;

/** Runs the CLI in-process and returns the exit code; never calls process.exit. */
export async function run(argv: string[], io: CliIo = processIo()): Promise<number> {
  const ctx = new CliContext(io);
  let printed = '';
  let failure: unknown;
  const parser = yargs(argv)
    .scriptName('kubectl entando')
    .usage(
      'Usage: $0 <command> [options]\n\nBack up an Entando application and restore it into another cluster or namespace.',
    )
    .options(outputOptions)
    .command(backupCommand(ctx))
    .command(restoreCommand(ctx))
    .command(inspectCommand(ctx))
    .command(verifyCommand(ctx))
    .command(compareCommand(ctx))
    .command(drillCommand(ctx))
    .command(listCommand(ctx))
    .command(pruneCommand(ctx))
    .command(scheduleCommand(ctx))
    .command(keygenCommand(ctx))
    .command(versionCommand(ctx))
    .command(completionCommand(ctx))
    .demandCommand(
      1,
      'name a command: backup, restore, inspect, verify, compare, drill, list, prune, schedule, keygen, version or completion',
    )
    .strict()
    .recommendCommands()
    .version(false)
    .help()
    .alias('help', 'h')
    .epilogue(EPILOGUE)
    .wrap(Math.min(110, (io.stdout as { columns?: number }).columns ?? 100))
    .exitProcess(false)
    .fail((message, err) => {
      failure = err ?? new UsageError(message);
      throw failure;
    });
  try {
    await parser.parseAsync(argv, {}, (_err, _args, output) => {
      printed = output;
    });
  } catch (err) {
    failure ??= err;
  }
  if (failure instanceof UsageError) {
    io.stderr.write(`error: ${failure.message}\nRun 'kubectl entando --help' for usage.\n`);
    return ExitCode.usage;
  }
  if (printed) io.stdout.write(printed.endsWith('\n') ? printed : `${printed}\n`);
  if (failure) return await reportFailure(failure, io);
  return ctx.exitCode;
}

class UsageError extends Error {}

async function reportFailure(err: unknown, io: CliIo): Promise<number> {
  if (err instanceof UserError) {
    io.stderr.write(`error: ${err.message}\n`);
    return ExitCode.usage;
  }
  if (err instanceof ArchiveError) {
    io.stderr.write(`error: ${err.message}\n`);
    return err.isUserInput ? ExitCode.usage : ExitCode.failure;
  }
  if (err instanceof OperationError) {
    io.stderr.write(`error: ${err.message}\n`);
    return ExitCode.failure;
  }
  // Loaded here only: client-node is not needed by `version` or `--help`.
  const { apiErrorMessage } = await import('../kube/client.js');
  io.stderr.write(`error: ${apiErrorMessage(err) || errorMessage(err)}\n`);
  if (io.env.KUBECTL_ENTANDO_DEBUG && err instanceof Error) io.stderr.write(`${err.stack}\n`);
  return ExitCode.failure;
}

export function processIo(): CliIo {
  const controller = new AbortController();
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    signal: controller.signal,
  };
}
