#!/usr/bin/env node
'use strict';
// The installed `sicantik-privacy` command (package.json "bin"): committed, so npm links it at
// `npm install`, before the build has made dist/cli.js, which it runs.
require('../../../scripts/launch-cli.js')('sicantik-privacy', __dirname, { exit: true });
