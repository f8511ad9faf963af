#!/usr/bin/env node
import { Command } from 'commander';
import { VERSION } from '../src/version.js';
import { auditCommand } from './audit.js';
import { checkCommand } from './check.js';
import { demoCommand } from './demo.js';
import { explainCommand } from './explain.js';
import { logsCommand } from './logs.js';
import { policyCommand } from './policy.js';
import { serveCommand } from './serve.js';

const program = new Command('writegate')
  .description('A policy gateway that asks Open Policy Agent before every destructive API call.')
  .version(VERSION);
program.addCommand(serveCommand());
program.addCommand(demoCommand());
program.addCommand(logsCommand());
program.addCommand(explainCommand());
program.addCommand(checkCommand());
program.addCommand(policyCommand());
program.addCommand(auditCommand());
await program.parseAsync(process.argv);
