// Element-wise kernels: fill, accumulate, the unary functions and their
// derivatives, the broadcasting binary ops, strided gather and scatter.
// The op codes are the device's (cuda/kernels.go), one per kernel.UnaryOp
// and kernel.BinaryOp; the formulas are autograd/cpu's.

enum {
	U_NEG, U_EXP, U_LOG, U_SQRT, U_ABS, U_TANH, U_RELU, U_SIGMOID, U_SILU,
	U_GELU, U_GELU_TANH, U_ADD_SCALAR, U_MUL_SCALAR, U_POW
};
enum { B_ADD, B_SUB, B_MUL, B_DIV };

#define INV_SQRT2 0.70710678118654752440
#define INV_SQRT2PI 0.39894228040143267794
#define SQRT2_OVER_PI 0.79788456080286535588
#define GELU_COEF 0.044715

template <typename T> __device__ __forceinline__ T sigmoid(T x) {
	if (x >= T(0)) return T(1) / (T(1) + t_exp(-x));
	T e = t_exp(x);
	return e / (T(1) + e);
}

template <typename T> __device__ __forceinline__ T unary_value(int op, T x, double alpha) {
	switch (op) {
	case U_NEG: return -x;
	case U_EXP: return t_exp(x);
	case U_LOG: return t_log(x);
	case U_SQRT: return t_sqrt(x);
	case U_ABS: return x < T(0) ? -x : x;
	case U_TANH: return t_tanh(x);
	case U_RELU: return x > T(0) ? x : T(0);
	case U_SIGMOID: return sigmoid(x);
	case U_SILU: return x * sigmoid(x);
	case U_GELU: return T(0.5) * x * (T(1) + t_erf(x * T(INV_SQRT2)));
	case U_GELU_TANH: return T(0.5) * x * (T(1) + t_tanh(T(SQRT2_OVER_PI) * (x + T(GELU_COEF) * x * x * x)));
	case U_ADD_SCALAR: return x + T(alpha);
	case U_MUL_SCALAR: return x * T(alpha);
	case U_POW:
		if (alpha == 2.0) return x * x;
		if (alpha == 0.5) return t_sqrt(x);
		if (alpha == -0.5) return (T)(1.0 / sqrt((double)x));
		return (T)pow((double)x, alpha);
	}
	return x;
}

// The derivative times dy; y is op(x) for the ops whose derivative reads it.
template <typename T> __device__ __forceinline__ T unary_grad(int op, T x, T y, T g, double alpha) {
	switch (op) {
	case U_NEG: return -g;
	case U_ADD_SCALAR: return g;
	case U_MUL_SCALAR: return g * T(alpha);
	case U_RELU: return x > T(0) ? g : T(0);
	case U_ABS: return x > T(0) ? g : (x < T(0) ? -g : T(0));
	case U_EXP: return g * y;
	case U_LOG: return g / x;
	case U_SQRT: return g / (T(2) * y);
	case U_TANH: return g * (T(1) - y * y);
	case U_SIGMOID: return g * y * (T(1) - y);
	case U_SILU: {
		T s = sigmoid(x);
		return g * (s * (T(1) + x * (T(1) - s)));
	}
	case U_GELU:
		return g * (T(0.5) * (T(1) + t_erf(x * T(INV_SQRT2))) + x * T(INV_SQRT2PI) * t_exp(T(-0.5) * x * x));
	case U_GELU_TANH: {
		T u = T(SQRT2_OVER_PI) * (x + T(GELU_COEF) * x * x * x);
		T t = t_tanh(u);
		T du = T(SQRT2_OVER_PI) * (T(1) + T(3 * GELU_COEF) * x * x);
		return g * (T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * du);
	}
	case U_POW:
		if (alpha == 2.0) return g * (T(2) * x);
		return g * (T)(alpha * pow((double)x, alpha - 1.0));
	}
	return g;
}

template <typename T> __device__ void fill(T* dst, long long n, double v) {
	T t = (T)v;
	GRID_LOOP(i, n) dst[i] = t;
}
#define FILL_PARAMS(T) (T * dst, long long n, double v)
KERNEL(fill, FILL_PARAMS, (dst, n, v))

template <typename T> __device__ void add_to(T* dst, const T* src, long long n) {
	GRID_LOOP(i, n) dst[i] += src[i];
}
#define ADD_TO_PARAMS(T) (T * dst, const T* src, long long n)
KERNEL(add_to, ADD_TO_PARAMS, (dst, src, n))

template <typename T> __device__ void unary(T* dst, const T* x, long long n, int op, double alpha) {
	GRID_LOOP(i, n) dst[i] = unary_value<T>(op, x[i], alpha);
}
#define UNARY_PARAMS(T) (T * dst, const T* x, long long n, int op, double alpha)
KERNEL(unary, UNARY_PARAMS, (dst, x, n, op, alpha))

// x or y may be null when op's derivative does not read it.
template <typename T>
__device__ void unary_grad_k(T* dx, const T* x, const T* y, const T* dy, long long n, int op, double alpha) {
	GRID_LOOP(i, n) {
		T xv = x ? x[i] : T(0);
		T yv = y ? y[i] : T(0);
		dx[i] = unary_grad<T>(op, xv, yv, dy[i], alpha);
	}
}
#define UNARY_GRAD_PARAMS(T) (T * dx, const T* x, const T* y, const T* dy, long long n, int op, double alpha)
KERNEL(unary_grad_k, UNARY_GRAD_PARAMS, (dx, x, y, dy, n, op, alpha))

template <typename T> __device__ __forceinline__ T binary_value(int op, T a, T b) {
	switch (op) {
	case B_ADD: return a + b;
	case B_SUB: return a - b;
	case B_MUL: return a * b;
	}
	return a / b;
}

// dst (contiguous over s.shape) = a op b, read through s.sa and s.sb.
template <typename T> __device__ void binary(T* dst, const T* a, const T* b, long long n, int op, Strided s) {
	GRID_LOOP(i, n) {
		long long oa, ob;
		strided_offsets(s, i, &oa, &ob);
		dst[i] = binary_value<T>(op, a[oa], b[ob]);
	}
}
#define BINARY_PARAMS(T) (T * dst, const T* a, const T* b, long long n, int op, Strided s)
KERNEL(binary, BINARY_PARAMS, (dst, a, b, n, op, s))

// dst (contiguous) = src[offset + strided position under s.sa].
template <typename T> __device__ void gather(T* dst, const T* src, long long n, long long offset, Strided s) {
	GRID_LOOP(i, n) {
		long long o, unused;
		strided_offsets(s, i, &o, &unused);
		dst[i] = src[offset + o];
	}
}
#define GATHER_PARAMS(T) (T * dst, const T* src, long long n, long long offset, Strided s)
KERNEL(gather, GATHER_PARAMS, (dst, src, n, offset, s))

// dst[offset + strided position] (+)= src (contiguous); positions are
// distinct, so no two threads write one element.
template <typename T> __device__ void scatter(T* dst, const T* src, long long n, long long offset, int add, Strided s) {
	GRID_LOOP(i, n) {
		long long o, unused;
		strided_offsets(s, i, &o, &unused);
		if (add)
			dst[offset + o] += src[i];
		else
			dst[offset + o] = src[i];
	}
}
#define SCATTER_PARAMS(T) (T * dst, const T* src, long long n, long long offset, int add, Strided s)
KERNEL(scatter, SCATTER_PARAMS, (dst, src, n, offset, add, s))

// One AdamW step (kernel.AdamW), element by element in double as
// autograd/cpu's AdamW: decay = 1 - lr*wd, step = lr/(1-b1^t),
// rbc2 = 1/sqrt(1-b2^t), all from the host.
template <typename T>
__device__ void adamw(T* p, const T* g, T* m, T* v, long long n, double b1, double b2, double eps, double decay,
                      double step, double rbc2) {
	GRID_LOOP(i, n) {
		double gi = (double)g[i];
		double mi = b1 * (double)m[i] + (1 - b1) * gi;
		double vi = b2 * (double)v[i] + (1 - b2) * gi * gi;
		m[i] = (T)mi;
		v[i] = (T)vi;
		p[i] = (T)((double)p[i] * decay - step * mi / (sqrt(vi) * rbc2 + eps));
	}
}
#define ADAMW_PARAMS(T) \
	(T * p, const T* g, T* m, T* v, long long n, double b1, double b2, double eps, double decay, double step, double rbc2)
KERNEL(adamw, ADAMW_PARAMS, (p, g, m, v, n, b1, b2, eps, decay, step, rbc2))

// Type conversions for Copy between storages of different types (float
// to int truncates toward zero, as Go's conversion).
template <typename D, typename S> __device__ void convert(D* dst, const S* src, long long n) {
	GRID_LOOP(i, n) dst[i] = (D)src[i];
}
#define CONVERT(name, D, S) \
	extern "C" __global__ void name(D* dst, const S* src, long long n) { convert<D, S>(dst, src, n); }
CONVERT(convert_f32_f64, float, double)
CONVERT(convert_f32_i32, float, int)
CONVERT(convert_f64_f32, double, float)
CONVERT(convert_f64_i32, double, int)
CONVERT(convert_i32_f32, int, float)
CONVERT(convert_i32_f64, int, double)

// Philox4x32-10 (Salmon et al., SC11), the generator of kernel.Bernoulli:
// ten rounds over the counter under the key, the key bumped by the Weyl
// constants between rounds.
__device__ __forceinline__ uint4 philox4x32_10(uint4 c, uint2 k) {
	const u32 M0 = 0xD2511F53u, M1 = 0xCD9E8D57u, W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
	for (int r = 0; r < 10; r++) {
		if (r > 0) {
			k.x += W0;
			k.y += W1;
		}
		u32 hi0 = __umulhi(M0, c.x), lo0 = M0 * c.x;
		u32 hi1 = __umulhi(M1, c.z), lo1 = M1 * c.z;
		c = make_uint4(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
	}
	return c;
}

// dst[i] = value where (w_i >> 8) < thresh, else 0: w_i is word i%4 of
// block offset + i/4 (a 128-bit counter) under key seed, and thresh is
// ceil(p * 2^24), so the test is u_i < p exactly. One thread per block.
template <typename T>
__device__ void bernoulli(T* dst, long long n, u64 seed, u64 offset, u32 thresh, double value) {
	T v = (T)value;
	GRID_LOOP(j, (n + 3) / 4) {
		u64 b = offset + (u64)j;
		u32 carry = b < offset ? 1u : 0u;
		uint4 w = philox4x32_10(make_uint4((u32)b, (u32)(b >> 32), carry, 0u), make_uint2((u32)seed, (u32)(seed >> 32)));
		u32 ws[4] = {w.x, w.y, w.z, w.w};
		for (int q = 0; q < 4 && 4 * j + q < n; q++) dst[4 * j + q] = (ws[q] >> 8) < thresh ? v : T(0);
	}
}
#define BERNOULLI_PARAMS(T) (T * dst, long long n, u64 seed, u64 offset, u32 thresh, double value)
KERNEL(bernoulli, BERNOULLI_PARAMS, (dst, n, seed, offset, thresh, value))

// The pointer arrays of a batched product: out[0..batch) = a + i*sa,
// then b's, then c's (byte addresses and strides).
extern "C" __global__ void gemm_ptrs(u64* out, u64 a, long long sa, u64 b, long long sb, u64 c, long long sc, int batch) {
	GRID_LOOP(i, batch) {
		out[i] = a + (u64)(i * sa);
		out[batch + i] = b + (u64)(i * sb);
		out[2 * batch + i] = c + (u64)(i * sc);
	}
}
