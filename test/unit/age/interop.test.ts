/**
 * Interoperability with the reference `age` CLI (Debian/Ubuntu package `age`, which also provides
 * `age-keygen`). Skipped, with a message, only when `age` is not installed. The passphrase tests
 * drive age's TTY prompt through a pseudo-terminal (Python's pty module); they are skipped if
 * python3 is missing.
 */
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decrypt,
  encrypt,
  generateIdentity,
  identityToRecipient,
  parseIdentities,
  parseRecipient,
  parseRecipientsFile,
  passphraseIdentity,
  passphraseRecipient,
} from '../../../src/archive/age/index.js';
import { data } from './helpers.js';

function has(cmd: string, args: string[]): boolean {
  return spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
}

const HAVE_AGE = has('age', ['--version']) && has('age-keygen', ['--version']);
const HAVE_PYTHON = has('python3', ['-c', 'import pty']);

/**
 * Runs argv on a pseudo-terminal, answering every "passphrase" prompt with $AGE_TEST_PASSPHRASE.
 * Exits with the child's status; prints the terminal transcript on failure.
 */
const PTY_DRIVER = String.raw`
import os, pty, sys
pw = os.environ['AGE_TEST_PASSPHRASE'].encode() + b'\n'
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
seen, answered = b'', 0
while True:
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    seen += chunk
    while seen.lower().count(b'passphrase') > answered:
        os.write(fd, pw)
        answered += 1
_, status = os.waitpid(pid, 0)
code = os.waitstatus_to_exitcode(status)
if code != 0:
    sys.stderr.write(seen.decode(errors='replace'))
sys.exit(code)
`;

function withPty(passphrase: string, argv: string[]): void {
  const r = spawnSync('python3', ['-c', PTY_DRIVER, ...argv], {
    env: { ...process.env, AGE_TEST_PASSPHRASE: passphrase },
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr}`);
}

describe('age interoperability with the age CLI', function () {
  this.timeout(120_000);
  let dir: string;

  before(function () {
    if (!HAVE_AGE) {
      console.log(
        '      (skipped: the `age` CLI is not installed; install the Debian package `age`)',
      );
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), 'age-interop-'));
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const SIZES = [0, 1, 65535, 65536, 65537, 3 * 65536 + 7, 3_000_000];

  it('age -d -i decrypts what we encrypt (one and several recipients)', async () => {
    const a = generateIdentity();
    const b = generateIdentity();
    writeFileSync(join(dir, 'b.key'), `# test\n${b.identity}\n`);
    for (const n of SIZES) {
      const plain = data(n);
      const file = await encrypt(plain, [parseRecipient(a.recipient), parseRecipient(b.recipient)]);
      writeFileSync(join(dir, 'ours.age'), file);
      const out = execFileSync('age', ['-d', '-i', join(dir, 'b.key'), join(dir, 'ours.age')], {
        maxBuffer: 64 << 20,
      });
      expect(out.equals(plain), `${n} bytes`).to.equal(true);
    }
  });

  it('age rejects our file when truncated or tampered, like we do', async () => {
    const a = generateIdentity();
    writeFileSync(join(dir, 'a.key'), a.identity);
    const file = await encrypt(data(200_000), [parseRecipient(a.recipient)]);
    for (const bad of [file.subarray(0, file.length - 10), Buffer.concat([file, Buffer.of(0)])]) {
      writeFileSync(join(dir, 'bad.age'), bad);
      const r = spawnSync('age', ['-d', '-i', join(dir, 'a.key'), join(dir, 'bad.age')]);
      expect(r.status).to.not.equal(0);
    }
  });

  it('we decrypt what age -e -r / -R encrypts to age-keygen keys', async () => {
    const keyFile = join(dir, 'keygen.txt');
    rmSync(keyFile, { force: true });
    execFileSync('age-keygen', ['-o', keyFile], { stdio: 'ignore' });
    const keyText = readFileSync(keyFile, 'utf8');
    const recipient = execFileSync('age-keygen', ['-y', keyFile], { encoding: 'utf8' }).trim();
    const identityLine = keyText.split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-1'))!;
    expect(identityToRecipient(identityLine)).to.equal(recipient);
    const other = generateIdentity();
    writeFileSync(join(dir, 'recipients.txt'), `# two\n${other.recipient}\n${recipient}\n`);
    expect(parseRecipientsFile(readFileSync(join(dir, 'recipients.txt'), 'utf8'))).to.have.length(
      2,
    );
    for (const n of SIZES) {
      const plain = data(n);
      writeFileSync(join(dir, 'plain'), plain);
      const viaR = execFileSync('age', ['-e', '-r', recipient, join(dir, 'plain')], {
        maxBuffer: 64 << 20,
      });
      expect((await decrypt(viaR, parseIdentities(keyText))).equals(plain), `${n}`).to.equal(true);
      const viaFile = execFileSync(
        'age',
        ['-e', '-R', join(dir, 'recipients.txt'), join(dir, 'plain')],
        { maxBuffer: 64 << 20 },
      );
      const out = await decrypt(viaFile, parseIdentities(other.identity));
      expect(out.equals(plain), `${n} (-R)`).to.equal(true);
    }
  });

  describe('passphrases (through a pseudo-terminal)', () => {
    before(function () {
      if (!HAVE_PYTHON) {
        console.log('      (skipped: python3 is needed to drive age passphrase prompts)');
        this.skip();
      }
    });

    it('age -d decrypts our passphrase-encrypted file', async () => {
      const plain = data(150_000);
      const file = await encrypt(plain, [passphraseRecipient('our pässphrase', 14)]);
      writeFileSync(join(dir, 'pw.age'), file);
      withPty('our pässphrase', ['age', '-d', '-o', join(dir, 'pw.out'), join(dir, 'pw.age')]);
      expect(readFileSync(join(dir, 'pw.out')).equals(plain)).to.equal(true);
    });

    it('we decrypt what age -p encrypts (work factor 18)', async () => {
      const plain = data(150_000);
      writeFileSync(join(dir, 'p.plain'), plain);
      withPty('their passphrase', ['age', '-p', '-o', join(dir, 'p.age'), join(dir, 'p.plain')]);
      const file = readFileSync(join(dir, 'p.age'));
      expect(file.toString('latin1', 0, 100)).to.match(/\n-> scrypt \S+ 18\n/);
      expect(
        (await decrypt(file, [passphraseIdentity('their passphrase')])).equals(plain),
      ).to.equal(true);
      const wrong = await decrypt(file, [passphraseIdentity('nope')]).catch((e: unknown) => e);
      expect((wrong as { code?: string }).code).to.equal('WRONG_PASSPHRASE');
    });
  });
});
