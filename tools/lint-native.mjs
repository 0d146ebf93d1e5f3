// Checks native/*.cc and *.h against .clang-format; says so and passes when clang-format is missing.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

const files = readdirSync('native')
  .filter((f) => /\.(cc|h)$/.test(f))
  .map((f) => `native/${f}`);
const r = spawnSync(process.env.CLANG_FORMAT ?? 'clang-format', ['--dry-run', '-Werror', ...files], {
  stdio: 'inherit',
});
if (r.error) {
  console.log('lint: clang-format not found — native/ not checked (apt-get install clang-format)');
  process.exit(0);
}
process.exit(r.status ?? 1);
