// alexnet_stdio: points the process's standard error (file descriptor 2) at another open file
// and back. The webgpu backend opens its device through Dawn and the Vulkan drivers, which
// write warnings straight to fd 2 from native code (a refused driver, an absent runtime
// directory, reduced limits); while that runs, fd 2 is pointed at /dev/null so that a user sees
// only the backend's own one line. Node has no dup2 of its own.
#include <napi.h>

#ifdef _WIN32
#include <io.h>
#define dup _dup
#define dup2 _dup2
#define close _close
#else
#include <unistd.h>
#endif

namespace {

// stderrTo(fd) → saved: fd 2 now writes to `fd`; `saved` is a new descriptor of the old fd 2.
Napi::Value stderrTo(const Napi::CallbackInfo& info) {
  const int fd = info[0].As<Napi::Number>().Int32Value();
  const int saved = dup(2);
  if (saved < 0) throw Napi::Error::New(info.Env(), "stderrTo: dup(2) failed");
  if (dup2(fd, 2) < 0) {
    close(saved);
    throw Napi::Error::New(info.Env(), "stderrTo: dup2 failed");
  }
  return Napi::Number::New(info.Env(), saved);
}

// stderrRestore(saved): fd 2 writes where it did before stderrTo; `saved` is closed.
Napi::Value stderrRestore(const Napi::CallbackInfo& info) {
  const int saved = info[0].As<Napi::Number>().Int32Value();
  const bool ok = dup2(saved, 2) >= 0;
  close(saved);
  if (!ok) throw Napi::Error::New(info.Env(), "stderrRestore: dup2 failed");
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("stderrTo", Napi::Function::New(env, stderrTo, "stderrTo"));
  exports.Set("stderrRestore", Napi::Function::New(env, stderrRestore, "stderrRestore"));
  return exports;
}

}  // namespace

NODE_API_MODULE(alexnet_stdio, Init)
