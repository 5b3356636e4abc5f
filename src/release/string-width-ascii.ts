import stringWidth from 'string-width';

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/**
 * What the bundle gives yargs and cliui for `string-width` (src/release/bundle.ts): printable
 * ASCII, all of the CLI's help, is one column a character, without string-width's grapheme
 * segmentation (ICU's segmenter, ~15 ms of every `--help`); anything else goes to string-width.
 */
export default function asciiFirstStringWidth(
  text: string,
  options?: Parameters<typeof stringWidth>[1],
): number {
  return PRINTABLE_ASCII.test(text) ? text.length : stringWidth(text, options);
}
