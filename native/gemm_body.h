// Generic GEMM kernel body, written once over a small vector abstraction `V` and compiled once per ISA.
//
// NO include guard and NO #include on purpose: every ISA file (gemm_avx512.cc, gemm_avx2.cc,
// gemm_neon.cc, gemm_scalar.cc) includes this file *inside its own namespace and inside its
// `#pragma GCC target` / `#pragma clang attribute` region*, after defining its vector types. Each copy
// is therefore a distinct set of functions compiled for that ISA (no shared inline/template code that
// the linker could merge across ISAs), and the driver reaches it only through KernelSet pointers.
//
// The vector type V provides (all LR_GK_INLINE, static):
//   T, R (register), G (broadcast group), W (lanes), BG (B values per group: 1 on x86, W on NEON)
//   zero(), load(p) (64-byte aligned), loadu(p), storeu(p, r), set1(x), fma(a, b, c) = a * b + c,
//   add(a, b), loadp(p, n) / storep(p, r, n) (first n < W lanes; others read as 0 / left untouched),
//   group(p) (BG consecutive B values), fmaLane(a, g, c, l) = a * g[l] + c, hsum(r),
//   kTrans4 and, when it is true, trans4(s, ld, d, dld, alpha): d[q * dld + r] = alpha * s[r * ld + q]
//   for r, q < 4 (a 4 x 4 transpose used by the packing routines); kUnrollK (k steps per trip of the
//   microkernel's main loop).
// Kernel land is column-major; see gemm_internal.h.

template <class I>
LR_GK_INLINE I gkMin(I a, I b) {
  return a < b ? a : b;
}

// ---- packing -------------------------------------------------------------------------------------

// A'(0:mc, 0:kc) -> MR-row micro-panels, k-major; element (i, p) at a[i * rs + p * cs].
template <class V, int MR>
void packPanelsA(int64_t mc, int64_t kc, const typename V::T* LR_GK_RESTRICT a, int64_t rs, int64_t cs,
                 typename V::T* LR_GK_RESTRICT dst) {
  using T = typename V::T;
  for (int64_t i0 = 0; i0 < mc; i0 += MR, dst += kc * MR) {
    const int mv = static_cast<int>(gkMin<int64_t>(MR, mc - i0));
    const T* src = a + i0 * rs;
    if (rs == 1 && mv == MR) {
      // Columns of A' are contiguous: straight copies.
      for (int64_t p = 0; p < kc; ++p) {
        const T* s = src + p * cs;
        T* d = dst + p * MR;
        LR_GK_UNROLL
        for (int i = 0; i < MR; ++i) d[i] = s[i];
      }
    } else if (rs == 1) {
      for (int64_t p = 0; p < kc; ++p) {
        const T* s = src + p * cs;
        T* d = dst + p * MR;
        for (int i = 0; i < mv; ++i) d[i] = s[i];
        for (int i = mv; i < MR; ++i) d[i] = T(0);
      }
    } else if (cs == 1 && mv == MR) {
      // Rows of A' are contiguous: a transpose, 4 x 4 blocks in registers where the ISA has them,
      // else blocks of 8 k-steps so each source row is read a cache line at a time.
      int64_t p = 0;
      if constexpr (V::kTrans4 && MR % 4 == 0) {
        for (; p + 4 <= kc; p += 4) {
          LR_GK_UNROLL
          for (int i = 0; i < MR; i += 4) V::trans4(src + i * rs + p, rs, dst + p * MR + i, MR, T(1));
        }
      } else {
        for (; p + 8 <= kc; p += 8) {
          LR_GK_UNROLL
          for (int i = 0; i < MR; ++i) {
            const T* s = src + i * rs + p;
            LR_GK_UNROLL
            for (int q = 0; q < 8; ++q) dst[(p + q) * MR + i] = s[q];
          }
        }
      }
      for (; p < kc; ++p)
        for (int i = 0; i < MR; ++i) dst[p * MR + i] = src[i * rs + p];
    } else {
      for (int64_t p = 0; p < kc; ++p) {
        T* d = dst + p * MR;
        for (int i = 0; i < mv; ++i) d[i] = src[i * rs + p * cs];
        for (int i = mv; i < MR; ++i) d[i] = T(0);
      }
    }
  }
}

// alpha * B'(0:kc, 0:nc) -> NR-column micro-panels, k-major; element (p, j) at b[p * rs + j * cs].
template <class V, int NR>
void packPanelsB(int64_t kc, int64_t nc, const typename V::T* LR_GK_RESTRICT b, int64_t rs, int64_t cs,
                 typename V::T alpha, typename V::T* LR_GK_RESTRICT dst) {
  using T = typename V::T;
  for (int64_t j0 = 0; j0 < nc; j0 += NR, dst += kc * NR) {
    const int nv = static_cast<int>(gkMin<int64_t>(NR, nc - j0));
    const T* src = b + j0 * cs;
    if (cs == 1 && nv == NR) {
      for (int64_t p = 0; p < kc; ++p) {
        const T* s = src + p * rs;
        T* d = dst + p * NR;
        LR_GK_UNROLL
        for (int j = 0; j < NR; ++j) d[j] = alpha * s[j];
      }
    } else if (rs == 1 && nv == NR) {
      // Columns of B' are contiguous (the common row-major A * B case): a transpose.
      int64_t p = 0;
      if constexpr (V::kTrans4) {
        constexpr int NR4 = NR - NR % 4;
        for (; p + 4 <= kc; p += 4) {
          LR_GK_UNROLL
          for (int j = 0; j < NR4; j += 4) V::trans4(src + j * cs + p, cs, dst + p * NR + j, NR, alpha);
          LR_GK_UNROLL
          for (int j = NR4; j < NR; ++j) {
            LR_GK_UNROLL
            for (int q = 0; q < 4; ++q) dst[(p + q) * NR + j] = alpha * src[j * cs + p + q];
          }
        }
      } else {
        for (; p + 8 <= kc; p += 8) {
          LR_GK_UNROLL
          for (int j = 0; j < NR; ++j) {
            const T* s = src + j * cs + p;
            LR_GK_UNROLL
            for (int q = 0; q < 8; ++q) dst[(p + q) * NR + j] = alpha * s[q];
          }
        }
      }
      for (; p < kc; ++p)
        for (int j = 0; j < NR; ++j) dst[p * NR + j] = alpha * src[j * cs + p];
    } else {
      for (int64_t p = 0; p < kc; ++p) {
        T* d = dst + p * NR;
        for (int j = 0; j < nv; ++j) d[j] = alpha * src[p * rs + j * cs];
        for (int j = nv; j < NR; ++j) d[j] = T(0);
      }
    }
  }
}

// ---- microkernel -----------------------------------------------------------------------------------

// One k step: MV vector loads of the A micro-panel (aligned when packed, unaligned when read straight
// from the caller's matrix), NR broadcast B values, MV * NR FMAs.
template <class V, int MV, int NR, bool kDirect, bool kDirectB = false>
LR_GK_INLINE void ukrStep(const typename V::T* LR_GK_RESTRICT a, const typename V::T* LR_GK_RESTRICT b,
                          typename V::R (&acc)[MV][NR], int64_t bs = 0) {
  using R = typename V::R;
  using G = typename V::G;
  R av[MV];
  LR_GK_UNROLL
  for (int v = 0; v < MV; ++v) av[v] = kDirect ? V::loadu(a + v * V::W) : V::load(a + v * V::W);
  LR_GK_UNROLL
  for (int jg = 0; jg < NR / V::BG; ++jg) {
    const G g = kDirectB ? V::group(b + jg * bs) : V::group(b + jg * V::BG);
    LR_GK_UNROLL
    for (int jj = 0; jj < V::BG; ++jj) {
      LR_GK_UNROLL
      for (int v = 0; v < MV; ++v) acc[v][jg * V::BG + jj] = V::fmaLane(av[v], g, acc[v][jg * V::BG + jj], jj);
    }
  }
}

// C tile (MR x NR at c, column stride ldc) = A~ B~ over kc steps, combined with C by bmode:
// 0: C = acc (C is never read), 1: C += acc, 2: C = beta * C + acc (one FMA).
// kEdge == false: full tile (lim unused). Otherwise column j stores only its first lim[j] rows (edge
// tiles, triangles); a separate instantiation so the full-tile version carries no edge logic.
// kDirect: A is not packed but read in place, MR contiguous values per k step, astep apart (all MR
// rows must exist); otherwise astep is ignored and A is the packed micro-panel.
// kDirectB: B is not packed but read in place, column j of the tile at b + j * bstep, k steps contiguous
// (all NR columns must exist; broadcast groups of one value only).
template <class V, int MV, int NR, bool kEdge, bool kDirect, bool kDirectB = false>
LR_GK_NOINLINE void microKernel(int64_t kc, const typename V::T* LR_GK_RESTRICT a, int64_t astep,
                                const typename V::T* LR_GK_RESTRICT b, typename V::T* c, int64_t ldc, int bmode,
                                typename V::T beta, const int* lim, int64_t bstep = 0) {
  using T = typename V::T;
  using R = typename V::R;
  constexpr int W = V::W;
  constexpr int MR = MV * W;
  constexpr int kLineElems = 64 / static_cast<int>(sizeof(T));
  // Prefetch distance: 8 k steps. Read in place (kDirect) with rows 4 KiB or more apart, each step is a new
  // page that the hardware prefetchers do not follow: 32 steps there (A^T Q of a 4000 x 2000 f32 matrix:
  // 10-15 % faster on Zen 3; at 1 KiB rows 32 steps was 25 % slower than 8).
  const int64_t pfA = (kDirect && astep * static_cast<int64_t>(sizeof(T)) >= 4096 ? 32 : 8) * (kDirect ? astep : MR);
  constexpr int kTailC = 8;  // pull C into L1 this many k steps before the end

  R acc[MV][NR];
  LR_GK_UNROLL
  for (int v = 0; v < MV; ++v) {
    LR_GK_UNROLL
    for (int j = 0; j < NR; ++j) acc[v][j] = V::zero();
  }
  // C tile towards L2 now; towards L1 near the end of the k loop. (Rolled pointer loops: unrolled,
  // GCC keeps all 2 * NR addresses live across the k loop and runs out of registers.)
  {
    T* cp = c;
    LR_GK_NO_UNROLL
    for (int j = 0; j < NR; ++j, cp += ldc) {
      __builtin_prefetch(cp, 1, 2);
      __builtin_prefetch(cp + MR - 1, 1, 2);
    }
  }
  const int64_t as = kDirect ? astep : MR;
  int64_t p = 0;
  const int64_t kMain = kc > kTailC ? kc - kTailC : 0;
  // V::kUnrollK k steps per trip of the main loop, packed operands only (AVX2: 4, 1-3 % on f32/f64 squares
  // on Zen 3, paired C++ harness; with an operand read in place it cost 7 %: A X, A^T Q, U = K V); the same
  // steps in the same order either way.
  if constexpr (V::kUnrollK > 1 && !kDirect && !kDirectB) {
    for (; p + V::kUnrollK <= kMain; p += V::kUnrollK) {
      LR_GK_UNROLL
      for (int u = 0; u < V::kUnrollK; ++u) {
        LR_GK_UNROLL
        for (int e = 0; e < MR; e += kLineElems) __builtin_prefetch(a + pfA + e, 0, 3);
        ukrStep<V, MV, NR, false, false>(a, b, acc);
        a += MR;
        b += NR;
      }
    }
  }
  for (; p < kMain; ++p) {
    LR_GK_UNROLL
    for (int e = 0; e < MR; e += kLineElems) __builtin_prefetch(a + pfA + e, 0, 3);
    if (kDirect) __builtin_prefetch(a + pfA + MR - 1, 0, 3);  // may straddle one more line
    ukrStep<V, MV, NR, kDirect, kDirectB>(a, b, acc, bstep);
    a += as;
    b += kDirectB ? 1 : NR;
  }
  {
    T* cp = c;
    LR_GK_NO_UNROLL
    for (int j = 0; j < NR; ++j, cp += ldc) {
      __builtin_prefetch(cp, 1, 3);
      __builtin_prefetch(cp + MR - 1, 1, 3);
    }
  }
  for (; p < kc; ++p) {
    ukrStep<V, MV, NR, kDirect, kDirectB>(a, b, acc, bstep);
    a += as;
    b += kDirectB ? 1 : NR;
  }

  if constexpr (!kEdge) {
    (void)lim;
    if (bmode == 0) {
      LR_GK_UNROLL
      for (int j = 0; j < NR; ++j) {
        LR_GK_UNROLL
        for (int v = 0; v < MV; ++v) V::storeu(c + j * ldc + v * W, acc[v][j]);
      }
    } else if (bmode == 1) {
      LR_GK_UNROLL
      for (int j = 0; j < NR; ++j) {
        LR_GK_UNROLL
        for (int v = 0; v < MV; ++v) {
          T* cp = c + j * ldc + v * W;
          V::storeu(cp, V::add(V::loadu(cp), acc[v][j]));
        }
      }
    } else {
      const R bv = V::set1(beta);
      LR_GK_UNROLL
      for (int j = 0; j < NR; ++j) {
        LR_GK_UNROLL
        for (int v = 0; v < MV; ++v) {
          T* cp = c + j * ldc + v * W;
          V::storeu(cp, V::fma(bv, V::loadu(cp), acc[v][j]));
        }
      }
    }
  } else {
    LR_GK_UNROLL
    for (int j = 0; j < NR; ++j) {
      const int lj = lim[j];
      LR_GK_UNROLL
      for (int v = 0; v < MV; ++v) {
        const int cnt = lj - v * W;
        T* cp = c + j * ldc + v * W;
        if (cnt >= W) {
          R r = acc[v][j];
          if (bmode == 1)
            r = V::add(V::loadu(cp), r);
          else if (bmode == 2)
            r = V::fma(V::set1(beta), V::loadu(cp), r);
          V::storeu(cp, r);
        } else if (cnt > 0) {
          R r = acc[v][j];
          if (bmode == 1)
            r = V::add(V::loadp(cp, cnt), r);
          else if (bmode == 2)
            r = V::fma(V::set1(beta), V::loadp(cp, cnt), r);
          V::storep(cp, r, cnt);
        }
      }
    }
  }
}

// ---- macro-kernel ----------------------------------------------------------------------------------

// C'(0:mc, 0:nc) (+)= A~ B~ for one packed MC x KC block of A' and KC x NC block of B'.
// jr (NR columns) outer so the B micro-panel stays in L1 across the ir sweep.
// ad != nullptr: full MR-row tiles read A' in place (row i0 of the block at ad + i0, k steps acs apart);
// only a trailing partial micro-panel is taken from pa (at its usual packed position).
template <class V, int MV, int NR>
void macroKernel(int64_t mc, int64_t nc, int64_t kc, const typename V::T* pa, const typename V::T* ad, int64_t acs,
                 const typename V::T* pb, const typename V::T* bd, int64_t bcs, typename V::T* c, int64_t ldc,
                 typename V::T beta, bool tri, int64_t diag) {
  using T = typename V::T;
  constexpr int MR = MV * V::W;
  const int bmode = beta == T(0) ? 0 : (beta == T(1) ? 1 : 2);
  int lim[NR];
  for (int64_t j0 = 0; j0 < nc; j0 += NR) {
    const int nv = static_cast<int>(gkMin<int64_t>(NR, nc - j0));
    const T* b = pb + (j0 / NR) * kc * NR;
    if constexpr (V::BG == 1) {
      // Direct B': full NR-column panels read in place (the driver packed only a trailing partial one).
      if (bd != nullptr && nv == NR && !tri) {
        const T* bb = bd + j0 * bcs;
        for (int64_t i0 = 0; i0 < mc; i0 += MR) {
          const int mv = static_cast<int>(gkMin<int64_t>(MR, mc - i0));
          T* ct = c + i0 + j0 * ldc;
          if (ad != nullptr && mv == MR) {
            microKernel<V, MV, NR, false, true, true>(kc, ad + i0, acs, bb, ct, ldc, bmode, beta, nullptr, bcs);
          } else {
            for (int j = 0; j < NR; ++j) lim[j] = mv;
            const T* a = pa + (i0 / MR) * kc * MR;
            if (mv == MR)
              microKernel<V, MV, NR, false, false, true>(kc, a, MR, bb, ct, ldc, bmode, beta, nullptr, bcs);
            else if (MV > 1 && mv <= V::W)
              // A tail of at most one vector: a one-vector tile over the packed panel's first W values per k step.
              microKernel<V, 1, NR, true, true, true>(kc, a, MR, bb, ct, ldc, bmode, beta, lim, bcs);
            else
              microKernel<V, MV, NR, true, false, true>(kc, a, MR, bb, ct, ldc, bmode, beta, lim, bcs);
          }
        }
        continue;
      }
    }
    for (int64_t i0 = 0; i0 < mc; i0 += MR) {
      const int mv = static_cast<int>(gkMin<int64_t>(MR, mc - i0));
      const bool direct = ad != nullptr && mv == MR;
      const T* a = direct ? ad + i0 : pa + (i0 / MR) * kc * MR;
      T* ct = c + i0 + j0 * ldc;
      bool edge = mv != MR || nv != NR;
      if (tri) {
        // Keep (i, j) with i <= j + diag. Rows only grow with i0: nothing more in this column panel.
        if (i0 > j0 + nv - 1 + diag) break;
        if (i0 + mv - 1 > j0 + diag) {
          for (int j = 0; j < NR; ++j) {
            int64_t l = j < nv ? j0 + j + diag - i0 + 1 : 0;
            lim[j] = static_cast<int>(l < 0 ? 0 : (l > mv ? mv : l));
          }
          if (direct)
            microKernel<V, MV, NR, true, true>(kc, a, acs, b, ct, ldc, bmode, beta, lim);
          else
            microKernel<V, MV, NR, true, false>(kc, a, MR, b, ct, ldc, bmode, beta, lim);
          continue;
        }
      }
      if (edge)
        for (int j = 0; j < NR; ++j) lim[j] = j < nv ? mv : 0;
      if (direct) {
        if (edge)
          microKernel<V, MV, NR, true, true>(kc, a, acs, b, ct, ldc, bmode, beta, lim);
        else
          microKernel<V, MV, NR, false, true>(kc, a, acs, b, ct, ldc, bmode, beta, nullptr);
      } else {
        if (MV > 1 && mv <= V::W)
          // A tail of at most one vector (e.g. 50 = 3 x 16 + 2 rows in f32): a one-vector tile reading the
          // packed panel's first W values per k step (MR apart) does 1 / MV of the full tile's FMAs; the
          // same FMA chain per entry, so the same bits.
          microKernel<V, 1, NR, true, true>(kc, a, MR, b, ct, ldc, bmode, beta, lim);
        else if (edge)
          microKernel<V, MV, NR, true, false>(kc, a, MR, b, ct, ldc, bmode, beta, lim);
        else
          microKernel<V, MV, NR, false, false>(kc, a, MR, b, ct, ldc, bmode, beta, nullptr);
      }
    }
  }
}

// ---- GEMV forms (memory-bound: one dimension of C is 1..kMaxVec) -----------------------------------
//
// X holds nv vectors of length `len` (dot) or `K` (axpy), vector c at X + c * ldx, alpha folded in.
// Output element (r, c) lives at y[r * incy + c * incv].

template <class T>
LR_GK_INLINE void gemvFinish(T* y, T s, T beta) {
  if (beta == T(0))
    *y = s;
  else if (beta == T(1))
    *y = *y + s;
  else
    *y = s + beta * *y;
}

// NRW rows of M against NV vectors. Every (row, vector) pair has its own two accumulators and the same
// schedule whatever NRW is, so results do not depend on the row grouping or the thread split.
template <class V, int NRW, int NV>
LR_GK_INLINE void dotBlock(int64_t len, const typename V::T* m, int64_t ld, const typename V::T* X, int64_t ldx,
                           typename V::T (&out)[NRW][NV]) {
  using R = typename V::R;
  constexpr int W = V::W;
  R a0[NRW][NV], a1[NRW][NV];
  LR_GK_UNROLL
  for (int r = 0; r < NRW; ++r) {
    LR_GK_UNROLL
    for (int c = 0; c < NV; ++c) a0[r][c] = a1[r][c] = V::zero();
  }
  int64_t l = 0;
  for (; l + 2 * W <= len; l += 2 * W) {
    R x0[NV], x1[NV];
    LR_GK_UNROLL
    for (int c = 0; c < NV; ++c) {
      x0[c] = V::loadu(X + c * ldx + l);
      x1[c] = V::loadu(X + c * ldx + l + W);
    }
    LR_GK_UNROLL
    for (int r = 0; r < NRW; ++r) {
      const R m0 = V::loadu(m + r * ld + l), m1 = V::loadu(m + r * ld + l + W);
      LR_GK_UNROLL
      for (int c = 0; c < NV; ++c) {
        a0[r][c] = V::fma(m0, x0[c], a0[r][c]);
        a1[r][c] = V::fma(m1, x1[c], a1[r][c]);
      }
    }
  }
  if (l + W <= len) {
    LR_GK_UNROLL
    for (int r = 0; r < NRW; ++r) {
      const R m0 = V::loadu(m + r * ld + l);
      LR_GK_UNROLL
      for (int c = 0; c < NV; ++c) a0[r][c] = V::fma(m0, V::loadu(X + c * ldx + l), a0[r][c]);
    }
    l += W;
  }
  if (l < len) {
    const int n = static_cast<int>(len - l);
    LR_GK_UNROLL
    for (int r = 0; r < NRW; ++r) {
      const R m1 = V::loadp(m + r * ld + l, n);
      LR_GK_UNROLL
      for (int c = 0; c < NV; ++c) a1[r][c] = V::fma(m1, V::loadp(X + c * ldx + l, n), a1[r][c]);
    }
  }
  LR_GK_UNROLL
  for (int r = 0; r < NRW; ++r) {
    LR_GK_UNROLL
    for (int c = 0; c < NV; ++c) out[r][c] = V::hsum(V::add(a0[r][c], a1[r][c]));
  }
}

template <class V, int NV>
void dotRowsNV(int64_t rows, int64_t len, const typename V::T* M, int64_t ld, const typename V::T* X, int64_t ldx,
               typename V::T beta, typename V::T* y, int64_t incy, int64_t incv) {
  using T = typename V::T;
  constexpr int NRW = NV <= 2 ? 4 : 2;  // at most 16 accumulator pairs
  int64_t r = 0;
  for (; r + NRW <= rows; r += NRW) {
    T s[NRW][NV];
    dotBlock<V, NRW, NV>(len, M + r * ld, ld, X, ldx, s);
    for (int q = 0; q < NRW; ++q)
      for (int c = 0; c < NV; ++c) gemvFinish(y + (r + q) * incy + c * incv, s[q][c], beta);
  }
  for (; r < rows; ++r) {
    T s[1][NV];
    dotBlock<V, 1, NV>(len, M + r * ld, ld, X, ldx, s);
    for (int c = 0; c < NV; ++c) gemvFinish(y + r * incy + c * incv, s[0][c], beta);
  }
}

// y_c[j] (+)= sum_p X[c, p] M[p, j]. Rows are streamed four at a time into blocks of column
// accumulators (work: NV blocks of kAxpyWorkBytes); every output sees the same FMA chain in p order
// (acc = fma(M[p, j], x[p], acc)), so neither the blocking nor the row grouping changes results.
// Long blocks matter: contiguous row segments of 16 KiB ran 25 % faster than 8 KiB ones.

template <class V, int NV>
void axpyRowsNV(int64_t len, int64_t K, const typename V::T* M, int64_t ld, const typename V::T* X, int64_t ldx,
                typename V::T beta, typename V::T* y, int64_t incy, int64_t incv, typename V::T* work) {
  using T = typename V::T;
  using R = typename V::R;
  constexpr int W = V::W;
  constexpr int CB = kAxpyWorkBytes / static_cast<int>(sizeof(T));
  for (int64_t j0 = 0; j0 < len; j0 += CB) {
    const int cb = static_cast<int>(gkMin<int64_t>(CB, len - j0));
    const int full = cb - cb % W, rest = cb - full;
    for (int c = 0; c < NV; ++c)
      for (int j = 0; j < cb; ++j) work[c * CB + j] = T(0);
    const T* row = M + j0;
    int64_t p = 0;
    for (; p + 4 <= K; p += 4, row += 4 * ld) {
      R xs[4][NV];
      LR_GK_UNROLL
      for (int q = 0; q < 4; ++q) {
        LR_GK_UNROLL
        for (int c = 0; c < NV; ++c) xs[q][c] = V::set1(X[c * ldx + p + q]);
      }
      for (int j = 0; j < full; j += W) {
        R acc[NV];
        LR_GK_UNROLL
        for (int c = 0; c < NV; ++c) acc[c] = V::loadu(work + c * CB + j);
        LR_GK_UNROLL
        for (int q = 0; q < 4; ++q) {
          const R mv = V::loadu(row + q * ld + j);
          LR_GK_UNROLL
          for (int c = 0; c < NV; ++c) acc[c] = V::fma(mv, xs[q][c], acc[c]);
        }
        LR_GK_UNROLL
        for (int c = 0; c < NV; ++c) V::storeu(work + c * CB + j, acc[c]);
      }
      if (rest) {
        R acc[NV];
        LR_GK_UNROLL
        for (int c = 0; c < NV; ++c) acc[c] = V::loadp(work + c * CB + full, rest);
        LR_GK_UNROLL
        for (int q = 0; q < 4; ++q) {
          const R mv = V::loadp(row + q * ld + full, rest);
          LR_GK_UNROLL
          for (int c = 0; c < NV; ++c) acc[c] = V::fma(mv, xs[q][c], acc[c]);
        }
        LR_GK_UNROLL
        for (int c = 0; c < NV; ++c) V::storep(work + c * CB + full, acc[c], rest);
      }
    }
    for (; p < K; ++p, row += ld) {
      R xs[NV];
      LR_GK_UNROLL
      for (int c = 0; c < NV; ++c) xs[c] = V::set1(X[c * ldx + p]);
      for (int j = 0; j < full; j += W) {
        const R mv = V::loadu(row + j);
        LR_GK_UNROLL
        for (int c = 0; c < NV; ++c) V::storeu(work + c * CB + j, V::fma(mv, xs[c], V::loadu(work + c * CB + j)));
      }
      if (rest) {
        const R mv = V::loadp(row + full, rest);
        LR_GK_UNROLL
        for (int c = 0; c < NV; ++c)
          V::storep(work + c * CB + full, V::fma(mv, xs[c], V::loadp(work + c * CB + full, rest)), rest);
      }
    }
    for (int c = 0; c < NV; ++c)
      for (int j = 0; j < cb; ++j) gemvFinish(y + (j0 + j) * incy + c * incv, work[c * CB + j], beta);
  }
}

// ---- the kernel set handed to the driver -------------------------------------------------------------

template <class V, int MV, int NR_>
struct Kern {
  using T = typename V::T;
  static constexpr int MR = MV * V::W;
  static constexpr int NR = NR_;
  static_assert(NR % V::BG == 0, "NR must be a multiple of the broadcast group");
  static void packA(int64_t mc, int64_t kc, const T* a, int64_t rs, int64_t cs, T* dst) {
    packPanelsA<V, MR>(mc, kc, a, rs, cs, dst);
  }
  static void packB(int64_t kc, int64_t nc, const T* b, int64_t rs, int64_t cs, T alpha, T* dst) {
    packPanelsB<V, NR>(kc, nc, b, rs, cs, alpha, dst);
  }
  static constexpr bool kDirectB = V::BG == 1;
  static void macro(int64_t mc, int64_t nc, int64_t kc, const T* pa, const T* ad, int64_t acs, const T* pb, const T* bd,
                    int64_t bcs, T* c, int64_t ldc, T beta, bool tri, int64_t diag) {
    macroKernel<V, MV, NR>(mc, nc, kc, pa, ad, acs, pb, bd, bcs, c, ldc, beta, tri, diag);
  }
  static void dotRows(int64_t rows, int64_t len, const T* M, int64_t ld, const T* X, int64_t ldx, int nv, T beta, T* y,
                      int64_t incy, int64_t incv) {
    switch (nv) {
      case 1:
        dotRowsNV<V, 1>(rows, len, M, ld, X, ldx, beta, y, incy, incv);
        break;
      case 2:
        dotRowsNV<V, 2>(rows, len, M, ld, X, ldx, beta, y, incy, incv);
        break;
      case 3:
        dotRowsNV<V, 3>(rows, len, M, ld, X, ldx, beta, y, incy, incv);
        break;
      default:
        dotRowsNV<V, 4>(rows, len, M, ld, X, ldx, beta, y, incy, incv);
        break;
    }
  }
  static void axpyRows(int64_t len, int64_t K, const T* M, int64_t ld, const T* X, int64_t ldx, int nv, T beta, T* y,
                       int64_t incy, int64_t incv, T* work) {
    switch (nv) {
      case 1:
        axpyRowsNV<V, 1>(len, K, M, ld, X, ldx, beta, y, incy, incv, work);
        break;
      case 2:
        axpyRowsNV<V, 2>(len, K, M, ld, X, ldx, beta, y, incy, incv, work);
        break;
      case 3:
        axpyRowsNV<V, 3>(len, K, M, ld, X, ldx, beta, y, incy, incv, work);
        break;
      default:
        axpyRowsNV<V, 4>(len, K, M, ld, X, ldx, beta, y, incy, incv, work);
        break;
    }
  }
};
