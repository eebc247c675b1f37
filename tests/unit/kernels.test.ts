import { defineKernelChecks } from './kernel-checks.js';

defineKernelChecks(2);
