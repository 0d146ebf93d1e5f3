# The native kernels, built at npm install (tools/build-kernels.mjs). On x86-64 three variants of the
# same sources, each for a fixed instruction set rather than -march=native, so a build moved to another
# CPU still runs: src/kernels/node-loader.ts loads the baseline, asks it the CPU's features and then
# loads the best variant the CPU has (CONVTS_NATIVE_VARIANT forces one). Elsewhere, one build.
{
  "target_defaults": {
    "sources": [
      "native/addon.cc", "native/addon_conv.cc", "native/addon_pool.cc", "native/addon_pointwise.cc",
      "native/addon_norm.cc", "native/gemm.cc", "native/gemm_unpacked.cc", "native/conv.cc", "native/conv_wide.cc",
      "native/conv_pixel.cc", "native/conv_pixel_grad.cc", "native/conv_dense_map.cc", "native/dense.cc", "native/pooling.cc", "native/sgd.cc",
      "native/threads.cc", "native/batchnorm.cc", "native/bn_pool.cc", "native/gelu.cc", "native/winograd.cc",
      "native/winograd_grad.cc"
    ],
    "cflags_cc": ["-O3", "-std=c++17", "-fno-math-errno", "-pthread"],
    "cflags_cc!": ["-fno-exceptions", "-O2"],
    "ldflags": ["-pthread"],
    "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-O3", "-std=c++17"] }
  },
  "conditions": [
    ["target_arch=='x64'", {
      "targets": [
        { "target_name": "convts_baseline", "defines": ["CONVTS_VARIANT=\"baseline\""],
          "cflags_cc": ["-march=x86-64", "-mtune=generic"] },
        { "target_name": "convts_avx2", "defines": ["CONVTS_VARIANT=\"avx2\""],
          "cflags_cc": ["-march=x86-64", "-mavx2", "-mfma", "-mtune=generic"] },
        { "target_name": "convts_avx512", "defines": ["CONVTS_VARIANT=\"avx512\""],
          "cflags_cc": ["-march=x86-64", "-mavx2", "-mfma", "-mavx512f", "-mavx512vl", "-mavx512bw",
                        "-mavx512dq", "-mtune=generic"] }
      ]
    }, {
      "targets": [
        { "target_name": "convts_baseline", "defines": ["CONVTS_VARIANT=\"baseline\""] }
      ]
    }]
  ]
}
