#!/usr/bin/env node
'use strict';
// The installed `sicantik-ops` command (package.json "bin"): committed, so npm links it at
// `npm install`, before the build has made dist/cli.js, which it runs.
require('../../../scripts/launch-cli.js')('sicantik-ops', __dirname, { exit: true }); // Kafka clients may keep the process alive
