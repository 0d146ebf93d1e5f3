// `npm run bench`: the same measurements as `convts bench` (see src/cli/bench.ts for the options).
import { benchCommand } from '../src/cli/bench.js';

process.exitCode = await benchCommand(process.argv.slice(2));
