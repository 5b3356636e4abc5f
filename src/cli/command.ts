import type {
  ArgumentsCamelCase,
  Argv,
  CommandModule,
  InferredOptionType,
  InferredOptionTypes,
  Options,
  PositionalOptions,
} from 'yargs';
import type { Output } from '../report/output.js';
import type { CliContext } from './context.js';
import type { GlobalArgs } from './options.js';

type OptionSpecs = Record<string, Options>;
type PositionalSpecs = Record<string, PositionalOptions>;

/** The flags a command declares, typed from its option objects as yargs types each flag. */
type DeclaredArgs<P extends PositionalSpecs, O extends OptionSpecs> = GlobalArgs & {
  [K in keyof P]: InferredOptionType<P[K]>;
} & InferredOptionTypes<O>;

/** A command's arguments as yargs hands them over (each flag also in camelCase). */
export type ArgsOf<P extends PositionalSpecs, O extends OptionSpecs> = ArgumentsCamelCase<
  DeclaredArgs<P, O>
>;

/** What a command prints (text or JSON per --output) and how it ends. */
export interface Rendered {
  text: string | string[];
  json: unknown;
  /** 1: the command ran but its answer is "no" (the compared sides differ). */
  exitCode?: number;
  /** Thrown once the result is printed: a refusal it explains, a partial failure it lists. */
  failure?: Error;
}

/**
 * One command, written one way: its flags as plain option objects, `validate` for checks of
 * the flags alone (throw UserError: exit 2), `run` for the work, `render` for the result.
 */
export interface CommandSpec<P extends PositionalSpecs, O extends OptionSpecs, R> {
  /** yargs' command string, e.g. 'restore <archive>'. */
  command: string;
  describe: string;
  positionals?: P;
  /** In --help order; shared groups (kubeOptions, ...) spread in. */
  options: O;
  /** [command line, what it does], shown in --help in this order. */
  examples?: readonly (readonly [string, string])[];
  validate?(args: ArgsOf<P, O>): void;
  run(args: ArgsOf<P, O>, ctx: CliContext, output: Output): R | Promise<R>;
  /** Omitted when `run` writes its own output (completion). */
  render?(result: R, args: ArgsOf<P, O>): Rendered;
}

/** The yargs command of a spec, bound to each run's context. */
export function defineCommand<
  R,
  O extends OptionSpecs,
  P extends PositionalSpecs = Record<never, PositionalOptions>,
>(spec: CommandSpec<P, O, R>): (ctx: CliContext) => CommandModule<GlobalArgs, DeclaredArgs<P, O>> {
  return (ctx) => ({
    command: spec.command,
    describe: spec.describe,
    builder: (y) => declareArgs(y, spec),
    handler: async (args) => {
      spec.validate?.(args);
      const output = ctx.output(args.output, args.quiet, args.verbose, args.progress);
      const result = await spec.run(args, ctx, output);
      if (!spec.render) return;
      const rendered = spec.render(result, args);
      output.result(rendered.text, rendered.json);
      if (rendered.exitCode) ctx.exitCode = rendered.exitCode;
      if (rendered.failure) throw rendered.failure;
    },
  });
}

/** Declares positionals, options and examples, each in the spec's order (--help shows them so). */
function declareArgs<P extends PositionalSpecs, O extends OptionSpecs>(
  y: Argv<GlobalArgs>,
  spec: CommandSpec<P, O, unknown>,
): Argv<DeclaredArgs<P, O>> {
  for (const [name, positional] of Object.entries(spec.positionals ?? {})) {
    y.positional(name, positional);
  }
  y.options(spec.options);
  for (const [line, what] of spec.examples ?? []) y.example(line, what);
  // yargs types what each call adds; over records TypeScript cannot follow, so the sum of the
  // calls above is stated once here (the same types yargs infers call by call).
  return y as Argv<DeclaredArgs<P, O>>;
}
