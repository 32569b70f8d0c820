/** The bundle's entry: the program is src/main.ts. */
import { run } from './main.js';

void run({ argv: process.argv.slice(2) }).then((code) => {
  process.exitCode = code;
});
