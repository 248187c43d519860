import { HubError } from '../core/errors.js';

/**
 * Reads a password for a CLI command without it appearing in the shell's history or the process
 * list: at a terminal, from a prompt that does not echo (asked twice); when standard input is
 * piped (`… < file`, a secret manager), its first line.
 */
export async function readPassword(question: string, input: NodeJS.ReadStream = process.stdin, output: NodeJS.WriteStream = process.stderr): Promise<string> {
  if (!input.isTTY) return readFirstLine(input);
  const first = await promptHidden(question, input, output);
  if (!first) return first;
  const again = await promptHidden('Again: ', input, output);
  if (again !== first) throw new HubError(400, 'bad_request', 'the two passwords differ; nothing was created');
  return first;
}

async function readFirstLine(input: NodeJS.ReadStream): Promise<string> {
  input.setEncoding('utf8');
  let text = '';
  for await (const chunk of input) {
    text += chunk as string;
    if (text.includes('\n')) break;
  }
  input.destroy();
  return text.split(/\r?\n/)[0]!;
}

function promptHidden(question: string, input: NodeJS.ReadStream, output: NodeJS.WriteStream): Promise<string> {
  output.write(question);
  input.setEncoding('utf8');
  input.setRawMode(true);
  input.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (error?: Error) => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      output.write('\n');
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n' || char === '\u0004') return finish();
        if (char === '\u0003') return finish(new HubError(400, 'bad_request', 'cancelled; nothing was created'));
        if (char === '\u007f' || char === '\b') value = [...value].slice(0, -1).join('');
        else if (char >= ' ') value += char;
      }
    };
    input.on('data', onData);
  });
}
