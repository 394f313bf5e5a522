{
  "targets": [
    {
      "target_name": "faiss_addon",
      "sources": ["src/addon.cc", "src/native_index.cc", "src/search.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-fopenmp", "-O2", "-Wall", "-Wno-sign-compare"],
      "libraries": ["-lfaiss", "-fopenmp", "-lblas", "-llapack"]
    }
  ]
}
