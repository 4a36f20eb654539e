// Sums the vitest JSON reports of every package into one closing line: "N passed, N failed".
// A failed test counts once (vitest's own suite count adds its file and every describe around it);
// so does a file that failed outside its tests. Above that line every failed test is named with the
// first lines of its error, and so is every test that passed only on a retry (with the failure of
// its first try), so the tail of a CI log (often all that is kept of it) says what broke.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2] ?? '.test-results';
let passed = 0;
let skipped = 0;
let files = [];
try {
  files = readdirSync(dir).filter((f) => f.endsWith('.json'));
} catch {
  // no reports: every count stays 0
}
const failures = [];
const retried = [];
for (const f of files) {
  const r = JSON.parse(readFileSync(join(dir, f), 'utf8'));
  passed += r.numPassedTests ?? 0;
  skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  console.log(
    `${f.replace(/\.json$/, '').padEnd(12)} ${r.numPassedTests} passed, ${r.numFailedTests} failed`,
  );
  for (const file of r.testResults ?? []) {
    const where = `${f.replace(/\.json$/, '')} ${file.name?.replace(/^.*?\/(packages|tools)\//, '$1/')}`;
    const tests = (file.assertionResults ?? []).filter((t) => t.status === 'failed');
    for (const t of tests)
      failures.push({ where, name: t.fullName ?? t.title, messages: t.failureMessages ?? [] });
    // Passed on a retry (tools/netns-lab runs a failed scenario once more): its first failure stays.
    for (const t of file.assertionResults ?? [])
      if (t.status === 'passed' && (t.failureMessages ?? []).length > 0)
        retried.push({ where, name: t.fullName ?? t.title, messages: t.failureMessages });
    // A file that failed outside any test (an import error, a failing hook) has no failed test.
    if (file.status === 'failed' && tests.length === 0) {
      failures.push({ where, name: '(the file itself)', messages: [file.message ?? ''] });
    }
  }
}
const failed = failures.length;
const print = (label, { where, name, messages }) => {
  console.log(`${label} ${where} > ${name}`);
  const lines = messages
    .join('\n')
    .split('\n')
    .filter((l) => l.trim() !== '' && !/^\s*at /.test(l));
  for (const line of lines.slice(0, 6)) console.log(`    ${line.slice(0, 300)}`);
};
for (const r of retried) print('PASSED ON RETRY', r);
for (const f of failures) print('FAILED', f);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
