// The N-API-free part of the addon's shared definitions: element types and the error kinds a job
// (or a plain C++ algorithm) raises. The algorithm headers (lapack.h, sparse.h, ...) include this, never
// common.h, so a plain C++ program (native/test/) can link the algorithms without Node.
#pragma once

#include <cstddef>
#include <new>
#include <stdexcept>
#include <string>

namespace lr {

enum class DType { F32, F64 };

inline const char* dtypeName(DType d) { return d == DType::F32 ? "f32" : "f64"; }

// An error raised inside a job (off the JS thread). `kind` picks the JS error class at rejection.
struct Error : std::runtime_error {
  enum Kind { Generic, Type, Range };
  Kind kind;
  Error(Kind k, const std::string& msg) : std::runtime_error(msg), kind(k) {}
};
[[noreturn]] inline void throwRange(const std::string& msg) { throw Error(Error::Range, msg); }

// A failed allocation inside the addon (the addon's operator new, job.cc, throws it with the size
// asked); it becomes a RangeError "out of memory (N bytes asked)".
struct OutOfMemory : std::bad_alloc {
  size_t bytes;
  explicit OutOfMemory(size_t b) : bytes(b) {}
  const char* what() const noexcept override { return "out of memory"; }
};
[[noreturn]] inline void throwGeneric(const std::string& msg) { throw Error(Error::Generic, msg); }

}  // namespace lr
