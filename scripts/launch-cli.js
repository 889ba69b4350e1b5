'use strict';
// Runs a service's built CLI (<service>/dist/cli.js) for its committed bin launcher
// (services/*/bin/*.js). The launchers are committed so that npm links them at
// `npm install`, before the build has made dist/; a CLI not built yet says so.
const path = require('node:path');

/**
 * @param {string} name the command's name, for its messages
 * @param {string} binDir the launcher's folder (__dirname)
 * @param {{ exit?: boolean }} [o] exit: end the process with the CLI's code (for a CLI whose clients may keep it alive)
 */
module.exports = function launch(name, binDir, o = {}) {
  const cli = path.join(binDir, '..', 'dist', 'cli.js');
  // Output piped into a reader that stops early (| head): end quietly, as other commands do.
  process.stdout.on('error', (e) => { if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0); throw e; });
  let main;
  try {
    ({ main } = require(cli));
  } catch (e) {
    if (e && e.code === 'MODULE_NOT_FOUND' && String(e.message).includes(cli)) {
      process.stderr.write(`${name}: ${cli} is not built yet: run \`npx turbo run build\` (or \`npm run build\`) at the repository root first\n`);
      process.exit(1);
    }
    throw e;
  }
  main(process.argv).then((code) => { if (o.exit) process.exit(code); else process.exitCode = code; });
};
