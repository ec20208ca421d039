// Pooling and interpolation over planes of H x W (every (n, c) pair is one
// plane), with autograd/cpu's rules: max-pool padding acts as -inf and arg
// holds the flat in-plane input position (-1 for an empty window);
// adaptive bins are PyTorch's; bilinear taps are upsample_bilinear2d's.

struct Pool {
	int planes, H, W, OH, OW, KH, KW, SH, SW, PH, PW, DH, DW;
};

// The loop is the CPU's, break included, so that ties and NaNs pick the
// same position.
template <typename T> __device__ void max_pool(T* y, int* arg, const T* x, Pool s) {
	long long ohw = (long long)s.OH * s.OW;
	GRID_LOOP(e, (long long)s.planes * ohw) {
		int ox = e % s.OW, oy = (e / s.OW) % s.OH;
		const T* xp = x + (e / ohw) * (long long)s.H * s.W;
		T best = neg_inf<T>();
		int bi = -1;
		for (int ky = 0; ky < s.KH; ky++) {
			int iy = oy * s.SH - s.PH + ky * s.DH;
			if (iy < 0 || iy >= s.H) continue;
			for (int kx = 0; kx < s.KW; kx++) {
				int ix = ox * s.SW - s.PW + kx * s.DW;
				if (ix < 0 || ix >= s.W) continue;
				T v = xp[iy * s.W + ix];
				// As PyTorch: the first maximum wins, and every NaN (the
				// last one is the argmax).
				if (v > best || bi < 0 || is_nan(v)) {
					best = v;
					bi = iy * s.W + ix;
				}
			}
		}
		y[e] = best;
		arg[e] = bi;
	}
}
#define MAX_POOL_PARAMS(T) (T * y, int* arg, const T* x, Pool s)
KERNEL(max_pool, MAX_POOL_PARAMS, (y, arg, x, s))

// dx (zeroed by the device first) += dy at the arg positions; windows
// overlap, so the adds are atomic.
template <typename T> __device__ void max_pool_grad(T* dx, const T* dy, const int* arg, Pool s) {
	long long ohw = (long long)s.OH * s.OW;
	GRID_LOOP(e, (long long)s.planes * ohw) {
		if (arg[e] >= 0) atomicAdd(dx + (e / ohw) * (long long)s.H * s.W + arg[e], dy[e]);
	}
}
#define MAX_POOL_GRAD_PARAMS(T) (T * dx, const T* dy, const int* arg, Pool s)
KERNEL(max_pool_grad, MAX_POOL_GRAD_PARAMS, (dx, dy, arg, s))

__device__ __forceinline__ int bin_lo(int i, int in, int out) { return i * in / out; }
__device__ __forceinline__ int bin_hi(int i, int in, int out) { return ((i + 1) * in + out - 1) / out; }

template <typename T> __device__ void adaptive_avg_pool(T* y, const T* x, Pool s) {
	long long ohw = (long long)s.OH * s.OW;
	GRID_LOOP(e, (long long)s.planes * ohw) {
		int ox = e % s.OW, oy = (e / s.OW) % s.OH;
		const T* xp = x + (e / ohw) * (long long)s.H * s.W;
		int y0 = bin_lo(oy, s.H, s.OH), y1 = bin_hi(oy, s.H, s.OH);
		int x0 = bin_lo(ox, s.W, s.OW), x1 = bin_hi(ox, s.W, s.OW);
		double sum = 0;
		for (int iy = y0; iy < y1; iy++)
			for (int ix = x0; ix < x1; ix++) sum += (double)xp[iy * s.W + ix];
		y[e] = (T)(sum / ((y1 - y0) * (x1 - x0)));
	}
}
#define POOL_PARAMS(T) (T * y, const T* x, Pool s)
KERNEL(adaptive_avg_pool, POOL_PARAMS, (y, x, s))

// dx (overwritten): each input pixel sums dy/count over the bins holding it,
// in the CPU's order (bins row by row).
template <typename T> __device__ void adaptive_avg_pool_grad(T* dx, const T* dy, Pool s) {
	long long hw = (long long)s.H * s.W;
	GRID_LOOP(e, (long long)s.planes * hw) {
		int ix = e % s.W, iy = (e / s.W) % s.H;
		const T* dyp = dy + (e / hw) * (long long)s.OH * s.OW;
		T acc = T(0);
		for (int oy = 0; oy < s.OH; oy++) {
			int y0 = bin_lo(oy, s.H, s.OH), y1 = bin_hi(oy, s.H, s.OH);
			if (iy < y0 || iy >= y1) continue;
			for (int ox = 0; ox < s.OW; ox++) {
				int x0 = bin_lo(ox, s.W, s.OW), x1 = bin_hi(ox, s.W, s.OW);
				if (ix < x0 || ix >= x1) continue;
				acc += dyp[oy * s.OW + ox] / T((y1 - y0) * (x1 - x0));
			}
		}
		dx[e] = acc;
	}
}
#define POOL_GRAD_PARAMS(T) (T * dx, const T* dy, Pool s)
KERNEL(adaptive_avg_pool_grad, POOL_GRAD_PARAMS, (dx, dy, s))

// The two input taps of output index o along one axis and the second's weight.
__device__ __forceinline__ void bilinear_tap(int o, int in, int out, int align, int* i0, int* i1, double* l1) {
	double src;
	if (align) {
		src = out > 1 ? (double)o * (double)(in - 1) / (double)(out - 1) : 0.0;
	} else {
		src = ((double)o + 0.5) * (double)in / (double)out - 0.5;
		if (src < 0) src = 0;
	}
	int a = (int)src;
	if (a > in - 1) a = in - 1;
	*i0 = a;
	*i1 = a + 1 < in - 1 ? a + 1 : in - 1;
	*l1 = src - (double)a;
}

template <typename T> __device__ void bilinear(T* y, const T* x, Pool s, int align) {
	long long ohw = (long long)s.OH * s.OW;
	GRID_LOOP(e, (long long)s.planes * ohw) {
		int ox = e % s.OW, oy = (e / s.OW) % s.OH;
		const T* xp = x + (e / ohw) * (long long)s.H * s.W;
		int y0, y1, x0, x1;
		double wy, wx;
		bilinear_tap(oy, s.H, s.OH, align, &y0, &y1, &wy);
		bilinear_tap(ox, s.W, s.OW, align, &x0, &x1, &wx);
		double top = (1 - wx) * (double)xp[y0 * s.W + x0] + wx * (double)xp[y0 * s.W + x1];
		double bot = (1 - wx) * (double)xp[y1 * s.W + x0] + wx * (double)xp[y1 * s.W + x1];
		y[e] = (T)((1 - wy) * top + wy * bot);
	}
}
#define BILINEAR_PARAMS(T) (T * y, const T* x, Pool s, int align)
KERNEL(bilinear, BILINEAR_PARAMS, (y, x, s, align))

// dx (zeroed by the device first) += the four weighted shares of each dy.
template <typename T> __device__ void bilinear_grad(T* dx, const T* dy, Pool s, int align) {
	long long ohw = (long long)s.OH * s.OW;
	GRID_LOOP(e, (long long)s.planes * ohw) {
		int ox = e % s.OW, oy = (e / s.OW) % s.OH;
		T* d = dx + (e / ohw) * (long long)s.H * s.W;
		int y0, y1, x0, x1;
		double wy, wx;
		bilinear_tap(oy, s.H, s.OH, align, &y0, &y1, &wy);
		bilinear_tap(ox, s.W, s.OW, align, &x0, &x1, &wx);
		double g = (double)dy[e];
		atomicAdd(d + y0 * s.W + x0, (T)(g * (1 - wy) * (1 - wx)));
		atomicAdd(d + y0 * s.W + x1, (T)(g * (1 - wy) * wx));
		atomicAdd(d + y1 * s.W + x0, (T)(g * wy * (1 - wx)));
		atomicAdd(d + y1 * s.W + x1, (T)(g * wy * wx));
	}
}
#define BILINEAR_GRAD_PARAMS(T) (T * dx, const T* dy, Pool s, int align)
KERNEL(bilinear_grad, BILINEAR_GRAD_PARAMS, (dx, dy, s, align))
