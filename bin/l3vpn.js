#!/usr/bin/env node
// Runs the compiled binary; `npm run build` produces dist/.
import '../dist/services/main.js';
