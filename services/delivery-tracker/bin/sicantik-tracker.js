#!/usr/bin/env node
'use strict';
// The installed `sicantik-tracker` command (package.json "bin"). It is committed, so npm links it
// at `npm install`, before the build has made dist/cli.js; it runs the built CLI.
const path = require('node:path');

const cli = path.join(__dirname, '..', 'dist', 'cli.js');
// Output piped into a reader that stops early (| head): end quietly, as other commands do.
process.stdout.on('error', (e) => { if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0); throw e; });
let main;
try {
  ({ main } = require(cli));
} catch (e) {
  if (e && e.code === 'MODULE_NOT_FOUND' && String(e.message).includes(cli)) {
    process.stderr.write('sicantik-tracker: ' + cli + ' is not built yet: run `npx turbo run build` (or `npm run build`) at the repository root first\n');
    process.exit(1);
  }
  throw e;
}
// exit, not exitCode: a rebuild's Kafka clients may keep the process alive after it closed them.
main(process.argv).then((code) => process.exit(code));
