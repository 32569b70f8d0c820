import { it } from 'vitest';
import { expectBatsToPass } from '../support/bats.js';

it("hooks/command's Docker fallback passes its bats tests", () => expectBatsToPass('command-docker.bats', 7));
