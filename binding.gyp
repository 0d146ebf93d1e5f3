{
  "targets": [
    {
      "target_name": "convts",
      "sources": [
        "native/addon.cc", "native/gemm.cc", "native/conv.cc", "native/dense.cc",
        "native/pooling.cc", "native/sgd.cc", "native/threads.cc"
      ],
      "cflags_cc": ["-O3", "-march=native", "-std=c++17", "-fno-math-errno", "-pthread"],
      "cflags_cc!": ["-fno-exceptions", "-O2"],
      "ldflags": ["-pthread"],
      "xcode_settings": {
        "OTHER_CPLUSPLUSFLAGS": ["-O3", "-march=native", "-std=c++17"]
      }
    }
  ]
}
