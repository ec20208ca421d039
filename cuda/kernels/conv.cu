// Convolution pieces: im2col and col2im (the products run in cuBLAS), the
// bias, and direct depthwise kernels. Layouts and rules are autograd/cpu's:
// x is N x C x H x W, w is O x C/G x KH x KW, y is N x O x OH x OW; input
// channel group g feeds output channel group g.

struct Conv {
	int N, C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, G, OH, OW;
};

// col holds, for images n0 .. n0+count-1 and group g, the matrices
// [image][(c*KH+kh)*KW+kw][oy*OW+ox] of the pixels each tap sees (0 in the
// padding).
template <typename T> __device__ void im2col(T* col, const T* x, Conv s, int n0, int count, int g) {
	int cg = s.C / s.G;
	long long ohw = (long long)s.OH * s.OW, k = (long long)cg * s.KH * s.KW;
	GRID_LOOP(e, count * k * ohw) {
		long long pos = e % ohw, r = (e / ohw) % k, img = e / (ohw * k);
		int kw = r % s.KW, kh = (r / s.KW) % s.KH, c = r / ((long long)s.KW * s.KH);
		int oy = pos / s.OW, ox = pos % s.OW;
		int iy = oy * s.SH - s.PH + kh * s.DH, ix = ox * s.SW - s.PW + kw * s.DW;
		T v = T(0);
		if (iy >= 0 && iy < s.H && ix >= 0 && ix < s.W)
			v = x[(((long long)(n0 + img) * s.C + g * cg + c) * s.H + iy) * s.W + ix];
		col[e] = v;
	}
}
#define IM2COL_PARAMS(T) (T * col, const T* x, Conv s, int n0, int count, int g)
KERNEL(im2col, IM2COL_PARAMS, (col, x, s, n0, count, g))

// out_pos finds the output position o (in [0, out)) whose window puts tap
// t on input position i, if there is one: o*stride - pad + t*dil == i.
__device__ __forceinline__ bool out_pos(int i, int t, int pad, int dil, int stride, int out, int* o) {
	int d = i + pad - t * dil;
	if (d < 0 || d % stride != 0) return false;
	*o = d / stride;
	return *o < out;
}

// The adjoint: each input pixel of group g of images n0.. sums the col
// entries taken from it; dx is overwritten there.
template <typename T> __device__ void col2im(T* dx, const T* col, Conv s, int n0, int count, int g) {
	int cg = s.C / s.G;
	long long hw = (long long)s.H * s.W, ohw = (long long)s.OH * s.OW, k = (long long)cg * s.KH * s.KW;
	GRID_LOOP(e, count * cg * hw) {
		int ix = e % s.W, iy = (e / s.W) % s.H;
		long long c = (e / hw) % cg, img = e / (hw * cg);
		T acc = T(0);
		for (int kh = 0; kh < s.KH; kh++) {
			int oy, ox;
			if (!out_pos(iy, kh, s.PH, s.DH, s.SH, s.OH, &oy)) continue;
			for (int kw = 0; kw < s.KW; kw++) {
				if (!out_pos(ix, kw, s.PW, s.DW, s.SW, s.OW, &ox)) continue;
				acc += col[(img * k + (c * s.KH + kh) * s.KW + kw) * ohw + (long long)oy * s.OW + ox];
			}
		}
		dx[(((long long)(n0 + img) * s.C + g * cg + c) * s.H + iy) * s.W + ix] = acc;
	}
}
#define COL2IM_PARAMS(T) (T * dx, const T* col, Conv s, int n0, int count, int g)
KERNEL(col2im, COL2IM_PARAMS, (dx, col, s, n0, count, g))

// y[n, o, :] = bias[o] (the products then add with beta 1).
template <typename T> __device__ void conv_bias_fill(T* y, const T* bias, Conv s) {
	long long ohw = (long long)s.OH * s.OW;
	GRID_LOOP(e, (long long)s.N * s.O * ohw) y[e] = bias[(e / ohw) % s.O];
}
#define BIAS_FILL_PARAMS(T) (T * y, const T* bias, Conv s)
KERNEL(conv_bias_fill, BIAS_FILL_PARAMS, (y, bias, s))

// db[o] = sum of dy over images and positions, one block per channel.
template <typename T> __device__ void conv_bias_grad(T* db, const T* dy, Conv s) {
	int o = blockIdx.x;
	long long ohw = (long long)s.OH * s.OW, cnt = (long long)s.N * ohw;
	double acc = 0;
	for (long long t = threadIdx.x; t < cnt; t += blockDim.x) acc += (double)dy[((t / ohw) * s.O + o) * ohw + t % ohw];
	acc = block_sum(acc);
	if (threadIdx.x == 0) db[o] = (T)acc;
}
#define BIAS_GRAD_PARAMS(T) (T * db, const T* dy, Conv s)
KERNEL(conv_bias_grad, BIAS_GRAD_PARAMS, (db, dy, s))

// Depthwise (G == C): output channel o reads input channel o/M, M = O/C.
template <typename T> __device__ void dw_forward(T* y, const T* x, const T* w, const T* bias, Conv s) {
	int mult = s.O / s.C;
	long long ohw = (long long)s.OH * s.OW;
	GRID_LOOP(e, (long long)s.N * s.O * ohw) {
		int ox = e % s.OW, oy = (e / s.OW) % s.OH;
		long long o = (e / ohw) % s.O, n = e / (ohw * s.O);
		const T* xp = x + (n * s.C + o / mult) * (long long)s.H * s.W;
		const T* wp = w + o * s.KH * s.KW;
		T acc = bias ? bias[o] : T(0);
		for (int kh = 0; kh < s.KH; kh++) {
			int iy = oy * s.SH - s.PH + kh * s.DH;
			if (iy < 0 || iy >= s.H) continue;
			for (int kw = 0; kw < s.KW; kw++) {
				int ix = ox * s.SW - s.PW + kw * s.DW;
				if (ix < 0 || ix >= s.W) continue;
				acc += wp[kh * s.KW + kw] * xp[(long long)iy * s.W + ix];
			}
		}
		y[e] = acc;
	}
}
#define DW_FWD_PARAMS(T) (T * y, const T* x, const T* w, const T* bias, Conv s)
KERNEL(dw_forward, DW_FWD_PARAMS, (y, x, w, bias, s))

// dx (overwritten): each input pixel gathers from the outputs it feeds.
template <typename T> __device__ void dw_backward_data(T* dx, const T* dy, const T* w, Conv s) {
	int mult = s.O / s.C;
	long long hw = (long long)s.H * s.W, ohw = (long long)s.OH * s.OW;
	GRID_LOOP(e, (long long)s.N * s.C * hw) {
		int ix = e % s.W, iy = (e / s.W) % s.H;
		long long c = (e / hw) % s.C, n = e / (hw * s.C);
		T acc = T(0);
		for (int m = 0; m < mult; m++) {
			long long o = c * mult + m;
			const T* dyp = dy + (n * s.O + o) * ohw;
			const T* wp = w + o * s.KH * s.KW;
			for (int kh = 0; kh < s.KH; kh++) {
				int oy, ox;
				if (!out_pos(iy, kh, s.PH, s.DH, s.SH, s.OH, &oy)) continue;
				for (int kw = 0; kw < s.KW; kw++) {
					if (!out_pos(ix, kw, s.PW, s.DW, s.SW, s.OW, &ox)) continue;
					acc += wp[kh * s.KW + kw] * dyp[(long long)oy * s.OW + ox];
				}
			}
		}
		dx[e] = acc;
	}
}
#define DW_BWD_DATA_PARAMS(T) (T * dx, const T* dy, const T* w, Conv s)
KERNEL(dw_backward_data, DW_BWD_DATA_PARAMS, (dx, dy, w, s))

// dw[o, tap] (overwritten), one block per (o, tap): blockIdx.x = o*KH*KW + tap.
template <typename T> __device__ void dw_backward_weight(T* dw, const T* x, const T* dy, Conv s) {
	int mult = s.O / s.C, kk = s.KH * s.KW;
	int o = blockIdx.x / kk, tap = blockIdx.x % kk, kh = tap / s.KW, kw = tap % s.KW;
	long long ohw = (long long)s.OH * s.OW, cnt = (long long)s.N * ohw;
	double acc = 0;
	for (long long t = threadIdx.x; t < cnt; t += blockDim.x) {
		long long n = t / ohw, pos = t % ohw;
		int oy = pos / s.OW, ox = pos % s.OW;
		int iy = oy * s.SH - s.PH + kh * s.DH, ix = ox * s.SW - s.PW + kw * s.DW;
		if (iy < 0 || iy >= s.H || ix < 0 || ix >= s.W) continue;
		acc += (double)dy[(n * s.O + o) * ohw + pos] *
		       (double)x[((n * s.C + o / mult) * s.H + iy) * (long long)s.W + ix];
	}
	acc = block_sum(acc);
	if (threadIdx.x == 0) dw[blockIdx.x] = (T)acc;
}
#define DW_BWD_W_PARAMS(T) (T * dw, const T* x, const T* dy, Conv s)
KERNEL(dw_backward_weight, DW_BWD_W_PARAMS, (dw, x, dy, s))
