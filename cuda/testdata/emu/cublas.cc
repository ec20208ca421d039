// A fake libcublas.so.12 for package cuda's tests: column-major products
// as the cuBLAS documentation defines them, with its checks of the
// leading dimensions, on host memory.
#include <cstddef>

typedef int cublasStatus_t;
enum { OK = 0, INVALID = 7 };

template <typename T>
static cublasStatus_t gemm(int ta, int tb, int m, int n, int k, const T* alpha, const T* A, int lda, const T* B, int ldb,
                           const T* beta, T* C, int ldc) {
	if (m < 0 || n < 0 || k < 0 || lda < (ta ? (k > 1 ? k : 1) : (m > 1 ? m : 1)) ||
	    ldb < (tb ? (n > 1 ? n : 1) : (k > 1 ? k : 1)) || ldc < (m > 1 ? m : 1))
		return INVALID;
	for (int j = 0; j < n; j++)
		for (int i = 0; i < m; i++) {
			double s = 0;
			for (int l = 0; l < k; l++) {
				double a = ta ? A[l + (size_t)i * lda] : A[i + (size_t)l * lda];
				double b = tb ? B[j + (size_t)l * ldb] : B[l + (size_t)j * ldb];
				s += a * b;
			}
			T* c = &C[i + (size_t)j * ldc];
			*c = (T)(*alpha * s + (*beta == 0 ? 0.0 : (double)*beta * *c));
		}
	return OK;
}

extern "C" {
cublasStatus_t cublasCreate_v2(void** h) { *h = (void*)1; return OK; }
cublasStatus_t cublasDestroy_v2(void*) { return OK; }
cublasStatus_t cublasSetStream_v2(void*, void*) { return OK; }
cublasStatus_t cublasSetMathMode(void*, int mode) { return mode == 0 || mode == 3 ? OK : INVALID; }
cublasStatus_t cublasGetProperty(int kind, int* v) { *v = kind == 0 ? 12 : 0; return OK; }
cublasStatus_t cublasSgemm_v2(void*, int ta, int tb, int m, int n, int k, const float* alpha, const float* A, int lda,
                              const float* B, int ldb, const float* beta, float* C, int ldc) {
	return gemm(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}
cublasStatus_t cublasDgemm_v2(void*, int ta, int tb, int m, int n, int k, const double* alpha, const double* A, int lda,
                              const double* B, int ldb, const double* beta, double* C, int ldc) {
	return gemm(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}
cublasStatus_t cublasSgemmBatched(void*, int ta, int tb, int m, int n, int k, const float* alpha, const float* const A[],
                                  int lda, const float* const B[], int ldb, const float* beta, float* const C[], int ldc,
                                  int batch) {
	for (int i = 0; i < batch; i++)
		if (cublasStatus_t s = gemm(ta, tb, m, n, k, alpha, A[i], lda, B[i], ldb, beta, C[i], ldc)) return s;
	return OK;
}
cublasStatus_t cublasDgemmBatched(void*, int ta, int tb, int m, int n, int k, const double* alpha, const double* const A[],
                                  int lda, const double* const B[], int ldb, const double* beta, double* const C[], int ldc,
                                  int batch) {
	for (int i = 0; i < batch; i++)
		if (cublasStatus_t s = gemm(ta, tb, m, n, k, alpha, A[i], lda, B[i], ldb, beta, C[i], ldc)) return s;
	return OK;
}
}
