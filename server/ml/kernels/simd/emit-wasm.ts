// Writes kernels.wasm.ts from kernels.wat.
import fs from 'node:fs/promises';
import path from 'node:path';
import { GENERATED_FILE, assembleKernels, generatedModuleText } from './assemble.js';

const kernels = await assembleKernels();
await fs.writeFile(GENERATED_FILE, generatedModuleText(kernels));
process.stdout.write(`wrote ${path.relative(process.cwd(), GENERATED_FILE)} (${kernels.unshared.length} bytes of WebAssembly, twice)\n`);
