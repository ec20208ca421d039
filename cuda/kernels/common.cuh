// Shared by every kernel source (the device prepends it): index types, the
// strided-view descriptor, typed math, block reductions and the macro that
// instantiates a kernel for float and double.

typedef unsigned int u32;
typedef unsigned long long u64;

// The device's launches use 1-d grids of blocks of a multiple of 32 threads;
// element loops stride over the grid so any grid size covers any n.
#define GRID_LOOP(i, n) \
	for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (long long)(n); \
	     i += (long long)blockDim.x * gridDim.x)

// KERNEL(name, PARAMS, ARGS) defines name_f32 and name_f64, which call the
// template name<T>; PARAMS is a macro of T giving the parameter list.
#define KERNEL(name, PARAMS, ARGS) \
	extern "C" __global__ void name##_f32 PARAMS(float) { name<float> ARGS; } \
	extern "C" __global__ void name##_f64 PARAMS(double) { name<double> ARGS; }

// A strided view of up to MAXD dimensions: shape, and the element strides of
// two operands (sb is unused by one-operand kernels). The device merges
// dimensions before launching, so MAXD bounds only unmergeable ranks.
#define MAXD 8
struct Strided {
	int nd;
	int shape[MAXD];
	int sa[MAXD];
	int sb[MAXD];
};

// The element offsets in a and b of the i-th element in row-major order.
__device__ __forceinline__ void strided_offsets(const Strided& s, long long i, long long* oa, long long* ob) {
	long long a = 0, b = 0;
	for (int d = s.nd - 1; d >= 0; d--) {
		long long q = i / s.shape[d];
		int r = (int)(i - q * s.shape[d]);
		a += (long long)r * s.sa[d];
		b += (long long)r * s.sb[d];
		i = q;
	}
	*oa = a;
	*ob = b;
}

// Typed math: the float versions for float, the double ones for double.
__device__ __forceinline__ float t_exp(float x) { return expf(x); }
__device__ __forceinline__ double t_exp(double x) { return exp(x); }
__device__ __forceinline__ float t_log(float x) { return logf(x); }
__device__ __forceinline__ double t_log(double x) { return log(x); }
__device__ __forceinline__ float t_sqrt(float x) { return sqrtf(x); }
__device__ __forceinline__ double t_sqrt(double x) { return sqrt(x); }
__device__ __forceinline__ float t_tanh(float x) { return tanhf(x); }
__device__ __forceinline__ double t_tanh(double x) { return tanh(x); }
__device__ __forceinline__ float t_erf(float x) { return erff(x); }
__device__ __forceinline__ double t_erf(double x) { return erf(x); }

template <typename T> __device__ __forceinline__ T neg_inf();
template <> __device__ __forceinline__ float neg_inf<float>() { return __int_as_float(0xff800000); }
template <> __device__ __forceinline__ double neg_inf<double>() { return __longlong_as_double(0xfff0000000000000ULL); }

__device__ __forceinline__ bool is_nan(float x) { return x != x; }
__device__ __forceinline__ bool is_nan(double x) { return x != x; }

// block_sum returns the sum of v over the block to every thread. Every
// thread of the block must call it; blockDim.x is a multiple of 32.
__device__ double block_sum(double v) {
	__shared__ double part[32];
	__shared__ double total;
	for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
	int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
	__syncthreads(); // the previous call's readers are done with part and total
	if (lane == 0) part[warp] = v;
	__syncthreads();
	if (warp == 0) {
		int nw = blockDim.x >> 5;
		v = lane < nw ? part[lane] : 0.0;
		for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
		if (lane == 0) total = v;
	}
	__syncthreads();
	return total;
}

// block_max returns the maximum of v over the block (NaN propagates).
template <typename T> __device__ T block_max(T v) {
	__shared__ double part[32];
	__shared__ double total;
	double d = (double)v;
	for (int o = 16; o > 0; o >>= 1) {
		double u = __shfl_down_sync(0xffffffffu, d, o);
		d = (u > d || is_nan(u)) ? u : d;
	}
	int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
	__syncthreads();
	if (lane == 0) part[warp] = d;
	__syncthreads();
	if (warp == 0) {
		int nw = blockDim.x >> 5;
		d = lane < nw ? part[lane] : (double)neg_inf<T>();
		for (int o = 16; o > 0; o >>= 1) {
			double u = __shfl_down_sync(0xffffffffu, d, o);
			d = (u > d || is_nan(u)) ? u : d;
		}
		if (lane == 0) total = d;
	}
	__syncthreads();
	return (T)total;
}
