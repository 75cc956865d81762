#!/usr/bin/env node
// The `cutover` CLI. It runs src/cli/main.ts through tsx's API (a dependency of the package), so it needs no
// build and works wherever the package is installed: npx cutover in the repository, or after npm install -g.
const { require: tsRequire } = require('tsx/cjs/api');
tsRequire('../src/cli/main.ts', __filename).main(process.argv);
