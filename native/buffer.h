// A grow-only, 64-byte-aligned float scratch buffer, reused across calls so that the kernels
// do not allocate per batch. Every instance is thread_local: the pool's workers and each
// JavaScript thread calling the addon have their own.
#pragma once
#include <cstddef>
#include <cstdlib>
#include <new>

namespace anative {

struct Buffer {
  float* p = nullptr;
  size_t cap = 0;
  float* get(size_t n) {
    if (n > cap) {
      std::free(p);
      p = nullptr;
      cap = 0;
      size_t bytes = ((n * sizeof(float) + 63) / 64) * 64;
      p = static_cast<float*>(std::aligned_alloc(64, bytes == 0 ? 64 : bytes));
      if (!p) throw std::bad_alloc();
      cap = n;
    }
    return p;
  }
  Buffer() = default;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() { std::free(p); }
};

}  // namespace anative
