// Layer and batch normalisation, with autograd/cpu's (outer, n, inner)
// view and float64 statistics. Layer norm normalises each (o, i) over j;
// batch norm normalises each channel j over (o, i). w and b may be null.

// One block per row of contiguous features (inner == 1).
template <typename T>
__device__ void layer_norm_rows(T* y, const T* x, const T* w, const T* b, T* mean, T* rstd, int outer, int n, int inner,
                                double eps) {
	long long p = blockIdx.x;
	const T* xr = x + p * n;
	T* yr = y + p * n;
	double s = 0;
	for (int j = threadIdx.x; j < n; j += blockDim.x) s += (double)xr[j];
	double m = block_sum(s) / n;
	double v = 0;
	for (int j = threadIdx.x; j < n; j += blockDim.x) {
		double d = (double)xr[j] - m;
		v += d * d;
	}
	double r = 1 / sqrt(block_sum(v) / n + eps);
	if (threadIdx.x == 0) {
		mean[p] = (T)m;
		rstd[p] = (T)r;
	}
	for (int j = threadIdx.x; j < n; j += blockDim.x) {
		double h = ((double)xr[j] - m) * r;
		if (w) h *= (double)w[j];
		if (b) h += (double)b[j];
		yr[j] = (T)h;
	}
}
#define LN_PARAMS(T) (T * y, const T* x, const T* w, const T* b, T* mean, T* rstd, int outer, int n, int inner, double eps)
KERNEL(layer_norm_rows, LN_PARAMS, (y, x, w, b, mean, rstd, outer, n, inner, eps))

// One thread per (o, i) for a strided axis.
template <typename T>
__device__ void layer_norm_cols(T* y, const T* x, const T* w, const T* b, T* mean, T* rstd, int outer, int n, int inner,
                                double eps) {
	GRID_LOOP(p, (long long)outer * inner) {
		long long o = p / inner, i = p % inner, base = o * n * inner + i;
		double s = 0;
		for (int j = 0; j < n; j++) s += (double)x[base + (long long)j * inner];
		double m = s / n, v = 0;
		for (int j = 0; j < n; j++) {
			double d = (double)x[base + (long long)j * inner] - m;
			v += d * d;
		}
		double r = 1 / sqrt(v / n + eps);
		mean[p] = (T)m;
		rstd[p] = (T)r;
		for (int j = 0; j < n; j++) {
			long long k = base + (long long)j * inner;
			double h = ((double)x[k] - m) * r;
			if (w) h *= (double)w[j];
			if (b) h += (double)b[j];
			y[k] = (T)h;
		}
	}
}
KERNEL(layer_norm_cols, LN_PARAMS, (y, x, w, b, mean, rstd, outer, n, inner, eps))

// dx (overwritten) from the saved mean and rstd, one block per row.
template <typename T>
__device__ void layer_norm_grad_rows(T* dx, const T* x, const T* w, const T* dy, const T* mean, const T* rstd, int outer,
                                     int n, int inner) {
	long long p = blockIdx.x, base = p * n;
	double m = (double)mean[p], r = (double)rstd[p];
	double sg = 0, sgx = 0;
	for (int j = threadIdx.x; j < n; j += blockDim.x) {
		double g = (double)dy[base + j];
		if (w) g *= (double)w[j];
		sg += g;
		sgx += g * ((double)x[base + j] - m) * r;
	}
	sg = block_sum(sg) / n;
	sgx = block_sum(sgx) / n;
	for (int j = threadIdx.x; j < n; j += blockDim.x) {
		double g = (double)dy[base + j];
		if (w) g *= (double)w[j];
		double xh = ((double)x[base + j] - m) * r;
		dx[base + j] = (T)(r * (g - sg - xh * sgx));
	}
}
#define LN_GRAD_PARAMS(T) (T * dx, const T* x, const T* w, const T* dy, const T* mean, const T* rstd, int outer, int n, int inner)
KERNEL(layer_norm_grad_rows, LN_GRAD_PARAMS, (dx, x, w, dy, mean, rstd, outer, n, inner))

template <typename T>
__device__ void layer_norm_grad_cols(T* dx, const T* x, const T* w, const T* dy, const T* mean, const T* rstd, int outer,
                                     int n, int inner) {
	GRID_LOOP(p, (long long)outer * inner) {
		long long o = p / inner, i = p % inner, base = o * n * inner + i;
		double m = (double)mean[p], r = (double)rstd[p];
		double sg = 0, sgx = 0;
		for (int j = 0; j < n; j++) {
			long long k = base + (long long)j * inner;
			double g = (double)dy[k];
			if (w) g *= (double)w[j];
			sg += g;
			sgx += g * ((double)x[k] - m) * r;
		}
		sg /= n;
		sgx /= n;
		for (int j = 0; j < n; j++) {
			long long k = base + (long long)j * inner;
			double g = (double)dy[k];
			if (w) g *= (double)w[j];
			double xh = ((double)x[k] - m) * r;
			dx[k] = (T)(r * (g - sg - xh * sgx));
		}
	}
}
KERNEL(layer_norm_grad_cols, LN_GRAD_PARAMS, (dx, x, w, dy, mean, rstd, outer, n, inner))

// The weight and bias gradients of layer norm, stage one: block (bx, c)
// sums, for the 256 features j of bx, the rows p in chunk c into
// pw[c*n+j] and pb[c*n+j] (double scratch).
template <typename T>
__device__ void layer_norm_wb_partial(double* pw, double* pb, const T* x, const T* dy, const T* mean, const T* rstd,
                                      int outer, int n, int inner, int rowsPerChunk) {
	int j = blockIdx.x * blockDim.x + threadIdx.x;
	if (j >= n) return;
	long long rows = (long long)outer * inner;
	long long p0 = (long long)blockIdx.y * rowsPerChunk, p1 = p0 + rowsPerChunk;
	if (p1 > rows) p1 = rows;
	double sw = 0, sb = 0;
	for (long long p = p0; p < p1; p++) {
		long long o = p / inner, i = p % inner, k = (o * n + j) * inner + i;
		double g = (double)dy[k];
		sw += g * ((double)x[k] - (double)mean[p]) * (double)rstd[p];
		sb += g;
	}
	pw[(long long)blockIdx.y * n + j] = sw;
	pb[(long long)blockIdx.y * n + j] = sb;
}
#define LN_WB_PARAMS(T) \
	(double* pw, double* pb, const T* x, const T* dy, const T* mean, const T* rstd, int outer, int n, int inner, int rowsPerChunk)
KERNEL(layer_norm_wb_partial, LN_WB_PARAMS, (pw, pb, x, dy, mean, rstd, outer, n, inner, rowsPerChunk))

// Stage two: dw[j] += sum over chunks, db[j] likewise (either may be null).
template <typename T> __device__ void layer_norm_wb_final(T* dw, T* db, const double* pw, const double* pb, int n, int chunks) {
	GRID_LOOP(j, n) {
		double sw = 0, sb = 0;
		for (int c = 0; c < chunks; c++) {
			sw += pw[(long long)c * n + j];
			sb += pb[(long long)c * n + j];
		}
		if (dw) dw[j] += (T)sw;
		if (db) db[j] += (T)sb;
	}
}
#define LN_WB_FINAL_PARAMS(T) (T * dw, T * db, const double* pw, const double* pb, int n, int chunks)
KERNEL(layer_norm_wb_final, LN_WB_FINAL_PARAMS, (dw, db, pw, pb, n, chunks))

// Batch norm normalises each channel j over its cnt = outer*inner elements
// (o, i), in stages that spread a channel over several blocks: partial sums
// over chunks of the channel (block (c, j) sums chunk c), per-channel
// finishing (one thread per channel), then an element-wise pass. The
// statistics are the CPU's: a two-pass mean and biased variance in double.

// bn_partial: part[j*chunks + c] = sum over chunk c of channel j of x, or,
// with center, of (x - center[j])^2.
template <typename T>
__device__ void bn_partial(double* part, const T* x, const double* center, int outer, int n, int inner, int chunks) {
	int c = blockIdx.x, j = blockIdx.y;
	long long cnt = (long long)outer * inner, per = (cnt + chunks - 1) / chunks;
	long long t0 = c * per, t1 = t0 + per < cnt ? t0 + per : cnt;
	double s = 0;
	for (long long t = t0 + threadIdx.x; t < t1; t += blockDim.x) {
		long long o = t / inner, i = t % inner;
		double v = (double)x[(o * n + j) * inner + i];
		if (center) v = (v - center[j]) * (v - center[j]);
		s += v;
	}
	s = block_sum(s);
	if (threadIdx.x == 0) part[(long long)j * chunks + c] = s;
}
#define BN_PARTIAL_PARAMS(T) (double* part, const T* x, const double* center, int outer, int n, int inner, int chunks)
KERNEL(bn_partial, BN_PARTIAL_PARAMS, (part, x, center, outer, n, inner, chunks))

// bn_mean: center[j] = the channel's mean from its partial sums.
extern "C" __global__ void bn_mean(double* center, const double* part, int n, int chunks, long long cnt) {
	GRID_LOOP(j, n) {
		double s = 0;
		for (int c = 0; c < chunks; c++) s += part[j * chunks + c];
		center[j] = s / cnt;
	}
}

// bn_finish: the statistics of channel j (the batch's from center and the
// partial squared deviations when training, else the running ones), the
// running statistics' update, mean and rstd, and the per-channel scale and
// shift of the element-wise pass.
template <typename T>
__device__ void bn_finish(double* scale, double* shift, T* mean, T* rstd, T* runMean, T* runVar, const T* w, const T* b,
                          const double* center, const double* part, int n, int chunks, long long cnt, int training,
                          double momentum, double eps) {
	GRID_LOOP(j, n) {
		double m, v;
		if (training) {
			m = center[j];
			v = 0;
			for (int c = 0; c < chunks; c++) v += part[j * chunks + c];
			v /= cnt;
			if (runMean) runMean[j] = (T)((1 - momentum) * (double)runMean[j] + momentum * m);
			if (runVar) {
				double unbiased = cnt > 1 ? v * cnt / (cnt - 1) : v;
				runVar[j] = (T)((1 - momentum) * (double)runVar[j] + momentum * unbiased);
			}
		} else {
			m = (double)runMean[j];
			v = (double)runVar[j];
		}
		double r = 1 / sqrt(v + eps);
		mean[j] = (T)m;
		rstd[j] = (T)r;
		double sc = r, sh = -m * r;
		if (w) {
			sc *= (double)w[j];
			sh *= (double)w[j];
		}
		if (b) sh += (double)b[j];
		scale[j] = sc;
		shift[j] = sh;
	}
}
#define BN_FINISH_PARAMS(T)                                                                                        \
	(double* scale, double* shift, T* mean, T* rstd, T* runMean, T* runVar, const T* w, const T* b, const double* center, \
	 const double* part, int n, int chunks, long long cnt, int training, double momentum, double eps)
KERNEL(bn_finish, BN_FINISH_PARAMS,
       (scale, shift, mean, rstd, runMean, runVar, w, b, center, part, n, chunks, cnt, training, momentum, eps))

// The activations a batch norm applies in its own pass (kernel.Activation).
enum { BN_IDENTITY, BN_RELU, BN_SILU };

// bn_act is act(z).
template <typename T> __device__ __forceinline__ T bn_act(int act, T z) {
	switch (act) {
	case BN_RELU: return z > T(0) ? z : T(0);
	case BN_SILU: return z / (T(1) + exp(-z));
	}
	return z;
}

// bn_act_grad is g * act'(z).
__device__ __forceinline__ double bn_act_grad(int act, double z, double g) {
	switch (act) {
	case BN_RELU: return z > 0 ? g : 0;
	case BN_SILU: {
		double s = 1 / (1 + exp(-z));
		return g * s * (1 + z * (1 - s));
	}
	}
	return g;
}

// bn_apply: y = act(x*scale[j] + shift[j] + res), element by element; the
// normalised value is rounded to T before res (null for none) is added, as
// a separate addition would.
template <typename T>
__device__ void bn_apply(T* y, const T* x, const T* res, const double* scale, const double* shift, int outer, int n, int inner,
                         int act) {
	GRID_LOOP(e, (long long)outer * n * inner) {
		int j = (e / inner) % n;
		T z = (T)((double)x[e] * scale[j] + shift[j]);
		if (res) z = z + res[e];
		y[e] = bn_act<T>(act, z);
	}
}
#define BN_APPLY_PARAMS(T) \
	(T * y, const T* x, const T* res, const double* scale, const double* shift, int outer, int n, int inner, int act)
KERNEL(bn_apply, BN_APPLY_PARAMS, (y, x, res, scale, shift, outer, n, inner, act))

// bn_grad_in is the gradient of the normalised value at element k of
// channel j: dy itself, or dy * act'(z) with the pre-activation z
// recomputed from x, the saved statistics, w and b.
template <typename T>
__device__ __forceinline__ double bn_grad_in(const T* x, const T* w, const T* b, const T* dy, double m, double r, int j, long long k,
                                             int act) {
	double g = (double)dy[k];
	if (act == BN_IDENTITY) return g;
	double z = ((double)x[k] - m) * r;
	if (w) z *= (double)w[j];
	if (b) z += (double)b[j];
	return bn_act_grad(act, z, g);
}

// bn_grad_partial: the partial sums of dy (psg) and dy*xhat (psgx) over
// chunk c of channel j, xhat from the saved mean and rstd.
template <typename T>
__device__ void bn_grad_partial(double* psg, double* psgx, const T* x, const T* w, const T* b, const T* dy, const T* mean,
                                const T* rstd, int outer, int n, int inner, int chunks, int act) {
	int c = blockIdx.x, j = blockIdx.y;
	long long cnt = (long long)outer * inner, per = (cnt + chunks - 1) / chunks;
	long long t0 = c * per, t1 = t0 + per < cnt ? t0 + per : cnt;
	double m = (double)mean[j], r = (double)rstd[j], sg = 0, sgx = 0;
	for (long long t = t0 + threadIdx.x; t < t1; t += blockDim.x) {
		long long o = t / inner, i = t % inner, k = (o * n + j) * inner + i;
		double g = bn_grad_in(x, w, b, dy, m, r, j, k, act);
		sg += g;
		sgx += g * ((double)x[k] - m) * r;
	}
	sg = block_sum(sg);
	sgx = block_sum(sgx);
	if (threadIdx.x == 0) {
		psg[(long long)j * chunks + c] = sg;
		psgx[(long long)j * chunks + c] = sgx;
	}
}
#define BN_GRAD_PARTIAL_PARAMS(T)                                                                                          \
	(double* psg, double* psgx, const T* x, const T* w, const T* b, const T* dy, const T* mean, const T* rstd, int outer, int n, \
	 int inner, int chunks, int act)
KERNEL(bn_grad_partial, BN_GRAD_PARTIAL_PARAMS, (psg, psgx, x, w, b, dy, mean, rstd, outer, n, inner, chunks, act))

// bn_grad_finish: per channel, sg and sgx from the partials into sums
// (2n doubles), and the accumulation into dw and db (either may be null).
template <typename T>
__device__ void bn_grad_finish(double* sums, T* dw, T* db, const double* psg, const double* psgx, int n, int chunks) {
	GRID_LOOP(j, n) {
		double sg = 0, sgx = 0;
		for (int c = 0; c < chunks; c++) {
			sg += psg[j * chunks + c];
			sgx += psgx[j * chunks + c];
		}
		sums[j] = sg;
		sums[n + j] = sgx;
		if (dw) dw[j] += (T)sgx;
		if (db) db[j] += (T)sg;
	}
}
#define BN_GRAD_FINISH_PARAMS(T) (double* sums, T* dw, T* db, const double* psg, const double* psgx, int n, int chunks)
KERNEL(bn_grad_finish, BN_GRAD_FINISH_PARAMS, (sums, dw, db, psg, psgx, n, chunks))

// bn_grad_apply: dx (overwritten), element by element; training selects the
// batch-statistics rule, in which mean and variance depend on x.
template <typename T>
__device__ void bn_grad_apply(T* dx, const T* x, const T* w, const T* b, const T* dy, const T* mean, const T* rstd,
                              const double* sums, int outer, int n, int inner, int training, int act) {
	long long cnt = (long long)outer * inner;
	GRID_LOOP(e, (long long)outer * n * inner) {
		int j = (e / inner) % n;
		double m = (double)mean[j], r = (double)rstd[j], wj = w ? (double)w[j] : 1.0;
		double g = bn_grad_in(x, w, b, dy, m, r, j, e, act);
		if (training) {
			double xh = ((double)x[e] - m) * r;
			dx[e] = (T)(wj * r * (g - sums[j] / cnt - xh * sums[n + j] / cnt));
		} else {
			dx[e] = (T)(wj * r * g);
		}
	}
}
#define BN_GRAD_APPLY_PARAMS(T)                                                                                              \
	(T * dx, const T* x, const T* w, const T* b, const T* dy, const T* mean, const T* rstd, const double* sums, int outer, int n, \
	 int inner, int training, int act)
KERNEL(bn_grad_apply, BN_GRAD_APPLY_PARAMS, (dx, x, w, b, dy, mean, rstd, sums, outer, n, inner, training, act))
