// Host stand-ins for the CUDA C the kernels use, so that kernels/*.cu
// compile as C++ and run on the CPU under the fake driver (driver.cc).
// Blocks run one after another on one OS thread; the threads of a block are
// coroutines that the driver switches between at barriers, so
// __syncthreads and warp shuffles behave as on a GPU.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

struct dim3 {
	unsigned x, y, z;
};
extern dim3 threadIdx, blockIdx, blockDim, gridDim;
extern uint64_t emu_exchange[32][32];
// emu_wait suspends the calling thread at a barrier of the whole block
// (warp < 0) or of one warp until every thread of it has arrived.
void emu_wait(int warp);

#define __global__ __attribute__((visibility("default")))
#define __device__
#define __forceinline__ inline
#define __shared__ static

inline void __syncthreads() { emu_wait(-1); }

template <typename T> T __shfl_down_sync(unsigned, T v, int off) {
	int lane = threadIdx.x & 31, w = threadIdx.x >> 5;
	std::memcpy(&emu_exchange[w][lane], &v, sizeof v);
	emu_wait(w);
	T r = v;
	if (lane + off < 32) std::memcpy(&r, &emu_exchange[w][lane + off], sizeof r);
	emu_wait(w);
	return r;
}

// One OS thread runs every thread, so an atomic add is an add.
template <typename T> T atomicAdd(T* p, T v) {
	T old = *p;
	*p = old + v;
	return old;
}

inline float __int_as_float(int i) {
	float f;
	std::memcpy(&f, &i, 4);
	return f;
}
inline double __longlong_as_double(long long i) {
	double d;
	std::memcpy(&d, &i, 8);
	return d;
}
inline unsigned __umulhi(unsigned a, unsigned b) { return (unsigned)(((uint64_t)a * b) >> 32); }

struct uint4 {
	unsigned x, y, z, w;
};
struct uint2 {
	unsigned x, y;
};
inline uint4 make_uint4(unsigned x, unsigned y, unsigned z, unsigned w) { return {x, y, z, w}; }
inline uint2 make_uint2(unsigned x, unsigned y) { return {x, y}; }

using std::erf;
using std::exp;
using std::log;
using std::pow;
using std::sqrt;
using std::tanh;

// launch_call unpacks cuLaunchKernel's argument array into a kernel call;
// the test appends a launcher NAME__launch per kernel that calls it.
template <typename... A, size_t... I> void launch_call_impl(void (*f)(A...), void** p, std::index_sequence<I...>) {
	f(*static_cast<std::remove_cv_t<std::remove_reference_t<A>>*>(p[I])...);
}
template <typename... A> void launch_call(void (*f)(A...), void** p) { launch_call_impl(f, p, std::index_sequence_for<A...>{}); }
