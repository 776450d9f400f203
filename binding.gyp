{
  "variables": { "has_mpi": "<!(node scripts/mpi-config.cjs found)" },
  "targets": [
    {
      "target_name": "alexnet_native",
      "sources": [
        "native/addon.cc",
        "native/threadpool.cc",
        "native/isa.cc",
        "native/gemm.cc",
        "native/gemm_kernels.cc",
        "native/gemm_pack.cc",
        "native/gemv.cc",
        "native/conv.cc",
        "native/col2im.cc",
        "native/im2col_pack.cc",
        "native/linear.cc",
        "native/pool.cc",
        "native/lrn.cc",
        "native/elementwise.cc",
        "native/loss.cc",
        "native/sgd.cc",
        "native/peak.cc",
        "native/bf16.cc",
        "native/gemm_bf16.cc",
        "native/amx_tiles.cc",
        "native/amx_conv.cc",
        "native/gemv_bf16.cc",
        "native/columns_bf16.cc",
        "native/conv_bf16.cc",
        "native/linear_bf16.cc",
        "native/linear_packs.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions", "-O2", "-O3"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++20", "-O2"],
      "cflags": ["-O3", "-fno-math-errno"],
      "cflags_cc": ["-O3", "-std=c++17", "-fno-math-errno", "-fexceptions"],
      "ldflags": ["-pthread"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "OTHER_CPLUSPLUSFLAGS": ["-O3", "-std=c++17", "-fno-math-errno"]
      },
      "msvs_settings": { "VCCLCompilerTool": { "ExceptionHandling": 1 } }
    },
    {
      "target_name": "alexnet_stdio",
      "sources": ["native/stdio.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "xcode_settings": { "GCC_ENABLE_CPP_EXCEPTIONS": "YES" },
      "msvs_settings": { "VCCLCompilerTool": { "ExceptionHandling": 1 } }
    },
    {
      "target_name": "alexnet_mpi",
      "conditions": [
        [
          "has_mpi==1",
          {
            "sources": ["native/mpi.cc"],
            "include_dirs": [
              "<!(node -p \"require('node-addon-api').include_dir\")",
              "<!@(node scripts/mpi-config.cjs incdirs)"
            ],
            "libraries": ["<!@(node scripts/mpi-config.cjs libs)"],
            "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS", "OMPI_SKIP_MPICXX=1"],
            "cflags!": ["-fno-exceptions"],
            "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++20"],
            "cflags_cc": ["-O2", "-std=c++17", "-fexceptions"],
            "ldflags": ["-pthread"]
          },
          { "type": "none" }
        ]
      ]
    }
  ]
}
