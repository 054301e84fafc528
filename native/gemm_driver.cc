// GEMM driver: ISA dispatch, cache blocking, packing buffers, the GotoBLAS/BLIS loop nest and its
// threading, the GEMV path, and syrkLower. Baseline ISA only: all SIMD code lives in the kernel sets
// (gemm_body.h compiled by gemm_<isa>.cc) and is reached through function pointers after the CPU
// check below.
//
// Loop nest (kernel land, column-major C' = A' B', see gemm_internal.h):
//   jc over N' in NC blocks
//     pc over K in KC blocks: pack alpha * B'(pc, jc) into the shared B~ (caller's thread)
//       tasks = (ic block of MC rows) x (jr chunk of the NC columns), claimed dynamically by the pool
//       threads: pack A'(ic, pc) into the thread's private A~ (or read A' in place, "direct", for
//       small problems whose A' columns are contiguous), run the macro-kernel (jr, ir, microkernel)
// KC is a function of K and the cache sizes only, never of the thread count, and each C tile is owned
// by one task, so results are bit-identical for any number of threads. C with at most 4 rows or
// columns goes to the GEMV kernels instead (no packing; one pass over the big operand).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#if defined(__linux__)
#include <sys/mman.h>
#endif
#if defined(_WIN32)
#include <malloc.h>
#endif

#include "gemm.h"
#include "isa.h"
#include "gemm_internal.h"
#include "threadpool.h"

namespace lr {
namespace gk {
namespace {

// ---- dispatch ----------------------------------------------------------------------------------------

const KernelTable* chooseTable(bool honourEnv) {
  switch (honourEnv ? lr::kernelIsa() : lr::hardwareIsa()) {
    case Isa::Avx512:
      if (avx512Table()) return avx512Table();
      [[fallthrough]];
    case Isa::Avx2:
      if (avx2Table()) return avx2Table();
      return scalarTable();
    case Isa::Neon:
      if (neonTable()) return neonTable();
      return scalarTable();
    default:
      return scalarTable();
  }
}

// ---- cache sizes and blocking -----------------------------------------------------------------------

struct CacheSizes {
  int64_t l1 = 32 << 10, l2 = 1 << 20, l3 = 32 << 20;
};

#if defined(__linux__)
bool readSmallFile(const std::string& path, char* buf, size_t n) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (!f) return false;
  size_t got = std::fread(buf, 1, n - 1, f);
  std::fclose(f);
  buf[got] = 0;
  return got > 0;
}
#endif

CacheSizes readCaches() {
  CacheSizes c;
#if defined(__linux__)
  for (int idx = 0; idx < 8; ++idx) {
    std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(idx) + "/";
    char level[16], type[32], size[32];
    if (!readSmallFile(dir + "level", level, sizeof level) || !readSmallFile(dir + "type", type, sizeof type) ||
        !readSmallFile(dir + "size", size, sizeof size))
      continue;
    char* end = nullptr;
    long long v = std::strtoll(size, &end, 10);
    if (v <= 0) continue;
    if (end && (*end == 'K' || *end == 'k'))
      v <<= 10;
    else if (end && (*end == 'M' || *end == 'm'))
      v <<= 20;
    const int lv = std::atoi(level);
    const bool data = std::strncmp(type, "Data", 4) == 0 || std::strncmp(type, "Unified", 7) == 0;
    if (!data) continue;
    if (lv == 1)
      c.l1 = v;
    else if (lv == 2)
      c.l2 = v;
    else if (lv == 3)
      c.l3 = v;
  }
#endif
  // Clamp to sane ranges (virtual machines sometimes report nonsense).
  c.l1 = std::min<int64_t>(std::max<int64_t>(c.l1, 16 << 10), 128 << 10);
  c.l2 = std::min<int64_t>(std::max<int64_t>(c.l2, 256 << 10), 4 << 20);
  c.l3 = std::min<int64_t>(std::max<int64_t>(c.l3, 2 << 20), 256 << 20);
  return c;
}

template <class T>
Blocking computeBlocking(const KernelSet<T>& ks, const CacheSizes& cs) {
  const int64_t s = sizeof(T);
  Blocking b;
  // KC: the KC x NR micro-panel of B~ fills about 3/4 of L1 (between half of and the kernel's
  // preferred KC; on a 32 KiB L1 that is 512 for f32 32x12 and 256 for f64 16x12, measured 2-3 %
  // faster than half of L1 for f64). Depends only on the machine, never on the thread count.
  int64_t kc = cs.l1 * 3 / 4 / (ks.nr * s);
  kc = std::min<int64_t>(std::max<int64_t>(kc, ks.kc / 2), ks.kc);
  b.kc = std::max<int64_t>(kc - kc % 8, 8);
  // MC: the private A~ (MC x KC) fills about half of L2.
  int64_t mc = cs.l2 / 2 / (b.kc * s);
  mc = std::min<int64_t>(std::max<int64_t>(mc, ks.mc / 2), 2 * ks.mc);
  b.mc = std::max<int64_t>(mc - mc % ks.mr, ks.mr);
  // NC: the shared B~ (KC x NC) stays within half of L3.
  int64_t nc = cs.l3 / 2 / (b.kc * s);
  nc = std::min<int64_t>(std::max<int64_t>(nc, 8 * ks.nr), ks.nc);
  b.nc = std::max<int64_t>(nc - nc % ks.nr, ks.nr);
  return b;
}

const CacheSizes& readCachesOnce() {
  static const CacheSizes c = readCaches();
  return c;
}

struct BlockingState {
  Blocking f32, f64;
  BlockingState() {
    const KernelTable& t = activeTable();
    const CacheSizes& cs = readCachesOnce();
    f32 = computeBlocking(t.f32, cs);
    f64 = computeBlocking(t.f64, cs);
  }
};
BlockingState& blockingState() {
  static BlockingState s;
  return s;
}

// ---- the f64 set for big products ----------------------------------------------------------------------

// A product through the general loop nest whose C has at least kBigMinDim rows and columns runs on the table's
// f64Big set where that is enabled: by default only on Zen 4, the CPU it was measured faster on (the
// 16 x 12 kernel measured ahead of OpenBLAS on Zen 5 and stays there until the other is measured). From
// 2048: at n = 1024 on 2 threads the 24-row tiles split C' into uneven blocks (-4 %; +2 % on one thread).
// LOWRANK_GEMM_BIG=on|off (read once, at the first call) forces the choice, for tests and tuning. With f64's
// blocking the set changes speed only, never a bit of the result.
constexpr int64_t kBigMinDim = 2048;

bool bigEnabled() {
  static const bool on = [] {
    if (activeTable().f64Big.mr == 0) return false;
    const char* e = std::getenv("LOWRANK_GEMM_BIG");
    if (e && std::strcmp(e, "on") == 0) return true;
    if (e && std::strcmp(e, "off") == 0) return false;
    return cpuFeatures().zen4;
  }();
  return on;
}

template <class T>
const KernelSet<T>* bigSet() {
  return nullptr;
}
template <>
const KernelSet<double>* bigSet<double>() {
  return bigEnabled() ? &activeTable().f64Big : nullptr;
}

// ---- buffers -----------------------------------------------------------------------------------------

// A grow-only, 64-byte aligned scratch buffer (2 MiB aligned, with transparent huge pages requested,
// once it is large). One per thread and role: first-touch page faults happen once, not per call.
class Buffer {
 public:
  ~Buffer() { release(p_); }
  template <class T>
  T* get(int64_t count) {
    const size_t bytes = static_cast<size_t>(count) * sizeof(T);
    if (bytes > cap_) grow(bytes);
    return static_cast<T*>(p_);
  }

 private:
  void grow(size_t bytes) {
    size_t cap = std::max(bytes, cap_ + cap_ / 2);
    release(p_);
    p_ = nullptr;
    cap_ = 0;
    const size_t huge = size_t(2) << 20;
    const size_t align = cap >= 2 * huge ? huge : 64;
    cap = (cap + align - 1) / align * align;
    void* p = nullptr;
#if defined(_WIN32)
    p = _aligned_malloc(cap, align);
#else
    if (posix_memalign(&p, align, cap) != 0) p = nullptr;
#endif
    if (!p) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (align == huge) madvise(p, cap, MADV_HUGEPAGE);
#endif
    p_ = p;
    cap_ = cap;
  }
  static void release(void* p) {
#if defined(_WIN32)
    _aligned_free(p);
#else
    std::free(p);
#endif
  }
  void* p_ = nullptr;
  size_t cap_ = 0;
};

thread_local Buffer tlsPackA;     // private A~ of whichever thread runs a task
thread_local Buffer tlsPackB;     // shared B~, owned by the calling thread
thread_local Buffer tlsVec;       // GEMV: the vector operands, alpha folded in (caller's thread)
thread_local Buffer tlsGemvWork;  // GEMV: column accumulators of axpyRows (each thread)
thread_local Buffer tlsTransC;    // skinny C = A^T op(B): a block of C^T (each thread)
thread_local Buffer tlsSplit;     // long-k products: the partial C of every chunk (caller's thread)

inline int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Elements of T from p to the next 64-byte line boundary (0 when p is on one), or -1 when p is not
// aligned to sizeof(T) (no element is then on a line boundary).
template <class T>
int64_t elemsToLine(const T* p) {
  const uintptr_t mis = reinterpret_cast<uintptr_t>(p) % 64;
  if (mis % sizeof(T) != 0) return -1;
  return static_cast<int64_t>((64 - mis) % 64 / sizeof(T));
}
inline int64_t roundUp(int64_t a, int64_t b) { return ceilDiv(a, b) * b; }

// Below this many flops the hand-off to the pool costs more than it saves.
constexpr double kMinParallelFlops = 4.0e6;
// Direct (unpacked) A' when N' is at most this, or M' N' K at most kDirectMaxWork (see packedGemm).
// Measured (1 thread, f32): 20 x 2000 x 150 64 -> 79 % of peak, Q^T A with 20 x 4096 x 4096 35 -> 49 %,
// 96 x 4096 x 2048 73 -> 78 %, 64^3 73 -> 77 %, 384^3 93 -> 96 %; neutral from 1024^3 up, where the
// packed copy's contiguity wins back its cost.
// f64 (AVX2, Zen 3): direct A' at 256^3 ran at 29 GFLOP/s against 43 packed (rows 2 KiB apart), so f64
// keeps it for tiny products only.
constexpr int64_t kDirectMaxN = 128;
template <class T>
constexpr double kDirectMaxWork = sizeof(T) == 4 ? 384.0 * 384.0 * 384.0 : 128.0 * 128.0 * 128.0;
// The bound of the main nest when A' is not line-aligned (see misalignedMaxWork in packedGemm).
// f32 squares with A' at 16 bytes past a line (where V8 puts large typed arrays; the native backend's own
// stores start on a line, ts/backends/native/index.ts), 1 thread, Zen 3, paired
// C++ harness: n = 256 direct 83-85 GFLOP/s against 94 packed (rows 1 KiB apart: every straddling
// MR-vector is two lines in only 4 L1 sets), n = 384 1.03-1.05x packed, n = 224 and below equal or
// direct faster (n = 160 by 3 %).
template <class T>
constexpr double kDirectMaxWorkMisaligned = std::min(kDirectMaxWork<T>, 224.0 * 224.0 * 224.0);
// Several threads: the rows of the last `threads` row blocks of each (jc, pc) phase are claimed as blocks of
// mc / kTailSplit rows, so that when one core runs slower than the other (a busy SMT sibling or neighbour on a
// shared host) the faster one does not idle for most of a block at the end of every phase. 2048^3 f32 on two
// threads of the Zen 5 guest, instrumented driver, three runs of 10 products: one thread idle 22-97 ms of
// 500-570 ms with whole blocks (one vCPU up to 20 % slower per block), 9-16 ms with mc / 4, 5-6 ms with
// mc / 8; wall 50.5-57.0 -> 49.9-54.0 ms per product. On a quiet host 1 vs 2 vs 4 in one process (C++
// harness): f32 2048^3 44.8 / 44.7 / 45.0 and 44.8 / 46.4 / 45.6 ms, f64 2048^3 110.8 / 112.7 / 111.0 and
// 111.1 / 109.6 / 109.4, f32 4096^3 404.8 / 406.1 / 403.5 and 399.1 / 405.8 / 400.6, n = 512 / 1024 within 1 %.
// No tail blocks below kTailMinRows rows (kept conservative: f64 512^3 on two threads, tail blocks of 32 rows,
// measured 1-2 % slower, but so did a build without any tail split - code placement, not the split; AVX2 f64
// 2048^3, tail blocks of 48 rows, measured the same either way). The tiling does not change per-entry
// arithmetic: the same bits.
constexpr int64_t kTailSplit = 4;
constexpr int64_t kTailMinRows = 64;
// B~ blocks at least this large are packed by all threads (64 x 256 f32 and up). Zen 5, squares on 2 threads,
// separate processes alternating (C++ harness): against packing on the caller up to 2^21 elements, AVX2
// kernels f32 n = 512 / 1024 / 2048 +5-7 / +3 / +1-2 %, f64 +5 / +3.5 / 0 %; AVX-512 kernels f64 n = 384-1024
// +4-14 %, f32 1024 / 2048 +2-6 / 0-4 %. (On Zen 3 the same change had measured within noise, +0-2 %.)
constexpr int64_t kParallelPackElems = int64_t(1) << 14;
// GEMV path: split across threads from this many matrix elements (memory-bound: more bandwidth).
constexpr int64_t kMinParallelGemv = int64_t(1) << 17;
// Skinny path (see gemm): C with at most this many columns and at least this much work (m n k) is
// split by rows of C, each task packing its own L2-sized block of the big operand (or reading it in place,
// direct B'), and the small operand too unless it is line-aligned: with 129-256 columns this route paid off only for f32 on several threads
// (Zen 3, square n = 256, this route against the packed nest: f64 2 threads 55 vs 79 GFLOP/s, 1 thread
// 31 vs 44; f32 about equal on 1 thread).
template <class T>
constexpr int64_t skinnyMaxM(int threads) {
  return sizeof(T) == 4 && threads > 1 ? 256 : 128;
}
constexpr double kSkinnyMinWork = 1.0e7;
// Skinny C = A^T op(B): rows of C computed as column blocks of C^T at most this wide (scratch <= 1 MiB f64).
constexpr int64_t kTransCBlock = 1024;
// Long-k products with a small C (beta = 0; e.g. Gram matrices and projections K^T Y of tall blocks):
// k at least kSplitMinK and m n at most kSplitMaxOut are split into kSplitChunks(k) fixed chunks of k, each
// a one-thread product into its own partial C, then summed in chunk order. In the loop nest such a
// product is a long series of small kc blocks, each a fork-join with the B~ pack on the caller alone
// (Zen 3: a 4000 x 60 Gram on 2 threads no faster than on 1). The chunks depend on k only, never on the
// thread count, so results stay bit-identical for any number of threads.
constexpr int64_t kSplitMinK = 1024;
constexpr int64_t kSplitMaxOut = 128 * 128;
// An even count (2 threads share it evenly): 2 chunks from k = 1024, 4 from 2048, 6 from 3072, at most 8.
inline int64_t kSplitChunks(int64_t k) { return 2 * std::min<int64_t>(4, k / 1024); }

int clampThreads(int threads) {
  if (threads <= 1) return 1;
  const int mx = ThreadPool::get().maxThreads();
  return threads < mx ? threads : mx;
}

// ---- helpers -----------------------------------------------------------------------------------------

// C (row-major m x n) *= beta, only the lower triangle (j <= i) when lower; beta == 0 writes zeros.
template <class T>
void scaleC(int64_t m, int64_t n, T beta, T* C, int64_t ldc, bool lower) {
  if (beta == T(1)) return;
  for (int64_t i = 0; i < m; ++i) {
    T* c = C + i * ldc;
    const int64_t e = lower ? std::min(i + 1, n) : n;
    if (beta == T(0))
      for (int64_t j = 0; j < e; ++j) c[j] = T(0);
    else
      for (int64_t j = 0; j < e; ++j) c[j] = beta * c[j];
  }
}

// The packed loop nest (see the file comment). a: A'(i, p) at a[i * ars + p * acs]; b: B'(p, j) at
// b[p * brs + j * bcs]; C'(i, j) at C[i + j * ldc]. tri: only i <= j (kernel land) is computed.
template <class T>
void packedGemm(const KernelSet<T>& ks, const Blocking& bl, bool tri, int64_t M, int64_t N, int64_t K, T alpha,
                const T* a, int64_t ars, int64_t acs, const T* b, int64_t brs, int64_t bcs, T beta, T* C, int64_t ldc,
                int threads, double misalignedMaxWork = -1.0) {
  const int64_t MR = ks.mr, NR = ks.nr;
  // Balanced splits: no tiny last block. kc depends on K and the caches only.
  const int64_t kc = ceilDiv(K, ceilDiv(K, bl.kc));
  const int64_t nc = roundUp(ceilDiv(N, ceilDiv(N, bl.nc)), NR);
  int64_t mc = roundUp(ceilDiv(M, ceilDiv(M, bl.mc)), MR);
  if (threads > 1) {
    // At least two row blocks per thread so dynamic claiming can balance; MC stays a multiple of MR.
    const int64_t want = 2 * threads;
    if (ceilDiv(M, mc) < want) mc = std::max(MR, roundUp(ceilDiv(M, want), MR));
  }
  T* pb = tlsPackB.get<T>(kc * nc);
  // Direct A': skip packing A' when its columns are contiguous (ars == 1) and a packed copy would pay
  // off badly: few column tiles reuse it (small N'), or the whole problem is tiny.
  // misalignedMaxWork (>= 0; f32 callers): when an MR-vector of A' is not a whole cache line, each one
  // straddles two lines and the tile's A' slice costs twice the L2 -> L1 traffic of the packed copy; then a
  // product with more than kDirectMaxN columns reads A' in place only up to this much work. The skinny
  // route's tasks pass 0: f32 A X with X 2000 x 60 (rows 240 bytes apart) ran 4-14 % faster packed on Zen 3,
  // 1 and 2 threads, and U = K V with K 4000 x 240, V 240 x 50 (tasks 50 x 276 x 240) 14 % faster (paired,
  // C++ harness); f64 (rows 480 bytes apart) ran 2-6 % slower packed, so f64 keeps direct A' (-1: the
  // aligned bound). The main nest passes kDirectMaxWorkMisaligned.
  const int64_t strideBytes = acs * static_cast<int64_t>(sizeof(T));
  const int64_t toLine = elemsToLine(a);
  const bool aligned = toLine == 0 && strideBytes % 64 == 0;
  const double maxWork = aligned || misalignedMaxWork < 0 ? kDirectMaxWork<T> : misalignedMaxWork;
  const bool directA = ars == 1 && (N <= kDirectMaxN || static_cast<double>(M) * N * K <= maxWork);
  // Direct A' off a line boundary by the same amount at every k step (its column stride a whole number of
  // lines, e.g. the rows of a big row-major matrix that V8 placed 16 bytes past a line): the first `head`
  // rows (fewer than a line) become a block of their own, packed as a partial micro-panel, so that every
  // later tile's MR-vectors are whole lines. Per-entry arithmetic does not depend on the tiling. Only for
  // columns at least 4 KiB apart (each k step a new page): A^T Q (4000 x 2000, Q 4000 x 60; rows of A read
  // in place, 8 KiB apart in f32) ran 1.07-1.15x faster in f32 and 1.13-1.14x in f64, 1 and 2 threads
  // (Zen 3, paired C++ harness); f32 squares n = 128 / 192 (rows 0.5 / 0.75 KiB apart) lost 13 / 9 % to the
  // extra partial tile.
  const int64_t head =
      directA && !tri && strideBytes % 64 == 0 && strideBytes >= 4096 && toLine > 0 ? std::min(M, toLine) : 0;
  // Row blocks: [0, head) when head > 0, then blocks of mc rows; on several threads (at least two blocks
  // each) the rows of the last `threads` blocks are cut into blocks of mcTail (see kTailSplit), claimed last.
  const int64_t hb = head > 0 ? 1 : 0;
  const int64_t nBody = ceilDiv(M - head, mc);
  const int64_t mcTail = std::max<int64_t>(MR, roundUp(mc / kTailSplit, MR));
  const int64_t nMain =
      threads > 1 && mcTail < mc && mcTail >= kTailMinRows && nBody >= 2 * threads ? nBody - threads : nBody;
  const int64_t tailStart = head + nMain * mc;
  const int64_t nIc = hb + nMain + (nMain < nBody ? ceilDiv(M - tailStart, mcTail) : 0);
  auto icStart = [&](int64_t q) {
    if (q < hb) return int64_t(0);
    if (q < hb + nMain) return head + (q - hb) * mc;
    return tailStart + (q - hb - nMain) * mcTail;
  };
  auto icRows = [&](int64_t q) {
    if (q < hb) return head;
    return std::min(q < hb + nMain ? mc : mcTail, M - icStart(q));
  };
  // Direct B': skip packing B' (the big operand of a skinny product, e.g. A X with X n x 60: each B~ panel
  // would be used by only M' / MR tiles) when its columns are contiguous and alpha needs no folding in.
  const bool directB = ks.directB && !tri && brs == 1 && alpha == T(1) && M <= kDirectMaxN;

  for (int64_t jc = 0; jc < N; jc += nc) {
    const int64_t ncur = std::min(nc, N - jc);
    const int64_t npan = ceilDiv(ncur, NR);
    // Too few row blocks for the threads (small M'): also split the jr loop.
    int64_t nJr = 1;
    if (threads > 1 && nIc < 2 * threads) nJr = std::min(npan, ceilDiv(2 * threads, nIc));
    for (int64_t pc = 0; pc < K; pc += kc) {
      const int64_t kcur = std::min(kc, K - pc);
      const T* bsrc = b + pc * brs + jc * bcs;
      auto packRange = [&](int64_t p0, int64_t p1, int) {
        ks.packB(kcur, std::min(p1 * NR, ncur) - p0 * NR, bsrc + p0 * NR * bcs, brs, bcs, alpha, pb + p0 * NR * kcur);
      };
      if (directB) {
        // Only a trailing partial micro-panel is packed (the kernels need NR columns to exist).
        if (ncur % NR != 0) packRange(npan - 1, npan, 0);
      } else if (threads > 1 && kcur * ncur >= kParallelPackElems) {
        // Pack B~ on all threads unless it is tiny: on the caller alone the workers idle for the whole pack
        // (2-4 % of a 2048^3 f32 product on 2 threads). The extra fork-join costs ~1 us while the workers
        // spin (the busy periods of threadpool.cc), a scheduler time slice when the cores are oversubscribed.
        parallelRanges(threads, npan, 8, packRange);
      } else {
        packRange(0, npan, 0);
      }

      const T betaEff = pc == 0 ? beta : T(1);
      const T* asrc = a + pc * acs;
      parallelFor(threads, nIc * nJr, [&](int64_t t, int) {
        const int64_t ic = icStart(t / nJr), jrb = t % nJr;
        int64_t mcur = icRows(t / nJr);
        const int64_t p0 = npan * jrb / nJr, p1 = npan * (jrb + 1) / nJr;
        if (p0 >= p1) return;
        const int64_t j0 = p0 * NR, j1 = std::min(p1 * NR, ncur);
        if (tri) {
          // Rows below the last column of this range hold no upper-triangle entries.
          const int64_t lastCol = jc + j1 - 1;
          if (ic > lastCol) return;
          mcur = std::min(mcur, lastCol - ic + 1);
        }
        T* pa = tlsPackA.get<T>(kc * roundUp(mc, MR));
        const T* ad = nullptr;
        if (directA) {
          // Only a trailing partial micro-panel is packed (the kernels need MR rows to exist).
          const int64_t mfull = mcur - mcur % MR;
          if (mfull < mcur)
            ks.packA(mcur - mfull, kcur, asrc + (ic + mfull) * ars, ars, acs, pa + (mfull / MR) * kcur * MR);
          ad = asrc + ic * ars;
        } else {
          ks.packA(mcur, kcur, asrc + ic * ars, ars, acs, pa);
        }
        ks.macro(mcur, j1 - j0, kcur, pa, ad, acs, pb + p0 * NR * kcur, directB ? bsrc + j0 * bcs : nullptr, bcs,
                 C + ic + (jc + j0) * ldc, ldc, betaEff, tri, jc + j0 - ic);
      });
    }
  }
}

// m or n in [1, kMaxVec]: memory-bound matrix-vector products against up to kMaxVec vectors, reading
// the matrix operand once, unpacked. The small side is copied (times alpha) into contiguous vectors.
template <class T>
void gemvPath(const KernelSet<T>& ks, bool transA, bool transB, int64_t m, int64_t n, int64_t k, T alpha, const T* A,
              int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc, int threads) {
  const T* Mat;
  int64_t ldm, outputs, incy, incv;
  bool dotForm;
  int nv;
  T* X = tlsVec.get<T>(kMaxVec * k);
  if (n <= kMaxVec) {
    // Column c of C = alpha op(A) x_c with x_c = op(B)[:, c]; op(A) rows are contiguous unless transA.
    nv = static_cast<int>(n);
    for (int c = 0; c < nv; ++c)
      for (int64_t p = 0; p < k; ++p) X[c * k + p] = alpha * (transB ? B[c * ldb + p] : B[p * ldb + c]);
    Mat = A;
    ldm = lda;
    dotForm = !transA;
    outputs = m;
    incy = ldc;
    incv = 1;
  } else {
    // Row r of C = alpha x_r^T op(B) with x_r = op(A)[r, :]; op(B) columns are contiguous only when transB.
    nv = static_cast<int>(m);
    for (int r = 0; r < nv; ++r)
      for (int64_t p = 0; p < k; ++p) X[r * k + p] = alpha * (transA ? A[p * lda + r] : A[r * lda + p]);
    Mat = B;
    ldm = ldb;
    dotForm = transB;
    outputs = n;
    incy = 1;
    incv = ldc;
  }

  const bool par = threads > 1 && k * outputs >= kMinParallelGemv;
  if (dotForm) {
    auto rows = [&](int64_t r0, int64_t r1, int) {
      ks.dotRows(r1 - r0, k, Mat + r0 * ldm, ldm, X, k, nv, beta, C + r0 * incy, incy, incv);
    };
    if (par)
      parallelRanges(threads, outputs, 16, rows);
    else
      rows(0, outputs, 0);
  } else {
    constexpr int64_t kChunk = 256;  // column chunks of the thread split
    auto cols = [&](int64_t c0, int64_t c1, int) {
      const int64_t j0 = c0 * kChunk, j1 = std::min(c1 * kChunk, outputs);
      T* work = tlsGemvWork.get<T>(kMaxVec * kAxpyWorkBytes / sizeof(T));
      ks.axpyRows(j1 - j0, k, Mat + j0, ldm, X, k, nv, beta, C + j0 * incy, incy, incv, work);
    };
    const int64_t nChunks = ceilDiv(outputs, kChunk);
    if (par)
      parallelRanges(threads, nChunks, 1, cols);
    else
      cols(0, nChunks, 0);
  }
}

}  // namespace

// ---- gk entry points -------------------------------------------------------------------------------------

const KernelTable& activeTable() {
  static const KernelTable* t = chooseTable(true);
  return *t;
}

const char* hardwareIsa() {
  static const KernelTable* t = chooseTable(false);
  return t->isa;
}

template <>
Blocking activeBlocking<float>() {
  return blockingState().f32;
}
template <>
Blocking activeBlocking<double>() {
  return blockingState().f64;
}
template <>
void overrideBlocking<float>(Blocking b) {
  Blocking& d = blockingState().f32;
  if (b.kc > 0) d.kc = b.kc;
  if (b.mc > 0) d.mc = roundUp(b.mc, activeTable().f32.mr);
  if (b.nc > 0) d.nc = roundUp(b.nc, activeTable().f32.nr);
}
template <>
void overrideBlocking<double>(Blocking b) {
  Blocking& d = blockingState().f64;
  if (b.kc > 0) d.kc = b.kc;
  if (b.mc > 0) d.mc = roundUp(b.mc, activeTable().f64.mr);
  if (b.nc > 0) d.nc = roundUp(b.nc, activeTable().f64.nr);
}

}  // namespace gk

// ---- public API -------------------------------------------------------------------------------------------

namespace {

template <class T>
void gemmAt(bool transA, bool transB, int64_t m, int64_t n, int64_t k, T alpha, const T* A, int64_t lda, const T* B,
            int64_t ldb, T beta, T* C, int64_t ldc, int threads, bool mayKSplit);

// C (row-major m x n, ld ldc) = sum over the chunks c of part(c, P_c), P_c the chunk's partial (row-major,
// ld n), made by `part` on one thread each; lower: only the lower triangle (j <= i) is summed.
template <class T, class Part>
void kSplitSum(int64_t m, int64_t n, int64_t k, T* C, int64_t ldc, bool lower, int threads, Part&& part) {
  using namespace gk;
  const int64_t nch = kSplitChunks(k);
  T* P = tlsSplit.get<T>(nch * m * n);
  parallelFor(threads, nch, [&](int64_t c, int) { part(k * c / nch, k * (c + 1) / nch, P + c * m * n); });
  for (int64_t i = 0; i < m; ++i) {
    const int64_t e = lower ? std::min(i + 1, n) : n;
    T* ci = C + i * ldc;
    const T* p0 = P + i * n;
    for (int64_t j = 0; j < e; ++j) ci[j] = p0[j];
    for (int64_t c = 1; c < nch; ++c) {
      const T* pc = P + c * m * n + i * n;
      for (int64_t j = 0; j < e; ++j) ci[j] += pc[j];
    }
  }
}

}  // namespace

template <class T>
void gemm(bool transA, bool transB, int64_t m, int64_t n, int64_t k, T alpha, const T* A, int64_t lda, const T* B,
          int64_t ldb, T beta, T* C, int64_t ldc, int threads) {
  gemmAt<T>(transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc, threads, true);
}

namespace {

template <class T>
void gemmAt(bool transA, bool transB, int64_t m, int64_t n, int64_t k, T alpha, const T* A, int64_t lda, const T* B,
            int64_t ldb, T beta, T* C, int64_t ldc, int threads, bool mayKSplit) {
  using namespace gk;
  if (m <= 0 || n <= 0) return;
  if (k <= 0 || alpha == T(0)) {
    scaleC(m, n, beta, C, ldc, false);
    return;
  }
  const KernelSet<T>& ks = activeTable().get<T>();
  threads = clampThreads(threads);
  // One side of C is 1..4 wide: matrix-vector products (a packed tile would be mostly padding).
  if (m <= kMaxVec || n <= kMaxVec) {
    gemvPath(ks, transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc, threads);
    return;
  }
  if (2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k) < kMinParallelFlops) threads = 1;
  if (mayKSplit && beta == T(0) && k >= kSplitMinK && m * n <= kSplitMaxOut) {
    kSplitSum<T>(m, n, k, C, ldc, false, threads, [&](int64_t k0, int64_t k1, T* P) {
      gemmAt<T>(transA, transB, m, n, k1 - k0, alpha, transA ? A + k0 * lda : A + k0, lda,
                transB ? B + k0 : B + k0 * ldb, ldb, T(0), P, n, 1, false);
    });
    return;
  }
  // Row-major C = op(A) op(B) is column-major C' = C^T = op(B)^T op(A)^T: swap the operands.
  const int64_t ars = transB ? ldb : 1, acs = transB ? 1 : ldb;  // A' = op(B)^T, n x k
  const int64_t brs = transA ? lda : 1, bcs = transA ? 1 : lda;  // B' = op(A)^T, k x m
  const Blocking bl = activeBlocking<T>();
  // Only with beta = 0: with beta != 0 the loop nest below adds each kc block into C in turn, while this
  // route would sum the blocks first, so a caller that splits C's columns by thread count (TRSM) would get
  // different roundings for different splits (test/native/determinism).
  if (transA && beta == T(0) && n <= kDirectMaxN && m > 256 && static_cast<double>(m) * n * k >= kSkinnyMinWork) {
    // Skinny C = A^T op(B) with A stored k x m (e.g. A^T Q in randomized SVD): the skinny split below
    // would pack all of A (rows of A are columns of C). Instead each task computes a block of C^T =
    // op(B)^T A[:, i0:i1] on one thread: in kernel land A's rows are then read in place as MR-vectors
    // (direct A') and only the small op(B) is packed; the n x w block (thread-local scratch) is then
    // transposed into rows i0..i1 of C. One fork-join per call, blocks claimed dynamically. Each
    // entry's arithmetic (kc blocks, kernel order) does not depend on the thread count or the blocks.
    // Balanced blocks of at least 64 rows before the edges move (at least 48 after: the inner call never
    // takes the GEMV path).
    const int64_t nb =
        std::min<int64_t>(std::max<int64_t>(ceilDiv(m, kTransCBlock), threads == 1 ? 1 : 2 * threads), m / 64);
    // Where A's rows are a whole number of cache lines apart, inner block edges fall on line boundaries of
    // A (moved by less than a line), so that only the first block has a misaligned head (see packedGemm).
    const int64_t line = 64 / static_cast<int64_t>(sizeof(T));
    const int64_t h = elemsToLine(A);
    const bool alignEdges = (lda * static_cast<int64_t>(sizeof(T))) % 64 == 0 && h >= 0;
    auto edge = [&](int64_t q) {
      const int64_t e = m * q / nb;
      return q == 0 || q == nb || !alignEdges ? e : h + (e - h) / line * line;
    };
    parallelFor(threads, nb, [&](int64_t t, int) {
      const int64_t i0 = edge(t), w = edge(t + 1) - i0;
      T* D = tlsTransC.get<T>(n * w);
      gemmAt<T>(!transB, false, n, w, k, alpha, B, ldb, A + i0, lda, T(0), D, w, 1, false);
      for (int64_t i = 0; i < w; ++i) {
        T* c = C + (i0 + i) * ldc;
        if (beta == T(0))
          for (int64_t j = 0; j < n; ++j) c[j] = D[j * w + i];
        else
          for (int64_t j = 0; j < n; ++j) c[j] = beta * c[j] + D[j * w + i];
      }
    });
    return;
  }
  if (n <= skinnyMaxM<T>(threads) && m >= 4 * threads * ks.nr && static_cast<double>(m) * n * k >= kSkinnyMinWork) {
    // Skinny: few rows of C' (n small) against a long B' (the big operand op(A), e.g. A X with X n x 60
    // in randomized SVD). The loop nest would pack all of B' on the caller's thread into one large
    // shared B~; here each task takes a slice of C' columns (rows of C) whose B~ block fits in half of
    // L2, packs it itself and multiplies all of A' into it, so the big operand is packed by every thread
    // and re-read from L2, not L3. The small operand is packed per task too unless it can be read in place
    // whole cache lines at a time (see packedGemm). Per-element arithmetic (kc blocks, kernel order) is that of the
    // single-task nest, so results stay bit-identical for any thread count.
    const int64_t kc = ceilDiv(k, ceilDiv(k, bl.kc));
    int64_t w =
        roundUp(std::max<int64_t>(readCachesOnce().l2 / 2 / (kc * static_cast<int64_t>(sizeof(T))), ks.nr), ks.nr);
    w = std::min(w, roundUp(ceilDiv(m, 4 * threads), ks.nr));  // at least 4 tasks per thread
    const int64_t tasks = ceilDiv(m, w);
    parallelFor(threads, tasks, [&](int64_t t, int) {
      const int64_t j0 = t * w, j1 = std::min(m, j0 + w);
      packedGemm<T>(ks, bl, false, n, j1 - j0, k, alpha, B, ars, acs, A + j0 * bcs, brs, bcs, beta, C + j0 * ldc, ldc,
                    1, /*misalignedMaxWork=*/sizeof(T) == 4 ? 0.0 : -1.0);
    });
    return;
  }
  const KernelSet<T>* big = m >= kBigMinDim && n >= kBigMinDim ? bigSet<T>() : nullptr;
  packedGemm<T>(big ? *big : ks, bl, false, n, m, k, alpha, B, ars, acs, A, brs, bcs, beta, C, ldc, threads,
                /*misalignedMaxWork=*/sizeof(T) == 4 ? kDirectMaxWorkMisaligned<T> : -1.0);
}

template <class T>
void syrkAt(bool trans, int64_t n, int64_t k, T alpha, const T* A, int64_t lda, T beta, T* C, int64_t ldc, int threads,
            bool mayKSplit) {
  using namespace gk;
  if (n <= 0) return;
  if (k <= 0 || alpha == T(0)) {
    scaleC(n, n, beta, C, ldc, true);
    return;
  }
  const KernelSet<T>& ks = activeTable().get<T>();
  threads = clampThreads(threads);
  if (static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(k) < kMinParallelFlops) threads = 1;
  if (mayKSplit && beta == T(0) && k >= kSplitMinK && n * n <= kSplitMaxOut) {
    kSplitSum<T>(n, n, k, C, ldc, true, threads, [&](int64_t k0, int64_t k1, T* P) {
      syrkAt<T>(trans, n, k1 - k0, alpha, trans ? A + k0 * lda : A + k0, lda, T(0), P, n, 1, false);
    });
    return;
  }
  // op(A)(i, p) = trans ? A[p * lda + i] : A[i * lda + p]. Kernel land computes the upper triangle of
  // C' = C^T = op(A) op(A)^T, which is the row-major lower triangle of C.
  const int64_t rsI = trans ? 1 : lda, csP = trans ? lda : 1;
  packedGemm<T>(ks, activeBlocking<T>(), true, n, n, k, alpha, A, rsI, csP, A, csP, rsI, beta, C, ldc, threads);
}

}  // namespace

template <class T>
void syrkLower(bool trans, int64_t n, int64_t k, T alpha, const T* A, int64_t lda, T beta, T* C, int64_t ldc,
               int threads) {
  syrkAt<T>(trans, n, k, alpha, A, lda, beta, C, ldc, threads, true);
}

template <class T>
void gram(bool trans, int64_t n, int64_t k, T alpha, const T* A, int64_t lda, T* C, int64_t ldc, int threads) {
  if (n <= 0) return;
  if (n <= gk::kMaxVec)  // gemm's GEMV path is the fast one here (its upper triangle is overwritten below)
    gemm<T>(trans, !trans, n, n, k, alpha, A, lda, A, lda, T(0), C, ldc, threads);
  else
    syrkLower<T>(trans, n, k, alpha, A, lda, T(0), C, ldc, threads);
  // Upper triangle = lower, in 64 x 64 tiles; a task is one tile row (no two tasks write the same entry).
  constexpr int64_t kTile = 64;
  const int64_t tiles = (n + kTile - 1) / kTile;
  const int mt = static_cast<double>(n) * static_cast<double>(n) < 1e6 ? 1 : gk::clampThreads(threads);
  parallelFor(mt, tiles, [&](int64_t bi, int) {
    const int64_t i0 = bi * kTile, i1 = std::min(n, i0 + kTile);
    for (int64_t j0 = 0; j0 < i1; j0 += kTile) {
      const int64_t j1 = std::min(i1, j0 + kTile);
      for (int64_t i = i0; i < i1; ++i) {
        const int64_t je = std::min(j1, i);
        for (int64_t j = j0; j < je; ++j) C[j * ldc + i] = C[i * ldc + j];
      }
    }
  });
}

template void gemm<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*, int64_t,
                          float, float*, int64_t, int);
template void gemm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t, const double*,
                           int64_t, double, double*, int64_t, int);
template void syrkLower<float>(bool, int64_t, int64_t, float, const float*, int64_t, float, float*, int64_t, int);
template void syrkLower<double>(bool, int64_t, int64_t, double, const double*, int64_t, double, double*, int64_t, int);
template void gram<float>(bool, int64_t, int64_t, float, const float*, int64_t, float*, int64_t, int);
template void gram<double>(bool, int64_t, int64_t, double, const double*, int64_t, double*, int64_t, int);

const char* gemmKernelName() { return gk::bigEnabled() ? gk::activeTable().descBig : gk::activeTable().desc; }
const char* isaName() { return gk::activeTable().isa; }

}  // namespace lr
