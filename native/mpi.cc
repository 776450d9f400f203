// The optional Open MPI module (alexnet_mpi.node, built only where mpi.h is found): collective
// operations for data-parallel training, run on one dedicated communication thread so that the
// JavaScript event loop never blocks. JavaScript queues a job and gets a Promise; the thread runs
// the jobs strictly in the order they were queued, one at a time, and a thread-safe function
// settles each Promise back on the main thread.
//
// Why one thread and one job in flight: every rank must issue the same collectives in the same
// order on a communicator, and with several allreduces in flight at once on one communicator
// buffers came back wrong without any error (31–33 of 80, Open MPI 4.1.4). MPI_Iallreduce polled
// from JavaScript made no progress between polls. A blocking MPI_Allreduce on this thread runs
// while the main thread goes on with backward, which is the overlap we want.
//
// Jobs: allreduce (sum in place over a list of float views, packed into one staging buffer when
// there are several, then scaled) and broadcast (from a root rank, in place). Views are held by
// references until their job ends; JavaScript must not touch them meanwhile.
#include <mpi.h>
#include <napi.h>

#include <climits>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

struct View {
  float* data;
  size_t size;
};

enum class Kind { Init, Allreduce, Broadcast, Finalize };

struct Job {
  Kind kind;
  std::vector<View> views;
  float scale = 1;
  int root = 0;
  // Main thread only: the Promise to settle and the arrays kept alive until then.
  Napi::Promise::Deferred deferred;
  std::vector<Napi::Reference<Napi::Value>> refs;
  // Written by the communication thread, read after it posts the job back.
  std::string error;

  Job(Kind k, Napi::Env env) : kind(k), deferred(Napi::Promise::Deferred::New(env)) {}
};

class Comm {
 public:
  int rank = -1;
  int size = 0;
  int threadLevel = 0;
  std::string processor;

  void start(Napi::Env env) {
    done_ = Napi::ThreadSafeFunction::New(
        env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}), "alexnet_mpi", 0, 1);
    done_.Unref(env);
    std::thread([this] { loop(); }).detach();
  }

  bool started() const { return static_cast<bool>(done_); }

  // Main thread: queue a job; the event loop stays alive while any job is pending.
  void submit(Napi::Env env, Job* job) {
    if (pending_++ == 0) done_.Ref(env);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.push_back(job);
    }
    wake_.notify_one();
  }

 private:
  Napi::ThreadSafeFunction done_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job*> queue_;
  long pending_ = 0;  // main thread only
  std::vector<float> staging_;

  void loop() {
    for (;;) {
      Job* job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [this] { return !queue_.empty(); });
        job = queue_.front();
        queue_.pop_front();
      }
      run(job);
      const bool last = job->kind == Kind::Finalize;
      done_.NonBlockingCall(job, [this](Napi::Env env, Napi::Function, Job* j) { settle(env, j); });
      if (last) {
        done_.Release();
        return;
      }
    }
  }

  void settle(Napi::Env env, Job* job) {
    std::unique_ptr<Job> owned(job);
    if (--pending_ == 0 && job->kind != Kind::Finalize) done_.Unref(env);
    if (!job->error.empty()) {
      job->deferred.Reject(Napi::Error::New(env, job->error).Value());
    } else if (job->kind == Kind::Init) {
      Napi::Object info = Napi::Object::New(env);
      info.Set("rank", rank);
      info.Set("size", size);
      info.Set("threadLevel", threadLevel);
      info.Set("processor", processor);
      job->deferred.Resolve(info);
    } else {
      job->deferred.Resolve(env.Undefined());
    }
  }

  static std::string describe(int rc) {
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, text, &len);
    return std::string(text, len);
  }

  void check(Job* job, int rc, const char* what) {
    if (rc != MPI_SUCCESS && job->error.empty())
      job->error = std::string(what) + ": " + describe(rc);
  }

  // In place over data[0, n), in pieces of at most INT_MAX elements (MPI counts are int).
  void allreduce(Job* job, float* data, size_t n) {
    for (size_t at = 0; at < n && job->error.empty(); at += INT_MAX) {
      const int count = static_cast<int>(std::min<size_t>(INT_MAX, n - at));
      check(job, MPI_Allreduce(MPI_IN_PLACE, data + at, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD),
            "MPI_Allreduce");
    }
  }

  void broadcast(Job* job, float* data, size_t n) {
    for (size_t at = 0; at < n && job->error.empty(); at += INT_MAX) {
      const int count = static_cast<int>(std::min<size_t>(INT_MAX, n - at));
      check(job, MPI_Bcast(data + at, count, MPI_FLOAT, job->root, MPI_COMM_WORLD), "MPI_Bcast");
    }
  }

  void run(Job* job) {
    switch (job->kind) {
      case Kind::Init: {
        // This thread is the only one that calls MPI (MPI_THREAD_FUNNELED would do); MULTIPLE
        // is asked for so that MPI_Abort from the main thread is allowed while a job runs.
        int provided = 0;
        check(job, MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided),
              "MPI_Init_thread");
        if (!job->error.empty()) return;
        MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
        MPI_Comm_size(MPI_COMM_WORLD, &size);
        threadLevel = provided;
        char name[MPI_MAX_PROCESSOR_NAME];
        int len = 0;
        MPI_Get_processor_name(name, &len);
        processor.assign(name, len);
        return;
      }
      case Kind::Allreduce: {
        if (job->views.size() == 1) {
          allreduce(job, job->views[0].data, job->views[0].size);
        } else {
          size_t total = 0;
          for (const View& v : job->views) total += v.size;
          staging_.resize(total);
          size_t at = 0;
          for (const View& v : job->views) {
            std::memcpy(staging_.data() + at, v.data, v.size * sizeof(float));
            at += v.size;
          }
          allreduce(job, staging_.data(), total);
          at = 0;
          for (const View& v : job->views) {
            std::memcpy(v.data, staging_.data() + at, v.size * sizeof(float));
            at += v.size;
          }
        }
        if (job->scale != 1)
          for (const View& v : job->views)
            for (size_t i = 0; i < v.size; i++) v.data[i] *= job->scale;
        return;
      }
      case Kind::Broadcast:
        for (const View& v : job->views) broadcast(job, v.data, v.size);
        return;
      case Kind::Finalize:
        check(job, MPI_Finalize(), "MPI_Finalize");
        return;
    }
  }
};

Comm* comm = nullptr;  // one per process, never destroyed (its thread may be blocked in MPI)

Comm& started(const Napi::Env& env) {
  if (!comm || !comm->started()) throw Napi::Error::New(env, "alexnet_mpi: init() was not called");
  return *comm;
}

// views: Float32Array[]; every one is referenced until its job ends.
Job* jobWithViews(const Napi::Env& env, Kind kind, const Napi::Value& arg, const char* fn) {
  if (!arg.IsArray()) throw Napi::TypeError::New(env, std::string(fn) + ": views must be an array");
  Napi::Array list = arg.As<Napi::Array>();
  auto job = std::make_unique<Job>(kind, env);
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Value v = list.Get(i);
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      throw Napi::TypeError::New(
          env, std::string(fn) + ": views[" + std::to_string(i) + "] must be a Float32Array");
    Napi::Float32Array a = v.As<Napi::Float32Array>();
    job->views.push_back({a.Data(), a.ElementLength()});
    job->refs.push_back(Napi::Persistent(v));
  }
  return job.release();
}

// init(): Promise<{ rank, size, threadLevel, processor }>
Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (comm) throw Napi::Error::New(env, "alexnet_mpi: init() was already called");
  comm = new Comm();
  comm->start(env);
  Job* job = new Job(Kind::Init, env);
  Napi::Promise promise = job->deferred.Promise();
  comm->submit(env, job);
  return promise;
}

// allreduce(views, scale): Promise<void>; every view ← scale · Σ_ranks view.
Napi::Value Allreduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Comm& c = started(env);
  if (info.Length() < 2 || !info[1].IsNumber())
    throw Napi::TypeError::New(env, "allreduce(views, scale): scale must be a number");
  Job* job = jobWithViews(env, Kind::Allreduce, info[0], "allreduce");
  job->scale = info[1].As<Napi::Number>().FloatValue();
  Napi::Promise promise = job->deferred.Promise();
  c.submit(env, job);
  return promise;
}

// broadcast(views, root): Promise<void>; every view ← root's view.
Napi::Value Broadcast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Comm& c = started(env);
  if (info.Length() < 2 || !info[1].IsNumber())
    throw Napi::TypeError::New(env, "broadcast(views, root): root must be a rank number");
  const int root = info[1].As<Napi::Number>().Int32Value();
  if (root < 0 || root >= c.size)
    throw Napi::RangeError::New(env, "broadcast: root " + std::to_string(root) +
                                         " is not a rank of " + std::to_string(c.size));
  Job* job = jobWithViews(env, Kind::Broadcast, info[0], "broadcast");
  job->root = root;
  Napi::Promise promise = job->deferred.Promise();
  c.submit(env, job);
  return promise;
}

// finalize(): Promise<void>, after every job queued before it.
Napi::Value Finalize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Comm& c = started(env);
  Job* job = new Job(Kind::Finalize, env);
  Napi::Promise promise = job->deferred.Promise();
  c.submit(env, job);
  return promise;
}

// abort(code): ends every rank of the job now (MPI_Abort), from the main thread, even while the
// communication thread is blocked in a collective that will never complete.
Napi::Value Abort(const Napi::CallbackInfo& info) {
  const int code =
      info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 1;
  MPI_Abort(MPI_COMM_WORLD, code);
  return info.Env().Undefined();
}

Napi::Object Register(Napi::Env env, Napi::Object exports) {
  exports.Set("init", Napi::Function::New(env, Init, "init"));
  exports.Set("allreduce", Napi::Function::New(env, Allreduce, "allreduce"));
  exports.Set("broadcast", Napi::Function::New(env, Broadcast, "broadcast"));
  exports.Set("finalize", Napi::Function::New(env, Finalize, "finalize"));
  exports.Set("abort", Napi::Function::New(env, Abort, "abort"));
  return exports;
}

}  // namespace

NODE_API_MODULE(alexnet_mpi, Register)
