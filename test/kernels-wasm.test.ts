import { loadWasmModule } from '../src/io/backends.js';
import { wasmKernels } from '../src/kernels/wasm/index.js';
import { checkKernelSet } from './kernel-check.js';

const module = loadWasmModule();
checkKernelSet(
  'wasm',
  () => module && wasmKernels(module),
  'npm install builds it when clang and lld are installed (apt-get install clang lld)',
);
