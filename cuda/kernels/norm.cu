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

// Batch norm, one block per channel j (blockIdx.x). In training the batch
// statistics (biased variance) normalise, are saved in mean and rstd, and
// update the running ones with momentum (unbiased variance, as PyTorch);
// otherwise the running statistics normalise.
template <typename T>
__device__ void batch_norm(T* y, const T* x, const T* w, const T* b, T* runMean, T* runVar, T* mean, T* rstd, int outer,
                           int n, int inner, int training, double momentum, double eps) {
	int j = blockIdx.x;
	long long cnt = (long long)outer * inner;
	double m, v;
	if (training) {
		double s = 0;
		for (long long t = threadIdx.x; t < cnt; t += blockDim.x) {
			long long o = t / inner, i = t % inner;
			s += (double)x[(o * n + j) * inner + i];
		}
		m = block_sum(s) / cnt;
		double q = 0;
		for (long long t = threadIdx.x; t < cnt; t += blockDim.x) {
			long long o = t / inner, i = t % inner;
			double d = (double)x[(o * n + j) * inner + i] - m;
			q += d * d;
		}
		v = block_sum(q) / cnt;
		if (threadIdx.x == 0) {
			if (runMean) runMean[j] = (T)((1 - momentum) * (double)runMean[j] + momentum * m);
			if (runVar) {
				double unbiased = cnt > 1 ? v * cnt / (cnt - 1) : v;
				runVar[j] = (T)((1 - momentum) * (double)runVar[j] + momentum * unbiased);
			}
		}
	} else {
		m = (double)runMean[j];
		v = (double)runVar[j];
	}
	double r = 1 / sqrt(v + eps);
	if (threadIdx.x == 0) {
		mean[j] = (T)m;
		rstd[j] = (T)r;
	}
	double scale = r, shift = -m * r;
	if (w) {
		scale *= (double)w[j];
		shift *= (double)w[j];
	}
	if (b) shift += (double)b[j];
	for (long long t = threadIdx.x; t < cnt; t += blockDim.x) {
		long long o = t / inner, i = t % inner, k = (o * n + j) * inner + i;
		y[k] = (T)((double)x[k] * scale + shift);
	}
}
#define BN_PARAMS(T)                                                                                                 \
	(T * y, const T* x, const T* w, const T* b, T* runMean, T* runVar, T* mean, T* rstd, int outer, int n, int inner, \
	 int training, double momentum, double eps)
KERNEL(batch_norm, BN_PARAMS, (y, x, w, b, runMean, runVar, mean, rstd, outer, n, inner, training, momentum, eps))

// dx (overwritten); dw and db accumulate. One block per channel.
template <typename T>
__device__ void batch_norm_grad(T* dx, T* dw, T* db, const T* x, const T* w, const T* dy, const T* mean, const T* rstd,
                                int outer, int n, int inner, int training) {
	int j = blockIdx.x;
	long long cnt = (long long)outer * inner;
	double m = (double)mean[j], r = (double)rstd[j];
	double sg = 0, sgx = 0;
	for (long long t = threadIdx.x; t < cnt; t += blockDim.x) {
		long long o = t / inner, i = t % inner, k = (o * n + j) * inner + i;
		double g = (double)dy[k];
		sg += g;
		sgx += g * ((double)x[k] - m) * r;
	}
	sg = block_sum(sg);
	sgx = block_sum(sgx);
	if (threadIdx.x == 0) {
		if (dw) dw[j] += (T)sgx;
		if (db) db[j] += (T)sg;
	}
	double wj = w ? (double)w[j] : 1.0;
	for (long long t = threadIdx.x; t < cnt; t += blockDim.x) {
		long long o = t / inner, i = t % inner, k = (o * n + j) * inner + i;
		if (training) {
			double xh = ((double)x[k] - m) * r;
			dx[k] = (T)(wj * r * ((double)dy[k] - sg / cnt - xh * sgx / cnt));
		} else {
			dx[k] = (T)(wj * r * (double)dy[k]);
		}
	}
}
#define BN_GRAD_PARAMS(T)                                                                                              \
	(T * dx, T * dw, T * db, const T* x, const T* w, const T* dy, const T* mean, const T* rstd, int outer, int n, int inner, \
	 int training)
KERNEL(batch_norm_grad, BN_GRAD_PARAMS, (dx, dw, db, x, w, dy, mean, rstd, outer, n, inner, training))
