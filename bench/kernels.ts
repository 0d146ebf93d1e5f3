// `npm run bench`: the same measurements as `convts bench` (src/cli/bench.ts lists the options).
import { benchCommand } from '../src/cli/bench.js';

process.exitCode = await benchCommand(process.argv.slice(2));
