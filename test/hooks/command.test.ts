import { it } from 'vitest';
import { expectBatsToPass } from '../support/bats.js';

it('hooks/command passes its bats tests (node, exit codes, no token on a command line)', () => expectBatsToPass('command.bats', 3));
