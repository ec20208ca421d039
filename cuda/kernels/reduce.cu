// Axis kernels. A tensor is seen as (outer, n, inner): the axis has n
// elements, element (o, j, i) sits at (o*n+j)*inner+i, and output p = o*inner+i.
// "cols" kernels give each output one thread that walks j (coalesced across
// i); "rows" kernels give each output one block that reduces over j.

template <typename T> __device__ void sum_cols(T* dst, const T* src, int outer, int n, int inner, double scale) {
	GRID_LOOP(p, (long long)outer * inner) {
		long long o = p / inner, i = p % inner;
		const T* s = src + o * n * inner + i;
		double acc = 0;
		for (int j = 0; j < n; j++) acc += (double)s[(long long)j * inner];
		dst[p] = (T)(acc * scale);
	}
}
#define SUM_PARAMS(T) (T * dst, const T* src, int outer, int n, int inner, double scale)
KERNEL(sum_cols, SUM_PARAMS, (dst, src, outer, n, inner, scale))

// One block per output (blockIdx.x is p).
template <typename T> __device__ void sum_rows(T* dst, const T* src, int outer, int n, int inner, double scale) {
	long long p = blockIdx.x, o = p / inner, i = p % inner;
	const T* s = src + o * n * inner + i;
	double acc = 0;
	for (int j = threadIdx.x; j < n; j += blockDim.x) acc += (double)s[(long long)j * inner];
	acc = block_sum(acc);
	if (threadIdx.x == 0) dst[p] = (T)(acc * scale);
}
KERNEL(sum_rows, SUM_PARAMS, (dst, src, outer, n, inner, scale))

// A long strided axis over few outputs, in two stages: part[o, c, i] sums
// the c-th chunk of the axis (coalesced across i), sum_final adds the chunks.
template <typename T> __device__ void sum_partial(double* part, const T* src, int outer, int n, int inner, int chunks) {
	int per = (n + chunks - 1) / chunks;
	GRID_LOOP(e, (long long)outer * chunks * inner) {
		long long i = e % inner, c = (e / inner) % chunks, o = e / ((long long)inner * chunks);
		int j0 = (int)c * per, j1 = j0 + per < n ? j0 + per : n;
		double acc = 0;
		for (int j = j0; j < j1; j++) acc += (double)src[(o * n + j) * inner + i];
		part[e] = acc;
	}
}
#define SUM_PARTIAL_PARAMS(T) (double* part, const T* src, int outer, int n, int inner, int chunks)
KERNEL(sum_partial, SUM_PARTIAL_PARAMS, (part, src, outer, n, inner, chunks))

template <typename T> __device__ void sum_final(T* dst, const double* part, int outer, int chunks, int inner, double scale) {
	GRID_LOOP(p, (long long)outer * inner) {
		long long o = p / inner, i = p % inner;
		double acc = 0;
		for (int c = 0; c < chunks; c++) acc += part[(o * chunks + c) * inner + i];
		dst[p] = (T)(acc * scale);
	}
}
#define SUM_FINAL_PARAMS(T) (T * dst, const double* part, int outer, int chunks, int inner, double scale)
KERNEL(sum_final, SUM_FINAL_PARAMS, (dst, part, outer, chunks, inner, scale))

// The maximum and the index of its first occurrence; NaN wins (the first
// NaN), as autograd/cpu's MaxAxis.
template <typename T> __device__ void max_cols(T* dst, int* arg, const T* src, int outer, int n, int inner) {
	GRID_LOOP(p, (long long)outer * inner) {
		long long o = p / inner, i = p % inner;
		const T* s = src + o * n * inner + i;
		T best = s[0];
		int bj = 0;
		for (int j = 1; j < n; j++) {
			T v = s[(long long)j * inner];
			if (v > best || (is_nan(v) && !is_nan(best))) {
				best = v;
				bj = j;
			}
		}
		dst[p] = best;
		arg[p] = bj;
	}
}
#define MAX_PARAMS(T) (T * dst, int* arg, const T* src, int outer, int n, int inner)
KERNEL(max_cols, MAX_PARAMS, (dst, arg, src, outer, n, inner))

// (value, index) pairs combine so that the result is the sequential scan's:
// the earlier index wins ties, a NaN beats every number, the first NaN wins.
template <typename T> __device__ __forceinline__ void max_combine(T& v, int& j, T v2, int j2) {
	bool take;
	if (is_nan(v) || is_nan(v2))
		take = is_nan(v2) && (!is_nan(v) || j2 < j);
	else
		take = v2 > v || (v2 == v && j2 < j);
	if (take) {
		v = v2;
		j = j2;
	}
}

template <typename T> __device__ void max_rows(T* dst, int* arg, const T* src, int outer, int n, int inner) {
	__shared__ T vs[32];
	__shared__ int js[32];
	long long p = blockIdx.x, o = p / inner, i = p % inner;
	const T* s = src + o * n * inner + i;
	T best = s[0];
	int bj = 0;
	for (int j = threadIdx.x; j < n; j += blockDim.x) max_combine(best, bj, s[(long long)j * inner], j);
	for (int off = 16; off > 0; off >>= 1) {
		T v2 = __shfl_down_sync(0xffffffffu, best, off);
		int j2 = __shfl_down_sync(0xffffffffu, bj, off);
		max_combine(best, bj, v2, j2);
	}
	int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
	if (lane == 0) {
		vs[warp] = best;
		js[warp] = bj;
	}
	__syncthreads();
	if (threadIdx.x == 0) {
		for (int w = 1; w < (int)(blockDim.x >> 5); w++) max_combine(best, bj, vs[w], js[w]);
		dst[p] = best;
		arg[p] = bj;
	}
}
KERNEL(max_rows, MAX_PARAMS, (dst, arg, src, outer, n, inner))

// dx (zeroed by the device first) gets dy at the arg positions.
template <typename T> __device__ void max_grad(T* dx, const T* dy, const int* arg, int outer, int n, int inner) {
	GRID_LOOP(p, (long long)outer * inner) {
		long long o = p / inner, i = p % inner;
		dx[(o * n + arg[p]) * inner + i] += dy[p];
	}
}
#define MAX_GRAD_PARAMS(T) (T * dx, const T* dy, const int* arg, int outer, int n, int inner)
KERNEL(max_grad, MAX_GRAD_PARAMS, (dx, dy, arg, outer, n, inner))

// Softmax along the axis, one thread per (o, i), in double as the CPU's
// general kernel.
template <typename T> __device__ void softmax_cols(T* dst, const T* src, int outer, int n, int inner, int lg) {
	GRID_LOOP(p, (long long)outer * inner) {
		long long o = p / inner, i = p % inner, base = o * n * inner + i;
		double m = (double)neg_inf<T>();
		for (int j = 0; j < n; j++) {
			double v = (double)src[base + (long long)j * inner];
			m = (v > m || is_nan(v)) ? v : m;
		}
		double s = 0;
		for (int j = 0; j < n; j++) s += exp((double)src[base + (long long)j * inner] - m);
		if (lg) {
			double ls = m + log(s);
			for (int j = 0; j < n; j++) dst[base + (long long)j * inner] = (T)((double)src[base + (long long)j * inner] - ls);
		} else {
			double inv = 1 / s;
			for (int j = 0; j < n; j++)
				dst[base + (long long)j * inner] = (T)(exp((double)src[base + (long long)j * inner] - m) * inv);
		}
	}
}
#define SOFTMAX_PARAMS(T) (T * dst, const T* src, int outer, int n, int inner, int lg)
KERNEL(softmax_cols, SOFTMAX_PARAMS, (dst, src, outer, n, inner, lg))

// Softmax of contiguous rows (inner == 1), one block per row.
template <typename T> __device__ void softmax_rows(T* dst, const T* src, int outer, int n, int inner, int lg) {
	const T* x = src + (long long)blockIdx.x * n;
	T* y = dst + (long long)blockIdx.x * n;
	T m = neg_inf<T>();
	for (int j = threadIdx.x; j < n; j += blockDim.x) m = (x[j] > m || is_nan(x[j])) ? x[j] : m;
	m = block_max(m);
	double s = 0;
	for (int j = threadIdx.x; j < n; j += blockDim.x) s += (double)t_exp(x[j] - m);
	s = block_sum(s);
	if (lg) {
		double ls = (double)m + log(s);
		for (int j = threadIdx.x; j < n; j += blockDim.x) y[j] = (T)((double)x[j] - ls);
	} else {
		T inv = (T)(1 / s);
		for (int j = threadIdx.x; j < n; j += blockDim.x) y[j] = t_exp(x[j] - m) * inv;
	}
}
KERNEL(softmax_rows, SOFTMAX_PARAMS, (dst, src, outer, n, inner, lg))

// dx from y and dy: softmax dx = y*(dy - sum(dy*y)), log-softmax
// dx = dy - exp(y)*sum(dy).
template <typename T>
__device__ void softmax_grad_cols(T* dx, const T* y, const T* dy, int outer, int n, int inner, int lg) {
	GRID_LOOP(p, (long long)outer * inner) {
		long long o = p / inner, i = p % inner, base = o * n * inner + i;
		double s = 0;
		for (int j = 0; j < n; j++) {
			long long k = base + (long long)j * inner;
			s += lg ? (double)dy[k] : (double)dy[k] * (double)y[k];
		}
		for (int j = 0; j < n; j++) {
			long long k = base + (long long)j * inner;
			dx[k] = lg ? (T)((double)dy[k] - exp((double)y[k]) * s) : (T)((double)y[k] * ((double)dy[k] - s));
		}
	}
}
#define SOFTMAX_GRAD_PARAMS(T) (T * dx, const T* y, const T* dy, int outer, int n, int inner, int lg)
KERNEL(softmax_grad_cols, SOFTMAX_GRAD_PARAMS, (dx, y, dy, outer, n, inner, lg))

template <typename T>
__device__ void softmax_grad_rows(T* dx, const T* y, const T* dy, int outer, int n, int inner, int lg) {
	long long base = (long long)blockIdx.x * n;
	double s = 0;
	for (int j = threadIdx.x; j < n; j += blockDim.x)
		s += lg ? (double)dy[base + j] : (double)dy[base + j] * (double)y[base + j];
	s = block_sum(s);
	for (int j = threadIdx.x; j < n; j += blockDim.x) {
		long long k = base + j;
		dx[k] = lg ? (T)((double)dy[k] - exp((double)y[k]) * s) : (T)((double)y[k] * ((double)dy[k] - s));
	}
}
KERNEL(softmax_grad_rows, SOFTMAX_GRAD_PARAMS, (dx, y, dy, outer, n, inner, lg))

// The index kernels read int32 indices; one outside [0, n) is skipped
// (its output is 0) and sets *flag, which the device reports.

// dst[o, j, i] = src[o, idx[j], i]; dst is (outer, k, inner).
template <typename T>
__device__ void index_select(T* dst, const T* src, const int* idx, int outer, int n, int k, int inner, int* flag) {
	GRID_LOOP(e, (long long)outer * k * inner) {
		long long i = e % inner, r = e / inner, j = r % k, o = r / k;
		int t = idx[j];
		if (t < 0 || t >= n) {
			*flag = 1;
			dst[e] = T(0);
			continue;
		}
		dst[e] = src[(o * n + t) * inner + i];
	}
}
#define INDEX_PARAMS(T) (T * dst, const T* src, const int* idx, int outer, int n, int k, int inner, int* flag)
KERNEL(index_select, INDEX_PARAMS, (dst, src, idx, outer, n, k, inner, flag))

// dx[o, idx[j], i] += dy[o, j, i]; repeated indices add atomically.
template <typename T>
__device__ void index_add(T* dx, const T* dy, const int* idx, int outer, int n, int k, int inner, int* flag) {
	GRID_LOOP(e, (long long)outer * k * inner) {
		long long i = e % inner, r = e / inner, j = r % k, o = r / k;
		int t = idx[j];
		if (t < 0 || t >= n) {
			*flag = 1;
			continue;
		}
		atomicAdd(dx + (o * n + t) * inner + i, dy[e]);
	}
}
#define INDEX_ADD_PARAMS(T) (T * dx, const T* dy, const int* idx, int outer, int n, int k, int inner, int* flag)
KERNEL(index_add, INDEX_ADD_PARAMS, (dx, dy, idx, outer, n, k, inner, flag))

// torch.gather along the axis: dst[o, j, i] = src[o, idx[o, j, i], i].
template <typename T>
__device__ void gather_axis(T* dst, const T* src, const int* idx, int outer, int n, int k, int inner, int* flag) {
	GRID_LOOP(e, (long long)outer * k * inner) {
		long long i = e % inner, o = e / ((long long)k * inner);
		int t = idx[e];
		if (t < 0 || t >= n) {
			*flag = 1;
			dst[e] = T(0);
			continue;
		}
		dst[e] = src[(o * n + t) * inner + i];
	}
}
KERNEL(gather_axis, INDEX_PARAMS, (dst, src, idx, outer, n, k, inner, flag))

template <typename T>
__device__ void gather_axis_add(T* dx, const T* dy, const int* idx, int outer, int n, int k, int inner, int* flag) {
	GRID_LOOP(e, (long long)outer * k * inner) {
		long long i = e % inner, o = e / ((long long)k * inner);
		int t = idx[e];
		if (t < 0 || t >= n) {
			*flag = 1;
			continue;
		}
		atomicAdd(dx + (o * n + t) * inner + i, dy[e]);
	}
}
KERNEL(gather_axis_add, INDEX_ADD_PARAMS, (dx, dy, idx, outer, n, k, inner, flag))
