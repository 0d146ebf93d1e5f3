import { loadNativeAddon } from '../src/io/backends.js';
import { nativeKernels } from '../src/kernels/native/index.js';
import { checkKernelSet } from './kernel-check.js';

const addon = loadNativeAddon();
for (const threads of [1, 2]) {
  checkKernelSet(`native (${threads} thread${threads > 1 ? 's' : ''})`, () => addon && nativeKernels(addon, threads),
    'npm install builds it with node-gyp; see the notice it printed');
}
