// --help for the bench scripts: prints the script's leading comment (its usage) and exits 0.
// Every script requires this first: `require('./help')(__filename)`.
const fs = require('node:fs');

module.exports = function help(file) {
  if (!process.argv.slice(2).some((a) => a === '--help' || a === '-h')) return;
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const head = [];
  for (const l of lines.slice(lines[0].startsWith('#!') ? 1 : 0)) {
    if (!l.startsWith('//')) break;
    head.push(l.replace(/^\/\/ ?/, ''));
  }
  process.stdout.write(`${head.join('\n')}\n`);
  process.exit(0);
};
