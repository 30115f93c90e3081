/** The records of a batch body (each followed by a newline) as text, for the paths that need them one by one. */
export function splitLines(body: Buffer): string[] {
  const lines = body.toString('utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}
