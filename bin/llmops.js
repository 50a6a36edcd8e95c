#!/usr/bin/env node
// The installed `llmops` command (`npx llmops …`): runs clients/cli.ts through tsx's loader, in
// this process, so stdout carries only the CLI's own output (no npm banner) and exit codes pass
// through unchanged.
import { register } from 'tsx/esm/api';

register();
await import('../clients/cli.js');
