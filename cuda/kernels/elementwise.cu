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

// One AdamW step as optim.AdamW computes it, each product rounded to T as
// the op-by-op version rounds it: m = b1*m + (1-b1)*g, v = b2*v +
// (1-b2)*g*g, p = p*(1-lr*wd) - (m / (sqrt(v)/sqrt(bc2) + eps)) * (lr/bc1).
template <typename T>
__device__ void adamw(T* p, const T* g, T* m, T* v, long long n, double b1, double b2, double eps,
                      double decay, double invSqrtBC2, double stepSize) {
	T tb1 = (T)b1, tc1 = (T)(1 - b1), tb2 = (T)b2, tc2 = (T)(1 - b2);
	GRID_LOOP(i, n) {
		T gi = g[i];
		T mi = m[i] * tb1 + gi * tc1;
		T vi = v[i] * tb2 + (gi * gi) * tc2;
		m[i] = mi;
		v[i] = vi;
		T denom = t_sqrt(vi) * (T)invSqrtBC2 + (T)eps;
		T upd = (mi / denom) * (T)stepSize;
		p[i] = p[i] * (T)decay - upd;
	}
}
#define ADAMW_PARAMS(T) \
	(T * p, const T* g, T* m, T* v, long long n, double b1, double b2, double eps, double decay, double invSqrtBC2, double stepSize)
KERNEL(adamw, ADAMW_PARAMS, (p, g, m, v, n, b1, b2, eps, decay, invSqrtBC2, stepSize))
