import { UserError } from '../../errors.js';
import { defineCommand } from '../command.js';

const COMMANDS = [
  'backup',
  'restore',
  'inspect',
  'verify',
  'compare',
  'list',
  'prune',
  'keygen',
  'version',
  'completion',
];
const FLAGS = [
  '--kubeconfig',
  '--context',
  '--namespace',
  '--output',
  '--quiet',
  '--verbose',
  '--help',
  '--file',
  '--recipient',
  '--recipients-file',
  '--passphrase-file',
  '--no-encrypt',
  '--identity',
  '--to-context',
  '--to-namespace',
  '--ingress-host',
  '--dry-run',
  '--yes',
  '--existing',
  '--verify',
  '--to-app',
  '--quick',
  '--progress',
];

/**
 * Completion for `kubectl-entando` and, through kubectl's plugin completion (kubectl 1.26+
 * runs an executable named kubectl_complete-entando), for `kubectl entando`.
 */
export const completionCommand = defineCommand({
  command: 'completion <shell>',
  describe: 'Print a shell completion script (bash or zsh)',
  positionals: { shell: { type: 'string', choices: ['bash', 'zsh'], demandOption: true } },
  options: {},
  examples: [['source <($0 completion bash)', 'enable completion in this shell']],
  validate: (args) => {
    if (args.shell !== 'bash' && args.shell !== 'zsh')
      throw new UserError('completion: shell must be bash or zsh');
  },
  // The script itself, not a result: no JSON form.
  run: (args, ctx) => {
    ctx.io.stdout.write(completionScript(args.shell));
  },
});

function completionScript(shell: string): string {
  const words = `${COMMANDS.join(' ')} ${FLAGS.join(' ')}`;
  const prefix = shell === 'zsh' ? 'autoload -U +X bashcompinit && bashcompinit\n' : '';
  return `${prefix}_kubectl_entando() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  case "$prev" in
    -o|--output) COMPREPLY=( $(compgen -W "text json" -- "$cur") ); return ;;
    --existing) COMPREPLY=( $(compgen -W "fail skip update" -- "$cur") ); return ;;
    --context|--to-context) COMPREPLY=( $(compgen -W "$(kubectl config get-contexts -o name 2>/dev/null)" -- "$cur") ); return ;;
    --kubeconfig|-f|--file|-i|--identity|-R|--recipients-file|--passphrase-file) COMPREPLY=( $(compgen -f -- "$cur") ); return ;;
  esac
  COMPREPLY=( $(compgen -W "${words}" -- "$cur") $(compgen -f -- "$cur") )
}
complete -F _kubectl_entando kubectl-entando
`;
}
