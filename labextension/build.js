// Builds the prebuilt JupyterLab extension into ../ipynb_tools/labextension (package.json "outputDir").
//
// It runs @jupyterlab/builder's build-labextension.js (what `jupyter labextension build` runs) with
// JupyterLab's core metadata from @jupyterlab/core-meta, so the build needs Node.js and npm only, not a
// Python JupyterLab (hatch-jupyter-builder calls `npm run build:prod` when the Python package is built).
// Usage: node build.js [--development]
'use strict';

const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const modules = path.join(__dirname, 'node_modules');
const builder = path.join(modules, '@jupyterlab', 'builder', 'lib', 'build-labextension.js');
const coreMeta = path.join(modules, '@jupyterlab', 'core-meta', 'core.package.json');
const core = fs.mkdtempSync(path.join(os.tmpdir(), 'ipynb-tools-core-'));
try {
  fs.copyFileSync(coreMeta, path.join(core, 'package.json'));
  execFileSync(process.execPath, [builder, '--core-path', core, ...process.argv.slice(2), __dirname], {
    stdio: 'inherit'
  });
} finally {
  fs.rmSync(core, { recursive: true, force: true });
}
